"""Ctrl-C where lpa can say what happened: SIGINT held back while the card is in the middle of something.

A download must not stop between two pieces of a Bound Profile Package, or
in the middle of a STORE DATA exchange, where nobody can tell whether the
profile is installed (SGP.22 3.1.3.3). :func:`deferred` notes a SIGINT
instead of raising it; the code checks for it where stopping is safe
(:meth:`Gate.check`), and lets it through at once where it only waits for
a server or a person (:meth:`Gate.allowed`).

:func:`atomic` does the same for one exchange with the card (a STORE DATA
sequence): a SIGINT during it is raised once the card has answered, so
that what the card did is known.

Only the main thread receives signals; elsewhere the gate does nothing.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator


class Gate:
    """The SIGINT policy of one :func:`deferred` block."""

    def __init__(self) -> None:
        #: A SIGINT arrived while it was held back.
        self.pending = False
        self._open = 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._open:
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if a SIGINT arrived while it was held back."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextmanager
    def allowed(self) -> Iterator[None]:
        """A SIGINT during the block (or held back before it) raises KeyboardInterrupt at once."""
        self.check()
        self._open += 1
        try:
            yield
        finally:
            self._open -= 1


@contextmanager
def deferred() -> Iterator[Gate]:
    """Hold SIGINT back during the block (in the main thread, if Python raises it there); a block inside
    another shares its gate, so that what the outer one holds back the inner one may let through."""
    current = signal.getsignal(signal.SIGINT)
    outer = getattr(current, "__self__", None)
    if isinstance(outer, Gate):  # inside another deferred block: the same gate
        yield outer
        return
    gate = Gate()
    if threading.current_thread() is not threading.main_thread() or current is not signal.default_int_handler:
        gate._open = 1  # not ours to change: a SIGINT does what it did
        yield gate
        return
    signal.signal(signal.SIGINT, gate._handle)
    try:
        yield gate
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def atomic() -> Iterator[None]:
    """Hold SIGINT back during the block, then raise it (KeyboardInterrupt) if one arrived; inside a
    :func:`deferred` block, leave it to that block's gate."""
    if isinstance(getattr(signal.getsignal(signal.SIGINT), "__self__", None), Gate):
        yield
        return
    with deferred() as gate:
        yield
    gate.check()
