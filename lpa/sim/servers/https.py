"""The HTTPS server under the test SM-DP+ and SM-DS, on a loopback address, with its transport faults.

TEST TOOL. :class:`FaultServer` serves TLS with the test PKI's SM-DP+
certificate, records every request and, when :attr:`FaultServer.fault`
names one of :data:`FAULTS`, misbehaves the ways real servers and networks
do: on the bare TCP connection, in the TLS handshake, or with an HTTP
answer before the request is looked at. Every other request goes to the
subclass's :meth:`FaultServer.route`: the test SM-DP+
(:class:`lpa.sim.servers.smdpp.TestSmdpp`) or SM-DS
(:class:`lpa.sim.servers.smds.TestSmds`).
"""
from __future__ import annotations

import datetime
import json
import socket
import ssl
import struct
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ...errors import LpaError
from ..pki import testpki
from .authentication import MutualAuthentication, Refused

#: The faults every test server has, and what each does.
FAULTS = {
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
    "expired-tls": "present a TLS certificate under the test CI that expired on 2026-02-01",
}

#: When the expired-tls fault's certificate expired (after the test CI's not-before).
_EXPIRED = datetime.datetime(2026, 2, 1, tzinfo=datetime.timezone.utc)

#: Faults answered on the bare TCP connection, before any TLS.
_NOT_TLS = ("reset", "no-tls", "plain-http", "tls-eof")

_Server = TypeVar("_Server", bound="FaultServer")


@dataclass
class FaultServer(ABC):
    """A test server; :meth:`start` it, set :attr:`fault`, :meth:`stop` it."""

    __test__ = False  # not a pytest test class, nor its subclasses, whatever their names

    host: str = "127.0.0.1"
    port: int = 0
    #: Seconds a "slow" answer takes.
    slow_seconds: float = 3.0
    fault: str | None = None
    #: Every request seen: (path, headers dict, body bytes).
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    #: Connections accepted: one TLS handshake each (bench/run.py counts them).
    connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._server: ThreadingHTTPServer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="lpa-smdpp-")
        self._contexts = self._make_contexts(Path(testpki.PKI_DIR))

    @property
    def address(self) -> str:
        """The server's address (host:port), as lpa and the eUICC name it."""
        return f"{self.host}:{self.port}"

    @abstractmethod
    def route(self, request: Handler, interface: str, function: str, headers: dict[str, str], body: bytes) -> None:
        """Answer a request no fault answered: a POST to /gsma/rsp2/``interface``/``function``."""

    @abstractmethod
    def _listening(self) -> None:
        """Make what needs the address, once the port is known and before the first request."""

    # -- TLS ---------------------------------------------------------------------

    def _make_contexts(self, pki: Path) -> dict[str | None, ssl.SSLContext]:
        # The project's own test CI key: an EC key (testpki makes it).
        ci_key = cast(ec.EllipticCurvePrivateKey,
                      serialization.load_pem_private_key((pki / "ci-key.pem").read_bytes(), None))
        ci = testpki.Issued(x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes()), ci_key)
        chains = {
            None: ((pki / "smdp-tls-cert.pem").read_bytes(), (pki / "smdp-tls-key.pem").read_bytes()),
            "wrong-host": _pem(testpki.make_tls(ci, ["smdp.other-host.example"])),
            "unknown-ci": _pem(testpki.make_tls(testpki.make_ci("Unknown Test CI"), ["127.0.0.1", "localhost"])),
            "expired-tls": _pem(testpki.make_tls(ci, ["127.0.0.1", "localhost"], not_after=_EXPIRED)),
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

    def start(self: _Server) -> _Server:
        """Listen (again, on the same port after a stop) and serve in a thread."""
        owner = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self) -> tuple[socket.socket, Any]:
                sock, peer = super().get_request()
                owner.connections += 1
                if owner.fault in _NOT_TLS:
                    return sock, peer
                context = owner._contexts.get(owner.fault, owner._contexts[None])
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), peer

            def process_request(self, request: Any, client_address: Any) -> None:
                if owner.fault == "reset":
                    request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    request.close()
                elif owner.fault == "no-tls":
                    owner._held.append(request)  # open, silent, until the server stops
                elif owner.fault in ("plain-http", "tls-eof"):
                    with request:
                        request.recv(4096)  # the ClientHello
                        if owner.fault == "plain-http":
                            request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                else:
                    super().process_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # handshakes the client refused, resets: expected in fault tests

        self._server = Server((self.host, self.port), Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._listening()
        # a short poll interval: stop() waits for the loop to notice, and tests stop it often
        threading.Thread(target=self._server.serve_forever, args=(0.02,), name=type(self).__name__,
                         daemon=True).start()
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

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pem(issued: testpki.Issued) -> tuple[bytes, bytes]:
    return issued.cert_pem(), issued.key_pem()


class Handler(BaseHTTPRequestHandler):
    """One request to a :class:`FaultServer`: a fault's answer, or the server's :meth:`~FaultServer.route`."""

    protocol_version = "HTTP/1.1"
    server_version = "lpa-test-smdpp"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        owner: FaultServer = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with owner._lock:
            owner.requests.append((self.path, headers, body))
        fault = owner.fault or ""
        if fault.startswith("http") and fault[4:].isdigit():  # http500, http503, ...
            return self.reply(int(fault[4:]), b"test fault")
        if fault in _FAULT_ANSWERS:
            return _FAULT_ANSWERS[fault](self)
        if fault == "slow":
            time.sleep(owner.slow_seconds)
        interface, _, function = self.path.removeprefix("/gsma/rsp2/").partition("/")
        owner.route(self, interface, function, headers, body)

    def service_answer(self, service: MutualAuthentication, function: str, body: bytes) -> bytes:
        """The JSON answer of a download or discovery function, functionExecutionStatus Failed when refused."""
        service.fault = self.server.owner.fault  # type: ignore[attr-defined]
        try:
            payload = json.loads(body)
            result = service.call(function, payload)
            status: dict[str, Any] = {"status": "Executed-Success"}
        except Refused as refused:
            service.log(f"{function} refused ({refused.subject}/{refused.reason}): {refused.message}")
            result, status = {}, {"status": "Failed", "statusCodeData": {
                "subjectCode": refused.subject, "reasonCode": refused.reason, "message": refused.message}}
        except (ValueError, LpaError) as error:
            result, status = {}, {"status": "Failed", "statusCodeData": {
                "subjectCode": "8.1", "reasonCode": "3.8", "message": f"malformed request: {error}"}}
        return json.dumps({"header": {"functionExecutionStatus": status}, **result}).encode()

    def reply(self, status: int, body: bytes = b"", content_type: str = "text/plain",
              headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_and_reset(self, data: bytes) -> None:
        """Send ``data``, an answer cut short; the server resets the connection (SO_LINGER 0) as the handler ends."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True


#: The faults answered in HTTP before the request is looked at, and their answers.
_FAULT_ANSWERS: dict[str, Callable[[Handler], None]] = {
    "drop-body": lambda request: request.send_and_reset(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"hea"),
    "redirect": lambda request: request.reply(
        307, headers=(("Location", f"http://{request.server.owner.address}{request.path}"),)),  # type: ignore
    "retry-after": lambda request: request.reply(503, headers=(("Retry-After", "30"),)),
    "huge": lambda request: request.reply(200, b"x" * (4 * 1024 * 1024 + 1), "application/json"),
    "4mib": lambda request: request.reply(200, b"x" * (4 * 1024 * 1024), "application/json"),
}
