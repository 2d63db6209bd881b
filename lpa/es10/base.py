"""What every ES10 function shares: the STORE DATA call, result codes, profile identifiers."""
from __future__ import annotations

from typing import Any, NoReturn, Protocol

from .. import codec
from ..encoding import iccid_to_bytes
from ..errors import ProtocolError, ResultError


class StoreData(Protocol):
    """What an ES10 function needs: an ISD-R channel (:class:`lpa.apdu.Channel`).

    If it has a ``note`` callable, leniently accepted answers are reported to it.
    """

    def store_data(self, payload: bytes, name: str = ...) -> bytes: ...


def call(ch: StoreData, request_type: str, request: object, response_type: str, name: str) -> Any:
    """Send ``request`` as ``request_type``; the answer decoded as ``response_type`` (asn1tools' untyped
    values: dicts, tuples for CHOICEs and BIT STRINGs, bytes, ints, text; hence Any)."""
    return exchange(ch, request_type, request, response_type, name)[1]


def exchange(ch: StoreData, request_type: str, request: object, response_type: str, name: str) -> tuple[bytes, Any]:
    """:func:`call`, with the answer also as the card sent it (for what is forwarded unchanged)."""
    answer = ch.store_data(codec.encode(request_type, request), name)
    if not answer:
        raise ProtocolError(f"{name}: the card answered 9000 with no data; try a smaller --mss")
    return answer, codec.decode(response_type, answer, getattr(ch, "note", None))


def check(name: str, result: int, reasons: dict[int, tuple[str, str]], what: str) -> None:
    """A result code: 0 is ok, anything else raises ResultError."""
    if result != 0:
        refused(name, result, reasons, what)


def refused(name: str, result: int, reasons: dict[int, tuple[str, str]], what: str) -> NoReturn:
    """Raise ResultError for ``result``, the value of a response's error alternative (even 0)."""
    reason, message = reasons.get(result, ("undefinedError", "the eUICC reported an undefined error"))
    where = f"{name} {what}" if what else name
    raise ResultError(name, result, reason, f"{where}: {message} (result {result}, {reason})")


def identifier_choice(identifier: str | bytes) -> tuple[str, bytes]:
    """ProfileIdentifier CHOICE: an ISD-P AID as bytes, or an ICCID as digits."""
    if isinstance(identifier, bytes):
        return ("isdpAid", identifier)
    return ("iccid", iccid_to_bytes(identifier))


def describe(identifier: str | bytes) -> str:
    return identifier.hex().upper() if isinstance(identifier, bytes) else identifier
