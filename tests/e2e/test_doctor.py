"""`lpa doctor`: each broken set-up named with what to do, and exit 0 when lpa can work.

The library checks (:mod:`lpa.doctor`) are driven through an injected
:class:`~lpa.doctor.Environment` (pcscd's socket elsewhere, a fake /proc, a
user without root, the clock); the PC/SC cases that need a reader (busy, a
card without ISD-R) run through pcscd and vpcd and are marked ``pcsc``.
"""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import TEST_CI, json_data, run_lpa
from lpa.doctor import BLOCKER, OK, WARNING, CardFacts, Environment, check_clock, check_modems, check_notifications
from lpa.doctor import check_pcscd, check_servers, check_trust, diagnose
from lpa.es10 import NotificationMetadata
from lpa.trust import anchors

SIM_CI = "03e282b295a1c1ddfd4b421e67acea8c61c7a085"


def statuses(findings):
    return [(f.check, f.status) for f in findings]


# -- the simulated card ------------------------------------------------------------------------


def test_the_simulated_card_is_healthy_and_each_check_says_so(lpa):
    result = lpa("doctor")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "ok    PC/SC: not used (--device sim)"
    assert "ok    card: SGP.22 v2.2.0" in lines
    assert "ok    card: free memory 416000 bytes" in lines
    assert f"ok    trust anchors: CI {SIM_CI}: from --ca-file {TEST_CI}" in lines
    assert lines[-1] == "ok    notifications: none pending"
    assert all(line.startswith("ok    ") for line in lines), lines


def test_doctor_json_has_the_envelope_and_every_finding(lpa, sim_state):
    data = json_data(lpa("--json", "doctor"))
    assert data["canWork"] is True and data["exitCode"] == 0
    checks = [f["check"] for f in data["findings"]]
    assert checks == ["PC/SC", "card", "card", "card", "trust anchors", "clock", "notifications"]
    card = data["findings"][1]
    assert card == {"check": "card", "status": "ok", "action": None, "exitCode": 0,
                    "message": f"eUICC {sim_state().eid}, ISD-R at A0000005591010FFFFFFFF8900000100 (SGP.22 standard)"}


def test_an_unknown_ci_key_is_named_with_the_ca_file_hint(lpa, state_path):
    result = lpa("--sim", "--sim-state", str(state_path), "doctor", sim=False)
    assert result.exit_code == 0, result.output
    assert (f"warn  trust anchors: CI {SIM_CI}: unknown to lpa; an SM-DP+ certified by it is refused: give its CI "
            "certificate with --ca-file") in result.output.splitlines()


def test_check_trust_names_the_known_cis_and_the_unknown_ones():
    found = check_trust(["81370F5125D0B1D408D4C3B232E6D25E795BEBFB", "00" * 20])
    assert statuses(found) == [("trust anchors", OK), ("trust anchors", WARNING)]
    assert "GSM Association - RSP2 Root CI1" in found[0].message
    assert found[1].message == f"CI {'00' * 20}: unknown to lpa" and "--ca-file" in found[1].action
    assert statuses(check_trust([SIM_CI], (TEST_CI,))) == [("trust anchors", OK)]
    assert check_trust([])[0].status == WARNING


def test_a_card_without_an_isdr_is_a_blocker_with_the_aid_hint(lpa, state_path):
    assert lpa("sim", "quirks", "--isdr-aid", "A000000559101011111111", "--no-partial-select").exit_code == 0
    result = lpa("doctor")
    assert result.exit_code == 3, result.output
    fail, = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert fail.startswith("FAIL  card: ") and "give that with --aid" in fail


def test_pending_notifications_are_listed_with_their_addresses(lpa):
    assert lpa("delete", "--yes", "89470000000098765432").exit_code == 0  # no SM-DP+ answers: the notification stays
    result = lpa("doctor")
    assert result.exit_code == 0
    line = result.output.splitlines()[-1]
    assert line.startswith("warn  notifications: 1 pending, for ") and line.endswith("lpa notifications process")


def test_check_notifications_counts_and_names_each_address_once():
    notes = [NotificationMetadata(1, "delete", "b.example"), NotificationMetadata(2, "enable", "a.example"),
             NotificationMetadata(3, "disable", "b.example")]
    finding, = check_notifications(CardFacts((), None, None, notes))
    assert finding.message == "3 pending, for a.example, b.example"
    assert check_notifications(CardFacts((), None, None, []))[0].status == OK


# -- pcscd ---------------------------------------------------------------------------------------


def test_pcscd_not_installed(tmp_path):
    finding, = check_pcscd(Environment(pcscd_socket=str(tmp_path / "pcscd.comm"), pcscd_program=lambda: None))
    assert finding.status == BLOCKER and finding.exit_code == 4
    assert finding.message.startswith("not installed") and "apt install pcscd" in finding.action


def test_pcscd_not_running(tmp_path):
    finding, = check_pcscd(Environment(pcscd_socket=str(tmp_path / "pcscd.comm"),
                                       pcscd_program=lambda: "/usr/sbin/pcscd"))
    assert finding.status == BLOCKER and finding.exit_code == 4
    assert finding.message == f"not running (no socket {tmp_path / 'pcscd.comm'})"
    assert "systemctl start pcscd" in finding.action


def test_a_stale_pcscd_socket_does_not_answer(tmp_path):
    path = tmp_path / "pcscd.comm"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # bound, never listening: what a crashed pcscd leaves
    try:
        finding, = check_pcscd(Environment(pcscd_socket=str(path), pcscd_program=lambda: None))
    finally:
        stale.close()
    assert finding.status == BLOCKER and finding.message.startswith("does not answer on")
    assert "systemctl restart pcscd" in finding.action


def test_pcscd_answering_is_ok_with_its_version(tmp_path):
    path = tmp_path / "pcscd.comm"
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(path))
    listening.listen()
    program = tmp_path / "pcscd"
    program.write_text("#!/bin/sh\necho 'pcsc-lite version 2.0.0.'\n")
    program.chmod(0o755)
    try:
        finding, = check_pcscd(Environment(pcscd_socket=str(path), pcscd_program=lambda: str(program)))
    finally:
        listening.close()
    assert finding.status == OK and finding.message == f"running ({path}), pcsc-lite version 2.0.0"


def test_lpa_doctor_without_pcscd_fails_on_the_first_line_and_checks_no_reader(tmp_path):
    result = run_lpa("doctor", env={"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")})
    assert result.returncode == 4, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  pcscd: not ") and "readers" not in result.stdout
    assert result.stderr == ""
    payload = json.loads(run_lpa("--json", "doctor", env={"PCSCLITE_CSOCK_NAME": str(tmp_path / "x")}).stdout)
    assert payload["ok"] is False and payload["error"]["code"] == 4
    assert payload["data"]["findings"][0]["check"] == "pcscd"


# -- modems --------------------------------------------------------------------------------------


def _fake_port(tmp_path: Path, mode: int = 0o660, gid: int = 20) -> str:
    port = tmp_path / "ttyUSB2"
    port.write_bytes(b"")
    os.chown(port, 0, gid)
    port.chmod(mode)
    return str(port)


def test_an_unreadable_port_names_the_group_to_join(tmp_path):
    import grp

    port = _fake_port(tmp_path, mode=0o660, gid=20)
    user = Environment(serial_ports=lambda: [port], uid=1000, gids=frozenset([1000]), proc=tmp_path / "proc")
    finding, = check_modems(user)
    group = grp.getgrgid(20).gr_name
    assert finding.status == WARNING and finding.message == f"{port}: this user may not read and write it"
    assert finding.action.startswith(f"add the user to group {group} (usermod -aG {group} $USER")
    in_group = Environment(serial_ports=lambda: [port], uid=1000, gids=frozenset([1000, 20]), proc=tmp_path / "proc")
    assert statuses(check_modems(in_group)) == [("modems", OK)]
    used, = check_modems(user, port=port)  # the port --device at: names: lpa cannot work
    assert used.status == BLOCKER and used.exit_code == 4


def test_a_port_with_mode_000_is_refused_to_its_owner_too(tmp_path):
    port = _fake_port(tmp_path, mode=0o000, gid=0)
    os.chown(port, 1000, 0)
    owner = Environment(serial_ports=lambda: [port], uid=1000, gids=frozenset([1000]), proc=tmp_path / "proc")
    finding, = check_modems(owner)
    assert finding.status == WARNING and finding.action == "ask for read and write access to it"
    assert check_modems(Environment(serial_ports=lambda: [port], uid=0, proc=tmp_path / "proc"))[0].status == OK


def test_a_port_held_by_modemmanager_or_another_process_is_named(tmp_path):
    port = _fake_port(tmp_path)
    proc = tmp_path / "proc"
    for pid, name in (("812", "ModemManager"), ("900", "minicom")):
        (proc / pid / "fd").mkdir(parents=True)
        (proc / pid / "comm").write_text(name + "\n")
        (proc / pid / "fd" / "7").symlink_to(port)
    env = Environment(serial_ports=lambda: [port], uid=0, proc=proc)
    finding, = check_modems(env)
    assert finding.status == WARNING and finding.message == f"{port}: held by ModemManager"
    assert "systemctl stop ModemManager" in finding.action
    (proc / "812" / "fd" / "7").unlink()
    finding, = check_modems(env)
    assert finding.message == f"{port}: open in minicom (pid 900)"


def test_a_held_reader_names_the_card_holding_programs_that_run_but_not_lpa_doctor_itself(tmp_path):
    import os

    from lpa.doctor import _holder_hint

    proc = tmp_path / "proc"
    for pid, name in (("42", "scdaemon"), (str(os.getpid()), "lpa"), ("43", "bash")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "comm").write_text(name + "\n")
    assert _holder_hint(Environment(proc=proc)).startswith("close the other program (scdaemon running): ")
    (proc / "42" / "comm").unlink()
    assert _holder_hint(Environment(proc=proc)).startswith("close the other program: another lpa")


def test_no_pyserial_and_no_port(tmp_path):
    assert "pyserial is not installed" in check_modems(Environment(serial_ports=lambda: None))[0].message
    assert check_modems(Environment(serial_ports=lambda: []))[0].message == "no serial port"


def test_a_missing_modem_port_is_a_blocker_from_the_cli(tmp_path):
    result = run_lpa("--device", f"at:{tmp_path / 'ttyUSB9'}", "doctor")
    assert result.returncode == 4
    assert f"FAIL  modems: {tmp_path / 'ttyUSB9'}: no such port; `lpa readers --modems` lists" in result.stdout


# -- the clock -----------------------------------------------------------------------------------


def at(year: int, month: int = 6, day: int = 1) -> Environment:
    return Environment(now=lambda: datetime(year, month, day, tzinfo=timezone.utc))


def test_a_clock_far_behind_is_a_blocker():
    finding, = check_clock(at(2001))
    assert finding.status == BLOCKER and finding.exit_code == 5
    assert finding.message.startswith("2001-06-01 00:00 UTC is before OISTE GSMA CI G1 was issued (2024-01-16)")
    assert "timedatectl set-ntp true" in finding.action


def test_a_clock_far_ahead_is_a_blocker_and_one_expired_ci_a_warning():
    ahead, = check_clock(at(2100))
    assert ahead.status == BLOCKER and "the clock is ahead" in ahead.message
    one_expired, = check_clock(at(2050))
    assert one_expired.status == WARNING and "Symantec" in one_expired.message
    assert check_clock(at(2030))[0].status == OK


def test_doctor_with_a_clock_far_off_ends_with_exit_5(state_path):
    report = diagnose(f"sim:{state_path}", (bytes.fromhex("A0000005591010FFFFFFFF8900000100"),), env=at(1999),
                      ca_files=(TEST_CI,))
    assert report.exit_code == 5
    assert [f.check for f in report.findings if f.status == BLOCKER] == ["clock"]


# -- servers (--online) --------------------------------------------------------------------------


def test_online_a_default_smdp_that_does_not_resolve_is_a_blocker(lpa):
    assert lpa("default-smdp", "smdp.example.invalid").exit_code == 0
    assert "servers" not in lpa("doctor").output  # nothing leaves the machine without --online
    result = lpa("doctor", "--online")
    assert result.exit_code == 5, result.output
    fail = [line for line in result.output.splitlines() if line.startswith("FAIL")][0]
    assert fail.startswith("FAIL  servers: default SM-DP+ smdp.example.invalid: the name does not resolve")
    assert "check the network's DNS" in fail


def _test_ci_anchors() -> str:
    return anchors((), (TEST_CI,)).pem


def test_online_a_reachable_server_and_its_date(smdpp):
    env = Environment(timeout=2.0)
    reached, clock = check_servers([("default SM-DP+", smdpp.address)], env, _test_ci_anchors())
    assert reached.status == OK and reached.message.endswith("port " + smdpp.address.rpartition(":")[2] + " reached")
    assert clock.status == OK and clock.message.startswith("within 5 minutes of default SM-DP+")
    late = Environment(timeout=2.0, now=lambda: datetime.now(timezone.utc) + timedelta(days=3))
    _, skewed = check_servers([("default SM-DP+", smdpp.address)], late, _test_ci_anchors())
    assert skewed.status == WARNING and skewed.message.startswith("the local clock is 3 days ahead of")


def test_online_the_date_is_read_through_an_expired_but_chained_certificate(smdpp):
    """A wrong clock makes every certificate look expired: the probe still learns the time."""
    smdpp.fault = "expired-tls"
    _, clock = check_servers([("default SM-DP+", smdpp.address)], Environment(timeout=2.0), _test_ci_anchors())
    assert clock.status == OK, clock.message


@pytest.mark.parametrize("fault, words", [
    ("unknown-ci", "certificate verify failed: unable to get local issuer certificate"),
    ("wrong-host", "certificate verify failed: IP address mismatch"),
])
def test_online_the_date_is_not_taken_from_a_server_tls_does_not_verify(smdpp, fault, words):
    smdpp.fault = fault
    _, clock = check_servers([("default SM-DP+", smdpp.address)], Environment(timeout=2.0), _test_ci_anchors())
    assert clock.status == WARNING and clock.message.startswith("default SM-DP+ " + smdpp.address + " sent no date")
    assert words in clock.message


def test_online_a_closed_port_is_a_blocker():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    finding, = check_servers([("root SM-DS", f"127.0.0.1:{port}")], Environment(timeout=1.0), _test_ci_anchors())
    assert finding.status == BLOCKER and finding.exit_code == 5
    assert finding.message.startswith(f"root SM-DS 127.0.0.1:{port}: no TCP connection to 127.0.0.1 port {port}")


# -- through pcscd and vpcd (run with -m pcsc; the pcscd fixture is conftest's) ----------------


@pytest.mark.pcsc
def test_doctor_through_pcscd_finds_the_euicc_and_its_aid(pcscd, state_path):
    from lpa.sim.bridges.pcscd import READERS, VirtualCard

    reader0 = list(READERS.values())[0]
    with VirtualCard(state_path):
        result = run_lpa("--ca-file", TEST_CI, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok    pcscd: running (")
    assert f"ok    readers: reader 0 {reader0!r}: an eUICC, ISD-R at A0000005591010FFFFFFFF8900000100 " \
           "(SGP.22 standard)" in lines
    assert "ok    card: SGP.22 v2.2.0" in lines


@pytest.mark.pcsc
def test_doctor_names_a_reader_held_by_another_program(pcscd, state_path):
    from lpa.sim.bridges.pcscd import READERS, VirtualCard
    from lpa.transport.pcsc import PcscTransport

    reader0 = list(READERS.values())[0]
    with VirtualCard(state_path), PcscTransport(reader0):
        result = run_lpa("doctor")
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"warn  readers: reader 0 {reader0!r}: held by another program; close the other program" in result.stdout
    assert "FAIL  readers: no reader holds an eUICC lpa can use; close the program holding the reader" \
        in result.stdout


@pytest.mark.pcsc
def test_doctor_names_a_card_without_an_isdr(pcscd, tmp_path):
    from lpa.sim.bridges.pcscd import READERS, VirtualCard

    reader0 = list(READERS.values())[0]
    bank_card = tmp_path / "bank-card.json"
    assert run_lpa("--sim-state", str(bank_card), "sim", "quirks", "--isdr-aid", "A000000559101011111111",
                   "--no-partial-select").returncode == 0
    with VirtualCard(bank_card):
        result = run_lpa("doctor")
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"ok    readers: reader 0 {reader0!r}: a card without an ISD-R" in result.stdout
    assert "FAIL  readers: no reader holds an eUICC lpa can use; insert the eUICC; if it is one, it may use " \
           "another ISD-R AID: give it with --aid" in result.stdout
