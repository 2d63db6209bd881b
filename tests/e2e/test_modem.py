"""An eUICC in a modem: every command through the AT transport to the simulated modem, and each quirk."""
from __future__ import annotations

import pytest

from helpers import CONTOSO, NORTHWIND, TEST_CI, TS48_PROFILE, json_data, lpac_with_driver, run_lpac
from lpa.sim.bridges.modem import ModemQuirks, SimulatedModem
from lpa.sim.card.state import StateFile

pytest.importorskip("serial")

OPERATOR = "8988247000000000001"


@pytest.fixture
def modem(state_path):
    with SimulatedModem(StateFile(state_path)) as running:
        yield running


def at(lpa, modem, *args):
    return lpa("--device", f"at:{modem.port}", "--ca-file", TEST_CI, "--timeout", "1", *args, sim=False)


def test_every_command_through_a_modem(lpa, modem, smdpp, sim_state):
    assert json_data(at(lpa, modem, "--json", "info"))["eidValue"] == sim_state().eid
    assert [p["iccid"] for p in json_data(at(lpa, modem, "--json", "list"))][:2] == [NORTHWIND, CONTOSO]
    assert at(lpa, modem, "disable", "--no-notify", "work").output.startswith(f"disabled {NORTHWIND}")
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
        assert at(lpa, modem, "list").output.splitlines()[1].split()[0] == NORTHWIND
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

    from helpers import interruptible, lpa_executable

    process = subprocess.Popen([lpa_executable(), "--sim-state", str(state_path), "sim", "modem", "--urcs"],
                               stdout=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        line = process.stdout.readline()
        port = line.split()[3]
        assert line.startswith("simulated modem on /dev/pts/")
        listed = subprocess.run([lpa_executable(), "--device", f"at:{port}", "list"], capture_output=True,
                                text=True, timeout=60)
        assert listed.returncode == 0 and NORTHWIND in listed.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    assert process.returncode == 0


def test_modem_reset_cycles_the_radio_after_a_change(lpa, modem, sim_state):
    result = at(lpa, modem, "--modem-reset", "disable", "--no-notify", "work")
    assert result.exit_code == 0 and sim_state().find(iccid=NORTHWIND).state == "disabled"
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


@pytest.mark.parametrize("answer, message", [
    ("+CME ERROR: 3", "the modem answered +CME ERROR: 3 (operation not allowed) to AT+X"),
    ("+CME ERROR: 4", "the modem answered +CME ERROR: 4 (operation not supported) to AT+X"),
    ("+CME ERROR: 10", "the modem answered +CME ERROR: 10 (SIM not inserted) to AT+X"),
    ("+CME ERROR: 13", "the modem answered +CME ERROR: 13 (SIM failure) to AT+X"),
    ("+CME ERROR: 14", "the modem answered +CME ERROR: 14 (SIM busy) to AT+X"),
    ("+CME ERROR: 50", "the modem answered +CME ERROR: 50 (incorrect parameters) to AT+X"),
    ("+CME ERROR: 100", "the modem answered +CME ERROR: 100 (unknown error) to AT+X"),
    ("+CME ERROR: 15", "the modem answered +CME ERROR: 15 to AT+X"),
    ("+CME ERROR: SIM busy", "the modem answered +CME ERROR: SIM busy to AT+X"),  # AT+CMEE=2 modems: words
])
def test_cme_errors_are_named_as_3gpp_ts_27_007_does(answer, message):
    from lpa.transport.at import AtError

    assert str(AtError("AT+X", answer)) == message


@pytest.mark.parametrize("device, message", [
    ("at", "an AT modem needs its serial port: --device at:/dev/ttyUSB2"),
    ("at:/dev/ttyUSB2@fast", "baud rate 'fast' is not a number"),
])
def test_a_modem_device_without_a_port_or_with_a_bad_baud_rate_is_refused(lpa, device, message):
    from lpa import open_euicc
    from lpa.errors import InputError

    with pytest.raises(InputError, match=message):
        open_euicc(device=device)


def test_a_baud_rate_may_follow_the_port(lpa, modem):
    result = lpa("--device", f"at:{modem.port}@9600", "--json", "list", sim=False)
    assert result.exit_code == 0, result.output


def test_modems_without_pyserial_are_explained(monkeypatch):
    import importlib.util

    from lpa import open_euicc
    from lpa.errors import InputError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"modems need pyserial: pip install '\.\[modem\]' in lpa's checkout"):
        open_euicc(device="at:/dev/ttyUSB2")


def test_a_port_nothing_answers_on_times_out_with_the_command(tmp_path):
    import os
    import pty

    from lpa.errors import TransportError
    from lpa.transport.at import AtTransport

    master, slave = pty.openpty()
    try:
        with pytest.raises(TransportError, match="the modem did not answer ATE0 in time"):
            AtTransport(os.ttyname(slave), timeout=0.2)
    finally:
        os.close(master)
        os.close(slave)


def test_the_radio_is_cycled_only_when_asked(lpa, modem, sim_state):
    assert at(lpa, modem, "disable", "--no-notify", "work").exit_code == 0
    assert not [line for line in modem.log if line.startswith("> AT+CFUN")]


def test_without_ccho_and_logical_channels_the_isdr_is_not_selected_on_the_basic_channel(lpa, state_path):
    assert lpa("sim", "quirks", "--no-logical-channels").exit_code == 0
    with SimulatedModem(StateFile(state_path), ModemQuirks(no_ccho=True)) as modem:
        result = at(lpa, modem, "list")
    assert result.exit_code == 3, result.output
    assert not any('"00A4' in line or '"80E2' in line for line in modem.log)


def test_modems_are_numbered_after_the_pcsc_readers(lpa, modem, monkeypatch):
    from lpa.transport import at as at_transport
    from lpa.transport.pcsc import ReaderStatus

    monkeypatch.setattr(at_transport, "serial_ports", lambda: [modem.port, modem.port])  # as if two modems
    monkeypatch.setattr("lpa.readers.list_readers", lambda: [ReaderStatus(0, "Reader A", False, None, False)])
    found = json_data(lpa("--json", "readers", "--modems", sim=False))
    assert [(r["index"], r["name"]) for r in found] == [(0, "Reader A"), (1, modem.port), (2, modem.port)]


def test_serial_ports_are_the_devices_pyserial_lists(monkeypatch):
    from types import SimpleNamespace

    from serial.tools import list_ports

    from lpa.transport.at import serial_ports

    monkeypatch.setattr(list_ports, "comports", lambda: [SimpleNamespace(device="/dev/ttyUSB2"),
                                                         SimpleNamespace(device="/dev/ttyACM0")])
    assert serial_ports() == ["/dev/ttyUSB2", "/dev/ttyACM0"]


@pytest.mark.parametrize("answers, exit_code, message", [
    ({"AT+CCHO=": ("+CME ERROR: 4",)}, 0, None),  # no CCHO: AT+CSIM instead
    ({"AT+CCHO=": ("+CME ERROR: 100",)}, 3, "holds no ISD-R"),
    ({"AT+CCHO=": ("+CME ERROR: 3",)}, 3, "holds no ISD-R"),  # still refused after waking the SIM
    ({"AT+CCHO=": ("+CME ERROR: 14",)}, 4, 'the modem answered +CME ERROR: 14 (SIM busy) to AT+CCHO="A0000005'),
    ({"AT+CGLA=": ("OK",)}, 4, "the modem gave no answer data to 80E29100"),
    ({"AT+CCHO=": ("OK",)}, 4, 'the modem opened no channel: no session id in its answer to AT+CCHO="A0000005'),
    ({"AT+CCHO=": ('+CCHO: 1,"x"', "OK")}, 4, "the modem answered '+CCHO: 1,\"x\"' to AT+CCHO=\"A0000005"),
    ({"AT+CGLA=": ('+CGLA: 2,"90"', "OK")}, 4, "the modem's answer has no status word"),
    ({"AT+CGLA=": ("+CME ERROR: 50",)}, 3, "GetProfilesInfo failed with status word 6700 (wrong length)"),
])
def test_odd_modem_answers(lpa, state_path, answers, exit_code, message):
    with SimulatedModem(StateFile(state_path), ModemQuirks(answers=answers)) as modem:
        result = at(lpa, modem, "list")
    assert result.exit_code == exit_code, result.output
    if message is None:
        assert any(line.startswith("> AT+CSIM=") for line in modem.log)
    else:
        assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert any(line == "> AT+ECSIMSLEEP=0" for line in modem.log) == (answers.get("AT+CCHO=") == ("+CME ERROR: 3",))


def test_a_modem_refusing_a_short_apdu_is_an_error_not_a_length_to_shrink(lpa, state_path):
    with SimulatedModem(StateFile(state_path), ModemQuirks(answers={"AT+CGLA=": ("+CME ERROR: 50",)})) as modem:
        result = at(lpa, modem, "info")  # GET EID: 12 bytes, no segment to make smaller
    assert result.exit_code == 4
    assert 'the modem answered +CME ERROR: 50 (incorrect parameters) to AT+CGLA=1,24,"80E2910006BF3E035C015A00"' \
        in result.output


def test_a_ring_around_a_bare_session_id_is_not_taken_for_it(lpa, state_path):
    with SimulatedModem(StateFile(state_path), ModemQuirks(urcs=True, bare_session_id=True)) as modem:
        codes = [at(lpa, modem, "--json", "list").exit_code for _ in range(3)]  # each URC in turn lands there
    assert codes == [0, 0, 0]
    assert "< RING" in modem.log


def test_a_modem_gets_120_byte_blocks_and_only_the_at_commands_an_operation_needs(lpa, modem, smdpp, sim_state):
    assert at(lpa, modem, "list").exit_code == 0
    commands = [line[2:] for line in modem.log if line.startswith("> ")]
    assert [c.split("=")[0] for c in commands] == ["ATE0", "AT+CMEE", "AT+CCHO", "AT+CGLA", "AT+CCHC"]
    modem.log.clear()
    result = at(lpa, modem, "--timeout", "30", "download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 0, result.output
    blocks = [bytes.fromhex(line.split(",")[-1].strip('"')) for line in modem.log if line.startswith("> AT+CGLA=")]
    assert max(block[4] for block in blocks if block[1] == 0xE2) == 120  # one AT line each: lpac's segment
    assert not [line for line in modem.log if line.startswith("> ") and "CGLA" not in line and "CCH" not in line
                and line[2:] not in ("ATE0", "AT+CMEE=1")]


@pytest.mark.skipif(lpac_with_driver("at") is None, reason="lpac with its AT driver not installed (built by hand)")
def test_lpacs_at_driver_reads_the_simulated_modem(modem, sim_state):
    """An outside LPA reads the simulated modem; lpac's AT driver first asks AT+CCHO=?, AT+CGLA=? and
    AT+CCHC=? (the test commands TS 27.007 gives every extended command), which the modem answered ERROR."""
    env = {"LPAC_APDU": "at", "LPAC_APDU_AT_DEVICE": modem.port}
    info, profiles = run_lpac(env, "chip", "info"), run_lpac(env, "profile", "list")
    assert info["code"] == 0 and info["data"]["eidValue"] == sim_state().eid
    assert profiles["code"] == 0 and NORTHWIND in [p["iccid"] for p in profiles["data"]]
