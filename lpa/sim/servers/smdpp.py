"""A test SM-DP+: ES9+ handleNotification and downloads, over HTTPS on a loopback address.

TEST TOOL. It checks a notification as SGP.22 6.5 describes it (headers, JSON,
base64, PendingNotification DER), verifies the eUICC's signature over the
bytes as received and the certificate chain eUICC <- EUM <- CI up to the CIs
it trusts, and records every notification it accepted. Fault modes make it
misbehave the ways real servers and networks do, for the tests: those of
the HTTPS server under it (:mod:`lpa.sim.servers.https`), of its downloads,
and of its answers to notifications.

Downloads are :mod:`lpa.sim.servers.download`'s; the test SM-DS is
:mod:`lpa.sim.servers.smds`. Run one by hand with ``lpa sim smdpp``.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from ... import codec
from ...encoding import iccid_from_bytes, operation_name
from ...errors import LpaError
from ..pki import testpki
from ..pki.certificates import eid, issued_by, load_der, valid_now
from ..pki.signatures import verify_rs
from .download import FAULTS as DOWNLOAD_FAULTS
from .download import FUNCTIONS as DOWNLOAD_FUNCTIONS
from .download import DownloadService
from .https import FAULTS as TRANSPORT_FAULTS
from .https import FaultServer, Handler

#: Answers to a notification instead of checking it: fault -> the body and its content type, with HTTP 200.
_INSTEAD_OF_CHECKING = {
    "failed-status": (json.dumps({"header": {"functionExecutionStatus": {
        "status": "Failed", "statusCodeData": {"subjectCode": "8.1", "reasonCode": "6.1", "message": "test fault"}}}})
        .encode(), "application/json"),
    "garbage-200": (b"<html>maintenance</html>", "text/html"),
    "status-string": (b'{"header": {"functionExecutionStatus": "Executed-Success"}}', "application/json"),
}

#: Answers to a notification accepted: fault -> status, body and its content type (else 204, no body).
_ACCEPTING: dict[str, tuple[int, bytes, str]] = {
    "accept-200-empty": (200, b"", "text/plain"),
    "accept-200-json": (200, json.dumps({"header": {"functionExecutionStatus": {"status": "Executed-Success"}}})
                        .encode(), "application/json"),
}

#: What :attr:`TestSmdpp.fault` may be set to, and what each does.
FAULTS = {**DOWNLOAD_FAULTS, **TRANSPORT_FAULTS,
    "failed-status": "answer 200 with functionExecutionStatus Failed",
    "garbage-200": "answer 200 with a body that is not JSON",
    "status-string": "answer 200 with a functionExecutionStatus that is a string, not an object",
    "accept-200-empty": "accept a notification with 200 and no body (not an error: some servers do)",
    "accept-200-json": "accept a notification with 200 and functionExecutionStatus Executed-Success",
}


@dataclass
class Accepted:
    """A notification the server verified and acknowledged."""

    seq_number: int
    operation: str
    iccid: str | None
    address: str
    eid: str | None
    der: bytes


class Rejected(Exception):
    """Answer with HTTP 400 and this reason."""


@dataclass
class TestSmdpp(FaultServer):
    """The server; :meth:`start` it, set :attr:`fault`, read :attr:`accepted`, :meth:`stop` it."""

    #: CI certificates the eUICC chains must end at (default: the lpa test CI).
    trusted_cis: list[x509.Certificate] = field(default_factory=list)
    #: eUICC certificates to verify ProfileInstallationResults of other servers' sessions with (default: the
    #: test eUICC); one of this server's sessions is verified with that session's eUICC certificate only.
    euicc_certs: list[x509.Certificate] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    #: The download functions (made at the first start, when the address is known).
    download: DownloadService | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        pki = Path(testpki.PKI_DIR)
        if not self.trusted_cis:
            self.trusted_cis = [x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes())]
        if not self.euicc_certs:
            self.euicc_certs = [x509.load_pem_x509_certificate((pki / "euicc-cert.pem").read_bytes())]

    def _listening(self) -> None:
        if self.download is None:
            self.download = DownloadService(self.address)

    def route(self, request: Handler, interface: str, function: str, headers: dict[str, str], body: bytes) -> None:
        """The ES9+ download functions, and handleNotification."""
        if interface == "es9plus" and function in DOWNLOAD_FUNCTIONS and self.download:
            answer = request.service_answer(self.download, function, body)
            if self.fault == "drop-bpp" and function == "getBoundProfilePackage":
                return request.send_and_reset(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                              + str(len(answer)).encode() + b"\r\n\r\n" + answer[:len(answer) // 2])
            return request.reply(200, answer, "application/json")
        if request.path != "/gsma/rsp2/es9plus/handleNotification":
            return request.reply(404, b"unknown function")
        if self.fault in _INSTEAD_OF_CHECKING:
            return request.reply(200, *_INSTEAD_OF_CHECKING[self.fault])
        try:
            self.handle_notification(headers, body)
        except Rejected as error:
            return request.reply(400, str(error).encode())
        request.reply(*_ACCEPTING.get(self.fault or "", (204, b"", "text/plain")))

    def handle_notification(self, headers: dict[str, str], body: bytes) -> Accepted:
        """Check and verify one handleNotification request; record and return it."""
        if not headers.get("content-type", "").lower().startswith("application/json"):
            raise Rejected(f"Content-Type {headers.get('content-type')!r} is not application/json")
        if not headers.get("x-admin-protocol", "").startswith("gsma/rsp/v2."):
            raise Rejected(f"X-Admin-Protocol {headers.get('x-admin-protocol')!r} is not gsma/rsp/v2.x.y")
        if headers.get("user-agent") != "gsma-rsp-lpad":
            raise Rejected(f"User-Agent {headers.get('user-agent')!r} is not gsma-rsp-lpad")
        try:
            der = base64.b64decode(json.loads(body)["pendingNotification"], validate=True)
        except (ValueError, KeyError, TypeError) as error:
            raise Rejected(f"body is not {{\"pendingNotification\": <base64>}} ({error})") from None
        try:
            kind, value = codec.decode("PendingNotification", der)
        except LpaError as error:
            raise Rejected(f"not a PendingNotification: {error}") from None
        if kind == "otherSignedNotification":
            view = codec.decode("OtherSignedNotificationView", der)
            euicc_cert = self._verify_chain(bytes(view["euiccCertificate"]), bytes(view["eumCertificate"]))
            _verify(euicc_cert, bytes(view["tbsOtherNotification"]), view["euiccNotificationSignature"])
            metadata = value["tbsOtherNotification"]
        else:
            view = codec.decode("ProfileInstallationResultView", der)
            signed = bytes(view["profileInstallationResultData"])
            transaction_id = bytes(value["profileInstallationResultData"]["transactionId"])
            session = self.download.installation_result(transaction_id) if self.download else None
            known = [session.euicc_certificate] if session and session.euicc_certificate else self.euicc_certs
            signer = next((c for c in known if _verifies(c, signed, view["euiccSignPIR"])), None)
            if signer is None:
                self._log(transaction_id, "ProfileInstallationResult refused: euiccSignPIR does not verify")
                raise Rejected("euiccSignPIR does not verify with "
                               + ("this session's eUICC certificate" if session else "any known eUICC certificate"))
            euicc_cert = signer
            metadata = value["profileInstallationResultData"]["notificationMetadata"]
            self._log(transaction_id, f"ProfileInstallationResult verified ({value['profileInstallationResultData']['finalResult'][0]})")
        accepted = Accepted(
            seq_number=metadata["seqNumber"],
            operation=operation_name(metadata["profileManagementOperation"]),
            iccid=iccid_from_bytes(metadata["iccid"]) if "iccid" in metadata else None,
            address=metadata["notificationAddress"],
            eid=eid(euicc_cert),
            der=der,
        )
        with self._lock:
            self.accepted.append(accepted)
        return accepted

    def _log(self, transaction_id: bytes, line: str) -> None:
        if self.download:
            self.download.log(f"{transaction_id.hex().upper()}: {line}")

    def _verify_chain(self, euicc_der: bytes, eum_der: bytes) -> x509.Certificate:
        try:
            euicc, eum = load_der(euicc_der), load_der(eum_der)
        except ValueError as error:
            raise Rejected(f"certificate does not parse: {error}") from None
        for cert in (euicc, eum):
            if not valid_now(cert):
                raise Rejected(f"certificate {cert.subject.rfc4514_string()} is expired or not yet valid")
        if not issued_by(euicc, eum):
            raise Rejected("the eUICC certificate is not signed by the EUM certificate")
        if any(issued_by(eum, ci) for ci in self.trusted_cis):
            return euicc
        raise Rejected("the EUM certificate does not chain to a trusted CI")


def _verifies(cert: x509.Certificate, data: bytes, signature: bytes) -> bool:
    try:
        _verify(cert, data, signature)
        return True
    except Rejected:
        return False


def _verify(cert: x509.Certificate, data: bytes, signature: bytes) -> None:
    """Verify an SGP.22 r||s ECDSA signature (BSI TR-03111) over ``data``."""
    if len(signature) != 64:
        raise Rejected(f"signature has {len(signature)} bytes, not 64 (r||s)")
    if not verify_rs(cert.public_key(), data, signature):  # type: ignore[arg-type]
        raise Rejected("the eUICC signature does not verify")
