"""The lpa command against the simulated eUICC: output, JSON schema, exit codes, bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import CONTOSO, EID, FABRIKAM, NORTHWIND, TEST_PROFILE, json_data, lpa_executable

PROFILE_KEYS = {"iccid", "isdpAid", "profileState", "profileNickname", "serviceProviderName", "profileName",
                "iconType", "icon", "profileClass", "notificationConfigurationInfo", "profilePolicyRules"}


def test_list_shows_a_table(lpa):
    result = lpa("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["ICCID", "STATE", "CLASS", "PROVIDER", "NAME", "NICKNAME"]
    assert lines[1].split()[:3] == [NORTHWIND, "enabled", "operational"]
    assert len(lines) == 5


def test_list_json_uses_lpacs_field_names(lpa):
    profiles = json_data(lpa("--json", "list"))
    # iconType and icon are read only with --icons: left out rather than null (which would say "no icon")
    assert {frozenset(p) for p in profiles} == {frozenset(PROFILE_KEYS - {"iconType", "icon"})}
    first = profiles[0]
    assert first["iccid"] == NORTHWIND and first["profileState"] == "enabled"
    assert first["profileClass"] == "operational"
    assert {frozenset(p) for p in json_data(lpa("--json", "list", "--icons"))} == {frozenset(PROFILE_KEYS)}
    assert first["isdpAid"] == "A0000005591010FFFFFFFF8900001000"  # 16 bytes, as on real cards
    assert first["notificationConfigurationInfo"] == [{
        "profileManagementOperation": ["install", "enable", "disable", "delete"],
        "notificationAddress": "smdp.northwind.example"}]
    assert profiles[2]["profilePolicyRules"] == ["ppr2"] and profiles[3]["notificationConfigurationInfo"] is None
    assert profiles[3]["profilePolicyRules"] == []  # as download says for a profile without rules


def test_list_icons_come_as_base64(lpa):
    first = json_data(lpa("--json", "list", "--icons"))[0]
    assert first["iconType"] == "png" and first["icon"].startswith("iVBORw0K")


def test_info_shows_eid_versions_memory_and_ci_keys(lpa):
    result = lpa("info")
    assert "EID:" in result.output and EID in result.output
    assert "Free memory:" in result.output and "CI keys (verification):" in result.output
    data = json_data(lpa("--json", "info"))
    assert data["eidValue"] == EID
    assert data["EUICCInfo2"]["svn"] == "2.2.0"
    assert data["EUICCInfo2"]["extCardResource"]["freeNonVolatileMemory"] > 0
    assert data["EuiccConfiguredAddresses"]["rootDsAddress"] == "lpa.ds.gsma.com"


def test_enable_and_disable_by_iccid_aid_and_nickname(lpa, sim_state):
    assert lpa("disable", "work", "--no-notify").exit_code == 0
    assert sim_state().find(iccid=NORTHWIND).state == "disabled"
    aid = sim_state().find(iccid=CONTOSO).isdp_aid
    result = lpa("enable", aid, "--no-notify")
    assert result.exit_code == 0 and f"enabled {CONTOSO}" in result.output
    assert sim_state().find(iccid=CONTOSO).state == "enabled"
    result = lpa("enable", NORTHWIND, "--no-notify")
    assert f"(disabled {CONTOSO})" in result.output


def test_delete_with_yes(lpa, sim_state):
    result = lpa("delete", "--yes", "--no-notify", CONTOSO)
    assert result.exit_code == 0, result.output
    assert sim_state().find(iccid=CONTOSO) is None


def test_delete_asks_on_a_terminal_and_no_keeps_the_profile(lpa, sim_state, monkeypatch):
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    result = lpa("delete", CONTOSO, input="n\n")
    assert f"Delete {CONTOSO} (Contoso Telecom, Contoso Travel 5GB)?" in result.output
    assert result.exit_code == 1
    assert sim_state().find(iccid=CONTOSO) is not None


def test_delete_without_a_terminal_needs_yes(lpa, sim_state):
    result = lpa("delete", CONTOSO)
    assert result.exit_code == 2 and "add --yes" in result.output
    assert sim_state().find(iccid=CONTOSO) is not None


def test_delete_of_an_enabled_profile_says_what_to_do(lpa, sim_state):
    result = lpa("delete", "--yes", NORTHWIND)
    assert result.exit_code == 2
    assert f"profile {NORTHWIND} is enabled; disable it first (lpa disable {NORTHWIND}) or use --force" in result.output
    assert sim_state().find(iccid=NORTHWIND) is not None


def test_delete_force_disables_first(lpa, sim_state):
    result = lpa("delete", "--yes", "--force", "--no-notify", NORTHWIND)
    assert result.exit_code == 0
    assert sim_state().find(iccid=NORTHWIND) is None
    assert [n.operation for n in sim_state().notifications] == ["disable", "delete"]


def test_delete_refuses_a_ppr2_profile(lpa, sim_state):
    result = lpa("delete", "--yes", FABRIKAM)
    assert result.exit_code == 2 and "PPR2" in result.output


def test_enable_of_a_test_profile_next_to_an_operational_one_is_refused(lpa, sim_state):
    result = lpa("enable", TEST_PROFILE)
    assert result.exit_code == 2 and f"disable it first (lpa disable {NORTHWIND})" in result.output


def test_nickname_set_and_clear(lpa, sim_state):
    assert lpa("nickname", CONTOSO, "travel").exit_code == 0
    assert sim_state().find(iccid=CONTOSO).nickname == "travel"
    assert json_data(lpa("--json", "nickname", CONTOSO, "")) == {"iccid": CONTOSO, "profileNickname": None}
    assert sim_state().find(iccid=CONTOSO).nickname is None


def test_notifications_list(lpa):
    lpa("disable", "--no-notify", NORTHWIND)
    result = lpa("notifications", "list")
    assert result.output.splitlines()[1].split() == ["1", "disable", NORTHWIND, "smdp.northwind.example"]
    assert json_data(lpa("--json", "notifications", "list")) == [{
        "seqNumber": 1, "profileManagementOperation": "disable",
        "notificationAddress": "smdp.northwind.example", "iccid": NORTHWIND}]


def test_notifications_remove_drops_without_sending(lpa, sim_state):
    lpa("disable", "--no-notify", NORTHWIND)
    assert lpa("notifications", "remove", "1").exit_code == 2  # no terminal, no --yes
    assert json_data(lpa("--json", "notifications", "remove", "--yes", "1"))["removed"][0]["seqNumber"] == 1
    assert sim_state().notifications == []


# -- bad input: one line, non-zero exit, the card unchanged ---------------------


@pytest.mark.parametrize("args,message", [
    (["delete", "--yes", "8944"], "has 4 digits; an ICCID has 18 to 20"),
    (["delete", "--yes", "894447650000123456789012"], "has 24 digits"),
    (["delete", "--yes", "89444765000012x4567"], "no profile with ICCID, ISD-P AID or nickname 89444765000012x4567"),
    (["delete", "--yes", "8988888888888888888"], "no profile with ICCID, ISD-P AID or nickname 8988888888888888888"),
    (["enable", "8988888888888888888"], "no profile with ICCID, ISD-P AID or nickname"),
    (["enable", "nosuchnickname"], "no profile with ICCID, ISD-P AID or nickname nosuchnickname"),
    (["disable", "A0000005591010FFFFFFFF89009900"], "no profile with ICCID, ISD-P AID or nickname"),
    (["nickname", CONTOSO, "x" * 65], "nickname is 65 bytes of UTF-8; at most 64 fit"),
    (["nickname", CONTOSO, "é" * 33], "nickname is 66 bytes"),
    (["nickname", "12345", "x"], "ICCID 12345 has 5 digits"),
    (["--aid", "A0ZZ", "list"], "AID 'A0ZZ' is not hexadecimal"),
    (["--aid", "A000", "list"], "an AID has 5 to 16"),
    (["notifications", "process", "77"], "no pending notification 77"),
])
def test_bad_input_gets_one_line_and_changes_nothing(lpa, state_path, args, message):
    before = state_path.read_bytes()
    result = lpa("-v", *args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if not line.startswith(("> ", "< ", "#"))]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    # only read-only functions reached the card: GetProfilesInfo (BF2D) or ListNotification (BF28)
    store_data = [line for line in result.output.splitlines() if line.startswith("> ") and line[4:6] == "E2"]
    assert all(line[12:16] in ("BF2D", "BF28") for line in store_data), store_data
    assert state_path.read_bytes() == before


def test_errors_in_json_mode_are_json_with_the_exit_code(lpa):
    result = lpa("--json", "delete", "--yes", "8944")
    assert result.exit_code == 2
    error = json.loads(result.output)
    assert error == {"ok": False, "error": {"type": "InputError", "code": 2,
                                            "message": "ICCID 8944 has 4 digits; an ICCID has 18 to 20"}}


def test_card_refusal_exit_code_carries_the_status_word(lpa):
    result = lpa("--json", "--aid", "A0000005591010FFFFFFFF8900050500", "list")
    assert result.exit_code == 3
    error = json.loads(result.output)["error"]
    assert error["sw"] == "6A82" and "try --aid" in error["message"]


def test_help_lists_exit_codes(lpa):
    result = lpa("--help", sim=False)
    assert "Exit codes:" in result.output and "3    the eUICC refused" in result.output and "130  interrupted" in result.output


# -- the installed command, in processes of its own ---------------------------


def test_changes_persist_across_processes(lpa_process):
    assert NORTHWIND in lpa_process("list").stdout
    assert lpa_process("disable", "--no-notify", NORTHWIND).returncode == 0
    deleted = lpa_process("delete", "--yes", "--no-notify", NORTHWIND)
    assert deleted.returncode == 0 and f"deleted {NORTHWIND}" in deleted.stdout
    profiles = json.loads(lpa_process("--json", "list").stdout)["data"]
    assert NORTHWIND not in [p["iccid"] for p in profiles] and len(profiles) == 3


def test_bad_input_in_a_process_has_no_traceback(lpa_process):
    result = lpa_process("delete", "--yes", "89abc")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lpa: ")


def test_python_dash_m_lpa_works(state_path):
    result = subprocess.run([sys.executable, "-m", "lpa", "--sim", "--sim-state", str(state_path), "list"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and NORTHWIND in result.stdout


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from lpa.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('smartcard', 'cryptography', 'requests', 'asn1tools') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_console_script_is_installed():
    import lpa

    result = subprocess.run([lpa_executable(), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith(f"lpa {lpa.__version__} (GSMA SGP.22 v2.2")


def test_version_names_python_and_the_libraries_and_is_read_only_when_asked(lpa):
    import platform

    lines = lpa("--version", sim=False).output.splitlines()
    assert f"  Python: {platform.python_version()} ({platform.python_implementation()})" in lines
    for name in ("pyscard", "asn1tools", "cryptography", "click", "requests", "pyserial"):
        assert any(line.startswith(f"  {name}: ") and line[len(name) + 4:][:1].isdigit() for line in lines), name


def test_device_names_the_card_and_the_short_forms_are_the_same(lpa, state_path, tmp_path):
    by_device = lpa("--device", f"sim:{state_path}", "--json", "list", sim=False)
    assert json_data(by_device) == json_data(lpa("--json", "list"))
    recording = tmp_path / "list.apdu"
    lpa("--record", str(recording), "--json", "list")
    assert json_data(lpa("--device", f"replay:{recording}", "--json", "list", sim=False)) == json_data(by_device)
    assert lpa("--device", f"sim:{state_path}", "sim", "add-profile", "--iccid", "8988247000000000001",
               "--provider", "P", "--name", "N", sim=False).exit_code == 0
    assert "8988247000000000001" in lpa("list").output  # `lpa sim` commands act on the same card


@pytest.mark.parametrize("args,message", [
    (["--device", "modem:/dev/ttyUSB2"], "KIND[:ARG] with KIND one of pcsc, sim, replay"),
    (["--device", "sim", "--reader", "0"], "--device and --reader name two different cards"),
    (["--device", "replay"], "replay needs a recording"),
])
def test_bad_devices_are_refused(lpa, args, message):
    result = lpa(*args, "list", sim=False)
    assert result.exit_code == 2 and message in result.output


def test_the_device_comes_from_the_environment(lpa, state_path, monkeypatch):
    monkeypatch.setenv("LPA_DEVICE", f"sim:{state_path}")
    assert NORTHWIND in lpa("list", sim=False).output


@pytest.mark.parametrize("options, device", [
    ({}, "pcsc"), ({"reader": "0"}, "pcsc:0"), ({"reader": ""}, "pcsc:"), ({"sim": True}, "sim"),
    ({"sim": True, "sim_state": "s.json"}, "sim:s.json"), ({"replay": "r.apdu", "sim": True}, "replay:r.apdu"),
])
def test_the_short_forms_name_a_device(options, device):
    from lpa.devices import device_of

    assert device_of(**options) == device


def test_an_unknown_device_kind_is_refused_with_the_kinds(lpa):
    from lpa import open_euicc
    from lpa.errors import InputError

    result = lpa("--device", "usb:0", "list", sim=False)
    assert result.exit_code == 2 and "'usb:0': KIND[:ARG] with KIND one of pcsc, sim, replay, at" in result.output
    with pytest.raises(InputError, match=r"unknown device 'usb:0': KIND\[:ARGUMENT\] with KIND one of pcsc, sim"):
        open_euicc(device="usb:0")
