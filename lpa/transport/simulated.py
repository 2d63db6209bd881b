"""Transport to the simulated eUICC, in the same process (``lpa --sim``).

It holds the simulator's state lock from connect to close, so that one
`lpa --sim` command is one step on the state, as one session with a
reader-held card is.
"""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from typing import Callable

from ..errors import TransportError
from ..sim.card import Card
from ..sim.state import StateFile
from . import Transport


def open_device(state: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "SimulatedTransport":
    """The ``sim[:state file]`` device."""
    return SimulatedTransport(state)


class SimulatedTransport(Transport):
    """The simulated eUICC whose state is the file ``state_path``, answering as a T=0 (or T=1) card."""

    def __init__(self, state_path: Path | str | None = None, protocol: str = "t0") -> None:
        state_file = StateFile(state_path)
        self.card = Card(state_file, protocol)
        self.name = f"simulated eUICC ({state_file.path})"
        # the whole command is one step on the state: other `lpa --sim` processes wait
        with ExitStack() as lock:
            lock.enter_context(state_file.locked())
            try:
                self.card.power_on()
            except ValueError as error:
                raise TransportError(str(error)) from None
            self._lock = lock.pop_all()

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        response = self.card.transmit(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reset(self) -> None:
        self.card.reset()

    def close(self) -> None:
        self.card.power_off()
        self._lock.close()
