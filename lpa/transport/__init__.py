"""Transports: raw APDU exchange with a card.

A transport sends one command APDU and returns the response data and the
status word; it knows nothing of channels, chaining or SGP.22. The
implementations are PC/SC (:mod:`lpa.transport.pcsc`), the in-process
simulated eUICC (:mod:`lpa.transport.simulated`) and replay of a recording
(:mod:`lpa.transport.replay`). :class:`Traced` wraps any of them to show or
record the exchange.
"""
from __future__ import annotations

import abc
from typing import Callable


class Transport(abc.ABC):
    """One card in one reader, connected."""

    #: What the transport is connected to, for messages (e.g. the reader name).
    name: str = ""

    @abc.abstractmethod
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send a command APDU; return (response data, status word)."""

    def reset(self) -> None:
        """Reset the card (warm reset), so that a profile change takes effect."""

    def close(self) -> None:
        """Release the card and the reader."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Traced(Transport):
    """Wraps a transport and reports every exchange to ``sink`` as text lines.

    Lines are ``> <command hex>`` and ``< <response hex> <SW>``, the format
    of ``lpa -v`` and of recordings (``lpa --record``).
    """

    def __init__(self, inner: Transport, sink: Callable[[str], None]) -> None:
        self.inner = inner
        self.sink = sink
        self.name = inner.name

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sink(f"> {apdu.hex().upper()}")
        data, sw = self.inner.transmit(apdu)
        self.sink(f"< {data.hex().upper()} {sw:04X}".replace("<  ", "< "))
        return data, sw

    def reset(self) -> None:
        self.sink("# reset")
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()
