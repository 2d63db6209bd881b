"""ES11: the functions of the SM-DS the LPA calls (SGP.22 5.8; JSON bindings 6.5.2.11-6.5.2.12).

Declared as :class:`~lpa.https.Function` values like ES9+'s (:mod:`lpa.es9p`)
and called through the same :class:`~lpa.https.HttpsClient`. Some SM-DS
servers answer only on the ES9+ paths, as lpac uses them;
initiateAuthentication falls back to those on HTTP 404 when asked to, and
authenticateClient then goes where initiateAuthentication was answered.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .errors import ServerError
from .https import Function, HttpsClient

INITIATE_AUTHENTICATION = Function("es11", "initiateAuthentication", (
    "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate"))
AUTHENTICATE_CLIENT = Function("es11", "authenticateClient")

#: The most event records lpa reads from one SM-DS answer, and the longest event ID or address.
MAX_EVENTS = 256
MAX_FIELD = 255


@dataclass(frozen=True)
class EventEntry:
    """One event record of an SM-DS answer (SGP.22 5.8.2 EventEntries)."""

    event_id: str
    address: str


def initiate_authentication(client: HttpsClient, address: str, euicc_challenge: bytes, euicc_info1: bytes, *,
                            fallback: bool = False) -> tuple[dict[str, Any], str]:
    """ES11.InitiateAuthentication (SGP.22 5.8.1): the fields as for ES9+, and the interface that answered
    ("es11", or with ``fallback`` "es9plus" after an HTTP 404)."""
    try:
        return client.call(INITIATE_AUTHENTICATION, address, euiccChallenge=euicc_challenge,
                           euiccInfo1=euicc_info1, smdsAddress=address), "es11"
    except ServerError as error:
        if not (fallback and error.reason.startswith("HTTP 404")):
            raise
    return client.call(replace(INITIATE_AUTHENTICATION, interface="es9plus"), address, euiccChallenge=euicc_challenge,
                       euiccInfo1=euicc_info1, smdpAddress=address), "es9plus"


def authenticate_client(client: HttpsClient, address: str, transaction_id: str, authenticate_server_response: bytes,
                        interface: str = "es11") -> list[EventEntry]:
    """ES11.AuthenticateClient (SGP.22 5.8.2): the event records the SM-DS holds for this eUICC."""
    payload = client.call(replace(AUTHENTICATE_CLIENT, interface=interface), address, transactionId=transaction_id,
                          authenticateServerResponse=authenticate_server_response)
    entries = payload.get("eventEntries", [])
    if not isinstance(entries, list) or len(entries) > MAX_EVENTS:
        raise ServerError(address, f"eventEntries is not a list of at most {MAX_EVENTS} event records")
    events = []
    for entry in entries:
        event_id, server = (entry.get(k) if isinstance(entry, dict) else None for k in ("eventId", "rspServerAddress"))
        if not (isinstance(event_id, str) and isinstance(server, str)
                and all(0 < len(f) <= MAX_FIELD for f in (event_id, server))):
            raise ServerError(address, f"an event record is not {{eventId, rspServerAddress}} as text: "
                                       f"{str(entry)[:120]!r}")
        events.append(EventEntry(event_id, server))
    return events
