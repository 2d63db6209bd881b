"""The mutual authentication of the eUICC and a server (SGP.22 3.1.2), shared by download and discovery.

GetEUICCChallenge and EUICCInfo1 (read once per session) -> the server's initiateAuthentication
(ES9+ or ES11) -> AuthenticateServer with ctxParams1, whose deviceInfo
says what the device is (SGP.22 5.7.13).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .. import es10
from ..apdu import Channel
from ..errors import InputError, ServerError
from .offer import server_signed1_difference

#: TAC sent in deviceInfo when no IMEI is given: lpac's default, accepted by a commercial SM-DP+
#: (docs/servers.md, "Device info").
DEFAULT_TAC = bytes.fromhex("35290611")


@dataclass(frozen=True)
class Authentication:
    """The eUICC's answer to a server's initiateAuthentication (SGP.22 3.1.2), to forward to authenticateClient."""

    tid_text: str
    transaction_id: bytes
    #: The AuthenticateServerResponse as the card sent it (an error one too).
    response: bytes
    #: The eUICC's reason when it refused the server.
    refused: str | None
    #: The server's CERT.DPauth or CERT.DSauth (DER), as it sent it.
    server_certificate: bytes


def device_info(imei: str | None) -> dict[str, Any]:
    """deviceInfo for ctxParams1: the TAC and IMEI (nibble-swapped BCD, F padded) of ``imei``, or lpac's TAC."""
    if imei is None:
        return {"tac": DEFAULT_TAC, "deviceCapabilities": {}}
    if not (imei.isdigit() and imei.isascii() and len(imei) in (14, 15, 16)):
        raise InputError(f"IMEI {imei!r} must be 14 to 16 digits")
    digits = imei.ljust(16, "F")
    packed = bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, 16, 2)))
    return {"tac": packed[:4], "deviceCapabilities": {}, "imei": packed}


def mutual_authentication(ch: Channel, address: str, context: dict[str, Any],
                          initiate: Callable[[bytes, bytes], dict[str, Any]], info1: bytes) -> Authentication:
    """The common mutual authentication (SGP.22 3.1.2) up to the eUICC's answer: GetEUICCChallenge, the
    server's initiateAuthentication (``initiate(challenge, info1)``: ES9+ or ES11) with EUICCInfo1 ``info1``
    as the card sent it (the session reads it once: :meth:`lpa.session.Session.euicc_info1`), then
    AuthenticateServer with ctxParams1 ``context``."""
    challenge = es10.get_euicc_challenge(ch)
    auth = initiate(challenge, info1)
    tid_text = auth["transactionId"]
    try:
        transaction_id = bytes.fromhex(tid_text if isinstance(tid_text, str) and len(tid_text) <= 32 else "?")
    except ValueError:
        from ..https import excerpt

        raise ServerError(address, f"its transactionId {excerpt(tid_text)} is not 1 to 16 bytes in hex") from None
    if not transaction_id:
        raise ServerError(address, "its transactionId is empty")
    difference = server_signed1_difference(auth["serverSigned1"], transaction_id, address)
    if difference is not None:
        raise ServerError(address, f"{difference}; nothing was sent to the eUICC")
    response, refused = es10.authenticate_server(ch, auth["serverSigned1"], auth["serverSignature1"],
                                                 auth["euiccCiPKIdToBeUsed"], auth["serverCertificate"], context)
    return Authentication(str(tid_text), transaction_id, response, refused, auth["serverCertificate"])
