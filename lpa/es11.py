"""ES11: the LPA's functions of the SM-DS (SGP.22 5.8; JSON 6.5.2.11-12; download-notes 5.2).

Two functions over the ES9+ client's transport (:class:`lpa.es9p.Es9pClient`:
TLS verified, no redirects, bounded answers), POSTed to
``https://<address>/gsma/rsp2/es11/<function>``. Some SM-DS servers answer
only on the ES9+ paths, as lpac uses them; initiateAuthentication falls
back to those on HTTP 404 when asked to, and authenticateClient then goes
where initiateAuthentication was answered.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from .errors import ServerError

#: The most event records lpa reads from one SM-DS answer, and the longest event ID or address.
MAX_EVENTS = 256
MAX_FIELD = 255


@dataclass(frozen=True)
class EventEntry:
    """One event record of an SM-DS answer (SGP.22 5.8.2 EventEntries)."""

    event_id: str
    address: str


def initiate_authentication(client: Any, address: str, euicc_challenge: bytes, euicc_info1: bytes, *,
                            fallback: bool = False) -> tuple[dict[str, Any], str]:
    """ES11.InitiateAuthentication (SGP.22 5.8.1): the fields as for ES9+, and the interface that answered
    ("es11", or with ``fallback`` "es9plus" after an HTTP 404)."""
    body = {"euiccChallenge": base64.b64encode(euicc_challenge).decode(),
            "euiccInfo1": base64.b64encode(euicc_info1).decode()}
    try:
        payload = client.call(address, "initiateAuthentication", {**body, "smdsAddress": address}, "es11")
        interface = "es11"
    except ServerError as error:
        if not (fallback and error.reason.startswith("HTTP 404")):
            raise
        payload = client.call(address, "initiateAuthentication", {**body, "smdpAddress": address}, "es9plus")
        interface = "es9plus"
    return client.fields(address, payload, "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed",
                         "serverCertificate"), interface


def authenticate_client(client: Any, address: str, transaction_id: str, authenticate_server_response: bytes,
                        interface: str = "es11") -> list[EventEntry]:
    """ES11.AuthenticateClient (SGP.22 5.8.2): the event records the SM-DS holds for this eUICC."""
    payload = client.call(address, "authenticateClient", {
        "transactionId": transaction_id,
        "authenticateServerResponse": base64.b64encode(authenticate_server_response).decode()}, interface)
    entries = payload.get("eventEntries", [])
    if not isinstance(entries, list) or len(entries) > MAX_EVENTS:
        raise ServerError(address, f"eventEntries is not a list of at most {MAX_EVENTS} event records")
    events = []
    for entry in entries:
        fields = [entry.get(k) if isinstance(entry, dict) else None for k in ("eventId", "rspServerAddress")]
        if not all(isinstance(f, str) and 0 < len(f) <= MAX_FIELD for f in fields):
            raise ServerError(address, f"an event record is not {{eventId, rspServerAddress}} as text: "
                                       f"{str(entry)[:120]!r}")
        events.append(EventEntry(*fields))
    return events
