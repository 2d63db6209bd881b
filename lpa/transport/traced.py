"""A transport that reports every exchange: ``lpa -v`` and ``lpa --record``."""
from __future__ import annotations

from typing import Callable

from . import Transport


class Traced(Transport):
    """Wraps a transport and reports every exchange to ``sink`` as text lines.

    Lines are ``> <command hex>`` and ``< <response hex> <SW>``, the format
    of ``lpa -v`` and of recordings (``lpa --record``); a reset is ``# reset``.
    The wrapped transport's capabilities are this one's.
    """

    def __init__(self, inner: Transport, sink: Callable[[str], None]) -> None:
        self.inner = inner
        self.sink = sink
        self.name = inner.name
        self.opens_channel = inner.opens_channel
        self.needs_logical_channel = inner.needs_logical_channel
        self.can_cycle_radio = inner.can_cycle_radio
        self.segment_size = inner.segment_size

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sink(f"> {apdu.hex().upper()}")
        data, sw = self.inner.transmit(apdu)
        self.sink(f"< {data.hex().upper()} {sw:04X}".replace("<  ", "< "))
        return data, sw

    def reset(self) -> None:
        self.sink("# reset")
        self.inner.reset()

    def open_channel(self, aid: bytes) -> bool:
        return self.inner.open_channel(aid)

    def close_channel(self) -> None:
        self.inner.close_channel()

    def cycle_radio_on_reset(self) -> None:
        self.inner.cycle_radio_on_reset()

    def close(self) -> None:
        self.inner.close()
