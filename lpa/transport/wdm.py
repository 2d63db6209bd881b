"""What the QMI and MBIM drivers share: the device argument, the byte stream, the modems under /sys.

A modem driven by the kernel's qmi_wwan or cdc_mbim driver offers a
control device, /dev/cdc-wdmN, that carries whole messages (QMUX frames or
MBIM messages) in both directions. ModemManager usually holds it through
qmi-proxy or mbim-proxy, which listen on an abstract unix socket of that
name and let several clients share the device. The device argument is
``PATH[,slot=N][,proxy[=NAME]]``; docs/cards-and-modems.md, "QMI and MBIM
modems", says when to go through the proxy.
"""
from __future__ import annotations

import os
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, TransportError

#: Seconds one request may take.
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class WdmDevice:
    """A control device: its path, the SIM slot (from 1) and, if any, the proxy's abstract socket."""

    path: str
    slot: int = 1
    proxy: str | None = None
    #: Whether ``slot`` was given (MBIM maps it then; otherwise the modem's mapping stays).
    slot_given: bool = False


def parse_device(kind: str, argument: str | None, proxy_name: str) -> WdmDevice:
    """``PATH[,slot=N][,proxy[=NAME]]``: InputError naming what is wrong."""
    if not argument:
        raise InputError(f"a {kind.upper()} modem needs its control device: --device {kind}:/dev/cdc-wdm0")
    path, *options = argument.split(",")
    slot, proxy, slot_given = 1, None, False
    for option in options:
        name, equals, value = option.partition("=")
        if name == "slot" and value.isdigit() and 1 <= int(value) <= 5:
            slot, slot_given = int(value), True
        elif name == "proxy" and (value or not equals):
            proxy = value or proxy_name
        else:
            raise InputError(f"{option!r} in --device {kind}:{argument}: the options are slot=1..5 and "
                             f"proxy[=NAME] ({proxy_name} by default)")
    return WdmDevice(path, slot, proxy, slot_given)


class Stream:
    """The device file, or a connection to the proxy's abstract socket: bytes in, bytes out."""

    def __init__(self, device: WdmDevice, what: str) -> None:
        self.what = what
        self._socket: socket.socket | None = None
        self._fd = -1
        try:
            if device.proxy is not None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._socket.connect("\0" + device.proxy)
                self._fd = self._socket.fileno()
            else:
                self._fd = os.open(device.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as error:
            if self._socket is not None:
                self._socket.close()
            where = f"the {device.proxy} socket" if device.proxy is not None else device.path
            hint = " (is the proxy running? without ,proxy lpa opens the device itself)" \
                if device.proxy is not None else ""
            raise TransportError(f"cannot open {where}: {error.strerror}{hint}") from None

    def write(self, data: bytes) -> None:
        try:
            while data:
                _, ready, _ = select.select([], [self._fd], [], REQUEST_TIMEOUT)
                if not ready:
                    raise TransportError(f"{self.what} takes no more data")
                data = data[os.write(self._fd, data):]
        except OSError as error:
            raise TransportError(f"{self.what} went away: {error.strerror}") from None

    def read(self, count: int, deadline: float) -> bytes:
        """Exactly ``count`` bytes, or TransportError when the deadline passes or the device goes."""
        data = b""
        while len(data) < count:
            remaining = deadline - time.monotonic()
            ready = select.select([self._fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
            if not ready:
                raise TransportError(f"{self.what} did not answer in time")
            try:
                chunk = os.read(self._fd, count - len(data))
            except BlockingIOError:
                continue
            except OSError as error:
                raise TransportError(f"{self.what} went away: {error.strerror}") from None
            if not chunk:
                raise TransportError(f"{self.what} went away: the connection was closed")
            data += chunk
        return data

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        elif self._fd >= 0:
            os.close(self._fd)
        self._fd = -1


def describe_devices(kind: str, driver: str, start: int, sys_root: str = "/sys") -> list[dict[str, object]]:
    """Each /dev/cdc-wdmN the kernel ``driver`` (qmi_wwan, cdc_mbim) drives, from /sys/class/usbmisc, as
    `lpa readers --modems` shows it (``device`` is what --device takes); nothing is sent to it."""
    found: list[dict[str, object]] = []
    for entry in sorted(Path(sys_root, "class", "usbmisc").glob("cdc-wdm*")):
        link = entry / "device" / "driver"
        if link.exists() and link.resolve().name == driver:
            found.append({"index": start + len(found), "name": f"/dev/{entry.name}",
                          "device": f"{kind}:/dev/{entry.name}", "card": f"{kind.upper()} modem ({driver})"})
    return found


def with_channel(cla: int, channel: int) -> int:
    """The class byte ``cla`` with its channel bits set to ``channel`` (ISO/IEC 7816-4 5.1.1): these modems
    pass APDUs on as they are."""
    base = cla & 0x80
    return base | channel if channel < 4 else base | 0x40 | (channel - 4)
