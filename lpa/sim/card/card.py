"""The simulated eUICC at the APDU level: ATR, channels, files, SELECT, STORE DATA, GET RESPONSE.

It answers like the removable eUICCs captured in real-cards/answers.json and
as lpac and pySim-shell expect (docs/cards-and-modems.md, "What real cards and other LPAs
do on the wire"):

- T=0 (the default): every answer with data to a command that carried
  data comes as 61xx and is fetched with GET RESPONSE, even when the
  command had Le; T=1: data directly when the command had Le.
- GET RESPONSE in any class on the command's channel (``00 C0``, lpac's
  ``8x C0``, ``4x``-``7x``, ``Cx``-``Fx``); chains of any length.
- MANAGE CHANNEL open with P2 = 0 (the card picks) or a channel number,
  and close, for channels 1-19.
- An MF (``3F00``) and EF.DIR (``2F00``) with UICC-like FCPs, STATUS,
  TERMINAL CAPABILITY, READ RECORD; SELECT in a proprietary class is
  refused (6A82, as the XeSIM and 5ber captures show).
- After EnableProfile/DisableProfile with refreshFlag the answer ends in
  91xx and FETCH returns the REFRESH proactive command; TERMINAL RESPONSE
  is accepted.

:class:`Quirks` make it behave like particular cards (another ISD-R AID, no
logical channels, a segment size limit, 6Cxx, short GET RESPONSE chunks).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .download_state import DownloadState
from .isdr import CardStatus, Isdr
from ..pki.testpki import eid_with_check_digits
from .state import SimState, StateFile

#: ISD-R AID of SGP.22 2.2.3.
STANDARD_ISDR_AID = "A0000005591010FFFFFFFF8900000100"

#: Historical bytes of the simulated eUICC's ATRs.
_HISTORICAL = bytes.fromhex("8031A073BE21136743200718000001")


def _atr(interface: str) -> bytes:
    """TS 3B, T0 (TA1 and TD1 follow, 15 historical bytes), the interface bytes, TCK."""
    body = bytes.fromhex("9F96" + interface) + _HISTORICAL
    check = 0
    for byte in body:
        check ^= byte
    return b"\x3b" + body + bytes([check])


#: ATRs by protocol. T=0: TA1 96, TD1 80 (T=0, TD2 follows), TD2 1F (T=15, TA3 follows),
#: TA3 C7 (clock stop, class A/B/C). T=1: TD1 81 (T=1, TD2 follows), TD2 31 (T=1,
#: TA3 and TB3 follow), TA3 FE (IFSC 254), TB3 45 (BWI 4, CWI 5). No other protocol is offered.
ATRS = {"t0": _atr("801FC7"), "t1": _atr("8131FE45")}

#: The proactive command a card asks the terminal to FETCH after a profile change with
#: refreshFlag: REFRESH, qualifier 04 (UICC reset), UICC to terminal (the 5ber and
#: 9esim captures in real-cards/answers.json).
REFRESH = bytes.fromhex("D009810301010482028182")

#: FCPs (ETSI TS 102 221 11.1.1.3) of the MF and EF.DIR: DF / linear fixed EF of 2
#: records of 38 bytes, SFI 1E, life cycle operational, PIN status template on the MF.
MF_FCP = bytes.fromhex("6223" "82027821" "83023F00" "A503800171" "8A0105" "8B032F0601"
                       "C60C" "900160" "830101" "830181" "83010A")
EF_DIR_FCP = bytes.fromhex("621A" "82054221002602" "83022F00" "8A0105" "8B032F0602" "8002004C" "8801F0")
EF_DIR_RECORDS = 2
EF_DIR_RECORD = b"\xff" * 0x26


@dataclass
class Quirks:
    """Ways real cards differ; the defaults behave like a well-behaved eUICC."""

    #: The ISD-R AID the card answers to.
    isdr_aid: str = STANDARD_ISDR_AID
    #: A second eUICC instance at this ISD-R AID (eSTK.me holds two): its own EID, identity and
    #: profiles, kept in the state file's sibling ``<name>.second.json``.
    second_isdr_aid: str = ""
    #: Refuse SELECT by a partial AID (ISO/IEC 7816-4 7.1.1) with 6A82, as a card that only knows full AIDs.
    no_partial_select: bool = False
    #: Refuse MANAGE CHANNEL with 6881 (only the basic channel works).
    no_logical_channels: bool = False
    #: Answer SELECT on a logical channel with this status word (5ber: 6999; 6881 seen too).
    logical_select_error: int = 0
    #: The first logical channel the card hands out (some cards start at 2).
    first_channel: int = 1
    #: Reject a STORE DATA block longer than this with ``segment_error``.
    max_segment: int = 255
    segment_error: int = 0x6700
    #: Answer a command whose Le does not fit the answer with 6Cxx first.
    wrong_le_6c: bool = False
    #: Largest chunk a GET RESPONSE returns (real cards: up to 256).
    chunk: int = 256
    #: Ways of signing or certifying wrongly (:data:`lpa.sim.card.faults.FAULTS`).
    faults: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Quirks":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown card quirks: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class _Channel:
    #: What is selected: "MF", "EF.DIR" or "ISD-R".
    selected: str = "MF"
    blocks: bytearray | None = None
    next_block: int = 0
    pending: bytes = b""  # answer bytes waiting for GET RESPONSE
    pending_sw: int = 0x9000


class Card:
    """One simulated eUICC. Call :meth:`power_on` (or :meth:`reset`) before :meth:`transmit`."""

    def __init__(self, state_file: StateFile, protocol: str = "t0", atr: bytes | None = None) -> None:
        if protocol not in ATRS:
            raise ValueError(f"unknown protocol {protocol!r}; t0 or t1")
        self.state_file = state_file
        self.protocol = protocol
        self.atr = atr or ATRS[protocol]
        self.state: SimState | None = None
        self.quirks = Quirks()
        self._channels: dict[int, _Channel] = {}
        self._isdr: Isdr | None = None
        #: The second eUICC instance (:attr:`Quirks.second_isdr_aid`), answering on the channels that selected it.
        self._second: Card | None = None
        self._stamp: tuple[int, int] | None = None
        #: A proactive command waiting for FETCH.
        self._proactive = b""
        #: The download in progress (challenge, session): kept while the state file is reloaded.
        self.download = DownloadState()

    # -- power -----------------------------------------------------------------

    def power_on(self) -> bytes:
        """Start a new card session, reading the state file afresh; return the ATR."""
        self.download = DownloadState()  # a reset ends any download session
        with self.state_file.locked():
            self._load()
        self._channels = {0: _Channel()}
        self._proactive = b""
        if self._second is not None:
            self._second.power_on()
            self._second.transmit(bytes.fromhex("00A40400") + bytes([16]) + bytes.fromhex(self.quirks.second_isdr_aid))
        return self.atr

    def _load(self) -> None:
        self.state = self.state_file.load()
        self._stamp = self.state_file.stamp()
        self.quirks = Quirks.from_json(self.state.quirks)
        self._isdr = Isdr(self.state, download=self.download)
        if self.quirks.second_isdr_aid and self._second is None:
            self._second = Card(second_instance(self.state_file, self.quirks.second_isdr_aid), self.protocol)

    reset = power_on

    def power_off(self) -> None:
        if self._second is not None:
            self._second.power_off()
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
        except ValueError:  # the state file was damaged meanwhile: the card fails, as a broken one would
            data, sw = b"", 0x6F00
        return data + sw.to_bytes(2, "big")

    def _process(self, apdu: bytes) -> tuple[bytes, int]:
        if len(apdu) < 4:
            raise CardStatus(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        data, le = _parse_body(apdu[4:])
        if cla == 0xA0:
            raise CardStatus(0x6E00)  # GSM (TS 51.011) class: not a UICC command
        if cla == 0xFF or cla & 0x20 and not cla & 0x40 or cla & 0x0C and not cla & 0x40:
            raise CardStatus(0x6E00)  # PPS, chaining or secure messaging: not supported
        number = 4 + (cla & 0x0F) if cla & 0x40 else cla & 0x03
        channel = self._channels.get(number)
        if channel is None:
            raise CardStatus(0x6881)
        proprietary = bool(cla & 0x80)
        routed = ins not in (0x70, 0xA4) and not (ins == 0xC0 and channel.pending)  # its own SELECT's FCI stays here
        if channel.selected == "ISD-R 2" and routed and self._second is not None:
            channel.pending = b""
            answer = self._second.transmit(bytes([cla & 0x80]) + apdu[1:])  # its basic channel holds its ISD-R
            return answer[:-2], int.from_bytes(answer[-2:], "big")
        if ins == 0xC0:
            return self._get_response(channel, p1, p2, le)
        channel.pending = b""
        handlers = {
            (False, 0x70): lambda: self._manage_channel(number, p1, p2, le),
            (False, 0xA4): lambda: self._select(number, channel, p1, p2, data, le),
            (False, 0xB2): lambda: self._read_record(channel, p1, p2, le),
            (False, 0xB0): lambda: self._read_binary(channel),
            (True, 0xE2): lambda: self._store_data(channel, p1, p2, data, le),
            (True, 0xF2): lambda: self._status(channel, p1, p2, le),
            (True, 0xAA): lambda: (b"", 0x9000),  # TERMINAL CAPABILITY (ETSI TS 102 221 11.1.19)
            (True, 0x12): lambda: self._fetch(le),
            (True, 0x14): lambda: self._terminal_response(data),
        }
        handler = handlers.get((proprietary, ins))
        if handler is not None:
            return handler()
        if ins == 0xA4:
            raise CardStatus(0x6A82)  # SELECT in a proprietary class (XeSIM, 5ber captures)
        if (not proprietary, ins) in handlers:
            raise CardStatus(0x6E00)
        raise CardStatus(0x6D00)

    def _respond(self, channel: _Channel, data: bytes, le: int | None, case4: bool,
                 sw: int = 0x9000) -> tuple[bytes, int]:
        """Answer data as the protocol does: directly, or through GET RESPONSE (61xx).

        T=0 sends a case-4 command's answer (the command carried data) as
        61xx whatever its Le; case 2 (no data, Le) gets the data directly.
        T=1 sends it directly whenever the command had Le.
        """
        if not data:
            return b"", sw
        direct = le is not None and (self.protocol == "t1" or not case4)
        if direct and self.quirks.wrong_le_6c and le != len(data) and len(data) <= 256:
            raise CardStatus(0x6C00 | (len(data) & 0xFF))
        if direct and len(data) <= le:  # type: ignore[operator]
            return data, sw
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
        """MANAGE CHANNEL (ISO/IEC 7816-4 11.1.2): open (P2 0: the card picks), close."""
        if self.quirks.no_logical_channels:
            raise CardStatus(0x6881)
        if p1 == 0x00:
            if p2 == 0:
                if le != 1:
                    raise CardStatus(0x6700)
                free = next((n for n in range(self.quirks.first_channel, 20) if n not in self._channels), None)
                if free is None:
                    raise CardStatus(0x6A81)  # no channel left
                self._channels[free] = _Channel()
                return bytes([free]), 0x9000
            if p2 > 19 or p2 in self._channels:
                raise CardStatus(0x6A86)  # no such channel, or already open
            self._channels[p2] = _Channel()
            return b"", 0x9000
        if p1 == 0x80:
            target = p2 or number
            if target == 0 or target > 19:
                raise CardStatus(0x6A86)
            if target not in self._channels:
                raise CardStatus(0x6881)  # not open
            del self._channels[target]
            return b"", 0x9000
        raise CardStatus(0x6A86)

    def _select(self, number: int, channel: _Channel, p1: int, p2: int, data: bytes,
                le: int | None) -> tuple[bytes, int]:
        """SELECT by file ID (P1 00: MF 3F00, EF.DIR 2F00) or by AID (P1 04: the ISD-R), the AID whole or its
        start (P2 00 the first occurrence, 02 the next one: ISO/IEC 7816-4 7.1.1)."""
        if p1 not in (0x00, 0x04) or p2 not in (0x00, 0x02, 0x04, 0x0C):
            raise CardStatus(0x6A86)
        if not data:
            raise CardStatus(0x6700)
        if p1 == 0x00:
            if data == b"\x3f\x00":
                selected = "MF"
            elif data == b"\x2f\x00" and channel.selected in ("MF", "EF.DIR"):
                selected = "EF.DIR"
            else:
                raise CardStatus(0x6A82)
        else:
            selected = self._select_isdr(channel, data, p2)
            if number and self.quirks.logical_select_error:
                raise CardStatus(self.quirks.logical_select_error)
        channel.selected = selected
        channel.blocks = None
        return self._respond(channel, b"" if p2 == 0x0C else self._fcp(selected), le, case4=True)

    def _isdr_aids(self) -> dict[str, str]:
        """What each ISD-R is called on a channel, by its AID, in the order partial SELECT finds them."""
        aids = {self.quirks.isdr_aid.upper(): "ISD-R"}
        if self.quirks.second_isdr_aid:
            aids[self.quirks.second_isdr_aid.upper()] = "ISD-R 2"
        return aids

    def _select_isdr(self, channel: _Channel, data: bytes, p2: int) -> str:
        """The ISD-R a SELECT by AID names: the whole AID, or the first (P2 00) or next (P2 02) one it starts."""
        wanted = data.hex().upper()
        aids = self._isdr_aids()
        if wanted in aids and p2 != 0x02:
            return aids[wanted]
        if self.quirks.no_partial_select or len(data) < 5:
            raise CardStatus(0x6A82)
        matching = [name for aid, name in aids.items() if aid.startswith(wanted) and aid != wanted]
        if p2 == 0x02:  # next occurrence: after what this channel has selected
            matching = matching[matching.index(channel.selected) + 1:] if channel.selected in matching else []
        if not matching:
            raise CardStatus(0x6A82)
        return matching[0]

    def _fcp(self, selected: str) -> bytes:
        """The FCP of a file, or the FCI of the ISD-R as real cards give it (AID, 9F65, SGP.22 version)."""
        if selected == "MF":
            return MF_FCP
        if selected == "EF.DIR":
            return EF_DIR_FCP
        aid = next(aid for aid, name in self._isdr_aids().items() if name == selected)
        return _tlv(0x6F, _tlv(0x84, bytes.fromhex(aid)) + _tlv(0xA5, _tlv(0x9F65, b"\xff"))
                    + _tlv(0xE0, _tlv(0x82, b"\x02\x02\x00")))

    def _read_record(self, channel: _Channel, p1: int, p2: int, le: int | None) -> tuple[bytes, int]:
        if channel.selected != "EF.DIR":
            raise CardStatus(0x6981)  # command incompatible with the file structure
        if p2 != 0x04:
            raise CardStatus(0x6A86)
        if not 1 <= p1 <= EF_DIR_RECORDS:
            raise CardStatus(0x6A83)  # record not found
        return self._respond(channel, EF_DIR_RECORD, le, case4=False)

    def _read_binary(self, channel: _Channel) -> tuple[bytes, int]:
        raise CardStatus(0x6981 if channel.selected == "EF.DIR" else 0x6986)  # as the XeSIM capture

    def _status(self, channel: _Channel, p1: int, p2: int, le: int | None) -> tuple[bytes, int]:
        """STATUS (ETSI TS 102 221 11.1.2): the FCP of what is selected (P2 00), or nothing (0C)."""
        if p1 > 2 or p2 not in (0x00, 0x0C):
            raise CardStatus(0x6A86)
        current = "MF" if channel.selected == "EF.DIR" else channel.selected
        return self._respond(channel, b"" if p2 == 0x0C else self._fcp(current), le, case4=False)

    def _fetch(self, le: int | None) -> tuple[bytes, int]:
        """FETCH (ETSI TS 102 221 11.2.1): the pending proactive command."""
        if not self._proactive:
            raise CardStatus(0x6985)
        if le != len(self._proactive):
            raise CardStatus(0x6C00 | len(self._proactive))
        return self._proactive, 0x9000

    def _terminal_response(self, data: bytes) -> tuple[bytes, int]:
        """TERMINAL RESPONSE (ETSI TS 102 221 11.2.2): the proactive command is done."""
        if not data:
            raise CardStatus(0x6700)
        self._proactive = b""
        return b"", 0x9000

    def _store_data(self, channel: _Channel, p1: int, p2: int, data: bytes, le: int | None) -> tuple[bytes, int]:
        if channel.selected != "ISD-R":
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
        if channel.blocks is None or p2 != channel.next_block:
            channel.blocks = None
            raise CardStatus(0x6A86)
        channel.blocks += data
        channel.next_block += 1
        if p1 == 0x11:
            return b"", 0x9000
        request, channel.blocks = bytes(channel.blocks), None
        with self.state_file.locked():  # load, change and save as one step (lpa sim serve, other processes)
            if self.state_file.stamp() != self._stamp:
                self._load()  # changed by another process (lpa sim add-profile, lpa --sim)
            assert self._isdr is not None and self.state is not None
            self._isdr.changed = False
            answer = self._isdr.handle(request)
            if self._isdr.changed:
                self.state_file.save(self.state)
                self._stamp = self.state_file.stamp()
        sw = 0x9000
        if self._isdr.refresh_pending:
            self._proactive = REFRESH
            sw = 0x9100 | len(REFRESH)
        return self._respond(channel, answer, le, case4=True, sw=sw)


#: The EID of the second eUICC instance.
SECOND_EID = eid_with_check_digits("890490320000010000000000000001")


def second_instance(state_file: StateFile, aid: str) -> StateFile:
    """The state file of the second eUICC instance beside ``state_file``, seeded with its own EID, an eUICC
    certificate for it (signed by the test EUM) and no profile."""
    second = StateFile(state_file.path.with_name(state_file.path.stem + ".second.json"))
    with second.locked():
        if second.stamp() is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization

            from ..pki.testpki import PKI_DIR, Issued, make_euicc

            key = serialization.load_pem_private_key((PKI_DIR / "eum-key.pem").read_bytes(), password=None)
            eum = Issued(x509.load_pem_x509_certificate((PKI_DIR / "eum-cert.pem").read_bytes()), key)  # type: ignore[arg-type]
            euicc = make_euicc(eum, SECOND_EID)
            state = second.load()
            state.eid, state.profiles, state.notifications = SECOND_EID, [], []
            state.quirks = {"isdr_aid": aid}
            state.identity = {"euicc_cert": euicc.cert_pem().decode(), "eum_cert": eum.cert_pem().decode(),
                              "euicc_key": euicc.key_pem().decode()}
            second.save(state)
    return second


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
