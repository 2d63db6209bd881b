"""APDU layer: logical channel, SELECT ISD-R, STORE DATA, response chaining.

SGP.22 5.7.2 carries every ES10 function as one STORE DATA command
sequence to the ISD-R, on a logical channel of its own (GlobalPlatform Card
Specification 11.11, ISO/IEC 7816-4 5.1.1 for the class byte and 7.1.2
for MANAGE CHANNEL).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from . import interrupts
from .errors import ProtocolError, StatusWordError, TransportError
from .transport import Transport

#: The ISD-R AID of SGP.22 2.2.3.
ISDR_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")

#: ISD-R AIDs tried in turn when no --aid is given: the standard one, then those
#: of removable eUICCs that use another (public reports; see hardware-notes.md).
KNOWN_ISDR_AIDS: tuple[tuple[bytes, str], ...] = tuple((bytes.fromhex(aid), vendor) for aid, vendor in (
    ("A0000005591010FFFFFFFF8900000100", "SGP.22 standard"),
    ("A0000005591010FFFFFFFF8900050500", "5ber"),
    ("A0000005591010000000008900000300", "eSIM.me v2"),
    ("A0000005591010FFFFFFFF8900000177", "Xesim"),
    ("A000000559104C696E6B736669656C64", "LinksField"),
    ("A06573746B6D65FFFF4953442D522030", "eSTK.me, first element"),
    ("A06573746B6D65FFFF4953442D522031", "eSTK.me, second element"),
))


def isdr_aids(aid: bytes | None = None) -> tuple[bytes, ...]:
    """The ISD-R AIDs to try: ``aid`` alone if given, else the known ones, the standard first."""
    return (aid,) if aid else tuple(known for known, _ in KNOWN_ISDR_AIDS)


#: What cards answer to SELECT of an AID they do not have (6999 and 6D00: 5ber, XeSIM and
#: eSTK.me on a logical channel; 6A86: eSTK.me. real-cards/answers.json).
NOT_FOUND_SWS = {0x6A82, 0x6D00, 0x6A86, 0x6999}

#: What cards that do not allow the ISD-R on a logical channel answer to SELECT there: 6881
#: (a card behind a Windows reader), 6999 (5ber), 6A81, 6D00 (docs/cards-and-modems.md,
#: "Logical channels"). The basic channel is tried next with the same AID.
CHANNEL_REFUSED_SWS = {0x6881, 0x6999, 0x6A81, 0x6D00}

#: Default and largest STORE DATA segment (bytes of payload per block).
DEFAULT_MSS = 120
MAX_MSS = 255

INS_MANAGE_CHANNEL = 0x70
INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0
INS_STORE_DATA = 0xE2

#: Answers to MANAGE CHANNEL that mean "no logical channels here".
NO_CHANNEL_SWS = {0x6881, 0x6D00, 0x6E00, 0x6A81, 0x6985}

#: The most GET RESPONSE rounds one answer may take (256 x 256 bytes): a card that
#: answers 61xx for ever is broken, not slow.
MAX_CHAIN = 256

#: Segment sizes tried in turn when a card rejects a STORE DATA block as too long
#: (6700, wrong length). 6A80 is the card refusing the data itself, not its size.
FALLBACK_MSS = (120, 64, 32)
SEGMENT_REFUSED_SW = 0x6700


def cla(base: int, channel: int) -> int:
    """Class byte for ``channel`` (0-19) on top of ``base`` (0x00 or 0x80).

    ISO/IEC 7816-4 5.1.1: channels 0-3 in bits b2-b1; channels 4-19 as
    b7 set and channel-4 in b4-b1.
    """
    if not 0 <= channel <= 19:
        raise ValueError(f"logical channel {channel} out of range 0-19")
    if channel < 4:
        return base | channel
    return base | 0x40 | (channel - 4)


def is_success(sw: int) -> bool:
    """9000, or 91xx (success with a proactive command pending, seen after REFRESH)."""
    return sw == 0x9000 or sw >> 8 == 0x91


def build(cla_byte: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """A short command APDU (ISO/IEC 7816-4 5.1); ``le`` 0 means 256."""
    apdu = bytes([cla_byte, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    if le is not None:
        apdu += bytes([le & 0xFF])
    return apdu


class Channel:
    """A logical channel to the ISD-R (or the basic channel 0)."""

    def __init__(self, transport: Transport, number: int, mss: int = DEFAULT_MSS,
                 note: Callable[[str], None] = lambda message: None) -> None:
        if not 1 <= mss <= MAX_MSS:
            raise ValueError(f"segment size {mss} out of range 1-{MAX_MSS}")
        self.transport = transport
        self.number = number
        self.mss = mss
        self.note = note
        #: The AID selected on this channel.
        self.aid = b""

    def exchange(self, name: str, ins: int, p1: int, p2: int, data: bytes = b"", proprietary: bool = False) -> bytes:
        """Send one command (Le 00) on this channel and collect the whole answer.

        61xx: GET RESPONSE until the card has nothing more (chains of any
        length). 6Cxx: the same command again with Le = xx. Any other
        status that is not success raises StatusWordError naming ``name``.
        """
        cla_byte = cla(0x80 if proprietary else 0x00, self.number)
        answer, sw = self._transmit(build(cla_byte, ins, p1, p2, data, le=0), cla_byte, ins, p1, p2, data)
        rounds = 0
        while sw >> 8 == 0x61:
            rounds += 1
            if rounds > MAX_CHAIN:
                raise ProtocolError(f"{name}: the card still answers 61xx after {MAX_CHAIN} GET RESPONSE rounds")
            get_response = cla(0x00, self.number), INS_GET_RESPONSE, 0, 0, b""
            more, sw = self._transmit(build(*get_response, le=sw & 0xFF), *get_response)
            answer += more
        if not is_success(sw):
            raise StatusWordError(name, sw)
        return answer

    def _transmit(self, apdu: bytes, cla_byte: int, ins: int, p1: int, p2: int, body: bytes) -> tuple[bytes, int]:
        """Send ``apdu``; on 6Cxx send its command again with Le xx (``apdu`` without Le is built of the rest)."""
        answer, sw = self.transport.transmit(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: the card tells the right one
            answer, sw = self.transport.transmit(build(cla_byte, ins, p1, p2, body, le=sw & 0xFF))
        return answer, sw

    def select(self, aid: bytes) -> None:
        """SELECT by AID (P1 04, first occurrence), without fetching the FCI.

        Sent without Le, as lpac does: nothing of the FCI is used, so a 61xx
        answer is success and its data is left unread (a card drops it with
        the next command; ISO/IEC 7816-4 5.3.4). Raises StatusWordError.
        """
        data, sw = self.transport.transmit(build(cla(0x00, self.number), INS_SELECT, 0x04, 0x00, aid))
        if not (is_success(sw) or sw >> 8 == 0x61):
            raise StatusWordError("SELECT", sw)

    @interrupts.atomic()
    def store_data(self, payload: bytes, name: str = "STORE DATA") -> bytes:
        """Send ``payload`` as one STORE DATA command sequence; return the answer (Ctrl-C waits for it).

        Blocks of at most ``mss`` bytes, P1 11 (more follow) or 91 (last),
        P2 the block number from 00, Le 00 (SGP.22 5.7.2). Only the last
        block carries the ES10 response. A card that refuses a block with
        6700 (wrong length) gets the whole sequence again in smaller
        segments (:data:`FALLBACK_MSS`), and the smaller size is kept.
        """
        while True:
            blocks = [payload[i : i + self.mss] for i in range(0, len(payload), self.mss)] or [b""]
            if len(blocks) > 256:
                raise ValueError(f"{len(payload)} bytes need more than 256 blocks of {self.mss}")
            for number, block in enumerate(blocks):
                last = number == len(blocks) - 1
                try:
                    answer = self.exchange(name, INS_STORE_DATA, 0x91 if last else 0x11, number, block,
                                           proprietary=True)
                except StatusWordError as error:
                    smaller = next((s for s in FALLBACK_MSS if s < len(block)), None)
                    if error.sw != SEGMENT_REFUSED_SW or smaller is None:
                        raise
                    self.note(f"{name}: the card refused a {len(block)}-byte block with {error.sw:04X}; "
                              f"segment size {smaller} from now on (--mss {smaller})")
                    self.mss = smaller
                    break
            else:
                return answer


class NoIsdrError(StatusWordError):
    """No ISD-R answered at any of the AIDs tried."""

    def __init__(self, sw: int, tried: Sequence[bytes], where: str) -> None:
        self.tried = tuple(tried)
        aids = ", ".join(aid.hex().upper() for aid in self.tried)
        super().__init__("SELECT ISD-R", sw, f"{where} holds no ISD-R at {aids}: not an eUICC, "
                                              "or it uses another ISD-R AID: try --aid")


@contextmanager
def open_isdr(
    transport: Transport,
    aids: Sequence[bytes] = (ISDR_AID,),
    mss: int = DEFAULT_MSS,
    note: Callable[[str], None] = lambda message: None,
    logical_channel: bool = False,
) -> Iterator[Channel]:
    """Select the ISD-R, on the basic channel or on a logical channel of its own.

    The basic channel costs no APDU to open or close; it is the choice
    when lpa holds the card exclusively. With ``logical_channel`` a
    channel is opened with MANAGE CHANNEL and closed at the end, even when
    the body fails; a card that refuses MANAGE CHANNEL, or refuses the
    ISD-R on the logical channel (:data:`CHANNEL_REFUSED_SWS`), gets the
    basic channel instead, and ``note`` is told. The AIDs in ``aids`` are
    tried in turn; the channel's ``aid`` is the one that answered.
    """
    if transport.opens_channel:  # a modem opens a channel and selects in one step (AT+CCHO)
        opened = _open_own_channel(transport, aids, mss, note)
        if opened is not None:
            try:
                yield opened
            finally:
                transport.close_channel()
            return
    # a modem uses the basic channel itself: never fall back to it there
    basic_allowed = not transport.needs_logical_channel
    number = _open_logical_channel(transport, note, basic_allowed) if logical_channel or not basic_allowed else 0
    try:
        channel = Channel(transport, number, mss, note)
        _select_isdr(channel, aids, basic_allowed)
        yield channel
    finally:
        if number and channel.number == number:
            _close_logical_channel(transport, number)


def _open_own_channel(transport: Transport, aids: Sequence[bytes], mss: int,
                      note: Callable[[str], None]) -> Channel | None:
    """The ISD-R on a channel the transport opens itself; None if it cannot (then APDUs do it).

    The transport puts the channel into the class byte: lpa sends channel 0's.
    """
    tried: list[bytes] = []
    for aid in aids:
        tried.append(aid)
        try:
            if not transport.open_channel(aid):
                note(f"{transport.name} opens no channel itself; MANAGE CHANNEL and SELECT as APDUs")
                return None
        except StatusWordError as error:
            if error.sw in NOT_FOUND_SWS:
                continue
            raise
        channel = Channel(transport, 0, mss, note)
        _selected(channel, aid)
        return channel
    raise NoIsdrError(0x6A82, tried, transport.name)


def _open_logical_channel(transport: Transport, note: Callable[[str], None], basic_allowed: bool) -> int:
    """MANAGE CHANNEL open (ISO/IEC 7816-4 7.1.2): the channel number, or 0 when refused."""
    data, sw = transport.transmit(build(0x00, INS_MANAGE_CHANNEL, 0x00, 0x00, le=1))
    if sw == 0x9000 and len(data) == 1 and 1 <= data[0] <= 19:
        return data[0]
    if not basic_allowed:
        raise StatusWordError("MANAGE CHANNEL", sw, f"{transport.name} opens no logical channel, and lpa does not "
                                                    "use the basic channel it uses itself")
    if sw in NO_CHANNEL_SWS or sw == 0x9000:
        note(f"MANAGE CHANNEL answered {data.hex().upper()} {sw:04X}; using the basic channel")
        return 0
    raise StatusWordError("MANAGE CHANNEL", sw)


def _close_logical_channel(transport: Transport, number: int) -> None:
    try:
        transport.transmit(build(0x00, INS_MANAGE_CHANNEL, 0x80, number))
    except TransportError:
        pass  # the card is gone; nothing left to close


def _select_isdr(channel: Channel, aids: Sequence[bytes], basic_allowed: bool) -> None:
    """SELECT the first of ``aids`` the card has; on a refusing logical channel, on the basic one."""
    tried: list[bytes] = []
    for aid in aids:
        tried.append(aid)
        try:
            channel.select(aid)
        except StatusWordError as error:
            sw = error.sw
            if channel.number and sw in CHANNEL_REFUSED_SWS and basic_allowed:
                try:
                    Channel(channel.transport, 0).select(aid)
                except StatusWordError:
                    pass  # not on the basic channel either: no such AID
                else:
                    channel.note(f"SELECT on logical channel {channel.number} answered {sw:04X}; "
                                 "using the basic channel")
                    _close_logical_channel(channel.transport, channel.number)
                    channel.number = 0
                    _selected(channel, aid)
                    return
            if sw not in NOT_FOUND_SWS:
                raise StatusWordError("SELECT ISD-R", sw, f"the card refused SELECT of {aid.hex().upper()}") from None
            continue
        _selected(channel, aid)
        return
    raise NoIsdrError(sw, tried, channel.transport.name)


def _selected(channel: Channel, aid: bytes) -> None:
    channel.aid = aid
    if aid != ISDR_AID:
        channel.note(f"ISD-R answered at {aid.hex().upper()} ({vendor_of(aid)})")


def vendor_of(aid: bytes) -> str:
    """Whose ISD-R AID this is, as far as :data:`KNOWN_ISDR_AIDS` knows."""
    return next((vendor for known, vendor in KNOWN_ISDR_AIDS if known == aid), "not a known one")


#: The RID and PIX start that SGP.02 and SGP.22 ISD-R AIDs share (SGP.22 2.2.3): the partial AID
#: :func:`find_isdrs` selects by.
ISDR_AID_PREFIX = bytes.fromhex("A0000005591010")

#: The most ISD-Rs asked of one card.
MAX_ISDRS = 8


def find_isdrs(transport: Transport, prefix: bytes = ISDR_AID_PREFIX) -> list[bytes]:
    """ISD-Rs nobody listed, found by SELECT by DF name with a partial AID (ISO/IEC 7816-4 7.1.1).

    P1 04 with ``prefix``, P2 00 for the first occurrence, then P2 02 for
    each next one, the full AID read from each FCI (tag 84); on the basic
    channel, which a reader leaves to lpa. A card that refuses partial
    SELECT, or answers without an AID, has none found. Which cards answer
    is in hardware-notes.md, "ISD-Rs nobody listed".
    """
    channel = Channel(transport, 0)
    found: list[bytes] = []
    occurrence = 0x00
    while len(found) < MAX_ISDRS:
        try:
            fci = channel.exchange("SELECT", INS_SELECT, 0x04, occurrence, prefix)
        except (StatusWordError, ProtocolError):
            break
        aid = fci_aid(fci)
        if aid is None or not aid.startswith(prefix) or aid in found:
            break
        found.append(aid)
        occurrence = 0x02
    return found


def list_isdrs(transport: Transport, aids: Sequence[bytes], note: Callable[[str], None] = lambda m: None) -> list[bytes]:
    """Every ISD-R on the card: each of ``aids`` that answers, then those :func:`find_isdrs` finds (not
    on a device that keeps the basic channel for itself: a modem)."""
    found: list[bytes] = []
    for aid in aids:
        try:
            with open_isdr(transport, (aid,), note=note):
                found.append(aid)
        except NoIsdrError:
            continue
    if not transport.needs_logical_channel:
        found += [aid for aid in find_isdrs(transport) if aid not in found]
    return found


def fci_aid(fci: bytes) -> bytes | None:
    """The AID (tag 84) in an FCI template (tag 6F, ISO/IEC 7816-4 5.3.3), or None."""
    template = _ber_value(fci, 0x6F)
    if template is None:
        return None
    pos = 0
    while pos < len(template):
        try:
            tag, value, pos = _ber(template, pos)
        except ValueError:
            return None
        if tag == 0x84:
            return value
    return None


def _ber_value(data: bytes, tag: int) -> bytes | None:
    try:
        found, value, _ = _ber(data, 0)
    except ValueError:
        return None
    return value if found == tag else None


def _ber(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One BER-TLV at ``pos``: (tag, value, position after it); ValueError when it overruns ``data``."""
    start = pos
    if start >= len(data):
        raise ValueError("no TLV")
    pos += 1
    if data[start] & 0x1F == 0x1F:
        while pos < len(data) and data[pos] & 0x80:
            pos += 1
        pos += 1
    if pos >= len(data):
        raise ValueError("TLV cut short")
    tag = int.from_bytes(data[start:pos], "big")
    length = data[pos]
    pos += 1
    if length & 0x80:
        size = length & 0x7F
        if size > 2:
            raise ValueError("TLV too long")
        length = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("TLV cut short")
    return tag, data[pos:pos + length], pos + length
