"""`lpa memory-reset` (ES10c.eUICCMemoryReset): pinned to the XeSIM capture and lpac's request,
shown and confirmed before anything is sent, notifications delivered like `lpa delete`'s."""
from __future__ import annotations

import pytest

from helpers import CONTOSO, FABRIKAM, NORTHWIND, TEST_PROFILE, json_data
from lpa import es10
from lpa.errors import ResultError
from lpa.sim.card.isdr import Isdr
from lpa.sim.card.state import seeded

OPERATOR = "8988247000000000001"
EID_END = seeded().eid[-4:]


class Recorded:
    """An ISD-R channel that answers from a list and keeps what was sent."""

    def __init__(self, *answers: str) -> None:
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[bytes] = []

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        self.sent.append(payload)
        return self.answers.pop(0)


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)


def test_the_xesim_request_resetting_the_default_address_gets_the_xesim_answer():
    # answers.json, XeSIM over PC/SC: BF34 04 82 02 00 20 -> BF34 03 80 01 00 (bit 2, 0 unused bits: not minimal)
    state = seeded()
    state.default_dp_address = "some random address"
    isdr = Isdr(state)
    assert isdr.handle(bytes.fromhex("BF340482020020")).hex().upper() == "BF3403800100"
    assert state.default_dp_address == "" and len(state.profiles) == 4


def test_lpacs_chip_purge_request_is_what_lpa_sends_for_all_three_options():
    channel = Recorded("BF3403800100")
    es10.euicc_memory_reset(channel, {"deleteOperationalProfiles", "deleteFieldLoadedTestProfiles",
                                      "resetDefaultSmdpAddress"})
    assert channel.sent == [bytes.fromhex("BF3404820205E0")]  # lpac es10c_euicc_memory_reset
    state = seeded()
    assert Isdr(state).handle(channel.sent[0]).hex().upper() == "BF3403800100"
    assert state.profiles == []


@pytest.mark.parametrize("options, request_hex", [
    ({"deleteOperationalProfiles"}, "BF340482020780"),
    ({"deleteFieldLoadedTestProfiles"}, "BF340482020640"),
    ({"resetDefaultSmdpAddress"}, "BF340482020520"),
])
def test_each_option_is_its_own_bit(options, request_hex):
    channel = Recorded("BF3403800100")
    es10.euicc_memory_reset(channel, options)
    assert channel.sent[0].hex().upper() == request_hex


@pytest.mark.parametrize("answer, reason, words", [
    ("BF3403800101", "nothingToDelete", "there was nothing to delete or reset"),
    ("BF3403800105", "catBusy", "toolkit is busy"),
    ("BF340380017F", "undefinedError", "undefined error"),
])
def test_refusals_are_named(answer, reason, words):
    with pytest.raises(ResultError) as caught:
        es10.euicc_memory_reset(Recorded(answer), {"deleteOperationalProfiles"})
    assert caught.value.reason == reason and words in str(caught.value)
    assert str(caught.value).startswith("eUICCMemoryReset: ")


def test_the_simulator_answers_nothing_to_delete_when_nothing_is_there():
    state = seeded()
    state.profiles = [p for p in state.profiles if p.profile_class != "test"]
    assert Isdr(state).handle(bytes.fromhex("BF340482020640")).hex().upper() == "BF3403800101"
    assert Isdr(state).handle(bytes.fromhex("BF340482020520")).hex().upper() == "BF3403800101"  # no address set


def test_nothing_is_reset_without_an_option(lpa, sim_state):
    before = sim_state()
    result = lpa("memory-reset", "--yes")
    assert result.exit_code == 2 and "--operational, --test and/or --default-smdp" in result.output
    assert sim_state() == before


def test_without_a_terminal_it_needs_yes(lpa, sim_state):
    before = sim_state()
    result = lpa("memory-reset", "--test")
    assert result.exit_code == 2 and "add --yes" in result.output
    assert sim_state() == before


def test_it_shows_what_goes_and_a_wrong_eid_ending_changes_nothing(lpa, sim_state, terminal):
    sim_state_before = sim_state()
    result = lpa("memory-reset", "--operational", "--override-policy-rules", input="1234\n")
    assert result.exit_code == 1
    for iccid in (NORTHWIND, CONTOSO, FABRIKAM):
        assert f"operational profile {iccid}" in result.output
    assert TEST_PROFILE not in result.output
    assert "enabled, nickname work" in result.output and "policy rules ppr2" in result.output
    assert "not the EID's last 4 digits" in result.output and "nothing was reset" in result.output
    assert sim_state() == sim_state_before


def test_typing_the_eids_last_digits_resets(lpa, sim_state, terminal):
    result = lpa("memory-reset", "--test", input=f"{EID_END}\n")
    assert result.exit_code == 0, result.output
    assert f"test profile {TEST_PROFILE}" in result.output and "installed at manufacture stay" in result.output
    assert result.output.strip().endswith(f"deleted {TEST_PROFILE}")
    assert [p.iccid for p in sim_state().profiles] == [NORTHWIND, CONTOSO, FABRIKAM]


def test_a_profile_whose_policy_rules_forbid_deleting_it_is_refused_unless_overridden(lpa, sim_state):
    before = sim_state()
    result = lpa("memory-reset", "--operational", "--yes")
    assert result.exit_code == 2 and f"{FABRIKAM} (ppr2)" in result.output
    assert "--override-policy-rules" in result.output
    assert sim_state() == before
    result = lpa("memory-reset", "--operational", "--yes", "--override-policy-rules", "--no-notify")
    assert result.exit_code == 0
    assert result.output.strip().endswith(f"deleted {NORTHWIND}, {CONTOSO}, {FABRIKAM}")
    assert [p.iccid for p in sim_state().profiles] == [TEST_PROFILE]
    # the card recorded a delete notification for each profile configured for one
    assert [(n.operation, n.iccid) for n in sim_state().notifications] == [("delete", NORTHWIND), ("delete", CONTOSO)]


def test_the_default_smdp_address_alone(lpa, sim_state):
    lpa("default-smdp", "smdp.example.com")
    data = json_data(lpa("--json", "memory-reset", "--default-smdp", "--yes"))
    assert data["defaultDpAddress"] == "smdp.example.com" and data["deleted"] == [] and data["profiles"] == []
    assert sim_state().default_dp_address == "" and len(sim_state().profiles) == 4


def test_nothing_to_reset_sends_no_reset(lpa, sim_state):
    result = lpa("-v", "memory-reset", "--default-smdp", "--yes")
    assert result.exit_code == 0 and "nothing to reset on this eUICC" in result.output
    assert "BF34" not in result.output


def test_delete_notifications_go_to_the_smdp_and_leave_the_card_once_acknowledged(lpa, smdpp, sim_state):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address,
        "--notify", "delete")
    assert lpa("notifications", "process").exit_code == 0  # its install notification
    smdpp.accepted.clear()
    data = json_data(lpa("--json", "memory-reset", "--operational", "--yes", "--override-policy-rules"))
    assert data["deleted"] == [NORTHWIND, CONTOSO, FABRIKAM, OPERATOR]
    outcomes = {n["iccid"]: (n["delivered"], n["removed"]) for n in data["notifications"]}
    assert outcomes[OPERATOR] == (True, True)
    assert outcomes[NORTHWIND] == (False, False)  # smdp.northwind.example is not reachable from a test
    assert [(a.operation, a.iccid) for a in smdpp.accepted] == [("delete", OPERATOR)]
    assert {n.iccid for n in sim_state().notifications} == {NORTHWIND, CONTOSO}


def test_help_names_the_options_and_the_confirmation(lpa):
    text = lpa("memory-reset", "--help").output
    for words in ("--operational", "--test", "--default-smdp", "last 4 digits", "--override-policy-rules"):
        assert words in text


def _plan(*profiles):
    from lpa.operations.memory_reset import ResetPlan

    return ResetPlan("8904" + "0" * 28, frozenset({"deleteOperationalProfiles"}), list(profiles), None)


def test_policy_rules_protect_against_deleting_ppr2_and_disabling_an_enabled_ppr1_profile():
    from lpa.es10 import Profile

    ppr2 = Profile(iccid="1" * 19, state="disabled", policy_rules=("pprUpdateControl", "ppr2"))
    enabled_ppr1 = Profile(iccid="2" * 19, state="enabled", policy_rules=("ppr1",))
    disabled_ppr1 = Profile(iccid="3" * 19, state="disabled", policy_rules=("ppr1",))
    plain = Profile(iccid="4" * 19, state="enabled", policy_rules=None)
    assert _plan(ppr2, enabled_ppr1, disabled_ppr1, plain).protected == [ppr2, enabled_ppr1]


def test_the_refusal_names_each_protected_profile_with_its_rules(lpa, sim_state):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", "a.example",
        "--ppr1", "--ppr2")
    result = lpa("memory-reset", "--operational", "--yes")
    assert result.exit_code == 2
    assert f"{FABRIKAM} (ppr2), {OPERATOR} (ppr1/ppr2)" in result.output


def test_resetting_only_the_default_address_reads_no_profile(lpa):
    lpa("default-smdp", "smdp.example.com")
    result = lpa("-v", "memory-reset", "--default-smdp", "--yes")
    assert result.exit_code == 0 and "BF2D" not in result.output.upper().split("BF34")[0]
    assert result.output.strip().splitlines()[-1] == "default SM-DP+ smdp.example.com cleared"


def test_ctrl_c_while_sending_its_notifications_exits_130(lpa, smdpp, monkeypatch):

    def interrupted(self, address, der):
        raise KeyboardInterrupt

    monkeypatch.setattr("lpa.es9p.handle_notification", interrupted)
    result = lpa("memory-reset", "--operational", "--yes", "--override-policy-rules")
    assert result.exit_code == 130 and "(interrupted)" in result.output
    assert result.output.strip().splitlines()[-1].startswith(f"deleted {NORTHWIND}, {CONTOSO}, {FABRIKAM}")


def test_the_library_asks_for_options_refuses_protected_profiles_and_notifies_by_default(state_path, smdpp):
    from helpers import TEST_CI
    from lpa import NotifySettings, open_euicc
    from lpa.errors import InputError

    settings = NotifySettings(ca_files=(TEST_CI,), timeout=0.5, retries=0)
    lines = []
    with open_euicc(sim=True, sim_state=str(state_path), notify=settings, trace=lines.append) as euicc:
        with pytest.raises(InputError, match="say what to reset"):
            euicc.plan_memory_reset(set())
        plan = euicc.plan_memory_reset({"deleteOperationalProfiles"})
        with pytest.raises(InputError, match="PPR2|ppr2"):
            euicc.memory_reset(plan, confirm=lambda p: True)
        result = euicc.memory_reset(plan, confirm=lambda p: True, override_policy=True)
    assert [d.notification.iccid for d in result.deliveries] == [NORTHWIND, CONTOSO]  # sent (and failed) by default
    assert "# reset" not in lines  # no card reset after a memory reset
