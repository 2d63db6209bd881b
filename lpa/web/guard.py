"""What keeps `lpa web` a local application: the secret, its cookie, the Host and Origin checks, the headers.

A page on any web site the user visits can send requests to 127.0.0.1, and
a name it controls can resolve there (DNS rebinding). So every request
needs the session cookie, given once for the one-time secret printed with
the address; the Host header must name the address served; a request that
changes anything must be a POST whose Origin is the page itself; no
response allows another origin (no CORS headers), and the
Content-Security-Policy lets the page run only its own script file.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

#: The session cookie's name.
COOKIE = "lpa_web"

#: Only the page's own files: no inline script or style, no other origin, no framing, forms only to itself.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make the browser send Origin: null
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass
class Guard:
    """The secret of one `lpa web` run and the checks every request passes."""

    #: host:port as the browser names it (the Host header), each address served.
    hosts: frozenset[str]
    #: "https" with --listen (TLS), else "http".
    scheme: str
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: The secret is exchanged for the cookie once.
    spent: bool = False

    def host_refusal(self, host: str) -> str | None:
        """Why a request with this Host header is refused (DNS rebinding), or None."""
        if host.lower() not in self.hosts:
            return "this server answers only to its own address; open the address lpa web printed"
        return None

    def exchange(self, offered: str | None) -> bool:
        """Is ``offered`` the one-time secret, unspent? Spends it."""
        if offered is None or self.spent or not hmac.compare_digest(offered.encode(), self.secret.encode()):
            return False
        self.spent = True
        return True

    def admits(self, cookie: str | None) -> bool:
        """Does the request carry the session cookie?"""
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.token.encode())

    def origin_refusal(self, method: str, origin: str | None, host: str) -> str | None:
        """Why a state-changing request is refused (CSRF), or None: POST only, from the page's own origin."""
        if method in ("GET", "HEAD"):
            return None
        if method != "POST":
            return f"{method} is not accepted"
        if origin != f"{self.scheme}://{host.lower()}":
            return "a change must come from lpa web's own page (the request's Origin is another site or missing)"
        return None
