"""A test SM-DS: ES11 initiateAuthentication and authenticateClient (SGP.22 5.8; docs/servers.md, "SM-DS paths"),
over HTTPS on a loopback address.

TEST TOOL. It holds event records (event ID, RSP server address) registered
for an EID or for any eUICC, authenticates the eUICC with a CERT.DSauth of
its own under the lpa test CI, and answers the eUICC's events. An event's
address may be another SM-DS: a cascade, as a root SM-DS lists an
alternative one. :class:`TestSmds` serves it on the ES11 paths and, as some
clients use, the ES9+ paths, and accepts the server's name as smdsAddress
or smdpAddress; its faults are :data:`FAULTS` and the HTTPS server's
(:mod:`lpa.sim.servers.https`). Run one by hand with ``lpa sim smds``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..pki.certificates import eid
from .authentication import MutualAuthentication
from .https import FaultServer, Handler

#: Faults of the test SM-DS, and what each does.
FAULTS = {
    "ds-bad-signature": "serverSignature1 does not verify",
    "ds-unknown-ci": "CERT.DSauth from a CI the eUICC does not trust",
    "ds-expired": "an expired CERT.DSauth",
    "fail-initiateAuthentication": "functionExecutionStatus Failed at initiateAuthentication",
    "fail-authenticateClient": "functionExecutionStatus Failed at authenticateClient",
    "bad-events": "eventEntries that are not a list of event records",
    "es9plus-only": "HTTP 404 on the ES11 paths, answering on the ES9+ paths only (as reported of a root SM-DS)",
}

FUNCTIONS = {"initiateAuthentication": "initiate_authentication", "authenticateClient": "authenticate_client"}


@dataclass(frozen=True)
class Event:
    """An event record (SGP.22 3.6.1): where the eUICC's download (or the next SM-DS) is."""

    event_id: str
    address: str
    #: The EID it is registered for; "*" for any eUICC.
    eid: str = "*"


@dataclass
class DiscoveryService(MutualAuthentication):
    """The SM-DS's sessions and event records."""

    events: list[Event] = field(default_factory=list)
    #: The EIDs that retrieved their events, in order.
    retrieved: list[str] = field(default_factory=list)

    role: ClassVar[str] = "ds"
    address_fields: ClassVar[tuple[str, ...]] = ("smdsAddress", "smdpAddress")
    functions: ClassVar[dict[str, str]] = FUNCTIONS

    def authenticate_client(self, payload: dict[str, Any]) -> dict[str, Any]:
        client = self.authenticated_client(payload)
        del self.sessions[client.session.transaction_id]  # ES11 ends here: nothing else comes for this session
        euicc_eid = eid(client.certificate) or ""
        self.retrieved.append(euicc_eid)
        if self.fault == "bad-events":
            return {"transactionId": client.session.transaction_id.hex().upper(), "eventEntries": {"eventId": 1}}
        entries = [{"eventId": e.event_id, "rspServerAddress": e.address}
                   for e in self.events if e.eid in ("*", euicc_eid)]
        return {"transactionId": client.session.transaction_id.hex().upper(), "eventEntries": entries}


@dataclass
class TestSmds(FaultServer):
    """The server; :meth:`start` it, set :attr:`discovery`'s events and :attr:`fault`, :meth:`stop` it."""

    #: The ES11 functions and event records (made at the first start, when the address is known).
    discovery: DiscoveryService | None = None

    def _listening(self) -> None:
        self.discovery = self.discovery or DiscoveryService(self.address)

    def route(self, request: Handler, interface: str, function: str, headers: dict[str, str], body: bytes) -> None:
        """ES11, or the ES9+ paths some clients use for it."""
        served = ("es9plus",) if self.fault == "es9plus-only" else ("es11", "es9plus")
        if interface in served and function in FUNCTIONS and self.discovery:
            return request.reply(200, request.service_answer(self.discovery, function, body), "application/json")
        request.reply(404, b"unknown function")
