"""The BER-TLV the card reads and writes by hand, outside the ASN.1 codec: where a TLV's value
starts, and the signature element that later signatures cover."""
from __future__ import annotations

from ...errors import ProtocolError


def header(data: bytes) -> tuple[int, int]:
    """Where the value of the TLV at the start of ``data`` (not empty) begins, and its length.

    Definite lengths only, as DER has, of at most three bytes; ProtocolError when ``data`` ends
    within the tag or the length.
    """
    end = 1
    if data[0] & 0x1F == 0x1F:  # a tag of several bytes: the last has bit 8 clear
        while end < len(data) and data[end] & 0x80:
            end += 1
        end += 1
    if end >= len(data):
        raise ProtocolError("the data ends in the middle of a TLV's tag or length")
    if data[end] < 0x80:
        return end + 1, data[end]
    size = data[end] & 0x7F
    if not 1 <= size <= 3 or end + 1 + size > len(data):
        raise ProtocolError("a TLV length of an unsupported form or past the end of the data")
    return end + 1 + size, int.from_bytes(data[end + 1:end + 1 + size], "big")


def signature_tlv(signature: bytes) -> bytes:
    """The ``5F37 40 <r||s>`` element a signature travels in, which the next signature covers."""
    return b"\x5f\x37" + bytes([len(signature)]) + signature
