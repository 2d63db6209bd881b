"""The simulated eUICC in the same process: the transport of ``lpa --sim`` (device ``sim[:state file]``).

It holds the simulator's state lock from connect to close, so that one
`lpa --sim` command is one step on the state, as one session with a
reader-held card is. It matches the LPA's transport contract (the
capabilities of a card in a reader: no channel of its own, the basic
channel free, no radio) without importing it; the LPA opens it by name
through :func:`open_device`.
"""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from ...errors import InputError, TransportError
from ..card.card import Card
from ..card.state import StateFile


def open_device(state: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "SimulatedTransport":
    """The ``sim[:state file]`` device."""
    return SimulatedTransport(state)


class SimulatedTransport:
    """The simulated eUICC whose state is the file ``state_path``, answering as a T=0 (or T=1) card."""

    opens_channel = False
    needs_logical_channel = False
    can_cycle_radio = False
    segment_size = 255  # a card in a reader

    def __init__(self, state_path: Path | str | None = None, protocol: str = "t0") -> None:
        state_file = StateFile(state_path)
        self.card = Card(state_file, protocol)
        #: What the transport is connected to, for messages.
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
        """Send a command APDU; return (response data, status word)."""
        response = self.card.transmit(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reset(self) -> None:
        """Reset the card (a new card session: the state file is read afresh)."""
        self.card.reset()

    def open_channel(self, aid: bytes) -> bool:
        """No channel of its own: MANAGE CHANNEL and SELECT come as APDUs."""
        return False

    def close_channel(self) -> None:
        """Nothing to close: channels are the card's."""

    def cycle_radio_on_reset(self) -> None:
        """A card has no radio."""
        raise InputError(f"{self.name} has no radio to switch off and on")

    def close(self) -> None:
        """Power the card off and release the state."""
        self.card.power_off()
        self._lock.close()

    def __enter__(self) -> "SimulatedTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
