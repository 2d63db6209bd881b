"""Transports: raw APDU exchange with one card, and the contract every driver keeps.

A driver sends one command APDU and returns the response data and the
status word; it knows nothing of ISD-Rs, STORE DATA chaining or SGP.22.
What a device can and cannot do besides is stated by :class:`Transport`'s
capabilities, which the APDU layer reads (never ``hasattr``): whether the
device opens the ISD-R's logical channel itself, whether it keeps the
basic channel for its own use, whether it can cycle the radio, and the
STORE DATA segment it carries best.

The drivers, one module each: :mod:`.pcsc` (a PC/SC reader), :mod:`.at`
(a modem's AT port), :mod:`.replay` (a recording) and :mod:`.traced` (a
wrapper that shows or records any of them). Which driver a device string
names is :mod:`lpa.devices`' business.
"""
from __future__ import annotations

from typing import Protocol

from ..errors import InputError


class Transport(Protocol):
    """One card, connected; lpa's drivers subclass it, a plug-in (the simulator) need only match it.

    The capabilities are class attributes; a driver sets those it has.
    """

    #: What the transport is connected to, for messages (a reader's name, a modem's port).
    name: str = ""
    #: The device opens a logical channel with the ISD-R selected itself (:meth:`open_channel`: AT+CCHO,
    #: a QMI or MBIM open-channel request) and closes it (:meth:`close_channel`); the class bytes lpa
    #: sends on it carry channel 0, the device puts its channel in.
    opens_channel: bool = False
    #: The device uses the basic channel for its own SIM work (a modem): the ISD-R must be selected on a
    #: logical channel, never on the basic one.
    needs_logical_channel: bool = False
    #: :meth:`cycle_radio_on_reset` is available: the device can switch its radio off and on after a change.
    can_cycle_radio: bool = False
    #: The STORE DATA segment (bytes of payload per block, 6-255) lpa starts with on this device unless told
    #: (--mss): the fewer the blocks, the fewer the round trips. 120 (lpac's default) where longer ones are
    #: reported to fail; a card refusing a block as too long (6700) makes lpa fall back (hardware-notes.md,
    #: "Segment size").
    segment_size: int = 120

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send a command APDU; return (response data, status word)."""
        ...

    def reset(self) -> None:
        """Make a profile change take effect: a reader warm-resets the card (closing its logical
        channels, one reset per change); a modem applies the eUICC's REFRESH itself and only cycles
        its radio when asked. By default nothing is sent."""
        return None

    def open_channel(self, aid: bytes) -> bool:
        """With :attr:`opens_channel`: open a logical channel and select ``aid`` on it (StatusWordError
        when the card has no such AID); False when the device turns out to have no way of its own
        (then MANAGE CHANNEL and SELECT go as APDUs)."""
        return False

    def close_channel(self) -> None:
        """Close the channel :meth:`open_channel` opened, if any."""
        return None

    def cycle_radio_on_reset(self) -> None:
        """With :attr:`can_cycle_radio`: after a change, switch the radio off and on in :meth:`reset`."""
        raise InputError(f"{self.name} has no radio to switch off and on")

    def close(self) -> None:
        """Release the card and the device (the channel first, if one is open)."""
        return None

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
