"""lpa against answers captured from real eUICCs, not against its own simulator.

tests/data/real-cards-answers.json is shared/reference/real-cards/answers.json,
unchanged: 24 ES10 exchanges published from 5ber, XeSIM, eSIM.me-family,
Kigen/9esim, eSTK.me, an SGP.26 test card and a modem's eUICC, each with
the values its source states. Here lpa's decoders read every complete
answer and must give those values; answers the capture truncated must give
lpa's protocol error; whole sessions are replayed through lpa's APDU layer;
and the simulated eUICC's answers must have the real answers' structure.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from helpers import NORTHWIND, Answer
from lpa import codec, es10
from lpa.apdu import Channel
from lpa.encoding import PPR_BITS, RSP_CAPABILITY, UICC_CAPABILITY
from lpa.errors import ProtocolError, StatusWordError
from lpa.sim.card.card import Card
from lpa.sim.card.state import StateFile
from lpa.transport import Transport

ENTRIES = json.loads((Path(__file__).parents[1] / "data" / "real-cards-answers.json").read_text())["entries"]


@dataclass
class Call:
    """One command and its answer, 61xx chains reassembled as the capture shows them."""

    entry: int
    index: int
    command: bytes | None
    data: bytes = b""
    sw: int | None = None
    decoded: dict[str, Any] | None = None
    truncated: bool = False
    exchanges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.entry}.{self.index}"


def _split(exchange: dict[str, Any]) -> tuple[bytes, int | None]:
    raw = bytes.fromhex(exchange["response"])
    if exchange.get("sw_included") is False:
        return raw, None
    return raw[:-2], int.from_bytes(raw[-2:], "big")


def calls(number: int, entry: dict[str, Any]) -> list[Call]:
    found: list[Call] = []
    for index, exchange in enumerate(entry["exchanges"]):
        command = bytes.fromhex(exchange["command"]) if exchange["command"] else None
        data, sw = _split(exchange)
        continuing = (command is not None and command[1] == 0xC0 and found and found[-1].sw is not None
                      and found[-1].sw >> 8 == 0x61)
        if not continuing:
            found.append(Call(number, index, command))
        call = found[-1]
        call.data += data
        call.sw = sw
        call.exchanges.append(exchange)
        call.decoded = exchange.get("decoded") or call.decoded
        call.truncated |= "TRUNCATED" in exchange.get("note", "")
    return found


ALL_CALLS = [call for number, entry in enumerate(ENTRIES) for call in calls(number, entry)]
#: Calls whose answer is an ES10 response (tag BFxx); FCIs (6F) and proactive commands (D0) are not ES10.
ES10_CALLS = [c for c in ALL_CALLS if c.data[:1] == b"\xbf" or c.truncated]


def _bits(stated: str) -> set[int]:
    """Bit numbers set in a BIT STRING stated as hex: unused-bits count, then the bytes."""
    raw = bytes.fromhex(stated)
    unused, body = raw[0], raw[1:]
    return {bit for bit in range(8 * len(body) - unused) if body[bit // 8] & (0x80 >> bit % 8)}


def _numbers(names: list[str], table: Any) -> set[int]:
    numbered = {name: n for n, name in enumerate(table)} if isinstance(table, tuple) else table
    return {numbered[name] if name in numbered else int(name[3:]) for name in names}


def check_euicc_info2(data: bytes, stated: dict[str, Any]) -> None:
    fields = es10.get_euicc_info2(Answer(data)).fields
    for key, value in stated.items():
        if key in ("uiccCapability", "rspCapability", "forbiddenProfilePolicyRules"):
            table = {"uiccCapability": UICC_CAPABILITY, "rspCapability": RSP_CAPABILITY,
                     "forbiddenProfilePolicyRules": PPR_BITS}[key]
            assert _numbers(fields[key], table) == _bits(value), key
        elif key.startswith("euiccCiPKIdList"):
            assert [k.upper() for k in fields[key]] == value
        else:
            assert fields[key] == value, key


def check_profiles(data: bytes, stated: list[dict[str, Any]]) -> None:
    profiles = [p.to_json() for p in es10.get_profiles_info(Answer(data))]
    assert len(profiles) == len(stated)
    for profile, expected in zip(profiles, stated):
        for key, value in expected.items():
            if key != "refArDo":  # not in SGP.22 v2's ProfileInfo: skipped as an unknown extension
                assert profile[key] == value, key


def check_notifications(data: bytes, stated: list[dict[str, Any]]) -> None:
    listed = es10.list_notification(Answer(data))
    assert [(n.seq_number, [n.operation], n.address, n.iccid) for n in listed] == sorted(
        (s["seq"], s["event"], s["address"], s["iccid"]) for s in stated)


def check_pending(data: bytes, stated: list[dict[str, Any]]) -> None:
    pending = es10.retrieve_notifications_list(Answer(data))
    kinds = {0xBF: "profileInstallationResult", 0x30: "otherSignedNotification"}
    assert [(kinds[n.der[0]], len(n.der), n.metadata.seq_number, [n.metadata.operation], n.metadata.address)
            for n in pending] == [(s["type"], s["bytes"], s["seq"], s["event"], s["address"]) for s in stated]


def check_result(data: bytes, stated: str) -> None:
    assert stated == "0 (ok)"
    functions: dict[int, Callable[[Any], None]] = {
        0x31: lambda ch: es10.enable_profile(ch, NORTHWIND),
        0x32: lambda ch: es10.disable_profile(ch, NORTHWIND),
        0x33: lambda ch: es10.delete_profile(ch, NORTHWIND),
        0x29: lambda ch: es10.set_nickname(ch, NORTHWIND, "x"),
        0x30: lambda ch: es10.remove_notification_from_list(ch, 1),
    }
    if data[1] in functions:
        functions[data[1]](Answer(data))  # raises ResultError unless the result is ok
    else:  # SetDefaultDpAddress, EuiccMemoryReset: no lpa function yet
        name = {0x3F: "SetDefaultDpAddressResponse", 0x34: "EuiccMemoryResetResponse"}[data[1]]
        assert list(codec.decode(name, data).values()) == [0]


CHECKS: dict[str, Callable[[bytes, Any], None]] = {
    "EUICCInfo2": check_euicc_info2,
    "EUICCInfo1": lambda data, stated: _check_info1(data, stated),
    "eidValue": lambda data, stated: _assert(es10.get_eid(Answer(data)) == stated),
    "euiccChallenge": lambda data, stated: _assert(es10.get_euicc_challenge(Answer(data)).hex().upper() == stated),
    "ProfileInfoListResponse": check_profiles,
    "ListNotificationResponse": check_notifications,
    "RetrieveNotificationsListResponse": check_pending,
    "defaultDpAddress": lambda data, stated: _assert(
        es10.get_euicc_configured_addresses(Answer(data)).default_dp_address == stated),
    "rootDsAddress": lambda data, stated: _assert(
        es10.get_euicc_configured_addresses(Answer(data)).root_ds_address == stated),
    "result": check_result,
}


def _assert(condition: bool) -> None:
    assert condition


def _check_info1(data: bytes, stated: dict[str, Any]) -> None:
    info = es10.get_euicc_info1(Answer(data))
    assert info.svn == stated["svn"]
    assert [k.upper() for k in info.ci_pkid_verification] == stated["ciPKIdListForVerification"]
    assert [k.upper() for k in info.ci_pkid_signing] == stated["ciPKIdListForSigning"]


STATED = [c for c in ES10_CALLS if c.decoded and not c.truncated]


def test_the_captures_are_the_reference_file_unchanged():
    reference = Path(__file__).parents[3] / "shared" / "reference" / "real-cards" / "answers.json"
    if not reference.exists():
        pytest.skip("shared/reference is not beside this checkout")
    assert (Path(__file__).parents[1] / "data" / "real-cards-answers.json").read_bytes() == reference.read_bytes()


def test_every_es10_answer_with_stated_values_is_checked():
    assert len(STATED) >= 40
    assert {key for c in STATED for key in c.decoded} <= set(CHECKS)


@pytest.mark.parametrize("call", STATED, ids=[c.id for c in STATED])
def test_real_answers_decode_to_the_values_their_sources_state(call):
    for key, value in call.decoded.items():
        CHECKS[key](call.data, value)


TRUNCATED = [c for c in ES10_CALLS if c.truncated]


@pytest.mark.parametrize("call", TRUNCATED, ids=[c.id for c in TRUNCATED])
def test_truncated_answers_are_a_protocol_error_not_a_wrong_value(call):
    assert call.command is not None and call.command[5:7] == b"\xbf\x2b"  # RetrieveNotificationsList
    with pytest.raises(ProtocolError, match="not a valid RetrieveNotificationsListResponseView"):
        es10.retrieve_notifications_list(Answer(call.data))


def test_the_install_notifications_of_the_sgp26_test_card():
    # entry 5's notes: RetrieveNotificationsList -> 5 signed ProfileInstallationResults over 6100/6100/617D
    [call] = [c for c in ES10_CALLS if c.entry == 5 and c.data[:2] == b"\xbf\x2b"]
    assert len(call.data) == 5 + 888  # BF2B 820378: 888 bytes
    pending = es10.retrieve_notifications_list(Answer(call.data))
    assert len(pending) == 5 and {n.metadata.operation for n in pending} == {"install"}
    assert all(n.der[:2] == b"\xbf\x37" for n in pending)


def test_the_rules_authorisation_table_of_a_kigen_card():
    # entry 8's notes: BF43 18 A0 16 30 14 80 02 0560 A1 0B 30 09 80 03 EEEEEE 81 00 82 00 82 01 00
    [call] = [c for c in ES10_CALLS if c.entry == 8 and c.data[:2] == b"\xbf\x43"]
    [rule] = es10.get_rat(Answer(call.data))
    assert rule.ppr_ids == ("ppr1", "ppr2") and rule.operators == (("EEEEEE", "", ""),)
    assert rule.consent_required is False


# -- whole sessions through the APDU layer ------------------------------------------


class CaptureCard(Transport):
    """Answers lpa's commands from a capture, in order.

    lpa's command must be the captured one but for what does not change the
    answer: Le present or not, GET RESPONSE's class (00 or 8x on the same
    channel), SELECT's P2. A captured GET RESPONSE that lpa does not send
    (the FCI after SELECT, which lpa does not read) is skipped: a card drops
    such data with the next command.
    """

    name = "capture"

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.exchanges = [e for e in exchanges if e["command"]]
        self.position = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        while True:
            captured = bytes.fromhex(self.exchanges[self.position]["command"])
            self.position += 1
            if _same_command(apdu, captured):
                return _split(self.exchanges[self.position - 1])  # type: ignore[return-value]
            assert captured[1] == 0xC0, f"lpa sent {apdu.hex().upper()}, the card got {captured.hex().upper()}"


def _same_command(sent: bytes, captured: bytes) -> bool:
    def normal(apdu: bytes) -> bytes:
        header = bytearray(apdu[:4])
        if header[1] == 0xC0:
            header[0] &= 0x7F
            return bytes(header)  # GET RESPONSE: Le follows what the card announced
        if header[1] == 0xA4:
            header[3] = 0
        body = apdu[4:]
        if len(body) > 1 and len(body) == body[0] + 2:
            body = body[:-1]  # drop Le
        return bytes(header) + body

    return normal(sent) == normal(captured)


#: Entries that are whole sessions: every command captured (the SW-only fuzzing matrices and
#: response-only sources are not).
SESSIONS = [n for n, e in enumerate(ENTRIES) if all(x["command"] for x in e["exchanges"])
            and any(bytes.fromhex(x["command"])[1] == 0xE2 for x in e["exchanges"])
            and "fuzzing" not in e["what"]]


@pytest.mark.parametrize("number", SESSIONS)
def test_captured_sessions_replay_through_the_apdu_layer(number):
    card = CaptureCard(ENTRIES[number]["exchanges"])
    replayed = 0
    for call in calls(number, ENTRIES[number]):
        command = call.command
        if command is None or call.truncated or command[1] not in (0xA4, 0xE2) or command[0] & 0x80 == (
                command[1] == 0xA4) << 7:  # lpa sends SELECT in class 0x only, STORE DATA in 8x only
            card.position = card.exchanges.index(call.exchanges[-1]) + 1  # not the layer under test
            continue
        number_of_channel = 4 + (command[0] & 0x0F) if command[0] & 0x40 else command[0] & 0x03
        channel = Channel(card, number_of_channel)
        try:
            if command[1] == 0xA4:
                channel.select(command[5 : 5 + command[4]])
                answer = None
            else:
                answer = channel.store_data(command[5 : 5 + command[4]])
        except StatusWordError as error:
            assert error.sw == call.sw  # the card's refusal, reported with its status word
        else:
            assert call.sw is not None and (call.sw in (0x9000,) or call.sw >> 8 in (0x61, 0x91))
            if answer is not None:
                assert answer == call.data
        replayed += 1
    assert replayed >= 2


# -- the simulator's answers have the structure of real ones ------------------------


def tlv_children(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """(tag, value, length-field size) of each BER-TLV in ``data`` (definite lengths only)."""
    items = []
    pos = 0
    while pos < len(data):
        start = pos
        pos += 1
        if data[start] & 0x1F == 0x1F:
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        tag = data[start:pos]
        first = data[pos]
        if first & 0x80:
            size = first & 0x7F
            length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
            pos += 1 + size
            form = 1 + size
        else:
            length, form = first, 1
            pos += 1
        items.append((tag, data[pos : pos + length], form))
        pos += length
    return items


def structure(answer: bytes) -> dict[str, Any]:
    """The top-level tags of an ES10 answer's content, and of its list items for the list answers."""
    [(tag, value, _)] = tlv_children(answer)
    children = tlv_children(value)
    if tag in (b"\xbf\x2d", b"\xbf\x28") and children and children[0][0] == b"\xa0":
        items = tlv_children(children[0][1])
        return {"tag": tag, "items": [[t for t, _, _ in tlv_children(v)] for _, v, _ in items]}
    return {"tag": tag, "items": [[t for t, _, _ in children]]}


def minimal_lengths(data: bytes) -> bool:
    """Every length in the short form below 128 and in the shortest long form above (DER)."""
    for tag, value, form in tlv_children(data):
        if form != (1 if len(value) < 128 else 1 + (len(value).bit_length() + 7) // 8):
            return False
        if tag[0] & 0x20 and not minimal_lengths(value):
            return False
    return True


#: ES10 requests whose answers real cards give with complete structure (no stated error).
REQUESTS = {
    b"\xbf\x3e": "BF3E035C015A", b"\xbf\x22": "BF2200", b"\xbf\x20": "BF2000", b"\xbf\x2d": "BF2D00",
    b"\xbf\x3c": "BF3C00", b"\xbf\x43": "BF4300", b"\xbf\x2e": "BF2E00", b"\xbf\x28": "BF2800",
}
#: Tags the simulator sends that no capture happens to contain (the capture's cards had no icon,
#: policy rules or notification configuration to show, or did not report them).
NOT_IN_ANY_CAPTURE = {b"\x93", b"\x94", b"\xb6", b"\x99"}


def sim_answer(card: Card, request: str) -> bytes:
    request_bytes = bytes.fromhex(request)
    response = card.transmit(bytes.fromhex(f"80E29100{len(request_bytes):02X}") + request_bytes)
    data = b""
    while response[-2] == 0x61:
        response = card.transmit(bytes([0x00, 0xC0, 0, 0, response[-1]]))
        data += response[:-2]
    assert response[-2:] == b"\x90\x00"
    return data


@pytest.fixture
def sim(state_path: Path) -> Card:
    """The simulated eUICC with the ISD-R selected and a disable notification pending."""
    card = Card(StateFile(state_path))
    card.power_on()
    card.transmit(bytes.fromhex("00A4040010A0000005591010FFFFFFFF8900000100"))
    sim_answer(card, "BF3211A00C5A0A984474560000214365F7810100")  # DisableProfile 8944476500001234567
    return card


@pytest.mark.parametrize("tag", list(REQUESTS), ids=[t.hex().upper() for t in REQUESTS])
def test_the_simulators_answers_have_the_structure_of_real_ones(sim, tag):
    real = [c.data for c in ES10_CALLS if not c.truncated and c.data[:2] == tag]
    assert real, "no capture of this function"
    ours = sim_answer(sim, REQUESTS[tag])
    assert all(minimal_lengths(answer) for answer in real)
    assert minimal_lengths(ours)
    real_items = [item for answer in real for item in structure(answer)["items"]]
    our_items = structure(ours)["items"]
    assert our_items and all(our_items)
    seen = {t for item in real_items for t in item}
    for item in our_items:
        assert set(item) - seen <= NOT_IN_ANY_CAPTURE, f"tags no real card sends: {set(item) - seen}"
        for real_item in real_items:  # same relative order as every real answer
            common = [t for t in item if t in real_item]
            assert common == [t for t in real_item if t in item]
    always = set.intersection(*(set(item) for item in real_items)) if real_items else set()
    for item in our_items:
        assert always <= set(item), f"every real card sends {always - set(item)}"


@pytest.mark.parametrize("command, reason, shown", [
    (0, 8, ("initialiseSecureChannel", "scp03tSecurityError")),
    (5, 10, ("loadProfileElements", "installFailedDueToInsufficientMemoryForProfile")),
    (6, 99, ("6", "99")),  # numbers SGP.22 v2 does not name are shown as numbers
])
def test_an_error_result_names_the_bpp_part_and_the_reason(command, reason, shown):
    # the SGP.26 card's first installation result, with its finalResult turned into an errorResult
    [call] = [c for c in ES10_CALLS if c.entry == 5 and c.data[:2] == b"\xbf\x2b"]
    real = es10.retrieve_notifications_list(Answer(call.data))[0].der
    assert es10.installation_result(real).error is None
    value = codec.decode("ProfileInstallationResult", real)
    value["profileInstallationResultData"]["finalResult"] = ("errorResult", {"bppCommandId": command,
                                                                             "errorReason": reason})
    result = es10.installation_result(codec.encode("ProfileInstallationResult", value))
    assert result.error == shown and result.isdp_aid is None


class Pieces:
    """A card that answers nothing to the BPP pieces but ``answers`` says, and records the names."""

    def __init__(self, *answers: bytes) -> None:
        self.answers, self.names = list(answers), []

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        self.names.append(name)
        return self.answers.pop(0)


def test_bpp_pieces_are_numbered_and_the_first_answer_ends_the_load():
    [call] = [c for c in ES10_CALLS if c.entry == 5 and c.data[:2] == b"\xbf\x2b"]
    real = es10.retrieve_notifications_list(Answer(call.data))[0].der
    card = Pieces(b"", real, b"")
    assert es10.load_bound_profile_package(card, [b"1", b"2", b"3"]).der == real
    assert card.names == ["LoadBoundProfilePackage (1/3)", "LoadBoundProfilePackage (2/3)"]
    with pytest.raises(ProtocolError, match="no ProfileInstallationResult after the last piece"):
        es10.load_bound_profile_package(Pieces(b"", b""), [b"1", b"2"])
