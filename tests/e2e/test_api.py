"""The library API the README shows."""
from helpers import CONTOSO, NORTHWIND
from lpa import LpaError, NotifySettings, open_euicc
from lpa.errors import InputError


def test_readme_example_runs(state_path):
    with open_euicc(sim=True, sim_state=str(state_path), notify=NotifySettings(timeout=1, retries=0)) as euicc:
        assert euicc.eid().startswith("89")
        assert [p.state for p in euicc.profiles()].count("enabled") == 1
        result = euicc.disable("work")
        assert result.profile.iccid == NORTHWIND
        [delivery] = result.deliveries
        assert not delivery.delivered and delivery.error == "host name not found"
        euicc.set_nickname(NORTHWIND, "home")
        assert euicc.find_profile("home").iccid == NORTHWIND
        assert euicc.process_notifications().remaining == 1


def test_errors_are_lpa_errors_with_the_reason(state_path):
    with open_euicc(sim=True, sim_state=str(state_path)) as euicc:
        try:
            euicc.delete(NORTHWIND)
        except InputError as error:
            assert isinstance(error, LpaError) and "use --force" in str(error)
        else:
            raise AssertionError("deleting an enabled profile must fail")


def test_trace_receives_every_apdu(state_path):
    lines = []
    with open_euicc(sim=True, sim_state=str(state_path), trace=lines.append) as euicc:
        euicc.eid()
    assert lines == ["> 00A4040010A0000005591010FFFFFFFF8900000100", "< 6121",
                     "> 80E2910006BF3E035C015A00", "< 6115",
                     "> 00C0000015", "< BF3E125A1089049032000000000000000000000000019000"[:0] + lines[5]]
    assert lines[5].startswith("< BF3E125A10") and lines[5].endswith(" 9000")


def test_notify_settings_are_checked_when_made():
    import math

    import pytest

    for timeout in (0, -1, 3600.5, math.nan, math.inf):
        with pytest.raises(InputError, match="between 0 and 3600"):
            NotifySettings(timeout=timeout)
    assert NotifySettings(timeout=3600).timeout == 3600 and NotifySettings(timeout=0.01).timeout == 0.01
    for bad in ({"retries": -1}, {"backoff": -0.1}, {"backoff": math.nan}):
        with pytest.raises(InputError, match="must not be negative"):
            NotifySettings(**bad)
    assert NotifySettings(retries=0, backoff=0).retries == 0
    with pytest.raises(InputError):
        NotifySettings(ca_files=("/nonexistent/ca.pem",))


def test_an_operation_whose_profile_notifies_nothing_reads_no_notification_list(state_path):
    lines = []
    with open_euicc(sim=True, sim_state=str(state_path), trace=lines.append) as euicc:
        result = euicc.enable(CONTOSO, reset=False)  # notifies install and delete only...
    sent = [line for line in lines if line.startswith("> 80E2")]
    # ...but the enabled profile it disables notifies its disable: one ListNotification, not two
    assert sum("BF28" in line for line in sent) == 1 and [d.notification.operation for d in result.deliveries] == [
        "disable"]
    lines.clear()
    with open_euicc(sim=True, sim_state=str(state_path), trace=lines.append) as euicc:
        euicc.disable(CONTOSO, reset=False)
    assert not any("BF28" in line for line in lines)


def test_profiles_leave_icons_and_details_out_unless_asked(state_path):
    with open_euicc(sim=True, sim_state=str(state_path)) as euicc:
        plain = euicc.profiles()
        full = euicc.profiles(icons=True, details=True)
    assert plain[0].icon is None and plain[0].notification_config is None and plain[0].policy_rules is None
    assert full[0].icon and full[0].notification_config and full[2].policy_rules == ("ppr2",)


def test_an_euicc_made_directly_uses_the_basic_channel(state_path):
    from lpa.euicc import Euicc
    from lpa.transport.traced import Traced
    from lpa.sim.bridges.inprocess import SimulatedTransport

    lines = []
    with Euicc(Traced(SimulatedTransport(state_path), lines.append)) as euicc:
        euicc.eid()
    assert lines[0].startswith("> 00A40400")


def test_a_smaller_segment_size_the_card_asked_for_survives_the_reset(lpa, state_path):
    lpa("sim", "quirks", "--max-segment", "64")
    lines = []
    with open_euicc(sim=True, sim_state=str(state_path), trace=lines.append) as euicc:
        euicc.set_nickname(CONTOSO, "x" * 64)  # a 90-byte SetNickname: refused once, sent again
        euicc.reset()
        euicc.set_nickname(CONTOSO, "y" * 64)  # in 64-byte blocks from the start
    assert lines.count("< 6700") == 1


def test_library_operations_neither_refresh_nor_reset_unless_asked(state_path):
    lines = []
    with open_euicc(sim=True, sim_state=str(state_path), trace=lines.append,
                    notify=NotifySettings(timeout=0.1, retries=0)) as euicc:
        euicc.enable(CONTOSO)
        euicc.disable(CONTOSO)
        euicc.delete(CONTOSO)
        euicc.enable(NORTHWIND, refresh=True, reset=True)
    switches = [line for line in lines if line.startswith(("> 80E29100", "# reset")) and
                ("BF31" in line or "BF32" in line or line == "# reset")]
    assert [line[-8:-2] if line.startswith(">") else line for line in switches] == [
        "810100", "810100", "8101FF", "# reset"]


def test_delete_force_disables_without_refresh_and_notifies_in_order(lpa):
    import json

    result = lpa("-v", "--json", "delete", "--yes", "--force", NORTHWIND)
    disable = [line for line in result.output.splitlines() if line.startswith("> 80E29100") and "BF32" in line]
    assert [line[-8:-2] for line in disable] == ["810100"]  # before Le 00
    data = json.loads(result.output.splitlines()[-1])["data"]
    assert [n["profileManagementOperation"] for n in data["notifications"]] == ["disable", "delete"]


def test_open_euicc_names_a_pcsc_reader_by_default_never_the_simulator(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # where a simulated eUICC would appear
    try:
        with open_euicc(reader="no reader has this name"):
            raise AssertionError("a reader that does not exist was opened")
    except LpaError as error:
        assert "simulated" not in str(error)
    assert not (tmp_path / "lpa").exists()
