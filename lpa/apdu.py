"""APDU layer: logical channel, SELECT ISD-R, STORE DATA, response chaining.

SGP.22 5.7.2 carries every ES10 function as one STORE DATA command
sequence to the ISD-R, on a logical channel of its own (GlobalPlatform Card
Specification 11.11, ISO/IEC 7816-4 5.1.1 for the class byte and 7.1.2
for MANAGE CHANNEL).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

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


#: What cards answer to SELECT of an AID they do not have.
NOT_FOUND_SWS = {0x6A82, 0x6D00, 0x6A86, 0x6999}

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

#: Segment sizes tried in turn when a card rejects a STORE DATA block as too long,
#: and the status words it does that with.
FALLBACK_MSS = (120, 64, 32)
SEGMENT_REFUSED_SWS = {0x6700, 0x6A80}


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

    def _transmit(self, apdu: bytes, *header_and_data) -> tuple[bytes, int]:
        data, sw = self.transport.transmit(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: the card tells the right one
            data, sw = self.transport.transmit(build(*header_and_data, le=sw & 0xFF))
        return data, sw

    def select(self, aid: bytes) -> bytes:
        """SELECT by AID (P1 04, first occurrence); returns the FCI."""
        return self.exchange("SELECT", INS_SELECT, 0x04, 0x00, aid)

    def store_data(self, payload: bytes, name: str = "STORE DATA") -> bytes:
        """Send ``payload`` as one STORE DATA command sequence; return the answer.

        Blocks of at most ``mss`` bytes, P1 11 (more follow) or 91 (last),
        P2 the block number from 00, Le 00 (SGP.22 5.7.2). Only the last
        block carries the ES10 response. A card that refuses a block with
        6700 or 6A80 gets the whole sequence again in smaller segments
        (:data:`FALLBACK_MSS`), and the smaller size is kept.
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
                    if error.sw not in SEGMENT_REFUSED_SWS or smaller is None:
                        raise
                    self.note(f"{name}: the card refused a {len(block)}-byte block with {error.sw:04X}; "
                              f"segment size {smaller} from now on (--mss {smaller})")
                    self.mss = smaller
                    break
            else:
                return answer


@contextmanager
def open_isdr(
    transport: Transport,
    aids: Sequence[bytes] = (ISDR_AID,),
    mss: int = DEFAULT_MSS,
    note: Callable[[str], None] = lambda message: None,
) -> Iterator[Channel]:
    """Open a logical channel, select the ISD-R on it, and close it at the end.

    The AIDs in ``aids`` are tried in turn; the channel's ``aid`` is the one
    that answered. When the card refuses MANAGE CHANNEL, the basic channel
    is used (``note`` is told). The channel is closed even when the body
    fails.
    """
    data, sw = transport.transmit(build(0x00, INS_MANAGE_CHANNEL, 0x00, 0x00, le=1))
    if sw == 0x9000 and len(data) == 1 and 1 <= data[0] <= 19:
        number = data[0]
    elif sw in NO_CHANNEL_SWS or sw == 0x9000:
        note(f"MANAGE CHANNEL answered {data.hex().upper()} {sw:04X}; using the basic channel")
        number = 0
    else:
        raise StatusWordError("MANAGE CHANNEL", sw)
    channel = Channel(transport, number, mss, note)
    try:
        _select_isdr(channel, aids)
        yield channel
    finally:
        if number:
            try:
                transport.transmit(build(0x00, INS_MANAGE_CHANNEL, 0x80, number))
            except TransportError:
                pass  # the card is gone; nothing left to close


def _select_isdr(channel: Channel, aids: Sequence[bytes]) -> None:
    """SELECT the first of ``aids`` the card has."""
    for index, aid in enumerate(aids):
        try:
            channel.select(aid)
        except StatusWordError as error:
            if error.sw not in NOT_FOUND_SWS or index == len(aids) - 1:
                raise StatusWordError("SELECT ISD-R", error.sw) from None
            continue
        channel.aid = aid
        if aid != ISDR_AID:
            channel.note(f"ISD-R answered at {aid.hex().upper()} ({vendor_of(aid)})")
        return


def vendor_of(aid: bytes) -> str:
    """Whose ISD-R AID this is, as far as :data:`KNOWN_ISDR_AIDS` knows."""
    return next((vendor for known, vendor in KNOWN_ISDR_AIDS if known == aid), "given with --aid")
