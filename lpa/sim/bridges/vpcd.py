"""Bridge the simulated eUICC into pcscd through vsmartcard's vpcd reader driver.

vpcd (Debian package vsmartcard-vpcd) is a pcscd reader driver that waits
for a virtual card on TCP port 35963 (reader "Virtual PCD 00 00"; 35964 for
"Virtual PCD 00 01"). The card is the TCP client. Each message either way
is a 2-byte big-endian length and that many bytes. From the reader, a
1-byte message is a control code (00 power off, 01 power on, 02 reset, 04
get ATR, answered with the ATR); anything longer is a command APDU,
answered with the response APDU. While the bridge is connected the card is
present; when it disconnects pcscd sees the card removed.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Callable

from ..card.card import Card
from ..card.state import StateFile

VPCD_PORT = 35963
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class VpcdBridge:
    """The simulated eUICC, plugged into a vpcd virtual reader."""

    def __init__(
        self,
        state_file: StateFile,
        *,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
        protocol: str = "t0",
        atr: bytes | None = None,
        latency: float = 0.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.card = Card(state_file, protocol, atr)
        self.address = (host, port)
        self.latency = latency
        self.log = log
        self._socket: socket.socket | None = None
        self._stopped = threading.Event()
        #: APDUs answered since start, and their bytes each way (for benchmarks)
        self.apdus = 0
        self.bytes_to_card = 0
        self.bytes_from_card = 0

    def connect(self, timeout: float = 10.0) -> None:
        """Connect to vpcd, retrying until ``timeout`` (pcscd may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._socket = socket.create_connection(self.address, timeout=2)
                self._socket.settimeout(None)
                self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return
            except OSError as error:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"cannot reach vpcd at {self.address[0]}:{self.address[1]} ({error.strerror}); is pcscd "
                        "running with vsmartcard-vpcd installed?") from None
                time.sleep(0.2)

    def serve(self) -> None:
        """Answer vpcd until it hangs up or :meth:`stop` is called."""
        if self._socket is None:
            self.connect()
        try:
            while not self._stopped.is_set():
                message = self._receive()
                if message is None:
                    return
                if len(message) == 1:
                    self._control(message[0])
                else:
                    self._apdu(message)
        except OSError:
            if not self._stopped.is_set():
                raise
        finally:
            self.close()

    def stop(self) -> None:
        """Disconnect: to PC/SC the card is removed."""
        self._stopped.set()
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.card.power_off()

    def _control(self, code: int) -> None:
        if code == POWER_OFF:
            self._note("# power off")
            self.card.power_off()
        elif code in (POWER_ON, RESET):
            self._note("# power on" if code == POWER_ON else "# reset")
            self.card.power_on()
        elif code == GET_ATR:
            self._send(self.card.atr)

    def _apdu(self, apdu: bytes) -> None:
        if self.card.state is None:  # vpcd sent an APDU without powering on: do it, as a reader would
            self.card.power_on()
        response = self.card.transmit(apdu)
        self.apdus += 1
        self.bytes_to_card += len(apdu)
        self.bytes_from_card += len(response)
        if self.latency:
            time.sleep(self.latency)
        self._note(f"> {apdu.hex().upper()}")
        self._note(f"< {response.hex().upper()}")
        self._send(response)

    def _note(self, line: str) -> None:
        if self.log is not None:
            self.log(line)

    def _send(self, data: bytes) -> None:
        assert self._socket is not None
        self._socket.sendall(struct.pack(">H", len(data)) + data)

    def _receive(self) -> bytes | None:
        header = self._read(2)
        if header is None:
            return None
        return self._read(struct.unpack(">H", header)[0])

    def _read(self, size: int) -> bytes | None:
        assert self._socket is not None
        data = b""
        while len(data) < size:
            if hasattr(socket, "TCP_QUICKACK"):
                # vpcd writes the length and the APDU separately; a delayed ACK of the first
                # write would hold the second back (Nagle) for 40 ms per APDU.
                self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self._socket.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data
