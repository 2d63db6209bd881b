"""An eUICC in a modem: every command through the AT transport to the simulated modem, and each quirk."""
from __future__ import annotations

import pytest

from conftest import TEST_CI, json_data
from lpa.sim.modem import ModemQuirks, SimulatedModem
from lpa.sim.state import StateFile

pytest.importorskip("serial")

ENABLED, CONTOSO = "8944476500001234567", "89470000000098765432"
OPERATOR = "8988247000000000001"


@pytest.fixture
def modem(state_path):
    with SimulatedModem(StateFile(state_path)) as running:
        yield running


def at(lpa, modem, *args):
    return lpa("--device", f"at:{modem.port}", "--ca-file", TEST_CI, "--timeout", "1", *args, sim=False)


def test_every_command_through_a_modem(lpa, modem, smdpp, sim_state):
    assert json_data(at(lpa, modem, "--json", "info"))["eidValue"] == sim_state().eid
    assert [p["iccid"] for p in json_data(at(lpa, modem, "--json", "list"))][:2] == [ENABLED, CONTOSO]
    assert at(lpa, modem, "disable", "--no-notify", "work").output.startswith(f"disabled {ENABLED}")
    assert at(lpa, modem, "enable", "--no-notify", CONTOSO).output.startswith(f"enabled {CONTOSO}")
    assert at(lpa, modem, "nickname", CONTOSO, "travel").exit_code == 0
    assert sim_state().find(iccid=CONTOSO).nickname == "travel"
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address)
    assert at(lpa, modem, "notifications", "process").exit_code in (0, 5)  # install delivered, others refused
    result = at(lpa, modem, "delete", "--yes", OPERATOR)
    assert result.output.strip() == f"deleted {OPERATOR}; notified {smdpp.address}"
    assert ("delete", OPERATOR) in [(a.operation, a.iccid) for a in smdpp.accepted]
    assert at(lpa, modem, "--json", "notifications", "list").exit_code == 0
    assert any(line.startswith("> AT+CGLA=") for line in modem.log)
    assert not any("AT+CSIM" in line for line in modem.log)


@pytest.mark.parametrize("quirks,seen", [
    (ModemQuirks(no_ccho=True), '> AT+CSIM=10,"0070000001"'),  # MANAGE CHANNEL and SELECT as APDUs
    (ModemQuirks(bare_session_id=True), "< 1"),
    (ModemQuirks(long_session_id=True), "< +CCHO: "),
    (ModemQuirks(echo=True), "> ATE0"),
    (ModemQuirks(urcs=True), "< RING"),
    (ModemQuirks(slow=0.02), "> AT+CGLA="),
    (ModemQuirks(sim_sleep=True), "> AT+ECSIMSLEEP=0"),
    (ModemQuirks(max_command=120), "< +CME ERROR: 50"),
])
def test_modem_quirks(lpa, state_path, quirks, seen, sim_state):
    with SimulatedModem(StateFile(state_path), quirks) as modem:
        result = at(lpa, modem, "nickname", CONTOSO, "a-rather-long-nickname-for-a-profile")
        assert result.exit_code == 0, result.output
        assert at(lpa, modem, "list").output.splitlines()[1].split()[0] == ENABLED
    assert sim_state().find(iccid=CONTOSO).nickname == "a-rather-long-nickname-for-a-profile"
    assert any(line.startswith(seen) for line in modem.log), modem.log[:12]


def test_a_sim_without_an_isdr_is_not_an_euicc(lpa, state_path):
    with SimulatedModem(StateFile(state_path), ModemQuirks(no_isdr=True)) as modem:
        result = at(lpa, modem, "list")
    assert result.exit_code == 3
    assert f"modem at {modem.port} holds no ISD-R at A0000005591010FFFFFFFF8900000100" in result.output
    assert "not an eUICC" in result.output


def test_verbose_shows_the_at_lines_and_record_keeps_the_apdus(lpa, modem, tmp_path):
    recording = tmp_path / "modem.apdu"
    result = at(lpa, modem, "-v", "--record", str(recording), "list")
    assert result.exit_code == 0
    assert '# AT> AT+CCHO="A0000005591010FFFFFFFF8900000100"' in result.output
    assert "> 80E29100" in result.output  # the APDU, with channel 0's class: the modem adds the channel
    assert "> 80E29100" in recording.read_text()


def test_a_port_held_by_another_program_is_named_as_such(lpa, modem):
    import serial

    with serial.Serial(modem.port, exclusive=True):
        result = at(lpa, modem, "list")
    assert result.exit_code == 4 and "held by another program (ModemManager?)" in result.output


def test_a_missing_port_is_one_line(lpa, tmp_path):
    result = lpa("--device", f"at:{tmp_path}/ttyUSB9", "list", sim=False)
    assert result.exit_code == 4 and "cannot open" in result.output and len(result.output.splitlines()) == 1


def test_lpa_sim_modem_runs_until_interrupted(state_path):
    import signal
    import subprocess

    from conftest import interruptible, lpa_executable

    process = subprocess.Popen([lpa_executable(), "--sim-state", str(state_path), "sim", "modem", "--urcs"],
                               stdout=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        line = process.stdout.readline()
        port = line.split()[3]
        assert line.startswith("simulated modem on /dev/pts/")
        listed = subprocess.run([lpa_executable(), "--device", f"at:{port}", "list"], capture_output=True,
                                text=True, timeout=60)
        assert listed.returncode == 0 and ENABLED in listed.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    assert process.returncode == 0


def test_modem_reset_cycles_the_radio_after_a_change(lpa, modem, sim_state):
    result = at(lpa, modem, "--modem-reset", "disable", "--no-notify", "work")
    assert result.exit_code == 0 and sim_state().find(iccid=ENABLED).state == "disabled"
    sent = [line for line in modem.log if line.startswith("> AT+CFUN")]
    assert sent == ["> AT+CFUN=0", "> AT+CFUN=1"]
    assert lpa("--modem-reset", "list").exit_code == 2  # not a modem: refused before anything


def test_readers_lists_the_modems_that_answer_at(lpa, modem, monkeypatch, tmp_path):
    from lpa.transport import at as at_transport

    monkeypatch.setattr(at_transport, "serial_ports", lambda: [str(tmp_path / "nothing"), modem.port])
    monkeypatch.setattr("lpa.readers.list_readers", lambda: [])
    found = json_data(lpa("--json", "readers", "--modems", sim=False))
    assert found == [{"index": 0, "name": modem.port, "device": f"at:{modem.port}",
                      "card": "modem lpa simulated modem"}]


def test_without_ccho_the_isdr_is_never_selected_on_the_modems_basic_channel(lpa, state_path):
    with SimulatedModem(StateFile(state_path), ModemQuirks(no_ccho=True)) as modem:
        assert at(lpa, modem, "list").exit_code == 0
    csim = [line for line in modem.log if line.startswith("> AT+CSIM=")]
    assert csim[0] == '> AT+CSIM=10,"0070000001"'  # MANAGE CHANNEL first
    assert not any('"00A4' in line or '"80E2' in line for line in csim)  # nothing on channel 0
    assert any('"01A4040010A0000005591010FFFFFFFF8900000100"' in line for line in csim)
    assert csim[-1] == '> AT+CSIM=8,"00708001"'  # and closed at the end
