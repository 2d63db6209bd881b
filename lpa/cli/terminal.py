"""Printing what cards and servers say, safely: control characters escaped, columns by display width.

Names, nicknames, addresses and server messages are untrusted text: an
escape sequence in a nickname must not rewrite the user's terminal, and a
bidirectional override must not reorder what is shown.
"""
from __future__ import annotations

import math
import sys
import threading
import time
import unicodedata
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol, Sequence

import click

from ..encoding import is_control as _unsafe
from ..encoding import without_surrogates


def safe(text: object) -> str:
    """``text`` with control and bidirectional characters escaped as \\xNN or \\uNNNN ("" for None),
    and lone surrogates (which no terminal can be sent) replaced by U+FFFD."""
    if text is None:
        return ""
    return "".join(char if not _unsafe(char) else f"\\x{ord(char):02x}" if ord(char) < 0x100
                   else f"\\u{ord(char):04x}" for char in without_surrogates(str(text)))


def json_safe(text: str) -> str:
    """JSON text with the characters :func:`safe` escapes written as \\uNNNN (json escapes only C0), and
    lone surrogates replaced by U+FFFD: what is printed is valid UTF-8 and valid Unicode."""
    return "".join(f"\\u{ord(char):04x}" if _unsafe(char) else char for char in without_surrogates(text))



def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide East Asian characters 2, combining marks 0."""
    return sum(0 if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows in columns aligned by display width; every cell goes through :func:`safe`."""
    cells = [[safe(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell + " " * (w - width(cell)) for cell, w in zip(row, widths)).rstrip())


class Progress(Protocol):
    """A ``progress(done, total, ...)`` callback; what follows ``total`` (what the step did) is not shown."""

    def __call__(self, done: int, total: int, *extra: object) -> None: ...


class ProgressBar:
    """A ``progress(done, total)`` callback drawing a bar on stderr, with the time left estimated from
    the rate measured so far (work left / work done per second since the first call).

    The line is redrawn every ``tick`` seconds between calls, so a slow step (a modem's large piece,
    a card taking its time) makes the estimate grow instead of sitting at one second; seconds are
    rounded up, so "00:00:00" is never shown while work remains. Use it as a context manager: the
    redrawing stops, and a bar left unfinished by an error gets its line ended, when the block ends.
    Drawn only on a terminal, when ``enabled`` (not with --json) and there are more than ``minimum``
    units of work.
    """

    WIDTH = 36

    def __init__(self, label: str, enabled: bool, minimum: int = 1, tick: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.enabled, self.minimum, self.tick, self.clock = label, enabled, minimum, tick, clock
        self.done = self.total = 0
        self.start: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, done: int, total: int, *extra: object) -> None:
        if total <= self.minimum or not self.enabled or not sys.stderr.isatty():
            return
        with self._lock:
            if self.start is None:
                self.start = self.clock()
            self.done, self.total = done, total
            self._draw()
            if done >= total:
                self._finish()
        if self._ticker is None and done < total:
            self._ticker = threading.Thread(target=self._redraw, daemon=True)
            self._ticker.start()

    def eta(self, now: float) -> int | None:
        """Whole seconds left at ``now`` (rounded up), from the rate so far; None before any work is done."""
        if self.start is None or self.done <= 0 or now <= self.start:
            return None
        return math.ceil((self.total - self.done) * (now - self.start) / self.done)

    def line(self, now: float) -> str:
        """The bar as drawn at ``now``."""
        fraction = min(self.done / self.total, 1.0) if self.total else 0.0
        filled = int(fraction * self.WIDTH)
        text = f"{self.label}  [{'#' * filled}{'-' * (self.WIDTH - filled)}]  {int(fraction * 100):3d}%"
        left = self.eta(now) if self.done < self.total else None
        if left is not None:
            text += f"  {left // 3600:02d}:{left // 60 % 60:02d}:{left % 60:02d} left"
        return text

    def _draw(self) -> None:
        sys.stderr.write(f"\r{self.line(self.clock())}\033[K")
        sys.stderr.flush()

    def _finish(self) -> None:
        self._stop.set()
        sys.stderr.write("\n")
        sys.stderr.flush()

    def _redraw(self) -> None:
        while not self._stop.wait(self.tick):
            with self._lock:
                if not self._stop.is_set():
                    self._draw()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self.start is not None and not self._stop.is_set():
                self._finish()  # ended early: what follows starts on a line of its own
        self._stop.set()


#: The status lines in force, innermost last: [message, shown], under :data:`_STATUS_LOCK`.
_STATUS: list[list[object]] = []
_STATUS_LOCK = threading.Lock()


@contextmanager
def status(message: str, enabled: bool, delay: float = 1.0) -> Iterator[None]:
    """Show ``message`` on stderr's last line if the block takes longer than ``delay`` seconds.

    Only on a terminal (``enabled``); the line is cleared when the block ends. Blocks nest: an inner
    line replaces the outer one while it lasts, and the outer one, if it was shown, comes back after.
    """
    if not enabled or not sys.stderr.isatty():
        yield
        return
    entry: list[object] = [message, False]

    def draw(text: str) -> None:
        sys.stderr.write(f"\r{safe(text)} ...\033[K")
        sys.stderr.flush()

    def show() -> None:
        with _STATUS_LOCK:
            entry[1] = True
            if _STATUS and _STATUS[-1] is entry:
                draw(message)

    timer = threading.Timer(delay, show)
    timer.daemon = True
    with _STATUS_LOCK:
        _STATUS.append(entry)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with _STATUS_LOCK:
            _STATUS.remove(entry)
            outer = _STATUS[-1] if _STATUS else None
            if outer is not None and outer[1]:
                draw(str(outer[0]))
            elif entry[1]:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
