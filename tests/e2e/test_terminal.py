"""What lpa shows on a terminal while it waits (issue 22): a status line for every wait of more than a
second, naming what it waits for, and a progress bar whose time left is the measured rate. Run on a
pseudo-terminal: lpa draws neither without one."""
from __future__ import annotations

import os
import re

import pytest

from helpers import TEST_CI, TS48_PROFILE, Terminal
from lpa.sim.card.state import StateFile


@pytest.mark.download
def test_a_slow_smdpp_is_said_before_the_offer_and_before_the_progress_bar(smdpp, state_path):
    smdpp.fault, smdpp.slow_seconds = "slow", 1.6
    run = Terminal("--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "--timeout", "30",
                   "download", "--yes", "--no-notify", f"LPA:1${smdpp.address}${TS48_PROFILE}")
    assert run.finish() == 0, run.text
    waiting, offer, bar = f"waiting for the SM-DP+ {smdpp.address} ...", "ICCID 8949449999999990049", "installing"
    text = run.text
    shown = [i for i in range(len(text)) if text.startswith(waiting, i)]
    # initiateAuthentication and authenticateClient before the offer, getBoundProfilePackage after it
    assert len(shown) == 3, text
    assert shown[1] < text.index(offer) < shown[2] < text.index(bar)
    assert "installed 8949449999999990049" in run.text


def test_waiting_for_the_simulators_lock_is_said_at_once(state_path):
    state = StateFile(state_path)
    with state.locked():  # another lpa holds the simulated eUICC
        run = Terminal("--sim", "--sim-state", str(state_path), "list")
        run.read_until("(another lpa is using it) ...", timeout=10)
        assert f"waiting for the simulated eUICC {state_path} (another lpa is using it) ..." in run.text
        assert run.first("another lpa is using it") < 5  # the start of a Python process, not the wait
        assert run.process.poll() is None
    assert run.finish() == 0
    assert "\r\x1b[K" in run.text and "8944476500001234567" in run.text  # the line cleared, then the list


@pytest.mark.parametrize("json", [False, True])
def test_a_slow_smds_is_said_but_never_with_json(smdpp, state_path, json):
    smdpp.fault, smdpp.slow_seconds = "slow", 1.6
    run = Terminal(*(["--json"] if json else []), "--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI,
                   "--timeout", "30", "discover", "--smds", smdpp.address)
    run.finish()
    assert (f"asking the SM-DS {smdpp.address} ..." in run.text) is not json, run.text


def test_a_slow_modem_before_the_offer_is_said(state_path, smdpp):
    pytest.importorskip("serial")
    from lpa.sim.bridges.modem import ModemQuirks, SimulatedModem

    with SimulatedModem(StateFile(state_path), ModemQuirks(slow=0.12)) as modem:
        run = Terminal("--device", f"at:{modem.port}", "--ca-file", TEST_CI, "--timeout", "30", "download",
                       f"LPA:1${smdpp.address}${TS48_PROFILE}")
        run.read_until("Install it?")
        os.write(run.master, b"n\n")
        assert run.finish() == 1, run.text
    # the card's commands over the modem (the mutual authentication, the checks of the offer) take seconds
    assert run.first(f"authenticating with the SM-DP+ {smdpp.address} ...") < run.first("ICCID 8949449999999990049")
    assert "was not downloaded; the session is cancelled" in run.text


@pytest.mark.download
def test_a_slow_modems_bar_counts_down_at_the_rate_measured(state_path, smdpp):
    pytest.importorskip("serial")
    from lpa.sim.bridges.modem import ModemQuirks, SimulatedModem

    with SimulatedModem(StateFile(state_path), ModemQuirks(slow=0.03)) as modem:
        run = Terminal("--device", f"at:{modem.port}", "--ca-file", TEST_CI, "--timeout", "30", "download", "--yes",
                       "--no-notify", f"LPA:1${smdpp.address}${TS48_PROFILE}")
        assert run.finish(timeout=120) == 0, run.text
    drawn = [(at, int(m.group(1)), int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4)))
             for at, chunk in run.chunks
             for m in re.finditer(r"installing +\[[#-]+\] +(\d+)% +(\d\d):(\d\d):(\d\d) left", chunk)]
    finished = run.first("100%")
    assert len(drawn) > 5, run.text
    for at, percent, left in drawn:
        assert percent < 100 and left >= 1  # rounded up: never "00:00:00" while work remains
        # honest: the estimate is the rate measured, not a count of pieces (loosely: the machine may be busy)
        assert finished - at < 2 * left + 3, (at, percent, left, finished)
    ones = [at for at, _, left in drawn if left == 1]
    assert not ones or max(ones) - min(ones) < 2.5  # "00:00:01 left" is not shown for seconds
