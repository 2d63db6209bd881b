"""ISD-Rs nobody listed: partial-AID SELECT (ISO/IEC 7816-4 7.1.1, the SGP.22 2.2.3 prefix) when no known
AID answers, and cards holding several eUICC instances (--euicc N)."""
from __future__ import annotations

import pytest

from helpers import NORTHWIND, json_data
from lpa.apdu import ISDR_AID_PREFIX, fci_aid, find_isdrs, list_isdrs
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.sim.card.card import SECOND_EID

UNLISTED = "A0000005591010FFFFFFFF8900000200"
SECOND = "A0000005591010FFFFFFFF8900000300"


def test_an_unlisted_isdr_is_found_by_partial_select(lpa):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED)
    result = lpa("-v", "--json", "info")
    assert result.exit_code == 0, result.output
    assert f"partial SELECT found {UNLISTED}" in result.output
    assert "> 00A4040007A000000559101000" in result.output  # P1 04, P2 00: the first occurrence
    assert NORTHWIND in lpa("list").output


def test_partial_select_asks_for_the_next_occurrence_until_the_card_has_none(lpa):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED)
    result = lpa("-v", "list")
    assert "> 00A4040207A000000559101000" in result.output  # P2 02: the next occurrence
    assert "< 6A82" in result.output


def test_without_partial_select_an_unlisted_isdr_is_not_found(lpa):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED, "--no-partial-select")
    result = lpa("list")
    assert result.exit_code == 3 and "not an eUICC, or it uses another ISD-R AID: try --aid" in result.output


def test_two_euicc_instances_are_listed_with_their_aids_and_each_has_its_eid_and_profiles(lpa, sim_state):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED, "--second-isdr-aid", SECOND)
    first = json_data(lpa("--json", "info"))
    assert first["isdrAids"] == [UNLISTED, SECOND] and first["eidValue"] == sim_state().eid
    second = json_data(lpa("--json", "--euicc", "1", "info"))
    assert second["isdrAid"] == SECOND and second["eidValue"] == SECOND_EID != first["eidValue"]
    assert lpa("--euicc", "1", "list").output.strip() == "no profiles on this eUICC"
    assert NORTHWIND in lpa("--euicc", "0", "list").output
    human = lpa("--euicc", "1", "info").output
    assert f"--euicc 1: {SECOND} (this one)" in human


def test_a_change_on_the_second_instance_stays_there(lpa, sim_state):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED, "--second-isdr-aid", SECOND)
    assert lpa("--euicc", "1", "default-smdp", "smdp.example.com").exit_code == 0
    assert json_data(lpa("--json", "--euicc", "1", "info"))["EuiccConfiguredAddresses"]["defaultDpAddress"] \
        == "smdp.example.com"
    assert sim_state().default_dp_address == ""


def test_an_euicc_number_past_the_instances_is_one_line_naming_them(lpa):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED, "--second-isdr-aid", SECOND)
    result = lpa("--euicc", "2", "list")
    assert result.exit_code == 2
    assert "--euicc 2: simulated eUICC" in result.output and f"holds 2 eUICC instances: {UNLISTED}, {SECOND}" \
        in result.output


def test_euicc_numbers_count_known_aids_first(lpa):
    lpa("sim", "quirks", "--second-isdr-aid", SECOND)  # the standard ISD-R, and an unlisted one
    assert json_data(lpa("--json", "--euicc", "0", "info"))["isdrAids"] == \
        ["A0000005591010FFFFFFFF8900000100", SECOND]


def test_find_and_list_isdrs(state_path, lpa):
    lpa("sim", "quirks", "--isdr-aid", UNLISTED, "--second-isdr-aid", SECOND)
    with SimulatedTransport(state_path) as transport:
        assert find_isdrs(transport) == [bytes.fromhex(UNLISTED), bytes.fromhex(SECOND)]
        assert find_isdrs(transport, bytes.fromhex("A000000559101099")) == []
        assert list_isdrs(transport, (bytes.fromhex(SECOND),)) == [bytes.fromhex(SECOND), bytes.fromhex(UNLISTED)]
    assert ISDR_AID_PREFIX == bytes.fromhex("A0000005591010")


@pytest.mark.parametrize("fci, aid", [
    ("6F1F8410A0000005591010FFFFFFFF8900000100A5049F6501FFE0058203020200", "A0000005591010FFFFFFFF8900000100"),
    ("6F0A" "A5039F6500" "8403A00001", "A00001"),
    ("6F05A5039F6500", None),  # no AID
    ("6F1F8410A000", None),  # cut short
    ("6208820278218302", None),  # an FCP, not an FCI
    ("", None),
])
def test_the_aid_is_read_from_the_fci(fci, aid):
    assert fci_aid(bytes.fromhex(fci)) == (bytes.fromhex(aid) if aid else None)
