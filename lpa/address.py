"""SM-DP+ and SM-DS addresses: a host (DNS name, IPv4, bracketed IPv6) with an optional port.

They come from the card (notification addresses, the default SM-DP+) and
from activation codes: untrusted text, parsed in linear time without
regular expressions (a backtracking pattern took minutes on a 41-character
address).
"""
from __future__ import annotations

import ipaddress

from .errors import InputError, ServerError


def parse_address(address: str, role: str = "SM-DP+") -> tuple[str, int | None]:
    """Split an SM-DP+ (or ``role``) address into host and port, or raise ServerError.

    The host is a DNS name, an IPv4 address or a bracketed IPv6 address,
    with an optional ``:port``; stray white space (seen from one operator)
    is trimmed. Linear time in the length of ``address``: it comes from the
    card or an activation code.
    """
    host = address.strip()
    port: int | None = None
    if host.startswith("["):
        inside, closed, rest = host[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise _malformed(address, role)
        port = _port(rest[1:], address, role) if rest else None
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise _malformed(address, role) from None
        return f"[{inside}]", port
    if host.count(":") == 1:
        host, text = host.split(":")
        port = _port(text, address, role)
    if not _is_dns_name(host):
        raise _malformed(address, role)
    return host, port


def check_address(address: str, role: str = "SM-DP+") -> None:
    """An address the user gave: as :func:`parse_address`, refused with InputError (exit 2)."""
    try:
        parse_address(address, role)
    except ServerError as error:
        raise InputError(error.reason) from None


def _port(text: str, address: str, role: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536):
        raise _malformed(address, role)
    return int(text)


def _is_dns_name(host: str) -> bool:
    """A DNS name (RFC 1123 labels, 253 characters at most, a trailing dot allowed) or an IPv4 address."""
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not name.isascii():
        return False
    for label in name.split("."):
        if not 0 < len(label) <= 63 or label[0] == "-" or label[-1] == "-":
            return False
        if not label.replace("-", "").isalnum():
            return False
    return True


def _malformed(address: str, role: str) -> ServerError:
    shown = address if len(address) <= 80 else address[:80] + "..."
    return ServerError(shown or "(empty)", f"malformed {role} address {shown!r}")


def base_url(address: str) -> str:
    """``https://host[:port]`` for an SM-DP+ address."""
    host, port = parse_address(address)
    return f"https://{host}" + (f":{port}" if port else "")
