"""The Bound Profile Package as the LPA handles it: cut into the pieces it loads one by one.

The LPA never decrypts a BPP (SGP.22 2.5.4); it forwards it to the eUICC
byte for byte, as ES10b.LoadBoundProfilePackage calls, each piece its own
STORE DATA sequence (SGP.22 2.5.5 "Segmented BPP"; docs/bound-profile-package.md, "Pieces and answers"):
the BF36 header with the BF23 TLV; the A0 header with its first 87; each
further 87; the A1 header alone; each 88; the A2 header with its first 87
and each further 87, if A2 is there; the A3 header alone; each 86.
"""
from __future__ import annotations

from .errors import ProtocolError

#: The containers of a BPP and whether their header travels with their first child.
_CONTAINERS = {0xA0: True, 0xA1: False, 0xA2: True, 0xA3: False}


def _header(data: bytes, pos: int) -> tuple[int, int]:
    """The end of the tag and length at ``pos`` (< len(data)), and the length (definite form, as DER has)."""
    end = pos + 1
    if data[pos] & 0x1F == 0x1F:
        while end < len(data) and data[end] & 0x80:
            end += 1
        end += 1
    if end >= len(data):
        raise ProtocolError("the Bound Profile Package ends in the middle of a TLV")
    first = data[end]
    if first < 0x80:
        return end + 1, first
    size = first & 0x7F
    if not 1 <= size <= 3 or end + 1 + size > len(data):
        raise ProtocolError("the Bound Profile Package has a TLV length lpa cannot read")
    return end + 1 + size, int.from_bytes(data[end + 1 : end + 1 + size], "big")


def _tlv_end(data: bytes, pos: int, limit: int) -> int:
    start, length = _header(data, pos)
    if start + length > limit:
        raise ProtocolError("a TLV of the Bound Profile Package runs past its container")
    return start + length


def split_bpp(bpp: bytes) -> list[bytes]:
    """The pieces of ``bpp`` in the order LoadBoundProfilePackage sends them."""
    if bpp[:2] != b"\xbf\x36":
        raise ProtocolError("not a Bound Profile Package (BF36)")
    body, length = _header(bpp, 0)
    end = body + length
    if end != len(bpp):
        raise ProtocolError("the Bound Profile Package's length does not match its size")
    if bpp[body : body + 2] != b"\xbf\x23":
        raise ProtocolError("the Bound Profile Package does not start with InitialiseSecureChannel (BF23)")
    pos = _tlv_end(bpp, body, end)
    pieces = [bpp[:pos]]
    while pos < end:
        tag = bpp[pos]
        if tag not in _CONTAINERS:
            raise ProtocolError(f"unexpected tag {tag:02X} in the Bound Profile Package")
        children, size = _header(bpp, pos)
        limit = children + size
        if limit > end:
            raise ProtocolError(f"container {tag:02X} runs past the Bound Profile Package")
        header_alone = not _CONTAINERS[tag]
        piece_start = pos
        pos = children
        if header_alone:
            pieces.append(bpp[piece_start:children])
            piece_start = pos
        if pos == limit and not header_alone:
            pieces.append(bpp[piece_start:limit])  # an empty container: its header alone
        while pos < limit:
            pos = _tlv_end(bpp, pos, limit)
            pieces.append(bpp[piece_start:pos])
            piece_start = pos
    return pieces
