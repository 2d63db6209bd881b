"""What the simulated QMI and MBIM modems share: a control device that carries whole messages.

Like the kernel's /dev/cdc-wdmN, it is served on a pseudo-terminal (a
device node a client opens), or, like qmi-proxy and mbim-proxy, on an
abstract unix socket that clients connect to. A subclass says how long a
message is and answers it; :meth:`ControlDevice.vanish` plays a modem
unplugged mid-way.
"""
from __future__ import annotations

import os
import socket
import threading
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TypeVar

Self = TypeVar("Self", bound="ControlDevice")

from ..card.card import Card
from ..card.state import StateFile


@dataclass
class WdmQuirks:
    """Ways QMI and MBIM modems differ and fail; the defaults behave like a well-behaved modem."""

    #: A second slot holding a plain SIM (no ISD-R).
    plain_sim_in_slot_2: bool = False
    #: The SIM is off: requests answer DeviceNotReady (QMI) or NotInitialized (MBIM) until Power On SIM (QMI)
    #: or the UICC service's Reset (MBIM).
    powered_off: bool = False
    #: Logical channels the modem opens at most (0: as many as the card has).
    max_channels: int = 0
    #: Seconds added to each answer.
    slow: float = 0.0
    #: No UIM service (QMI: Allocate CID for it answers InvalidServiceType; MBIM: NoDeviceSupport).
    no_uim: bool = False
    #: Slot 1 is empty.
    empty_slot: bool = False
    #: Opening a channel is refused (InsufficientResources, MsNoLogicalChannels).
    refuse_channel: bool = False
    #: APDUs are refused (QMI Internal, MBIM Failure) from this one on (counted from 1; 0: never).
    refuse_apdu_after: int = 0
    #: The modem goes away (unplugged) at this APDU (counted from 1; 0: never).
    vanish_after: int = 0


@dataclass
class Connection:
    """One client: the file descriptor answers go to, and what it has opened."""

    fd: int
    opened: dict[str, object] = field(default_factory=dict)


class ControlDevice(ABC):
    """A modem in front of the simulated eUICC of ``state_file``: :meth:`start` serves its messages on a
    pseudo-terminal (``proxy`` None) or on the abstract socket ``proxy``."""

    #: The device kind lpa names it by (``--device KIND:...``).
    kind = "wdm"

    def __init__(self, state_file: StateFile, proxy: str | None = None) -> None:
        self.card = Card(state_file)
        self.proxy = proxy
        #: What to give a client: the pseudo-terminal's path, or the proxy's socket name.
        self.device = ""
        #: Every message received and sent, as hex with "> " and "< ", for tests.
        self.log: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fds: list[int] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self: Self) -> Self:
        self.card.power_on()
        self.start_serving()
        return self

    def stop(self) -> None:
        self.stop_serving()
        self.card.power_off()

    def __enter__(self: Self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def device_argument(self) -> str:
        """What ``--device`` takes for this modem."""
        return f"{self.kind}:/dev/cdc-wdm0,proxy={self.proxy}" if self.proxy else f"{self.kind}:{self.device}"

    # -- what a subclass says -------------------------------------------------------

    @abstractmethod
    def message_length(self, buffer: bytes) -> int | None:
        """The length of the message at the start of ``buffer``, or None when its header is incomplete."""

    @abstractmethod
    def answer(self, message: bytes, connection: Connection) -> list[bytes]:
        """The messages to send back for ``message``."""

    # -- serving ----------------------------------------------------------------------

    def start_serving(self) -> None:
        if self.proxy is None:
            master, slave = os.openpty()
            tty.setraw(slave)
            tty.setraw(master)
            self.device = os.ttyname(slave)
            self._fds += [master, slave]  # the slave kept open: the terminal exists while nobody has it
            self._spawn(self._serve, Connection(master))
        else:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind("\0" + self.proxy)
            self._listener.listen(4)
            self.device = self.proxy
            self._spawn(self._accept)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"sim-{self.kind}", daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._fds.append(client.detach())
            self._spawn(self._serve, Connection(self._fds[-1]))

    def _serve(self, connection: Connection) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = os.read(connection.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while (length := self.message_length(buffer)) is not None and len(buffer) >= length:
                message, buffer = buffer[:length], buffer[length:]
                with self._lock:
                    self.log.append(f"> {message.hex()}")
                    answers = self.answer(message, connection)
                    for answer in answers:
                        self.log.append(f"< {answer.hex()}")
                if self._stop.is_set():
                    return
                try:
                    for answer in answers:
                        os.write(connection.fd, answer)
                except OSError:
                    return

    def vanish(self) -> None:
        """Go away as an unplugged modem does: every client's next read fails."""
        self._stop.set()
        if self._listener is not None:
            try:  # wakes the thread in accept(): a listener closed under it keeps its name bound
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []

    def stop_serving(self) -> None:
        self.vanish()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)


def fold(card: Card, apdu: bytes) -> bytes:
    """Send ``apdu`` to ``card``; run 61xx/GET RESPONSE on its channel as modems do; the whole answer + final SW."""
    response = card.transmit(apdu)
    data = b""
    while response[-2] == 0x61:
        data += response[:-2]
        response = card.transmit(bytes([apdu[0] & 0x4F if apdu[0] & 0x40 else apdu[0] & 0x03,
                                        0xC0, 0, 0, response[-1]]))
    return data + response
