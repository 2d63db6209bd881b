"""ES9+: the LPA's HTTPS client of the SM-DP+ (SGP.22 5.6, 6.1-6.5).

Every function is a JSON POST to ``https://<address>/gsma/rsp2/es9plus/<function>``
with the headers of SGP.22 6.5.1. :meth:`Es9pClient._post` does the
transport part (TLS anchored at the GSMA CIs, timeouts, bounded retries
with back-off, proxies from the environment, one connection pool for all
calls); each ES9+ function is a small method on top of it.
"""
from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from typing import Any

import requests

from .errors import ServerError
from .trust import TrustAnchors

ADMIN_PROTOCOL = "gsma/rsp/v2.2.0"
USER_AGENT = "gsma-rsp-lpad"
_SUCCESS = ("Executed-Success", "Executed-WithWarning")
_ADDRESS = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")


def base_url(address: str) -> str:
    """``https://<address>`` for an SM-DP+ address ``host`` or ``host:port``.

    Stray white space (seen from one operator) is trimmed; anything else
    that is not a host name or address with an optional port is refused.
    """
    host = address.strip()
    if not host or not _ADDRESS.match(host) or (":" in host and not host.startswith("[")
                                                 and not 0 < int(host.rsplit(":", 1)[1]) < 65536):
        raise ServerError(address or "(empty)", f"malformed SM-DP+ address {address!r}")
    return f"https://{host}"


class Es9pClient:
    """An ES9+ client for one LPA session (close it, or use it as a context manager)."""

    def __init__(
        self,
        anchors: TrustAnchors,
        *,
        timeout: float = 20.0,
        connect_timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.anchors = anchors
        self.timeout = (connect_timeout, timeout)
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers.update({
            "Content-Type": "application/json;charset=UTF-8",
            "X-Admin-Protocol": ADMIN_PROTOCOL,
            "User-Agent": USER_AGENT,
        })

    def __enter__(self) -> "Es9pClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def handle_notification(self, address: str, pending_notification: bytes) -> None:
        """ES9+.HandleNotification (SGP.22 5.6.4, 6.5.2.9): deliver one PendingNotification.

        Success is HTTP 204; another 2xx counts only with an empty body or a
        successful functionExecutionStatus. Raises ServerError otherwise.
        """
        response = self._post(address, "handleNotification",
                              {"pendingNotification": base64.b64encode(pending_notification).decode()})
        if response.status_code != 204 and response.content.strip():
            self._check_status(address, response)

    def _post(self, address: str, function: str, body: dict[str, Any]) -> requests.Response:
        """POST ``body`` to the ES9+ ``function``; return a 2xx response or raise ServerError.

        Connection failures, time-outs and 5xx answers are retried
        ``retries`` times with exponential back-off; TLS failures are not.
        """
        url = f"{base_url(address)}/gsma/rsp2/es9plus/{function}"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                # verify per request: a session-wide one loses to REQUESTS_CA_BUNDLE
                response = self.session.post(url, json=body, timeout=self.timeout, verify=self.anchors.bundle)
            except requests.exceptions.SSLError as error:
                raise ServerError(address, self._tls_reason(error)) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                reason = _network_reason(error, self.timeout[1])
                continue
            if 200 <= response.status_code < 300:
                return response
            reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
            if response.status_code < 500:
                break
        raise ServerError(address, reason)

    def _check_status(self, address: str, response: requests.Response) -> dict[str, Any]:
        """The JSON body, if its functionExecutionStatus is a success (SGP.22 6.5.1.4)."""
        try:
            payload = response.json()
            status = payload["header"]["functionExecutionStatus"]
        except (ValueError, KeyError, TypeError):
            raise ServerError(address, f"HTTP {response.status_code} with an unexpected body: "
                                       f"{response.text[:120]!r}") from None
        if status.get("status") in _SUCCESS:
            return payload
        data = status.get("statusCodeData") or {}
        detail = ", ".join(f"{k} {data[k]}" for k in ("subjectCode", "reasonCode", "subjectIdentifier", "message")
                           if k in data)
        raise ServerError(address, f"{status.get('status', 'no status')}{': ' + detail if detail else ''}")

    def _tls_reason(self, error: Exception) -> str:
        cause = _find_cause(error, ssl.SSLCertVerificationError)
        what = getattr(cause, "verify_message", None) or str(_find_cause(error, ssl.SSLError) or error)
        unknown = f"; the card also names {', '.join(self.anchors.unknown_key_ids)}, not in certs/" \
            if self.anchors.unknown_key_ids else ""
        return f"TLS verification failed: {what} (trusted: {self.anchors.describe()}{unknown})"


def _find_cause(error: BaseException, kind: type) -> BaseException | None:
    """The first exception of ``kind`` in the chain requests and urllib3 build."""
    seen: set[int] = set()
    todo: list[Any] = [error]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return item
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__, *item.args])
    return None


def _network_reason(error: Exception, read_timeout: float) -> str:
    if isinstance(error, requests.exceptions.ReadTimeout):
        return f"no answer within {read_timeout:g} s"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    for kind, reason in (
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (socket.gaierror, "host name not found"),
    ):
        if _find_cause(error, kind) is not None:
            return reason
    if "RemoteDisconnected" in repr(error) or "ProtocolError" in repr(error):
        return "connection closed by the server"
    return f"connection failed ({type(error).__name__})"
