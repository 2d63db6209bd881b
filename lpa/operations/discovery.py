"""SM-DS discovery: the event records waiting for this eUICC (SGP.22 3.6.2 event retrieval;
docs/download-flow.md, "SM-DS discovery").

Against the root SM-DS the eUICC names (or one given): GetEUICCChallenge,
EUICCInfo1, ES11 initiateAuthentication, AuthenticateServer with ctxParams1
without a matching ID, ES11 authenticateClient -> event records. Nothing is
sent to the SM-DS afterwards.

An event's address is an SM-DP+ (download with matching ID = event ID) or
an alternative SM-DS (a cascade). SGP.22's event record does not say
which; lpa asks: an ES11 initiateAuthentication at the address that is
answered with a CERT.DSauth (policy 2.23.146.1.2.1.7) makes it an SM-DS,
whose events are retrieved in turn, down to :data:`MAX_DEPTH` SM-DS and
never the same SM-DS twice. Anything else (HTTP 404 from an SM-DP+, a
CERT.DPauth, no answer) makes it an SM-DP+ event.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import es10, es11
from ..apdu import Channel
from ..errors import InputError, ResultError, ServerError
from ..session import Session
from .authentication import Authentication, device_info, mutual_authentication
from .notifications import client_for

if TYPE_CHECKING:
    from ..https import HttpsClient

#: The most SM-DS servers one discovery follows, the root included.
MAX_DEPTH = 3

#: certificatePolicies of a CERT.DSauth (SGP.22 4.5.2.1.0.x; docs/download-flow.md, "Certificates").
DS_AUTH_POLICY = "2.23.146.1.2.1.7"


@dataclass(frozen=True)
class Event:
    """A profile waiting at an SM-DP+, as the SM-DS chain ``smds`` (root first) listed it."""

    event_id: str
    address: str
    smds: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"eventId": self.event_id, "rspServerAddress": self.address, "smds": list(self.smds)}


def root_smds(session: Session) -> str:
    """The root SM-DS address the eUICC is configured with (ES10a.GetEuiccConfiguredAddresses)."""
    address = es10.get_euicc_configured_addresses(session.channel).root_ds_address
    if not address:
        raise InputError("the eUICC names no root SM-DS; give one with --smds ADDRESS")
    return address


def discover(session: Session, smds: str | None = None, *, imei: str | None = None,
              max_depth: int = MAX_DEPTH) -> list[Event]:
    """The events for this eUICC at ``smds`` (default: its root SM-DS) and the SM-DS it cascades to."""
    root = smds or root_smds(session)
    context = {"deviceInfo": device_info(imei)}
    events: list[Event] = []
    visited: set[str] = set()  # SM-DS addresses asked, lower case
    not_smds: set[str] = set()  # addresses found to be no SM-DS
    info1 = session.euicc_info1().der
    with client_for(session) as client:

        def retrieve(address: str, chain: tuple[str, ...], auth: Authentication, interface: str) -> None:
            visited.add(address.lower())
            if auth.refused is not None:
                raise ResultError("AuthenticateServer", 0, auth.refused,
                                  f"the eUICC refused the SM-DS {address}: {auth.refused}")
            for entry in es11.authenticate_client(client, address, auth.tid_text, auth.response, interface):
                below, key = None, entry.address.lower()
                if len(chain) < max_depth and key not in visited and key not in not_smds:
                    below = _as_smds(session.channel, client, entry.address, context, info1)
                    if below is None:
                        not_smds.add(key)
                if below is None:
                    events.append(Event(entry.event_id, entry.address, chain))
                else:
                    retrieve(entry.address, (*chain, entry.address), *below)

        interfaces: list[str] = []

        def initiate(challenge: bytes, info1: bytes) -> dict[str, Any]:
            fields, interface = es11.initiate_authentication(client, root, challenge, info1, fallback=True)
            interfaces.append(interface)
            return fields

        retrieve(root, (root,), mutual_authentication(session.channel, root, context, initiate, info1), interfaces[0])
    return events


def _as_smds(ch: Channel, client: HttpsClient, address: str, context: dict[str, Any],
             info1: bytes) -> tuple[Authentication, str] | None:
    """Authenticate ``address`` as an SM-DS (ES11), or None when it is not one."""
    from ..address import parse_address

    try:
        parse_address(address)
    except ServerError:
        return None  # not an address lpa can contact: left to the download to report

    answered: list[bytes] = []

    def initiate(challenge: bytes, info1: bytes) -> dict[str, Any]:
        fields, _ = es11.initiate_authentication(client, address, challenge, info1)
        if not _is_ds_auth(fields["serverCertificate"]):
            raise _NotSmds()
        answered.append(fields["serverCertificate"])
        return fields

    try:
        return mutual_authentication(ch, address, context, initiate, info1), "es11"
    except (ServerError, _NotSmds):
        if answered:
            raise  # an SM-DS that failed after it answered: its failure is the user's to see
        return None


class _NotSmds(Exception):
    """The server answered ES11 initiateAuthentication, but not with a CERT.DSauth."""


def _is_ds_auth(certificate: bytes) -> bool:
    from cryptography import x509

    try:
        policies = x509.load_der_x509_certificate(certificate).extensions.get_extension_for_class(
            x509.CertificatePolicies).value
    except (ValueError, x509.InvalidVersion, x509.ExtensionNotFound):
        return False
    return any(p.policy_identifier.dotted_string == DS_AUTH_POLICY for p in policies)
