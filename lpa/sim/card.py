"""The simulated eUICC at the APDU level: ATR, channels, SELECT, STORE DATA, GET RESPONSE.

It answers like the removable eUICCs seen in captures (spec-notes, "Known
card and server quirks"): SELECT answers 61xx and the FCI comes with GET
RESPONSE, long answers come as 61xx chains, STORE DATA blocks are
reassembled in order, and a wrong class, instruction, P1/P2 or length gets
the ISO/IEC 7816-4 status word. :class:`Quirks` make it behave like
particular cards (another ISD-R AID, no logical channels, a segment size
limit, 6Cxx, short GET RESPONSE chunks).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .identity import Identity
from .isdr import CardStatus, Isdr
from .state import SimState, StateFile

#: ISD-R AID of SGP.22 2.2.3.
STANDARD_ISDR_AID = "A0000005591010FFFFFFFF8900000100"

#: ATR of the simulated eUICC: T=0 and T=1, like removable eUICCs.
DEFAULT_ATR = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")


@dataclass
class Quirks:
    """Ways real cards differ; the defaults behave like a well-behaved eUICC."""

    #: The ISD-R AID the card answers to.
    isdr_aid: str = STANDARD_ISDR_AID
    #: Refuse MANAGE CHANNEL with 6881 (only the basic channel works).
    no_logical_channels: bool = False
    #: The first logical channel the card hands out (some cards start at 2).
    first_channel: int = 1
    #: Reject a STORE DATA block longer than this with ``segment_error``.
    max_segment: int = 255
    segment_error: int = 0x6700
    #: Answer a command whose Le does not fit the answer with 6Cxx first.
    wrong_le_6c: bool = False
    #: Largest chunk a GET RESPONSE returns (real cards: up to 256).
    chunk: int = 256

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Quirks":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown card quirks: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class _Channel:
    isdr_selected: bool = False
    blocks: bytearray | None = None
    next_block: int = 0
    pending: bytes = b""  # answer bytes waiting for GET RESPONSE
    pending_sw: int = 0x9000


class Card:
    """One simulated eUICC. Call :meth:`power_on` (or :meth:`reset`) before :meth:`transmit`."""

    def __init__(self, state_file: StateFile, atr: bytes = DEFAULT_ATR) -> None:
        self.state_file = state_file
        self.atr = atr
        self.state: SimState | None = None
        self.quirks = Quirks()
        self._channels: dict[int, _Channel] = {}
        self._isdr: Isdr | None = None
        self._stamp: tuple[int, int] | None = None

    # -- power -----------------------------------------------------------------

    def power_on(self) -> bytes:
        """Start a new card session, reading the state file afresh; return the ATR."""
        self._load()
        self._channels = {0: _Channel()}
        return self.atr

    def _load(self) -> None:
        self.state = self.state_file.load()
        self._stamp = self.state_file.stamp()
        self.quirks = Quirks.from_json(self.state.quirks)
        self._isdr = Isdr(self.state, Identity.from_state(self.state.identity))

    reset = power_on

    def power_off(self) -> None:
        self.state = None
        self._isdr = None
        self._channels = {}

    # -- APDUs -----------------------------------------------------------------

    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU; return response data + SW1 SW2."""
        if self._isdr is None:
            return b"\x6f\x00"  # not powered
        try:
            data, sw = self._process(apdu)
        except CardStatus as status:
            data, sw = b"", status.sw
        return data + sw.to_bytes(2, "big")

    def _process(self, apdu: bytes) -> tuple[bytes, int]:
        if len(apdu) < 4:
            raise CardStatus(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        data, le = _parse_body(apdu[4:])
        if cla == 0xFF or cla & 0x20 and not cla & 0x40 or cla & 0x0C and not cla & 0x40:
            raise CardStatus(0x6E00)  # PPS, chaining or secure messaging: not supported
        number = 4 + (cla & 0x0F) if cla & 0x40 else cla & 0x03
        channel = self._channels.get(number)
        if channel is None:
            raise CardStatus(0x6881)
        proprietary = bool(cla & 0x80)
        if ins == 0xC0 and not proprietary:
            return self._get_response(channel, p1, p2, le)
        channel.pending = b""
        if ins == 0x70 and not proprietary:
            return self._manage_channel(number, p1, p2, le)
        if ins == 0xA4 and not proprietary:
            return self._select(channel, p1, p2, data)
        if ins == 0xE2 and proprietary:
            return self._store_data(channel, p1, p2, data, le)
        if ins in (0x70, 0xA4, 0xC0, 0xE2):
            raise CardStatus(0x6E00)
        raise CardStatus(0x6D00)

    def _respond(self, channel: _Channel, data: bytes, le: int | None, sw: int = 0x9000) -> tuple[bytes, int]:
        """Answer directly when Le asks for it all, else through GET RESPONSE (61xx)."""
        if not data:
            return b"", sw
        if le is not None and len(data) <= le and not (self.quirks.wrong_le_6c and le != len(data)):
            return data, sw
        if le is not None and self.quirks.wrong_le_6c and len(data) <= 256:
            channel.pending, channel.pending_sw = b"", sw
            raise CardStatus(0x6C00 | (len(data) & 0xFF))
        channel.pending, channel.pending_sw = data, sw
        return b"", 0x6100 | min(len(data), 256) & 0xFF

    def _get_response(self, channel: _Channel, p1: int, p2: int, le: int | None) -> tuple[bytes, int]:
        if p1 or p2:
            raise CardStatus(0x6A86)
        if not channel.pending:
            raise CardStatus(0x6985)
        available = min(len(channel.pending), self.quirks.chunk)
        if le is None or (self.quirks.wrong_le_6c and le != available):
            raise CardStatus(0x6C00 | available & 0xFF)
        chunk, channel.pending = channel.pending[: min(le, available)], channel.pending[min(le, available):]
        if channel.pending:
            return chunk, 0x6100 | min(len(channel.pending), self.quirks.chunk) & 0xFF
        return chunk, channel.pending_sw

    def _manage_channel(self, number: int, p1: int, p2: int, le: int | None) -> tuple[bytes, int]:
        if self.quirks.no_logical_channels:
            raise CardStatus(0x6881)
        if p1 == 0x00:
            if p2 != 0 or le != 1:
                raise CardStatus(0x6A86 if p2 else 0x6700)
            free = next((n for n in range(self.quirks.first_channel, 20) if n not in self._channels), None)
            if free is None:
                raise CardStatus(0x6A81)
            self._channels[free] = _Channel()
            return bytes([free]), 0x9000
        if p1 == 0x80:
            target = p2 or number
            if target == 0 or target not in self._channels:
                raise CardStatus(0x6A86 if target == 0 else 0x6881)
            del self._channels[target]
            return b"", 0x9000
        raise CardStatus(0x6A86)

    def _select(self, channel: _Channel, p1: int, p2: int, data: bytes) -> tuple[bytes, int]:
        if p1 != 0x04 or p2 not in (0x00, 0x04, 0x0C):
            raise CardStatus(0x6A86)
        if not data:
            raise CardStatus(0x6700)
        channel.isdr_selected = data.hex().upper() == self.quirks.isdr_aid.upper()
        channel.blocks = None
        if not channel.isdr_selected:
            raise CardStatus(0x6A82)
        fci = _tlv(0x6F, _tlv(0x84, data) + _tlv(0xA5, _tlv(0x9F65, b"\xff")))
        return self._respond(channel, fci, None)

    def _store_data(self, channel: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if not channel.isdr_selected:
            raise CardStatus(0x6985)
        if p1 not in (0x11, 0x91):
            raise CardStatus(0x6A86)
        if not data:
            raise CardStatus(0x6700)
        if len(data) > self.quirks.max_segment:
            channel.blocks = None
            raise CardStatus(self.quirks.segment_error)
        if p2 == 0:
            channel.blocks, channel.next_block = bytearray(), 0
            if self.state_file.stamp() != self._stamp:
                self._load()  # changed by another process (lpa sim add-profile, lpa --sim)
        if channel.blocks is None or p2 != channel.next_block:
            channel.blocks = None
            raise CardStatus(0x6A86)
        channel.blocks += data
        channel.next_block += 1
        if p1 == 0x11:
            return b"", 0x9000
        request, channel.blocks = bytes(channel.blocks), None
        assert self._isdr is not None and self.state is not None
        self._isdr.changed = False
        answer = self._isdr.handle(request)
        if self._isdr.changed:
            self.state_file.save(self.state)
            self._stamp = self.state_file.stamp()
        return self._respond(channel, answer, le, 0x910B if self._isdr.refresh_pending else 0x9000)


def _parse_body(body: bytes) -> tuple[bytes, int | None]:
    """Split the body of a short APDU into (data, Le); Le 00 means 256."""
    if not body:
        return b"", None
    if len(body) == 1:
        return b"", body[0] or 256
    lc = body[0]
    data, rest = body[1 : 1 + lc], body[1 + lc :]
    if lc == 0 or len(data) != lc or len(rest) > 1:
        raise CardStatus(0x6700)
    return data, (rest[0] or 256) if rest else None


def _tlv(tag: int, value: bytes) -> bytes:
    """A BER-TLV with a short length (FCI templates are small)."""
    return tag.to_bytes(2 if tag > 0xFF else 1, "big") + bytes([len(value)]) + value
