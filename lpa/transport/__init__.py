"""Transports: raw APDU exchange with a card.

A transport sends one command APDU and returns the response data and the
status word; it knows nothing of channels, chaining or SGP.22. The kinds
are registered by name in :data:`KINDS` and opened from a device string
``KIND[:ARGUMENT]`` (``--device``): ``pcsc[:reader]`` (:mod:`lpa.transport.pcsc`
through :mod:`lpa.readers`), ``sim[:state file]`` (the in-process simulated
eUICC, :mod:`lpa.transport.simulated`), ``replay:FILE`` (a recording,
:mod:`lpa.transport.replay`) and ``at:PORT[@BAUD]`` (a modem's AT port,
:mod:`lpa.transport.at`). :class:`Traced` wraps any of them to show or
record the exchange.
"""
from __future__ import annotations

import abc
from importlib import import_module
from typing import Callable

from ..errors import InputError

#: Transport kinds: name -> (module, what its ARGUMENT is). Each module has
#: ``open_device(argument, aids, note) -> Transport``; modules are imported only when used.
KINDS = {
    "pcsc": ("lpa.readers", "reader: index, name or unique part of a name (default: the only one with an eUICC)"),
    "sim": ("lpa.sim.bridges.inprocess", "state file (default ~/.local/state/lpa/sim-euicc.json)"),
    "replay": ("lpa.transport.replay", "recording file"),
    "at": ("lpa.transport.at", "serial port of a modem[@baud]"),
}


def device_of(*, reader: str | None = None, sim: bool = False, sim_state: str | None = None,
              replay: str | None = None) -> str:
    """The device string the short forms name (``pcsc`` when none is given)."""
    if replay is not None:
        return f"replay:{replay}"
    if sim:
        return f"sim:{sim_state}" if sim_state else "sim"
    return f"pcsc:{reader}" if reader is not None else "pcsc"


def open_device(device: str, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "Transport":
    """Open the transport a device string ``KIND[:ARGUMENT]`` names; InputError for an unknown kind."""
    kind, _, argument = device.partition(":")
    if kind not in KINDS:
        raise InputError(f"unknown device {device!r}: KIND[:ARGUMENT] with KIND one of {', '.join(KINDS)}")
    return import_module(KINDS[kind][0]).open_device(argument or None, aids, note)


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

    def __getattr__(self, name: str) -> object:
        """The wrapped transport's capabilities (a modem's own channel, ...) stay visible."""
        return getattr(self.inner, name)

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
