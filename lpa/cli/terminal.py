"""Printing what cards and servers say, safely: control characters escaped, columns by display width.

Names, nicknames, addresses and server messages are untrusted text: an
escape sequence in a nickname must not rewrite the user's terminal, and a
bidirectional override must not reorder what is shown.
"""
from __future__ import annotations

import sys
import threading
import unicodedata
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Protocol, Sequence

import click

from ..encoding import is_control as _unsafe
from ..encoding import without_surrogates

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


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


def progress_bar(label: str, enabled: bool, minimum: int = 1) -> Progress:
    """A ``progress(done, total)`` callback drawing a bar on stderr, if it is a terminal and ``enabled``
    (not with --json) and there are more than ``minimum`` steps."""
    bar: list[ProgressBar[int]] = []

    def progress(done: int, total: int, *extra: object) -> None:
        if total <= minimum or not enabled or not sys.stderr.isatty():
            return
        if not bar:
            bar.append(click.progressbar(length=total, label=label, file=sys.stderr).__enter__())
        bar[0].update(1)
        if done == total:
            bar[0].__exit__(None, None, None)

    return progress


@contextmanager
def status(message: str, enabled: bool, delay: float = 1.0) -> Iterator[None]:
    """Show ``message`` on stderr's last line if the block takes longer than ``delay`` seconds.

    Only on a terminal (``enabled``); the line is cleared when the block ends.
    """
    if not enabled or not sys.stderr.isatty():
        yield
        return
    shown = threading.Event()

    def show() -> None:
        shown.set()
        sys.stderr.write(f"\r{safe(message)} ...")
        sys.stderr.flush()

    timer = threading.Timer(delay, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if shown.is_set():
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
