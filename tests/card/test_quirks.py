"""Cards that differ from the standard: lpa copes with each, against the simulator configured like them."""
from __future__ import annotations

import pytest

from helpers import CONTOSO, NORTHWIND, json_data
from lpa import codec, es10
from lpa.apdu import FALLBACK_MSS


def test_vendor_isdr_aid_is_found_and_reported(lpa):
    lpa("sim", "quirks", "--isdr-aid", "A0000005591010FFFFFFFF8900050500")
    result = lpa("-v", "info")
    assert result.exit_code == 0, result.output
    assert "ISD-R answered at A0000005591010FFFFFFFF8900050500 (5ber)" in result.output
    assert "ISD-R AID:" in result.output and "(5ber)" in result.output
    assert json_data(lpa("--json", "info"))["isdrAid"] == "A0000005591010FFFFFFFF8900050500"


def test_aid_option_always_wins(lpa):
    lpa("sim", "quirks", "--isdr-aid", "A0000005591010FFFFFFFF8900050500")
    result = lpa("--aid", "A0000005591010FFFFFFFF8900000100", "list")
    assert result.exit_code == 3
    assert "no ISD-R at A0000005591010FFFFFFFF8900000100" in result.output and "try --aid" in result.output


def test_a_card_without_any_known_isdr_nor_partial_select(lpa):
    lpa("sim", "quirks", "--isdr-aid", "A000000559101011111111", "--no-partial-select")
    result = lpa("list")
    assert result.exit_code == 3 and "SELECT ISD-R failed with status word 6A82" in result.output


def test_refused_logical_channels_fall_back_to_the_basic_channel(lpa, sim_state):
    lpa("sim", "quirks", "--no-logical-channels")
    result = lpa("-v", "--logical-channel", "disable", "--no-notify", "work")
    assert result.exit_code == 0, result.output
    assert "using the basic channel" in result.output
    assert "> 80E2" in result.output  # STORE DATA on channel 0
    assert sim_state().find(iccid=NORTHWIND).state == "disabled"


def test_channel_2_is_used_when_the_card_hands_it_out(lpa):
    lpa("sim", "quirks", "--first-channel", "2")
    result = lpa("-v", "--logical-channel", "list")
    assert result.exit_code == 0 and "> 82E2" in result.output and "> 00708002" in result.output


def test_segment_size_falls_back_when_a_card_refuses_long_blocks(lpa, sim_state):
    lpa("sim", "quirks", "--max-segment", "64", "--segment-error", "6700")
    nickname = "n" * 64  # SetNickname is one 81-byte block at --mss 120: too long for this card
    result = lpa("-v", "nickname", CONTOSO, nickname)
    assert result.exit_code == 0, result.output
    assert "refused a 81-byte block with 6700; segment size 64 from now on" in result.output
    assert sim_state().find(iccid=CONTOSO).nickname == nickname


def test_incorrect_data_is_the_cards_refusal_not_a_reason_to_resend(lpa, sim_state):
    lpa("sim", "quirks", "--max-segment", "64", "--segment-error", "6A80")
    result = lpa("nickname", CONTOSO, "n" * 64)
    assert result.exit_code == 3
    assert result.output == "lpa: SetNickname failed with status word 6A80 (incorrect data)\n"
    assert sim_state().find(iccid=CONTOSO).nickname is None


@pytest.mark.parametrize("sw", ["6999", "6881"])
def test_a_card_refusing_the_isdr_on_a_logical_channel_is_used_on_the_basic_channel(lpa, sim_state, sw):
    lpa("sim", "quirks", "--logical-select-error", sw)
    result = lpa("-v", "--logical-channel", "disable", "--no-notify", "work")
    assert result.exit_code == 0, result.output
    assert f"# SELECT on logical channel 1 answered {sw}; using the basic channel" in result.output
    assert "> 00708001" in result.output and "> 80E2" in result.output
    assert sim_state().find(iccid=NORTHWIND).state == "disabled"


def test_segment_fallback_gives_up_below_the_smallest_size(lpa, sim_state):
    lpa("sim", "quirks", "--max-segment", "30")
    result = lpa("-v", "--mss", "120", "nickname", CONTOSO, "x" * 40)
    assert result.exit_code == 3 and result.output.endswith("lpa: SetNickname failed with status word 6700 "
                                                            "(wrong length)\n")
    tried = [len(bytes.fromhex(line[2:])) - 6 for line in result.output.splitlines() if line.startswith("> 80E2")]
    assert tried[-2:] == [57, FALLBACK_MSS[-1]]  # the whole 57-byte request, then 32-byte segments, then no smaller
    assert sim_state().find(iccid=CONTOSO).nickname is None


def test_6cxx_and_long_61xx_chains(lpa):
    lpa("sim", "quirks", "--wrong-le-6c", "--chunk", "16")
    result = lpa("-v", "list", "--icons")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("< 6C") for line in result.output.splitlines())
    chains = [line for line in result.output.splitlines() if line.startswith("< ") and line.split()[-1].startswith("61")]
    assert len(chains) > 10
    assert json_data(lpa("--json", "list", "--icons"))[0]["icon"].startswith("iVBOR")


def test_decoders_accept_ber_that_is_not_der_and_say_so():
    warnings = []
    # BF2D with indefinite lengths and a long-form length where short would do
    answer = bytes.fromhex("BF2D80A080E30D5A81 0A98101430121181157002 0000 0000".replace(" ", ""))
    kind, profiles = codec.decode("ProfileInfoListResponse", answer, warnings.append)
    assert kind == "profileInfoListOk" and profiles[0]["iccid"].hex() == "98101430121181157002"
    assert "not strict DER" in warnings[0]


def test_decoders_skip_unknown_extra_tags_and_say_so():
    warnings = []
    # ProfileInfo with an unknown context tag 9F7F appended (an extension)
    answer = bytes.fromhex("BF2D13A011E30F5A0A981014301211811570029F7F0101")
    [profile] = es10.get_profiles_info(_Answer(answer, warnings.append))
    assert profile.iccid == "89014103211118510720"
    assert warnings == ["ProfileInfoListResponse is not strict DER (lengths, unknown fields or trailing bytes); "
                        "accepted as BER"]


class _Answer:
    def __init__(self, answer: bytes, note=None) -> None:
        self.answer = answer
        self.note = note

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        return self.answer


def _listed_without(monkeypatch, *fields):
    """The simulated eUICC leaves ``fields`` out of every ProfileInfo it lists (both are OPTIONAL in 5.7.15)."""
    from lpa.sim.card.isdr import Isdr

    full = Isdr._profile_info
    monkeypatch.setattr(Isdr, "_profile_info",
                        lambda self, *args: {k: v for k, v in full(self, *args).items() if k not in fields})


def test_a_profile_listed_without_iccid_is_named_to_the_card_by_its_isdp_aid(lpa, sim_state, monkeypatch):
    assert lpa("nickname", CONTOSO, "travel").exit_code == 0
    aid = next(p.isdp_aid for p in sim_state().profiles if p.iccid == CONTOSO)
    _listed_without(monkeypatch, "iccid")
    result = lpa("-v", "enable", "--no-notify", "travel")
    assert result.exit_code == 0, result.output
    assert f"enabled {aid} (disabled " in result.output
    assert f"> 80E291001ABF3117A0124F10{aid}81010000\n" in result.output  # profileIdentifier: isdpAid, not iccid
    assert [p.iccid for p in sim_state().profiles if p.state == "enabled"] == [CONTOSO]


def test_a_profile_listed_without_iccid_and_isdp_aid_is_refused_before_the_card_changes(lpa, sim_state, monkeypatch):
    assert lpa("nickname", CONTOSO, "travel").exit_code == 0
    _listed_without(monkeypatch, "iccid", "isdpAid")
    before = sim_state()
    result = lpa("enable", "travel")
    assert result.exit_code == 3, result.output
    assert "listed this profile without ICCID and ISD-P AID: lpa cannot name it to the card" in result.output
    assert sim_state() == before


def test_a_memory_reset_of_profiles_listed_without_iccid_names_them_by_isdp_aid(lpa, sim_state, monkeypatch):
    aid = next(p.isdp_aid for p in sim_state().profiles if p.profile_class == "test")
    _listed_without(monkeypatch, "iccid")
    result = lpa("memory-reset", "--test", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"deleted {aid}"  # what the card deleted, by its AID
