"""ES9+: the functions of the SM-DP+ the LPA calls (SGP.22 5.6; JSON bindings 6.5.2.1-6.5.2.10).

Each function is declared once as a :class:`~lpa.https.Function` and called
through :class:`~lpa.https.HttpsClient`, which holds the HTTPS policy;
:mod:`lpa.es11` declares the SM-DS's the same way.
"""
from __future__ import annotations

from typing import Any

from .https import Function, HttpsClient

INITIATE_AUTHENTICATION = Function("es9plus", "initiateAuthentication", (
    "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate"))
AUTHENTICATE_CLIENT = Function("es9plus", "authenticateClient", (
    "profileMetadata", "smdpSigned2", "smdpSignature2", "smdpCertificate"))
GET_BOUND_PROFILE_PACKAGE = Function("es9plus", "getBoundProfilePackage", ("boundProfilePackage",),
                                     unbounded=("boundProfilePackage",))
HANDLE_NOTIFICATION = Function("es9plus", "handleNotification", retried=True, no_content=True)
CANCEL_SESSION = Function("es9plus", "cancelSession")


def initiate_authentication(client: HttpsClient, address: str, euicc_challenge: bytes,
                            euicc_info1: bytes) -> dict[str, Any]:
    """ES9+.InitiateAuthentication (SGP.22 5.6.1): transactionId (hex text), serverSigned1,
    serverSignature1, euiccCiPKIdToBeUsed, serverCertificate (the TLVs as sent)."""
    return client.call(INITIATE_AUTHENTICATION, address, euiccChallenge=euicc_challenge, euiccInfo1=euicc_info1,
                       smdpAddress=address)


def authenticate_client(client: HttpsClient, address: str, transaction_id: str,
                        authenticate_server_response: bytes) -> dict[str, Any]:
    """ES9+.AuthenticateClient (SGP.22 5.6.3): profileMetadata, smdpSigned2, smdpSignature2, smdpCertificate."""
    return client.call(AUTHENTICATE_CLIENT, address, transactionId=transaction_id,
                       authenticateServerResponse=authenticate_server_response)


def get_bound_profile_package(client: HttpsClient, address: str, transaction_id: str,
                              prepare_download_response: bytes) -> bytes:
    """ES9+.GetBoundProfilePackage (SGP.22 5.6.2): the BPP (BF36)."""
    answer = client.call(GET_BOUND_PROFILE_PACKAGE, address, transactionId=transaction_id,
                         prepareDownloadResponse=prepare_download_response)
    package: bytes = answer["boundProfilePackage"]
    return package


def handle_notification(client: HttpsClient, address: str, pending_notification: bytes) -> None:
    """ES9+.HandleNotification (SGP.22 5.6.4, 6.5.2.9): deliver one PendingNotification; ServerError
    unless the SM-DP+ acknowledged it."""
    client.call(HANDLE_NOTIFICATION, address, pendingNotification=pending_notification)


def cancel_session(client: HttpsClient, address: str, transaction_id: str, cancel_session_response: bytes) -> None:
    """ES9+.CancelSession (SGP.22 5.6.5)."""
    client.call(CANCEL_SESSION, address, transactionId=transaction_id,
                cancelSessionResponse=cancel_session_response)
