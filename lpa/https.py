"""The HTTPS policy of every server lpa talks to: SM-DP+ (ES9+) and SM-DS (ES11).

SGP.22 6.5 carries both interfaces the same way: a JSON POST to
``https://<address>/gsma/rsp2/<interface>/<function>`` with the headers of
SGP.22 6.5.1, binary fields in base64. :mod:`lpa.es9p` and :mod:`lpa.es11`
declare their functions as :class:`Function` values; :class:`HttpsClient`
calls any of them, and holds the policy once:

- TLS verified against the trust anchors given, held in memory in an SSL
  context: no CA file is read or written, and no CA bundle (certifi,
  ``REQUESTS_CA_BUNDLE``, the system's) applies. There is no way to turn
  verification off.
- The standard library's http.client and ssl, nothing more: requests and
  urllib3 cost a command that talks to a server about 70 ms of CPU to
  import (README, Performance), a third of a download's. One connection per
  server, kept open between calls (one TLS handshake per session).
- No redirects: a 3xx answer is a failure with its reason, so nothing is
  ever sent anywhere but to the address asked for, and only over HTTPS.
- One deadline per call (``timeout``) bounds connecting, the TLS handshake,
  reading and the retries together.
- Retries per function (:attr:`Function.retried`): only a function that is
  safe to send twice is retried, at most ``retries`` times, on connection
  failures, time-outs, a connection lost before the answer and HTTP 5xx
  (then the last answer is the reason), the first at once and each further
  one after a doubling back-off; never on a TLS failure or a name that does
  not resolve, never past the deadline, and a Retry-After header is not
  followed.
- Answers read up to :data:`MAX_ANSWER` bytes and parsed with bounds
  (:func:`lpa.encoding.parse_json`: nesting, no NaN, lone surrogates replaced); each
  field's type and size checked before use (:data:`MAX_FIELD`); every
  failure of a server's answer is a ServerError naming the server (exit 5),
  worded for the user (the server's status and reason codes in words, the
  TLS failure named, with ``--ca-file`` suggested for an unknown CI).
- Proxies from the environment (``HTTPS_PROXY``, ``ALL_PROXY``,
  ``NO_PROXY``; an http:// proxy tunnels with CONNECT), but never
  credentials from ``~/.netrc``.
"""
from __future__ import annotations

import base64
import http.client
import json
import re
import select
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .address import base_url
from .encoding import parse_json
from .errors import ServerError
from .trust import TrustAnchors

ADMIN_PROTOCOL = "gsma/rsp/v2.2.0"
USER_AGENT = "gsma-rsp-lpad"
_SUCCESS = ("Executed-Success", "Executed-WithWarning")

#: What SM-DP+ subject and reason codes mean (SGP.22 6.5.2; docs/servers.md, "Status codes").
STATUS_CODES = {
    ("8.8.1", "3.8"): "invalid SM-DP+ address", ("8.8.2", "3.1"): "none of the eUICC's CIs is supported",
    ("8.8.3", "3.1"): "the eUICC's SGP.22 version is not supported",
    ("8.8.4", "3.7"): "no certificate under the eUICC's CIs", ("8.10.1", "3.9"): "unknown transaction",
    ("8.11.1", "3.9"): "unknown CI", ("8.1.2", "6.1"): "EUM certificate invalid", ("8.1.2", "6.3"): "EUM certificate expired",
    ("8.1.3", "6.1"): "eUICC certificate invalid", ("8.1.3", "6.3"): "eUICC certificate expired",
    ("8.1", "6.1"): "eUICC signature invalid", ("8.1", "4.8"): "not enough space on the eUICC",
    ("8.1.1", "3.8"): "the EID does not match the order", ("8.2.6", "3.8"): "matching ID refused",
    ("8.2.5", "4.3"): "no eligible profile", ("8.2.7", "2.2"): "confirmation code missing",
    ("8.2.7", "3.8"): "confirmation code refused", ("8.2.7", "6.4"): "too many confirmation code attempts",
    ("8.2", "3.7"): "the profile is not available for a new binding", ("8.8.5", "4.1"): "the order has expired",
}

#: The largest answer lpa reads: a Bound Profile Package is at most a few hundred kB.
MAX_ANSWER = 4 * 1024 * 1024

#: The largest base64 field of an answer, decoded, that lpa passes to the card (a certificate, a
#: signed structure): the eUICC's requests that carry them must fit 256 STORE DATA blocks.
MAX_FIELD = 6 * 1024

#: HTTP answers that are retried (for the functions that are).
_RETRIED_STATUS = (500, 502, 503, 504)


@dataclass(frozen=True)
class Function:
    """One function of a server interface, as SGP.22 6.5.2 declares it."""

    #: The path segment of the interface: "es9plus" or "es11".
    interface: str
    name: str
    #: The base64 fields its answer carries (decoded by :meth:`HttpsClient.call`).
    answer: tuple[str, ...] = ()
    #: Safe to send twice, so retried after a failure: the SM-DP+ accepts a notification twice
    #: (SGP.22 3.5: duplicates are allowed, losses are not). The download functions change the
    #: server's session state and are not retried blindly.
    retried: bool = False
    #: Success is HTTP 204 No Content (SGP.22 6.5.2.9); another 2xx counts only with an empty body
    #: or a successful functionExecutionStatus.
    no_content: bool = False
    #: Answer fields the card gets piece by piece, so bounded only by :data:`MAX_ANSWER` (the BPP).
    unbounded: tuple[str, ...] = ()

class _Lost(Exception):
    """The connection ended before the answer was complete (read and retried as a read failure)."""


#: What each failure counts as for the retries: a connection not made, an answer not read, anything else.
_CONNECT, _READ, _OTHER = "connect", "read", "other"


def _failure_kind(error: BaseException) -> str:
    if isinstance(error, socket.gaierror) or isinstance(error, ssl.SSLError):
        return _OTHER  # a name that does not resolve, a TLS failure: the same again
    if isinstance(error, _Lost) or isinstance(error, (http.client.HTTPException, ConnectionResetError,
                                                       BrokenPipeError)):
        return _READ
    if isinstance(error, OSError):  # refused, unreachable, timed out
        return _CONNECT
    return _OTHER


class HttpsClient:
    """The client of one LPA session's servers (close it, or use it as a context manager).

    Calls to the same server share one connection (one TLS handshake) while
    the server keeps it open.
    """

    def __init__(self, anchors: TrustAnchors, *, timeout: float = 20.0, retries: int = 2,
                 backoff: float = 0.5) -> None:
        self.anchors = anchors
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # host name checked, certificate required
        if anchors.pem:  # only these: never the system's CAs, which create_default_context adds for no cadata
            context.load_verify_locations(cadata=anchors.pem)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context = context
        #: The open connection to each server (host, port), reused while the server keeps it open.
        self._connections: dict[tuple[str, int], http.client.HTTPSConnection] = {}

    def __enter__(self) -> "HttpsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def call(self, function: Function, address: str, **fields: bytes | str) -> dict[str, Any]:
        """POST ``fields`` (bytes in base64, text as is) to ``function`` at ``address``: the JSON answer,
        its :attr:`Function.answer` fields decoded from base64, if its status is a success; else ServerError."""
        body = {name: base64.b64encode(value).decode() if isinstance(value, bytes) else value
                for name, value in fields.items()}
        status, content = self._post(address, function.name, body, function.interface, function.retried)
        if function.no_content and (status == 204 or not content.strip()):
            return {}
        payload = self._check_status(address, status, content)
        return {**payload, **self.fields(address, payload, *function.answer, unbounded=function.unbounded)}

    @staticmethod
    def fields(address: str, payload: dict[str, Any], *names: str, unbounded: tuple[str, ...] = ()) -> dict[str, Any]:
        """The base64 fields ``names`` decoded (white space stripped; each at most :data:`MAX_FIELD` bytes
        unless ``unbounded``), and the transactionId as sent."""
        fields: dict[str, Any] = {"transactionId": payload.get("transactionId")}
        for name in names:
            value = payload.get(name)
            if not isinstance(value, str):
                raise ServerError(address, f"the answer has no valid {name} ({_kind(value)}, not base64 text)")
            try:
                fields[name] = base64.b64decode("".join(value.split()), validate=True)
            except ValueError:
                raise ServerError(address, f"the answer has no valid {name} (not base64)") from None
            if name not in unbounded and len(fields[name]) > MAX_FIELD:
                raise ServerError(address, f"its {name} is {len(fields[name])} bytes, more than the {MAX_FIELD} "
                                           "lpa passes to the eUICC")
        return fields

    def _post(self, address: str, function: str, body: dict[str, Any], interface: str,
              retried: bool) -> tuple[int, bytes]:
        """POST ``body`` to ``function``; the status and body of a 2xx answer, or ServerError.

        The body is read up to :data:`MAX_ANSWER` bytes: a server does not decide how much lpa holds.
        """
        url = urlsplit(f"{base_url(address)}/gsma/rsp2/{interface}/{function}")
        data = json.dumps(body, allow_nan=False).encode()
        deadline = time.monotonic() + self.timeout
        left = self.retries if retried else 0
        tries = 0
        while True:
            tries += 1
            try:
                status, reason, location, content = self._exchange(url, data, deadline)
            except Exception as error:  # whatever http.client, ssl or the socket raise: one reason
                if left and _failure_kind(error) != _OTHER and self._wait(tries, deadline):
                    left -= 1
                    continue
                raise ServerError(address, self._reason(error)) from None
            if status in _RETRIED_STATUS and left and self._wait(tries, deadline):
                left -= 1
                continue
            break
        if len(content) > MAX_ANSWER:
            raise ServerError(address, f"the answer is larger than {MAX_ANSWER} bytes")
        if 200 <= status < 300:
            return status, content
        if 300 <= status < 400:
            where = location or "nowhere"
            raise ServerError(address, f"HTTP {status} redirect to {where[:100]!r} (lpa follows no redirects)")
        raise ServerError(address, f"HTTP {status} {reason[:100]}".strip())

    def _wait(self, tries: int, deadline: float) -> bool:
        """Wait before try ``tries + 1`` (at once after the first, then the back-off doubling); False,
        without waiting, if that would pass the deadline."""
        pause = 0.0 if tries <= 1 else self.backoff * 2 ** (tries - 1)
        if time.monotonic() + pause >= deadline:
            return False
        time.sleep(pause)
        return True

    def _exchange(self, url: Any, data: bytes, deadline: float) -> tuple[int, str, str | None, bytes]:
        """One POST of ``data`` to ``url`` on the server's connection, within ``deadline``: status, reason,
        Location and up to :data:`MAX_ANSWER` + 1 bytes of the body."""
        host, port = url.hostname or "", url.port or 443
        connection = self._connection(host, port, deadline)
        try:
            _limit(connection, deadline)
            connection.request("POST", url.path, body=data, headers={
                "Content-Type": "application/json;charset=UTF-8", "X-Admin-Protocol": ADMIN_PROTOCOL,
                "User-Agent": USER_AGENT})
            _limit(connection, deadline)
            response = connection.getresponse()
            content = bytearray()
            while len(content) <= MAX_ANSWER:  # all of it within the deadline
                _limit(connection, deadline)
                try:
                    chunk = response.read(min(64 * 1024, MAX_ANSWER + 1 - len(content)))
                except (ConnectionError, http.client.HTTPException) as error:  # reset, cut chunk: after the headers
                    raise _Lost(str(error)) from error
                if not chunk:
                    break
                content += chunk
            if len(content) <= MAX_ANSWER and response.length:  # http.client reads a cut body as a short one
                raise _Lost(f"{response.length} bytes of the answer missing")
        except BaseException:
            connection.close()
            del self._connections[host, port]
            raise
        if response.will_close or not response.isclosed():  # the server closes it, or the answer was cut
            connection.close()
            del self._connections[host, port]
        return response.status, response.reason or "", response.getheader("Location"), bytes(content)

    def _connection(self, host: str, port: int, deadline: float) -> http.client.HTTPSConnection:
        """The open connection to ``host``, or a new one (through the environment's proxy, if any)."""
        connection = self._connections.get((host, port))
        if connection is not None and connection.sock is not None and not _dropped(connection.sock):
            return connection
        if connection is not None:
            connection.close()
        timeout = max(deadline - time.monotonic(), 0.001)
        proxy = _proxy(host)
        if proxy is None:
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context)
        else:
            proxy_host, proxy_port, authorization = proxy
            connection = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout, context=self._context)
            connection.set_tunnel(host, port, headers=authorization)
        self._connections[host, port] = connection
        return connection

    def _check_status(self, address: str, status_code: int, content: bytes) -> dict[str, Any]:
        """The JSON body, if its functionExecutionStatus is a success (SGP.22 6.5.1.4)."""
        try:
            payload = parse_json(content)
            status = payload["header"]["functionExecutionStatus"]
            if not isinstance(status, dict):
                raise TypeError(status)
        except (ValueError, KeyError, TypeError):
            raise ServerError(address, f"HTTP {status_code} with an unexpected body: "
                                       f"{content[:120].decode('utf-8', 'replace')!r}") from None
        said = status.get("status")
        if said in _SUCCESS:
            return payload
        if not isinstance(said, str):
            raise ServerError(address, f"HTTP {status_code} with a functionExecutionStatus whose status is "
                                       f"{excerpt(said)}, not text")
        data = status.get("statusCodeData")
        data = data if isinstance(data, dict) else {}
        detail = ", ".join(f"{k} {excerpt(data[k], 200)}" for k in ("subjectCode", "reasonCode",
                                                                     "subjectIdentifier", "message") if k in data)
        meaning = STATUS_CODES.get((str(data.get("subjectCode")), str(data.get("reasonCode"))))
        raise ServerError(address, f"{excerpt(said, 40)}{': ' + detail if detail else ''}"
                                   f"{f' ({meaning})' if meaning else ''}")

    def _reason(self, error: BaseException) -> str:
        """What went wrong, in the words a user needs: the innermost cause that names it."""
        verify = _find_cause(error, ssl.SSLCertVerificationError)
        if verify is not None:
            unknown = f"; the card also names {', '.join(self.anchors.unknown_key_ids)}, not in certs/" \
                if self.anchors.unknown_key_ids else ""
            return (f"TLS verification failed: {_no_source(getattr(verify, 'verify_message', None) or verify)} "
                    f"(trusted: {self.anchors.describe()}{unknown}); if this SM-DP+ uses a CI lpa does not "
                    "know, give its certificate with --ca-file")
        for kind, reason in (
            (socket.gaierror, "host name not found"),
            (ConnectionRefusedError, "connection refused"),
            (ConnectionResetError, "connection reset by peer"),
            (BrokenPipeError, "connection closed by the server"),
        ):
            if _find_cause(error, kind) is not None:
                return reason
        tls = _find_cause(error, ssl.SSLError)
        if tls is not None:  # a server that is not TLS, closes in the handshake, sends an alert, ...
            return f"TLS failed ({_no_source(tls)})"
        text = " ".join(str(e) for e in _chain(error))
        if "handshake" in text:  # a socket timeout, not an SSLError: "The handshake operation timed out"
            return f"TLS handshake timed out after {self.timeout:g} s"
        if isinstance(error, (_Lost, http.client.IncompleteRead, http.client.RemoteDisconnected)) \
                or "Connection aborted" in text:
            return "connection closed by the server before the answer was complete"
        if "timed out" in text or isinstance(error, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        return f"connection failed ({_no_source(error)[:120]})"


def _kind(value: Any) -> str:
    """What a JSON value is, in words."""
    return {type(None): "missing", bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), "a value")


def excerpt(value: Any, limit: int = 60) -> str:
    """A server's value in a message: text as it is (cut at ``limit``), anything else named by kind."""
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"
    return _kind(value)


def _no_source(error: object) -> str:
    """An error's text without the C source location OpenSSL's messages end with ("(_ssl.c:1006)")."""
    return re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(error))


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and every one it wraps."""
    seen: list[BaseException] = []
    todo: list[Any] = [error]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__, *item.args])
    return seen


def _find_cause(error: BaseException, kind: type) -> BaseException | None:
    """The first exception of ``kind`` in the chain."""
    return next((e for e in _chain(error) if isinstance(e, kind)), None)


def _limit(connection: http.client.HTTPConnection, deadline: float) -> None:
    """Let the next socket operation wait only until ``deadline``."""
    if connection.sock is not None:
        connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))


def _dropped(sock: socket.socket) -> bool:
    """Has the server closed a kept connection (it is readable: end of file or a stray byte)?"""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _proxy(host: str) -> tuple[str, int, dict[str, str]] | None:
    """The environment's proxy for ``host`` (``HTTPS_PROXY`` or ``ALL_PROXY``, unless ``NO_PROXY`` names it):
    host, port and a Proxy-Authorization header for its credentials; None for a direct connection."""
    import os

    if not any(name.lower() in ("https_proxy", "all_proxy") for name in os.environ):
        return None
    from urllib.request import getproxies_environment, proxy_bypass_environment

    proxies = getproxies_environment()
    address = proxies.get("https") or proxies.get("all")
    if not address or proxy_bypass_environment(host, proxies):
        return None
    parts = urlsplit(address if "://" in address else f"http://{address}")
    headers = {}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    return parts.hostname or "", parts.port or 8080, headers
