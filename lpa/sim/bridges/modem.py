"""A simulated cellular modem: AT commands on a pseudo-terminal, in front of the simulated eUICC.

What it answers follows 3GPP TS 27.007 and what lpac users report from
real modems (docs/cards-and-modems.md, "AT-command modems"): ``AT+CCHO`` opens a logical
channel and selects the AID in one step, ``AT+CGLA`` sends an APDU on it
(the modem puts the channel into the class byte and runs 61xx/GET RESPONSE
itself, so the answer is data + 9000), ``AT+CCHC`` closes it, ``AT+CSIM``
sends a raw APDU on the basic channel; ``ATE``, ``AT+CMEE``, ``ATI``,
``AT+CGMI``, ``AT+CGMM``, ``AT+CFUN``. :class:`ModemQuirks` switch on the
ways real modems differ.
"""
from __future__ import annotations

import itertools
import os
import random
import threading
import time
import tty
from dataclasses import dataclass, field

from ..card.card import Card
from ..card.state import StateFile


#: Unsolicited result codes modems send whenever they like (registration, a call, signal quality).
_URCS = ("+CREG: 1", "RING", '+QIND: "csq",20,99')


@dataclass
class ModemQuirks:
    """Ways real modems differ; the defaults behave like a well-behaved modem."""

    #: No AT+CCHO/CGLA/CCHC (ERROR): only AT+CSIM (Dell DW5821e).
    no_ccho: bool = False
    #: Session ids as a bare line "1" without "+CCHO: " (Fibocom FM350-GL).
    bare_session_id: bool = False
    #: Session ids as long hex handles (Sierra MC7455: 000000000385a7cf).
    long_session_id: bool = False
    #: Echo on at start (ATE0 turns it off).
    echo: bool = False
    #: Unsolicited result codes between a command and its answer, and between its answer and OK.
    urcs: bool = False
    #: Longest AT+CGLA/AT+CSIM command line accepted, in characters (0: no limit).
    max_command: int = 0
    #: Seconds added to each answer.
    slow: float = 0.0
    #: Answer +CME ERROR: 3 to SIM commands until AT+ECSIMSLEEP=0 (MediaTek-based modems).
    sim_sleep: bool = False
    #: The SIM has no ISD-R: AT+CCHO answers +CME ERROR: 13.
    no_isdr: bool = False
    #: Fixed answers to the commands that start with a prefix: {"AT+CCHO=": ("+CME ERROR: 4",)}.
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class _Session:
    channel: int
    handle: str


@dataclass
class SimulatedModem:
    """The modem; :meth:`start` opens the pseudo-terminal (:attr:`port`) and serves it in a thread."""

    state_file: StateFile
    quirks: ModemQuirks = field(default_factory=ModemQuirks)
    #: The pseudo-terminal device to give lpa (``--device at:PORT``).
    port: str = ""
    #: Every line received and sent, for tests.
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.card = Card(self.state_file)
        self._echo = self.quirks.echo
        self._sleeping = self.quirks.sim_sleep
        self._sessions: dict[str, _Session] = {}
        self._master = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._random = random.Random(0)
        self._urcs = itertools.cycle(_URCS)

    def start(self) -> "SimulatedModem":
        self.card.power_on()
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so that the terminal exists while nobody has it open
        self._thread = threading.Thread(target=self._serve, name="sim-modem", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)
        self.card.power_off()

    def __enter__(self) -> "SimulatedModem":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the line protocol ----------------------------------------------------------

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\r" in buffer:
                raw, buffer = buffer.split(b"\r", 1)
                line = raw.strip(b"\n").decode("ascii", "replace").strip()
                if line:
                    self._answer(line)

    def _send(self, *lines: str) -> None:
        for line in lines:
            self.log.append(f"< {line}")
        os.write(self._master, b"".join(f"\r\n{line}\r\n".encode() for line in lines))

    def _answer(self, line: str) -> None:
        self.log.append(f"> {line}")
        if self.quirks.slow:
            time.sleep(self.quirks.slow)
        if self._echo:
            os.write(self._master, line.encode() + b"\r")
        if self.quirks.urcs:
            self._send(next(self._urcs))
        try:
            lines = self._command(line)
        except _Error as error:
            lines = [str(error)]
        if self.quirks.urcs and len(lines) > 1:  # anywhere: also between the answer and OK
            lines.insert(-1, next(self._urcs))
        self._send(*lines)

    def _command(self, line: str) -> list[str]:
        upper = line.upper()
        for prefix, lines in self.quirks.answers.items():
            if upper.startswith(prefix):
                return list(lines)
        if upper in ("AT", "ATZ"):
            return ["OK"]
        if upper in ("ATE0", "ATE1"):
            self._echo = upper == "ATE1"
            return ["OK"]
        if upper.startswith("AT+CMEE="):
            return ["OK"]
        if upper == "ATI":
            return ["lpa simulated modem", "Revision: SIM-1.0", "OK"]
        if upper == "AT+CGMI":
            return ["lpa", "OK"]
        if upper == "AT+CGMM":
            return ["simulated modem", "OK"]
        if upper == "AT+ECSIMSLEEP=0":
            self._sleeping = False
            return ["OK"]
        if upper.startswith("AT+CFUN="):
            if upper.endswith("=1"):
                self._sessions.clear()
                self.card.reset()
            return ["OK"]
        for prefix, handler in (("AT+CCHO=", self._ccho), ("AT+CGLA=", self._cgla), ("AT+CCHC=", self._cchc),
                                ("AT+CSIM=", self._csim)):
            if upper.startswith(prefix):
                if self._sleeping:
                    raise _Error("+CME ERROR: 3")
                if prefix != "AT+CSIM=" and self.quirks.no_ccho:
                    raise _Error("ERROR")
                if line[len(prefix):] == "?":  # the test command every extended command has (TS 27.007 4.1)
                    return ["OK"]
                if self.quirks.max_command and len(line) > self.quirks.max_command:
                    raise _Error("+CME ERROR: 50")
                return handler(line[len(prefix):])
        raise _Error("ERROR")

    def _ccho(self, argument: str) -> list[str]:
        aid = _quoted(argument)
        if self.quirks.no_isdr:
            raise _Error("+CME ERROR: 13")
        opened = self.card.transmit(bytes.fromhex("0070000001"))
        if opened[-2:] != b"\x90\x00":
            raise _Error("+CME ERROR: 13")
        channel = opened[0]
        selected = self._fold(bytes([channel]) + bytes.fromhex("A40400") + bytes([len(aid)]) + aid)
        if selected[-2:] != b"\x90\x00" and selected[-2] != 0x61:
            self.card.transmit(bytes([0x00, 0x70, 0x80, channel]))
            raise _Error("+CME ERROR: 13")
        handle = f"{self._random.getrandbits(40):016x}" if self.quirks.long_session_id else str(len(self._sessions) + 1)
        while handle in self._sessions:
            handle = str(int(handle) + 1) if handle.isdigit() else f"{self._random.getrandbits(40):016x}"
        self._sessions[handle] = _Session(channel, handle)
        return [handle, "OK"] if self.quirks.bare_session_id else [f"+CCHO: {handle}", "OK"]

    def _cgla(self, argument: str) -> list[str]:
        handle, length, data = argument.split(",", 2)
        session = self._sessions.get(handle.strip())
        apdu = _quoted(data)
        if session is None or int(length) != len(apdu) * 2:
            raise _Error("+CME ERROR: 50")
        cla = apdu[0]
        channel = session.channel
        cla = (cla & 0xF0 & ~0x40 | channel) if channel < 4 else (cla & 0x80 | 0x40 | (channel - 4))
        response = self._fold(bytes([cla]) + apdu[1:])
        return [f'+CGLA: {len(response) * 2},"{response.hex().upper()}"', "OK"]

    def _cchc(self, argument: str) -> list[str]:
        session = self._sessions.pop(argument.strip(), None)
        if session is None:
            raise _Error("+CME ERROR: 50")
        self.card.transmit(bytes([0x00, 0x70, 0x80, session.channel]))
        return ["OK"]

    def _csim(self, argument: str) -> list[str]:
        length, data = argument.split(",", 1)
        apdu = _quoted(data)
        if int(length) != len(apdu) * 2:
            raise _Error("+CME ERROR: 50")
        response = self.card.transmit(apdu)
        return [f'+CSIM: {len(response) * 2},"{response.hex().upper()}"', "OK"]

    def _fold(self, apdu: bytes) -> bytes:
        """Send ``apdu``; run 61xx/GET RESPONSE as modems do; the whole answer + final SW."""
        response = self.card.transmit(apdu)
        data = b""
        while response[-2] == 0x61:
            data += response[:-2]
            response = self.card.transmit(bytes([apdu[0] & 0x0F if apdu[0] & 0x40 == 0 else apdu[0] & 0x4F,
                                                 0xC0, 0, 0, response[-1]]))
        return data + response


class _Error(Exception):
    """Answer with this final result line instead."""


def _quoted(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip().strip('"'))
    except ValueError:
        raise _Error("+CME ERROR: 50") from None
