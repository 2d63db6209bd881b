"""The HTTPS policy of every server lpa talks to: SM-DP+ (ES9+) and SM-DS (ES11).

SGP.22 6.5 carries both interfaces the same way: a JSON POST to
``https://<address>/gsma/rsp2/<interface>/<function>`` with the headers of
SGP.22 6.5.1, binary fields in base64. :mod:`lpa.es9p` and :mod:`lpa.es11`
declare their functions as :class:`Function` values; :class:`HttpsClient`
calls any of them, and holds the policy once:

- TLS verified against the trust anchors given, held in memory in an SSL
  context: no CA file is read or written, and requests' CA bundles
  (certifi, ``REQUESTS_CA_BUNDLE``) never apply. There is no way to turn
  verification off.
- No redirects: a 3xx answer is a failure with its reason, so nothing is
  ever sent anywhere but to the address asked for, and only over HTTPS.
- One deadline per call (``timeout``) bounds connecting, the TLS handshake,
  reading and the retries together.
- Retries by urllib3's Retry, per function (:attr:`Function.retried`): only
  a function that is safe to send twice is retried, on connection failures,
  time-outs and HTTP 5xx; a name that does not resolve is not retried.
- Answers read up to :data:`MAX_ANSWER` bytes and parsed with bounds
  (:func:`lpa.encoding.parse_json`: nesting, no NaN, lone surrogates replaced); each
  field's type and size checked before use (:data:`MAX_FIELD`); every
  failure of a server's answer is a ServerError naming the server (exit 5),
  worded for the user (the server's status and reason codes in words, the
  TLS failure named, with ``--ca-file`` suggested for an unknown CI).
- Proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``), but never
  credentials from ``~/.netrc``.
"""
from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Retry, Timeout

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

class _Deadline(Timeout):
    """A urllib3 Timeout whose every attempt gets only the time left until ``deadline``.

    urllib3 clones the Timeout for each attempt (retries included), so the
    connect, TLS handshake and read of all attempts fit in one budget.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(total=max(deadline - time.monotonic(), 0.001))
        self.deadline = deadline

    def clone(self) -> Timeout:
        return Timeout(total=max(self.deadline - time.monotonic(), 0.001))


class _Retry(Retry):
    """urllib3's Retry, giving up at the deadline and at once on a name that does not resolve."""

    deadline = float("inf")

    def new(self, **kwargs: Any) -> "_Retry":
        retry = super().new(**kwargs)
        retry.deadline = self.deadline
        return retry

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> "_Retry":
        if isinstance(error, urllib3.exceptions.NameResolutionError):
            raise urllib3.exceptions.MaxRetryError(_pool, url, error)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if time.monotonic() + retry.get_backoff_time() >= self.deadline:
            # after a retried status (error None) urllib3 catches this and returns that last answer
            raise urllib3.exceptions.MaxRetryError(_pool, url, error)
        return retry


class _Adapter(HTTPAdapter):
    """An HTTPAdapter verifying TLS with lpa's SSL context only."""

    def __init__(self, context: ssl.SSLContext, retry: Retry) -> None:
        self.context = context
        super().__init__(max_retries=retry)

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, True, cert)
        return host_params, {"ssl_context": self.context, "cert_reqs": "CERT_REQUIRED"}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pass  # the SSL context holds the trust anchors; no CA bundle path applies


def _no_auth(request: Any) -> Any:
    """Set as the session's auth, so that requests never adds ~/.netrc credentials."""
    return request


class HttpsClient:
    """The client of one LPA session's servers (close it, or use it as a context manager).

    Calls to the same server share one connection (one TLS handshake) while
    the server keeps it open.
    """

    def __init__(self, anchors: TrustAnchors, *, timeout: float = 20.0, retries: int = 2,
                 backoff: float = 0.5) -> None:
        self.anchors = anchors
        self.timeout = timeout
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # host name checked, certificate required
        if anchors.pem:  # only these: never the system's CAs, which create_default_context adds for no cadata
            context.load_verify_locations(cadata=anchors.pem)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.session = requests.Session()
        self.session.auth = _no_auth
        self.session.headers.update({
            "Content-Type": "application/json;charset=UTF-8",
            "X-Admin-Protocol": ADMIN_PROTOCOL,
            "User-Agent": USER_AGENT,
        })
        retry = _Retry(total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
                       status_forcelist=_RETRIED_STATUS, allowed_methods=None, backoff_factor=backoff,
                       raise_on_status=False, raise_on_redirect=False, respect_retry_after_header=False)
        once = _Retry(total=0, read=False, redirect=0, raise_on_redirect=False, raise_on_status=False)
        self._retries = {True: retry, False: once}
        # one adapter, so one connection pool: a retried function (a notification) and one that is not
        # (a download's) share the TLS connection; each request sets the retries it is allowed
        self._adapter = _Adapter(context, once)
        self.session.mount("https://", self._adapter)
        self.session.mount("http://", self._adapter)

    def __enter__(self) -> "HttpsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

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
        url = f"{base_url(address)}/gsma/rsp2/{interface}/{function}"
        deadline = time.monotonic() + self.timeout
        self._adapter.max_retries = self._retries[retried]
        self._adapter.max_retries.deadline = deadline
        content = bytearray()
        try:
            # requests hands a urllib3 Timeout on as it is (HTTPAdapter.send), though its types say float
            with self.session.post(url, json=body, timeout=_Deadline(deadline),  # type: ignore[arg-type]
                                   allow_redirects=False, stream=True) as response:
                for chunk in response.iter_content(64 * 1024):  # all of it within the deadline
                    content += chunk
                    if len(content) > MAX_ANSWER:
                        break
        except Exception as error:  # whatever requests, urllib3 or the socket raise: one reason
            raise ServerError(address, self._reason(error)) from None
        if len(content) > MAX_ANSWER:
            raise ServerError(address, f"the answer is larger than {MAX_ANSWER} bytes")
        if 200 <= response.status_code < 300:
            return response.status_code, bytes(content)
        if 300 <= response.status_code < 400:
            where = response.headers.get("Location", "nowhere")
            raise ServerError(address, f"HTTP {response.status_code} redirect to {where[:100]!r} "
                                       "(lpa follows no redirects)")
        raise ServerError(address, f"HTTP {response.status_code} {(response.reason or '')[:100]}".strip())

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
            (urllib3.exceptions.NameResolutionError, "host name not found"),
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
        if isinstance(error, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)) \
                or "IncompleteRead" in text or "RemoteDisconnected" in text or "Connection aborted" in text:
            return "connection closed by the server before the answer was complete"
        if "timed out" in text or isinstance(error, requests.Timeout):
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
    """The exception and every one it wraps (requests and urllib3 nest them deeply)."""
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
    """The first exception of ``kind`` in the chain requests and urllib3 build."""
    return next((e for e in _chain(error) if isinstance(e, kind)), None)
