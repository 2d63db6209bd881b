"""The simulated eUICC: SGP.22 rules, APDU-level answers, its state file."""
from __future__ import annotations


import pytest

from helpers import CONTOSO, FABRIKAM, NORTHWIND, TEST_PROFILE
from lpa import es10
from lpa.errors import ResultError, TransportError
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.sim.card.card import Card
from lpa.sim.card.state import StateFile

ISDR = "A0000005591010FFFFFFFF8900000100"


@pytest.fixture
def card(state_path):
    card = Card(StateFile(state_path))
    card.power_on()
    return card


def send(card: Card, hex_apdu: str) -> str:
    return card.transmit(bytes.fromhex(hex_apdu.replace(" ", ""))).hex().upper()


def edit_state(state_path, change) -> None:
    state_file = StateFile(state_path)
    state = state_file.load()
    change(state)
    state_file.save(state)


# -- SGP.22 rules --------------------------------------------------------------


def test_at_most_one_profile_is_enabled(ch, sim_state):
    es10.enable_profile(ch, CONTOSO)
    es10.enable_profile(ch, NORTHWIND)
    assert [p.iccid for p in sim_state().profiles if p.state == "enabled"] == [NORTHWIND]


def test_enabling_an_enabled_profile_is_refused(ch):
    with pytest.raises(ResultError, match="profileNotInDisabledState"):
        es10.enable_profile(ch, NORTHWIND)


def test_disabling_a_disabled_profile_is_refused(ch):
    with pytest.raises(ResultError, match="profileNotInEnabledState"):
        es10.disable_profile(ch, CONTOSO)


def test_ppr1_forbids_disabling(state_path, ch):
    edit_state(state_path, lambda s: s.find(iccid=NORTHWIND).policy_rules.append("ppr1"))
    with pytest.raises(ResultError, match="disallowedByPolicy"):
        es10.disable_profile(ch, NORTHWIND)
    with pytest.raises(ResultError, match="disallowedByPolicy"):
        es10.enable_profile(ch, CONTOSO)  # would disable the PPR1 profile


def test_ppr2_forbids_deleting(ch, sim_state):
    with pytest.raises(ResultError, match="disallowedByPolicy"):
        es10.delete_profile(ch, FABRIKAM)
    assert sim_state().find(iccid=FABRIKAM) is not None


def test_a_test_profile_cannot_replace_an_enabled_operational_one(ch, sim_state):
    with pytest.raises(ResultError, match="disallowedByPolicy"):
        es10.enable_profile(ch, TEST_PROFILE)
    es10.disable_profile(ch, NORTHWIND)
    es10.enable_profile(ch, TEST_PROFILE)
    assert sim_state().find(iccid=TEST_PROFILE).state == "enabled"


def test_delete_only_when_disabled(ch, sim_state):
    with pytest.raises(ResultError, match="profileNotInDisabledState"):
        es10.delete_profile(ch, NORTHWIND)
    assert sim_state().find(iccid=NORTHWIND) is not None


def test_notifications_follow_the_profiles_configuration(ch, sim_state):
    es10.enable_profile(ch, CONTOSO)  # Contoso notifies install+delete only; Northwind everything
    assert [(n.operation, n.iccid) for n in sim_state().notifications] == [("disable", NORTHWIND)]
    es10.disable_profile(ch, CONTOSO)
    es10.delete_profile(ch, CONTOSO)
    assert [(n.operation, n.iccid, n.address) for n in sim_state().notifications] == [
        ("disable", NORTHWIND, "smdp.northwind.example"), ("delete", CONTOSO, "rsp.contoso.example")]


def test_sequence_numbers_only_grow(ch, sim_state):
    es10.disable_profile(ch, NORTHWIND)
    es10.remove_notification_from_list(ch, 1)
    es10.enable_profile(ch, NORTHWIND)
    assert [n.seq_number for n in sim_state().notifications] == [2]


def test_refused_operations_change_nothing(ch, state_path):
    before = state_path.read_bytes()
    for call in (lambda: es10.delete_profile(ch, NORTHWIND), lambda: es10.delete_profile(ch, FABRIKAM),
                 lambda: es10.enable_profile(ch, TEST_PROFILE)):
        with pytest.raises(ResultError):
            call()
    assert state_path.read_bytes() == before


def test_refresh_flag_is_answered_with_91xx_and_fetch_gives_refresh(card):
    # as the 9esim capture: 82C0000006 -> BF3203800100 910B, FETCH 801200000B -> REFRESH
    send(card, "00 70 00 00 01")
    send(card, f"01 A4 04 00 10 {ISDR}")
    request = "BF32 11 A00C 5A0A 984474560000214365F7 810101"  # DisableProfile, refreshFlag true
    assert send(card, f"81 E2 91 00 14 {request}") == "6106"
    assert send(card, "81 C0 00 00 06") == "BF3203800100910B"
    assert send(card, "80 12 00 00 0B") == "D0098103010104820281829000"
    assert send(card, "80 14 00 00 0C 810301010482028281830100") == "9000"
    assert send(card, "80 12 00 00 0B") == "6985"  # nothing pending any more


def test_without_refresh_flag_nothing_is_pending(card):
    send(card, f"00 A4 04 00 10 {ISDR}")
    assert send(card, "80 E2 91 00 14 BF32 11 A00C 5A0A 984474560000214365F7 810100") == "6106"
    assert send(card, "00 C0 00 00 06") == "BF32038001009000"


# -- APDU level ----------------------------------------------------------------


def test_select_answers_61xx_and_the_fci_comes_by_get_response(card):
    # the FCI of real cards (answers.json): 6F1F 84 <AID> A5049F6501FF E00582030202 00
    assert send(card, f"00 A4 04 00 10 {ISDR} 00") == "6121"
    assert send(card, "00 C0 00 00 21") == f"6F1F8410{ISDR}A5049F6501FFE0058203020200" + "9000"


@pytest.mark.parametrize("apdu,sw", [
    ("A0 A4 04 00 10 " + ISDR, "6E00"),  # wrong class
    ("00 CA 00 5A 00", "6D00"),  # unknown instruction
    ("00 A4 08 00 10 " + ISDR, "6A86"),  # wrong P1
    ("00 A4 04 00 10 A000000559", "6700"),  # Lc longer than the data
    ("00 A4 04 00 08 A000000559101011", "6A82"),  # no such applet
    ("02 A4 04 00 10 " + ISDR, "6881"),  # channel 2 not open
    ("00 C0 00 00 00", "6985"),  # nothing to get
    ("80 E2 91 00 03 BF2000 00", "6985"),  # STORE DATA before SELECT
    ("80 A4 04 00 10 " + ISDR, "6A82"),  # SELECT with a proprietary class (XeSIM, 5ber)
    ("00 E2 91 00 03 BF2000", "6E00"),  # STORE DATA with an interindustry class
    ("00 B0 00 00 00", "6986"),  # READ BINARY with no EF selected
])
def test_wrong_commands_get_the_iso_status_word(card, apdu, sw):
    assert send(card, apdu).endswith(sw)


def test_store_data_checks_p1_block_order_and_length(card):
    send(card, f"00 A4 04 00 10 {ISDR} 00")
    send(card, "00 C0 00 00 1A")
    assert send(card, "80 E2 01 00 03 BF2000 00") == "6A86"  # P1 neither 11 nor 91
    assert send(card, "80 E2 91 01 03 BF2000 00") == "6A86"  # block 1 without block 0
    assert send(card, "80 E2 91 00 00") == "6700"  # no data
    assert send(card, "80 E2 11 00 02 BF20 00") == "9000"
    assert send(card, "80 E2 91 02 01 00 00") == "6A86"  # block 2 after block 0
    assert send(card, "80 E2 11 00 02 BF20 00") == "9000"  # a new sequence starts over
    assert send(card, "80 E2 91 01 01 00 00").startswith("61")


def test_unknown_es10_function_and_malformed_request(card):
    send(card, f"00 A4 04 00 10 {ISDR} 00")
    assert send(card, "80 E2 91 00 03 BF7F00 00") == "6A81"
    assert send(card, "80 E2 91 00 03 BF2D05 00") == "6A80"


def test_long_answers_come_in_61xx_chains(card, state_path):
    send(card, f"00 A4 04 00 10 {ISDR} 00")
    first = send(card, "80 E2 91 00 08 BF2B05A003800101 00")  # nothing: noResultAvailable
    assert first == "6106" and send(card, "00 C0 00 00 06") == "BF2B038101019000"
    edit_state(state_path, lambda s: s.add_notification(s.find(iccid=NORTHWIND), "delete"))
    answer = send(card, "80 E2 91 00 03 BF2B00 00")
    collected = ""
    while answer.endswith("9000") is False:
        assert answer[-4:-2] == "61"
        collected += answer[:-4]
        answer = send(card, f"00 C0 00 00 {answer[-2:]}")
    assert len(collected + answer[:-4]) // 2 > 256


def test_manage_channel_opens_and_closes_channels(card):
    assert send(card, "00 70 00 00 01") == "019000"
    assert send(card, "00 70 00 00 01") == "029000"
    assert send(card, "00 70 80 01") == "9000"
    assert send(card, f"01 A4 04 00 10 {ISDR} 00") == "6881"
    assert send(card, "00 70 80 00") == "6A86"  # the basic channel cannot be closed


def test_a_reset_closes_channels_but_keeps_the_state(card, state_path):
    send(card, "00 70 00 00 01")
    send(card, f"01 A4 04 00 10 {ISDR}")
    assert send(card, "81 E2 91 00 14 BF32 11 A00C 5A0A 984474560000214365F7 810100") == "6106"  # disable
    card.reset()
    assert send(card, f"01 A4 04 00 10 {ISDR} 00") == "6881"  # channel 1 is closed
    send(card, f"00 A4 04 00 10 {ISDR}")
    assert send(card, "80 E2 91 00 15 BF2D 12 A00C 5A0A 984474560000214365F7 5C029F70") == "610B"
    assert send(card, "00 C0 00 00 0B") == "BF2D08A006E3049F7001009000"  # still disabled after the reset


# -- state file ----------------------------------------------------------------


def test_state_is_seeded_on_first_use(tmp_path):
    state = StateFile(tmp_path / "new.json").load()
    assert (tmp_path / "new.json").exists()
    assert [p.state for p in state.profiles].count("enabled") == 1
    assert any(p.icon for p in state.profiles)
    assert any(p.profile_class == "test" for p in state.profiles)
    assert any("ppr2" in p.policy_rules for p in state.profiles)


def test_a_failed_save_leaves_the_old_state_and_no_temporary_file(state_path, monkeypatch):
    before = state_path.read_bytes()
    state_file = StateFile(state_path)
    state = state_file.load()
    state.profiles.clear()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies in the middle of writing

    monkeypatch.setattr("lpa.sim.card.state.json.dump", crash)
    with pytest.raises(KeyboardInterrupt):
        state_file.save(state)
    assert state_path.read_bytes() == before
    assert sorted(p.name for p in state_path.parent.iterdir()) == [state_path.name, state_path.name + ".lock"]


def test_an_unreadable_state_file_says_how_to_start_afresh(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="lpa sim reset"):
        StateFile(path).load()


def test_changes_by_another_process_are_seen_by_a_powered_card(card, state_path):
    edit_state(state_path, lambda s: s.profiles.pop())
    send(card, f"00 A4 04 00 10 {ISDR} 00")
    assert send(card, "80 E2 91 00 06 BF2D035C015A 00").startswith("61")
    assert send(card, "00 C0 00 00 00").count("5A0A") == 3


def test_a_reset_of_the_simulated_transport_closes_its_logical_channels(state_path):
    with SimulatedTransport(state_path) as card:
        assert card.transmit(bytes.fromhex("0070000001")) == (b"\x01", 0x9000)
        assert card.transmit(bytes.fromhex("0070000001")) == (b"\x02", 0x9000)
        card.reset()
        assert card.transmit(bytes.fromhex("0070000001")) == (b"\x01", 0x9000)


def test_a_damaged_state_file_is_a_transport_error_and_leaves_the_state_unlocked(state_path):
    state_path.write_text("{not json")
    for _ in range(2):  # the lock was released: a second open gets the same error, not a wait
        with pytest.raises(TransportError):
            SimulatedTransport(state_path)
