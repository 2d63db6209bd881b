"""Ctrl-C is an outcome: exit 130 and one line that matches the card's state, from the first line of the
program to the install notification (README, Exit codes; docs/download-flow.md, "Cancel reasons")."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from helpers import TEST_CI, TS48_ICCID, TS48_PROFILE, interruptible, lpa_executable, offer_with

pytestmark = pytest.mark.download


def _interrupt_at_apdu(monkeypatch, number):
    """SIGINT arrives while the simulated card answers the ``number``-th APDU; returns the APDUs sent."""
    from lpa.sim.bridges.inprocess import SimulatedTransport

    original = SimulatedTransport.transmit
    count: list[bytes] = []

    def transmit(self, apdu):
        count.append(apdu)
        if len(count) == number:
            signal.raise_signal(signal.SIGINT)
        return original(self, apdu)

    monkeypatch.setattr(SimulatedTransport, "transmit", transmit)
    return count


def _outcome(result, sim_state, smdpp):
    """(installed on the card, exit code, the last line, install notifications kept on the card)."""
    installed = sim_state().find(iccid=TS48_ICCID) is not None
    kept = [n for n in sim_state().notifications if n.operation == "install"]
    return installed, result.exit_code, result.output.strip().splitlines()[-1], kept


def test_ctrl_c_at_every_apdu_of_a_download_says_what_the_card_holds(lpa, smdpp, state_path, sim_state, monkeypatch):
    seeded = state_path.read_bytes()
    count = _interrupt_at_apdu(monkeypatch, 0)
    assert lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes").exit_code == 0
    loading = next(i for i, apdu in enumerate(count, 1) if apdu[5:7] == b"\xbf\x36")
    # every APDU up to the first BPP piece and a few after, then every 8th piece, and the notification's
    numbers = [*range(1, loading + 3), *range(loading + 3, len(count) - 4, 8), *range(len(count) - 4, len(count) + 1)]
    outcomes = set()
    for number in numbers:
        state_path.write_bytes(seeded)
        smdpp.download.cancelled.clear()
        count = _interrupt_at_apdu(monkeypatch, number)
        result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
        installed, code, line, kept = _outcome(result, sim_state, smdpp)
        assert "Traceback" not in result.output and "internal error" not in result.output, (number, result.output)
        if installed and code == 0:  # Ctrl-C came when nothing was left to stop: it finished
            assert line.endswith(f"; notified {smdpp.address}") and kept == [], (number, line)
            outcomes.add("finished")
        elif installed:  # loading had begun: lpa finished it, and kept the install notification
            assert code == 130 and line.startswith(f"installed {TS48_ICCID}") and line.endswith(
                "(interrupted); run `lpa notifications process` later"), (number, line)
            assert len(kept) == 1, (number, line)
            outcomes.add("installed, notification kept")
        else:
            assert code == 130 and line.startswith("lpa: interrupted"), (number, result.output)
            if "cancelled on the eUICC and at the SM-DP+" in line:  # the SM-DP+ has the eUICC's signed cancel
                assert smdpp.download.cancelled and smdpp.download.cancelled[-1][1] == 0, number
                outcomes.add("cancelled on both sides")
            else:
                assert smdpp.download.cancelled == [], number
                outcomes.add("before any session")
            assert sim_state().notifications == [] or all(n.operation != "install" for n in sim_state().notifications)
    assert outcomes == {"before any session", "cancelled on both sides", "installed, notification kept", "finished"}


@pytest.mark.parametrize("function", ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage"])
def test_ctrl_c_while_waiting_for_the_smdp_stops_at_once_and_cancels(lpa, smdpp, sim_state, monkeypatch, function):
    from lpa import es9p

    call = {"initiateAuthentication": "initiate_authentication", "authenticateClient": "authenticate_client",
            "getBoundProfilePackage": "get_bound_profile_package"}[function]

    def waiting(*args):
        raise KeyboardInterrupt  # Ctrl-C while lpa waits for the answer

    monkeypatch.setattr(es9p, call, waiting)
    result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 130 and sim_state().find(iccid=TS48_ICCID) is None
    line = result.output.strip().splitlines()[-1]
    if function == "initiateAuthentication":
        assert line == "lpa: interrupted"
    elif function == "authenticateClient":  # the SM-DP+ has no eUICC certificate yet to verify a cancel with
        assert line.startswith("lpa: interrupted; nothing was installed; the session is cancelled on the eUICC "
                               "(endUserRejection); the SM-DP+ did not accept the cancel (")
    else:
        assert line == ("lpa: interrupted; nothing was installed; the session is cancelled on the eUICC and at the "
                        f"SM-DP+ {smdpp.address} (endUserRejection)")


def test_ctrl_c_when_the_smdp_refuses_the_cancel_says_so(lpa, smdpp, sim_state, monkeypatch):
    from lpa import es9p
    from lpa.errors import ServerError

    def interrupted(*args):
        raise KeyboardInterrupt

    def refused(client, address, *args):
        raise ServerError(address, "Failed: 8.10.1 3.9")

    monkeypatch.setattr(es9p, "get_bound_profile_package", interrupted)
    monkeypatch.setattr(es9p, "cancel_session", refused)
    result = lpa("--json", "download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    payload = json.loads(result.output)
    assert result.exit_code == 130 and payload["ok"] is False and payload["error"]["code"] == 130
    assert payload["error"]["message"] == (
        "interrupted; nothing was installed; the session is cancelled on the eUICC (endUserRejection); the SM-DP+ "
        f"did not accept the cancel ({smdpp.address}: Failed: 8.10.1 3.9)")


def test_ctrl_c_while_the_install_notification_is_sent_keeps_it_and_exits_130(lpa, smdpp, sim_state, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("lpa.es9p.handle_notification", interrupted)
    result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 130 and sim_state().find(iccid=TS48_ICCID) is not None
    assert result.output.strip().splitlines()[-1].endswith(
        f"notification 1 for {smdpp.address} is kept on the eUICC (interrupted); run `lpa notifications process` later")
    assert [n.operation for n in sim_state().notifications] == ["install"]


def _held_until_lpa_runs():
    """preexec_fn: SIGINT held back (blocked) until lpa.cli.run takes charge and unblocks it, so that a sweep
    starting at 0 s tests lpa's first line, not the interpreter's start or pip's console-script wrapper."""
    interruptible()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _sweep(args, moments, state_path, seeded):
    """Run `lpa ARGS` from the seeded state, sending SIGINT after each of ``moments`` seconds; yields
    (moment, code, stderr, stdout) of each run before the next starts."""
    for moment in moments:
        state_path.write_bytes(seeded)
        process = subprocess.Popen([lpa_executable(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, stdin=subprocess.DEVNULL, preexec_fn=_held_until_lpa_runs)
        time.sleep(moment)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        yield moment, process.returncode, stderr, stdout


def test_ctrl_c_from_the_first_line_is_one_line_and_exit_130(state_path):
    """Swept over the start: the interpreter's start, lpa's imports (click, the codec), the command."""
    seeded = state_path.read_bytes()
    args = ["--sim", "--sim-state", str(state_path), "list"]
    for moment, code, stderr, stdout in _sweep(args, [i * 0.03 for i in range(0, 20)], state_path, seeded):
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, (moment, stderr)
        if code == 0:  # it had finished
            assert stderr == "" and "ICCID" in stdout
        else:
            assert code == 130 and stderr == "lpa: interrupted\n", (moment, code, stderr)


def test_ctrl_c_from_the_first_line_with_json_is_one_json_object(state_path):
    seeded = state_path.read_bytes()
    args = ["--json", "--sim", "--sim-state", str(state_path), "list"]
    for moment, code, stderr, stdout in _sweep(args, [i * 0.04 for i in range(0, 10)], state_path, seeded):
        payload = json.loads(stdout)
        assert stderr == "" and payload["ok"] is (code == 0), (moment, stdout, stderr)
        if code:
            assert code == 130 and payload["error"] == {"type": "Interrupted", "code": 130, "message": "interrupted"}


def test_ctrl_c_at_swept_moments_of_a_real_download_process(smdpp, state_path, sim_state):
    seeded = state_path.read_bytes()
    args = ["--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "--timeout", "30", "download",
            f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes"]
    start = time.monotonic()
    subprocess.run([lpa_executable(), *args], capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    took = time.monotonic() - start
    state_path.write_bytes(seeded)
    for moment, code, stderr, stdout in _sweep(args, [took * i / 12 for i in range(1, 13)], state_path, seeded):
        installed = sim_state().find(iccid=TS48_ICCID) is not None
        assert "Traceback" not in stderr and "internal error" not in stderr, (moment, stderr)
        if code == 0:
            assert installed and f"installed {TS48_ICCID}" in stdout and "notified" in stdout
        elif installed:
            assert code == 130 and "(interrupted); run `lpa notifications process` later" in stdout, (moment, stdout, stderr)
        else:
            lines = stderr.strip().splitlines()  # the offer may be shown before
            assert code == 130 and lines[-1].startswith("lpa: interrupted"), (moment, stderr)
            assert [line for line in lines if line.startswith("lpa:")] == lines[-1:]


def test_ctrl_c_at_every_apdu_of_a_delete_says_what_the_card_holds(lpa, smdpp, state_path, sim_state, monkeypatch):
    lpa("sim", "add-profile", "--iccid", "8949449999999990555", "--provider", "P", "--name", "N",
        "--smdp", smdpp.address, "--notify", "delete")
    seeded = state_path.read_bytes()
    count = _interrupt_at_apdu(monkeypatch, 0)
    assert lpa("delete", "--yes", "8949449999999990555").exit_code == 0
    outcomes = set()
    for number in range(1, len(count) + 1):
        state_path.write_bytes(seeded)
        _interrupt_at_apdu(monkeypatch, number)
        result = lpa("delete", "--yes", "8949449999999990555")
        line = result.output.strip().splitlines()[-1]
        if sim_state().find(iccid="8949449999999990555") is None:  # deleted: the line says so
            assert line.startswith("deleted 8949449999999990555"), (number, line)
            kept = [n for n in sim_state().notifications if n.operation == "delete"]
            assert (result.exit_code, bool(kept)) in ((0, False), (130, True)), (number, result.exit_code, line)
            outcomes.add(result.exit_code)
        else:
            assert result.exit_code == 130 and line == "lpa: interrupted", (number, line)
            outcomes.add("not deleted")
    assert outcomes == {0, "not deleted"} or outcomes == {0, 130, "not deleted"}


def test_a_ctrl_c_python_could_only_report_as_ignored_is_raised_again():
    """A KeyboardInterrupt raised in a finalizer reaches sys.unraisablehook ("Exception ignored in ..."), and
    the program would carry on: lpa's hook raises it again in the main thread, and prints nothing."""
    from types import SimpleNamespace

    from lpa.cli import _interrupt_again

    passed_on = []
    hook = _interrupt_again(passed_on.append)
    other = SimpleNamespace(exc_value=ValueError("x"))
    hook(other)
    assert passed_on == [other]
    with pytest.raises(KeyboardInterrupt):
        hook(SimpleNamespace(exc_value=KeyboardInterrupt()))
        time.sleep(1)  # raised at the main thread's next instruction
    assert passed_on == [other]


@pytest.mark.parametrize("check", ["rules_not_allowed", "metadata_difference"])
def test_ctrl_c_during_the_checks_of_the_offer_cancels_on_both_sides(lpa, smdpp, sim_state, monkeypatch, check):
    """The policy rules against the RAT (before consent) and the package against the offer (before the first
    piece): no card command runs there, and Ctrl-C there ends the session as one before the first piece."""
    from lpa.operations import download

    original = getattr(download, check)

    def interrupted(*args):
        signal.raise_signal(signal.SIGINT)
        return original(*args)

    monkeypatch.setattr(download, check, interrupted)
    if check == "rules_not_allowed":  # the RAT is read for an offer with policy rules only: offer ppr2
        from lpa.encoding import PPR_BITS, names_to_bits

        offer_with(smdpp, monkeypatch, profilePolicyRules=names_to_bits(["ppr2"], PPR_BITS))
    result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 130 and sim_state().find(iccid=TS48_ICCID) is None, result.output
    assert result.output.strip().splitlines()[-1] == (
        "lpa: interrupted; nothing was installed; the session is cancelled on the eUICC and at the "
        f"SM-DP+ {smdpp.address} (endUserRejection)")
    assert [reason for _, reason in smdpp.download.cancelled] == [0]  # endUserRejection
    assert "installed" not in result.output.replace("nothing was installed", "")
