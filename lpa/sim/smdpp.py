"""A test SM-DP+ (ES9+ handleNotification and downloads) or SM-DS (ES11) over HTTPS on a loopback address.

TEST TOOL. It checks the request as SGP.22 6.5 describes it (headers, JSON,
base64, PendingNotification DER), verifies the eUICC's signature over the
bytes as received and the certificate chain eUICC <- EUM <- CI up to the CIs
it trusts, and records every notification it accepted. Fault modes make it
misbehave the ways real servers and networks do, for the tests.

Downloads are :mod:`lpa.sim.smdpp_download`'s; with ``smds=True`` the
server is a test SM-DS instead (:mod:`lpa.sim.smds`). Run one by hand with
``lpa sim smdpp`` or ``lpa sim smds``.
"""
from __future__ import annotations

import base64
import datetime
import json
import socket
import ssl
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .. import codec
from ..encoding import iccid_from_bytes, operation_name
from ..errors import LpaError
from . import testpki
from .certificates import issued_by
from .signatures import verify_rs
from .authentication import Refused
from .smdpp_download import FUNCTIONS as _DOWNLOAD_FUNCTIONS
from .smdpp_download import FAULTS as DOWNLOAD_FAULTS
from .smdpp_download import DownloadService
from .smds import FUNCTIONS as _DISCOVERY_FUNCTIONS
from .smds import DiscoveryService

#: What :attr:`TestSmdpp.fault` may be set to, and what each does.
FAULTS = {**DOWNLOAD_FAULTS,
    "http500": "answer HTTP 500 (any httpNNN answers that status)",
    "huge": "answer 4 MiB and one byte",
    "4mib": "answer 4 MiB that is not JSON (the most lpa reads)",
    "retry-after": "answer 503 with Retry-After: 30",
    "slow": "wait slow_seconds before answering",
    "reset": "reset every connection as soon as it is accepted (TCP RST)",
    "no-tls": "accept connections but never answer the TLS handshake",
    "plain-http": "answer the TLS handshake in plain HTTP (a server without TLS on that port)",
    "tls-eof": "close the connection on the client's first TLS message",
    "drop-body": "send the headers and part of the body, then reset",
    "redirect": "answer 307 to the same path over plain http://",
    "unknown-ci": "present a TLS certificate from a CI nobody trusts",
    "wrong-host": "present a TLS certificate for another host name",
    "failed-status": "answer 200 with functionExecutionStatus Failed",
    "garbage-200": "answer 200 with a body that is not JSON",
    "status-string": "answer 200 with a functionExecutionStatus that is a string, not an object",
    "accept-200-empty": "accept a notification with 200 and no body (not an error: some servers do)",
    "accept-200-json": "accept a notification with 200 and functionExecutionStatus Executed-Success",
}

#: Faults answered on the bare TCP connection, before any TLS.
_NOT_TLS = ("reset", "no-tls", "plain-http", "tls-eof")


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
class TestSmdpp:
    """The server; :meth:`start` it, set :attr:`fault`, read :attr:`accepted`, :meth:`stop` it."""

    __test__ = False  # not a pytest test class, whatever its name

    host: str = "127.0.0.1"
    port: int = 0
    #: CI certificates the eUICC chains must end at (default: the lpa test CI).
    trusted_cis: list[x509.Certificate] = field(default_factory=list)
    #: eUICC certificates to verify ProfileInstallationResults with (default: the test eUICC).
    euicc_certs: list[x509.Certificate] = field(default_factory=list)
    #: Seconds a "slow" answer takes.
    slow_seconds: float = 3.0
    fault: str | None = None
    accepted: list[Accepted] = field(default_factory=list)
    #: The download functions (made at the first start, when the address is known).
    download: DownloadService | None = None
    #: Be a test SM-DS instead: ES11 discovery (:mod:`lpa.sim.smds`), no downloads, no notifications.
    smds: bool = False
    discovery: DiscoveryService | None = None
    #: Every request seen: (path, headers dict, body bytes).
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        pki = Path(testpki.PKI_DIR)
        if not self.trusted_cis:
            self.trusted_cis = [x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes())]
        if not self.euicc_certs:
            self.euicc_certs = [x509.load_pem_x509_certificate((pki / "euicc-cert.pem").read_bytes())]
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._server: ThreadingHTTPServer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="lpa-smdpp-")
        self._contexts = self._make_contexts(pki)

    @property
    def address(self) -> str:
        """The address to put in a profile's notificationConfigurationInfo."""
        return f"{self.host}:{self.port}"

    # -- TLS ---------------------------------------------------------------------

    def _make_contexts(self, pki: Path) -> dict[str | None, ssl.SSLContext]:
        ci_key = serialization.load_pem_private_key((pki / "ci-key.pem").read_bytes(), None)
        ci = testpki.Issued(x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes()), ci_key)
        chains = {
            None: ((pki / "smdp-tls-cert.pem").read_bytes(), (pki / "smdp-tls-key.pem").read_bytes()),
            "wrong-host": _pem(testpki.make_tls(ci, ["smdp.other-host.example"])),
            "unknown-ci": _pem(testpki.make_tls(testpki.make_ci("Unknown Test CI"), ["127.0.0.1", "localhost"])),
        }
        contexts = {}
        for name, (cert, key) in chains.items():
            stem = Path(self._tmp.name, str(name))
            stem.with_suffix(".crt").write_bytes(cert)
            stem.with_suffix(".key").write_bytes(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(stem.with_suffix(".crt"), stem.with_suffix(".key"))
            contexts[name] = context
        return contexts

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> "TestSmdpp":
        """Listen (again, on the same port after a stop) and serve in a thread."""
        smdpp = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self) -> tuple[socket.socket, Any]:
                sock, peer = super().get_request()
                if smdpp.fault in _NOT_TLS:
                    return sock, peer
                context = smdpp._contexts.get(smdpp.fault, smdpp._contexts[None])
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), peer

            def process_request(self, request: Any, client_address: Any) -> None:
                if smdpp.fault == "reset":
                    request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    request.close()
                elif smdpp.fault == "no-tls":
                    smdpp._held.append(request)  # open, silent, until the server stops
                elif smdpp.fault in ("plain-http", "tls-eof"):
                    with request:
                        request.recv(4096)  # the ClientHello
                        if smdpp.fault == "plain-http":
                            request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                else:
                    super().process_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # handshakes the client refused, resets: expected in fault tests

        self._server = Server((self.host, self.port), _Handler)
        self._server.smdpp = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        if self.smds:
            self.discovery = self.discovery or DiscoveryService(self.address)
        elif self.download is None:
            self.download = DownloadService(self.address)
        # a short poll interval: stop() waits for the loop to notice, and tests stop it often
        threading.Thread(target=self._server.serve_forever, args=(0.02,), name="test-smdpp", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for sock in self._held:
            sock.close()
        self._held.clear()

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> "TestSmdpp":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ES9+ ----------------------------------------------------------------------

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
            euicc_cert = next((c for c in self.euicc_certs if _verifies(c, signed, view["euiccSignPIR"])), None)
            if euicc_cert is None:
                raise Rejected("euiccSignPIR does not verify with any known eUICC certificate")
            metadata = value["profileInstallationResultData"]["notificationMetadata"]
        eids = euicc_cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        accepted = Accepted(
            seq_number=metadata["seqNumber"],
            operation=operation_name(metadata["profileManagementOperation"]),
            iccid=iccid_from_bytes(metadata["iccid"]) if "iccid" in metadata else None,
            address=metadata["notificationAddress"],
            eid=str(eids[0].value) if eids else None,
            der=der,
        )
        with self._lock:
            self.accepted.append(accepted)
        return accepted

    def _verify_chain(self, euicc_der: bytes, eum_der: bytes) -> x509.Certificate:
        try:
            euicc = x509.load_der_x509_certificate(euicc_der)
            eum = x509.load_der_x509_certificate(eum_der)
        except ValueError as error:
            raise Rejected(f"certificate does not parse: {error}") from None
        now = datetime.datetime.now(datetime.timezone.utc)
        for cert in (euicc, eum):
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise Rejected(f"certificate {cert.subject.rfc4514_string()} is expired or not yet valid")
        if not issued_by(euicc, eum):
            raise Rejected("the eUICC certificate is not signed by the EUM certificate")
        if any(issued_by(eum, ci) for ci in self.trusted_cis):
            return euicc
        raise Rejected("the EUM certificate does not chain to a trusted CI")


def _pem(issued: testpki.Issued) -> tuple[bytes, bytes]:
    return issued.cert_pem(), issued.key_pem()


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lpa-test-smdpp"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        smdpp: TestSmdpp = self.server.smdpp  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with smdpp._lock:
            smdpp.requests.append((self.path, headers, body))
        fault = smdpp.fault
        if fault == "drop-body":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"hea")
            self.wfile.flush()
            self.close_connection = True  # the server resets it (SO_LINGER 0) as the handler ends
            return
        if fault == "redirect":
            self.send_response(307)
            self.send_header("Location", f"http://{smdpp.address}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault and fault.startswith("http") and fault[4:].isdigit():  # http500, http503, ...
            return self._reply(int(fault[4:]), b"test fault")
        if fault == "retry-after":
            self.send_response(503)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault in ("huge", "4mib"):
            return self._reply(200, b"x" * (4 * 1024 * 1024 + (fault == "huge")), "application/json")
        if fault == "slow":
            time.sleep(smdpp.slow_seconds)
        interface, _, function = self.path.removeprefix("/gsma/rsp2/").partition("/")
        if smdpp.discovery is not None:  # an SM-DS: ES11, or the ES9+ paths some clients use for it
            served = ("es9plus",) if fault == "es9plus-only" else ("es11", "es9plus")
            if interface in served and function in _DISCOVERY_FUNCTIONS:
                return self._call(smdpp.discovery, function, body)
            return self._reply(404, b"unknown function")
        if interface == "es9plus" and function in _DOWNLOAD_FUNCTIONS and smdpp.download:
            return self._call(smdpp.download, function, body)
        if self.path != "/gsma/rsp2/es9plus/handleNotification":
            return self._reply(404, b"unknown function")
        if fault == "failed-status":
            status = {"status": "Failed", "statusCodeData": {"subjectCode": "8.1", "reasonCode": "6.1",
                                                             "message": "test fault"}}
            return self._reply(200, json.dumps({"header": {"functionExecutionStatus": status}}).encode(),
                               "application/json")
        if fault == "status-string":
            return self._reply(200, b'{"header": {"functionExecutionStatus": "Executed-Success"}}', "application/json")
        if fault == "garbage-200":
            return self._reply(200, b"<html>maintenance</html>", "text/html")
        try:
            smdpp.handle_notification(headers, body)
        except Rejected as error:
            return self._reply(400, str(error).encode())
        if fault == "accept-200-empty":
            return self._reply(200, b"")
        if fault == "accept-200-json":
            return self._reply(200, json.dumps({"header": {"functionExecutionStatus": {
                "status": "Executed-Success"}}}).encode(), "application/json")
        self._reply(204, b"")

    def _call(self, service: DownloadService | DiscoveryService, function: str, body: bytes) -> None:
        """A download or discovery function: 200 with its JSON, functionExecutionStatus Failed when refused."""
        service.fault = self.server.smdpp.fault  # type: ignore[attr-defined]
        try:
            payload = json.loads(body)
            result = service.call(function, payload)
            status: dict[str, Any] = {"status": "Executed-Success"}
        except Refused as refused:
            result, status = {}, {"status": "Failed", "statusCodeData": {
                "subjectCode": refused.subject, "reasonCode": refused.reason, "message": refused.message}}
        except (ValueError, LpaError) as error:
            result, status = {}, {"status": "Failed", "statusCodeData": {
                "subjectCode": "8.1", "reasonCode": "3.8", "message": f"malformed request: {error}"}}
        answer = json.dumps({"header": {"functionExecutionStatus": status}, **result}).encode()
        if service.fault == "drop-bpp" and function == "getBoundProfilePackage":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(answer)).encode() + b"\r\n\r\n" + answer[:len(answer) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._reply(200, answer, "application/json")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
