"""Transport to the simulated eUICC, in the same process (``lpa --sim``)."""
from __future__ import annotations

from pathlib import Path

from ..errors import TransportError
from ..sim.card import Card
from ..sim.state import StateFile
from . import Transport


class SimulatedTransport(Transport):
    """The simulated eUICC whose state is the file ``state_path``, answering as a T=0 (or T=1) card."""

    def __init__(self, state_path: Path | str | None = None, protocol: str = "t0") -> None:
        self.card = Card(StateFile(state_path), protocol)
        self.name = f"simulated eUICC ({self.card.state_file.path})"
        try:
            self.card.power_on()
        except ValueError as error:
            raise TransportError(str(error)) from None

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        response = self.card.transmit(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def reset(self) -> None:
        self.card.reset()

    def close(self) -> None:
        self.card.power_off()
