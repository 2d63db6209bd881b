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
from dataclasses import dataclass, field

from ..card.card import Card


@dataclass
class Connection:
    """One client: the file descriptor answers go to, and what it has opened."""

    fd: int
    opened: dict[str, object] = field(default_factory=dict)


class ControlDevice:
    """Serve messages on a pseudo-terminal (``proxy`` None) or on the abstract socket ``proxy``."""

    #: What the modem is, for thread names.
    kind = "wdm"

    def __init__(self, proxy: str | None = None) -> None:
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

    # -- what a subclass says -------------------------------------------------------

    def message_length(self, buffer: bytes) -> int | None:
        """The length of the message at the start of ``buffer``, or None when its header is incomplete."""
        raise NotImplementedError

    def answer(self, message: bytes, connection: Connection) -> list[bytes]:
        """The messages to send back for ``message``."""
        raise NotImplementedError

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
