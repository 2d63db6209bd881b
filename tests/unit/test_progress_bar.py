"""The progress bar's time left (lpa.cli.terminal.ProgressBar): the measured rate, rounded up, growing while
a step takes longer than the rate says; redrawn between steps and ended when the block ends."""
from __future__ import annotations

import io
import time

from helpers import TtyBuffer as Tty
from lpa.cli.terminal import ProgressBar


def test_the_time_left_is_the_work_left_at_the_rate_measured_and_grows_while_a_step_lasts(monkeypatch):
    monkeypatch.setattr("sys.stderr", Tty())
    now = [100.0]
    bar = ProgressBar("installing", enabled=True, minimum=0, tick=60, clock=lambda: now[0])
    with bar:
        bar(0, 1000)
        assert bar.eta(now[0]) is None  # nothing measured yet
        now[0] += 2.0
        bar(100, 1000)  # 50 bytes a second
        assert bar.eta(now[0]) == 18 and bar.line(now[0]).endswith(" 10%  00:00:18 left")
        assert bar.eta(now[0] + 8) == 90  # the next piece is late: the rate measured falls
        assert bar.line(now[0] + 398).endswith("  01:00:00 left")
        now[0] += 16.0
        bar(998, 1000)
        assert bar.eta(now[0]) == 1  # 0.04 s rounded up: never 00:00:00 while work remains
        assert bar.line(now[0]).endswith(" 99%  00:00:01 left")
        bar(1000, 1000)
    assert not bar.line(now[0]).endswith("left")


def test_the_bar_is_redrawn_between_steps_and_ends_its_line_when_the_block_fails(monkeypatch):
    stderr = Tty()
    monkeypatch.setattr("sys.stderr", stderr)
    bar = ProgressBar("installing", enabled=True, minimum=0, tick=0.01)
    try:
        with bar:
            bar(0, 10)
            bar(1, 10)
            time.sleep(0.2)
            raise RuntimeError("the card answered an error")
    except RuntimeError:
        pass
    drawn = stderr.getvalue()
    assert drawn.count("\r") > 5 and drawn.endswith("\n")
    time.sleep(0.05)
    assert stderr.getvalue() == drawn  # stopped with the block


def test_no_bar_without_a_terminal_or_with_json(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with ProgressBar("sending", enabled=True) as bar:
        bar(0, 5), bar(5, 5)
    monkeypatch.setattr("sys.stderr", Tty())
    with ProgressBar("sending", enabled=False) as bar:
        bar(0, 5), bar(5, 5)
    assert bar.start is None
