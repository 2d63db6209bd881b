"""AT-command transport: an eUICC in a cellular modem, through its serial AT port (pyserial).

3GPP TS 27.007: ``AT+CCHO="<AID>"`` opens a logical channel and selects the
ISD-R in one step, ``AT+CGLA`` carries each APDU on it (the modem puts the
channel into the class byte and runs 61xx/GET RESPONSE itself), ``AT+CCHC``
closes it. Modems without CCHO/CGLA get ``AT+CSIM``, with MANAGE CHANNEL and
SELECT sent as APDUs (chosen by trying, not by ``=?``, which some modems
lack). Replies are read line by line: an echo, unsolicited result codes
(``+CREG``, ``RING``, ...) anywhere, and ``OK``, ``ERROR`` or ``+CME
ERROR: <n|text>`` at the end. docs/cards-and-modems.md, "AT-command modems", has the
reports this follows.
"""
from __future__ import annotations

import string
import time
from typing import Callable

from ..errors import InputError, StatusWordError, TransportError
from . import Transport

#: +CME ERROR codes (3GPP TS 27.007 9.2.1) met on modems, in words.
CME_ERRORS = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted", 13: "SIM failure",
              14: "SIM busy", 50: "incorrect parameters", 100: "unknown error"}

#: Seconds one AT command may take.
COMMAND_TIMEOUT = 10.0


def open_device(argument: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "AtTransport":
    """The ``at:PORT[@BAUD]`` device."""
    if not argument:
        raise InputError("an AT modem needs its serial port: --device at:/dev/ttyUSB2")
    port, _, baud = argument.partition("@")
    if baud and not baud.isdigit():
        raise InputError(f"baud rate {baud!r} is not a number")
    from importlib.util import find_spec

    if find_spec("serial") is None:
        raise InputError("modems need pyserial: pip install '.[modem]' in lpa's checkout (README, Installing)")
    return AtTransport(port, int(baud or 115200), note)


def serial_ports() -> list[str]:
    """The serial ports of this machine (pyserial's list), modems' AT ports among them."""
    from serial.tools import list_ports

    return [port.device for port in list_ports.comports()]


def describe_modems(start: int) -> list[dict[str, object]]:
    """Each serial port that answers AT, as `lpa readers` shows it: ``device`` is what --device takes."""
    found: list[dict[str, object]] = []
    for port in serial_ports():
        try:
            modem = AtTransport(port, timeout=1.0)
        except TransportError:
            continue
        try:
            identity = modem.identity()
        except TransportError:
            identity = ""
        finally:
            modem.close()
        found.append({"index": start + len(found), "name": port, "device": f"at:{port}",
                      "card": f"modem {identity}".strip()})
    return found


class AtError(TransportError):
    """The modem answered ERROR or +CME ERROR to a command."""

    def __init__(self, command: str, answer: str) -> None:
        self.answer = answer
        code = answer.partition(":")[2].strip()
        meaning = CME_ERRORS.get(int(code)) if code.isdigit() else None
        super().__init__(f"the modem answered {answer}{f' ({meaning})' if meaning else ''} to {command}")

    @property
    def code(self) -> int | None:
        code = self.answer.partition(":")[2].strip()
        return int(code) if code.isdigit() else None


class AtTransport(Transport):
    """A modem's SIM: APDUs on a logical channel opened with AT+CCHO, or raw with AT+CSIM.

    The channel the ISD-R is selected on is the transport's own
    (:meth:`open_channel`): the class bytes lpa sends carry channel 0.
    """

    opens_channel = True  # AT+CCHO, when the modem has it; else MANAGE CHANNEL through AT+CSIM
    #: The modem uses the basic channel for its own SIM work: lpa must not select the ISD-R there.
    needs_logical_channel = True
    can_cycle_radio = True  # AT+CFUN=0, then 1
    #: Each block is one AT+CGLA line of twice its length in hex: modems limit the line
    #: (hardware-notes.md, "Segment size"), so lpac's 120 rather than a reader's 255.
    segment_size = 120

    def __init__(self, port: str, baud: int = 115200, note: Callable[[str], None] = lambda line: None,
                 timeout: float = COMMAND_TIMEOUT) -> None:
        import serial

        self.name = f"modem at {port}"
        self.timeout = timeout
        self.note = note
        self._session: str | None = None
        #: Cycle the radio (AT+CFUN=0, then 1) after a profile change (:meth:`cycle_radio_on_reset`).
        self._cycle_radio = False
        try:
            self._serial = serial.Serial(port, baud, timeout=0.05, exclusive=True)
        except serial.SerialException as error:
            text = str(error)
            if "lock" in text.lower() or "busy" in text.lower():
                raise TransportError(f"{port} is held by another program (ModemManager?); stop it or let go of "
                                     "the port, and try again") from None
            raise TransportError(f"cannot open {port}: {text}") from None
        self._buffer = b""
        self.command("ATE0")
        self.command("AT+CMEE=1")

    # -- AT lines ----------------------------------------------------------------------

    def command(self, line: str, prefix: str = "", timeout: float | None = None) -> list[str]:
        """Send an AT command; return its information lines (those starting with ``prefix``, or all)."""
        self.note(f"AT> {line}")
        self._serial.write(line.encode("ascii") + b"\r")
        deadline = time.monotonic() + (timeout or self.timeout)
        lines: list[str] = []
        while True:
            answer = self._read_line(deadline, line)
            self.note(f"AT< {answer}")
            if answer == line:
                continue  # the echo
            if answer == "OK":
                return lines
            if answer == "ERROR" or answer.startswith(("+CME ERROR", "+CMS ERROR")):
                raise AtError(line, answer)
            if prefix and not answer.startswith(prefix) and not self._bare_answer(line, answer):
                continue  # an unsolicited result code
            lines.append(answer)

    @staticmethod
    def _bare_answer(line: str, answer: str) -> bool:
        """A session id some modems answer to AT+CCHO without the "+CCHO: " prefix (Fibocom): a number, or
        a hex handle (Sierra), never a word like the unsolicited RING."""
        return line.upper().startswith("AT+CCHO") and all(c in string.hexdigits for c in answer.replace(" ", ""))

    def _read_line(self, deadline: float, command: str) -> str:
        while True:
            while b"\n" in self._buffer or b"\r" in self._buffer:
                cut = min(i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0)
                raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1:]
                text = raw.decode("ascii", "replace").strip()
                if text:
                    return text
            if time.monotonic() > deadline:
                raise TransportError(f"the modem did not answer {command} in time")
            # what has arrived, else wait for one byte: read(4096) would wait out the port's timeout on every line
            self._buffer += self._serial.read(self._serial.in_waiting or 1)

    # -- the SIM -----------------------------------------------------------------------

    def open_channel(self, aid: bytes) -> bool:
        """AT+CCHO: open a logical channel with ``aid`` selected; False if the modem has no CCHO.

        Raises StatusWordError 6A82 when the SIM has no such application
        (+CME ERROR: 13 or 3 from modems), as a card would answer SELECT.
        """
        command = f'AT+CCHO="{aid.hex().upper()}"'
        try:
            try:
                lines = self.command(command, "+CCHO")
            except AtError as error:
                if error.code != 3:
                    raise
                # MediaTek-based modems refuse SIM access while the SIM sleeps (lpac users' reports)
                self.note(f"# {self.name} answered {error.answer}: waking the SIM with AT+ECSIMSLEEP=0")
                self.command("AT+ECSIMSLEEP=0")
                lines = self.command(command, "+CCHO")
        except AtError as error:
            if error.answer == "ERROR" or error.code == 4:
                return False  # no CCHO here: AT+CSIM instead
            if error.code in (3, 13, 100):
                raise StatusWordError("SELECT", 0x6A82) from None
            raise
        if not lines:
            raise TransportError(f"the modem opened no channel: no session id in its answer to {command}")
        answer = lines[-1]
        session = answer.partition(":")[2].strip() if ":" in answer else answer.strip()
        if not session or not all(c in string.hexdigits for c in session):  # it goes into every AT+CGLA line
            raise TransportError(f"the modem answered {answer[:40]!r} to {command}: not a session id")
        self._session = session
        return True

    def close_channel(self) -> None:
        """AT+CCHC (some modems lack it: then the channel stays open until the modem resets)."""
        if self._session is not None:
            session, self._session = self._session, None
            try:
                self.command(f"AT+CCHC={session}")
            except AtError:
                pass

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        text = apdu.hex().upper()
        try:
            if self._session is not None:
                lines = self.command(f'AT+CGLA={self._session},{len(text)},"{text}"', "+CGLA")
            else:
                lines = self.command(f'AT+CSIM={len(text)},"{text}"', "+CSIM")
        except AtError as error:
            if error.code == 50 and len(apdu) > 16:
                # the modem limits the command's length: answer as a card refusing a long block
                # (6700), so that STORE DATA is sent again in smaller segments
                return b"", 0x6700
            raise
        if not lines:
            raise TransportError(f"the modem gave no answer data to {text[:16]}...")
        response = bytes.fromhex(lines[-1].partition(",")[2].strip().strip('"'))
        if len(response) < 2:
            raise TransportError("the modem's answer has no status word")
        return response[:-2], int.from_bytes(response[-2:], "big")

    def cycle_radio_on_reset(self) -> None:
        """After an enable or disable, switch the radio off and on (AT+CFUN=0, AT+CFUN=1):
        some modems attach with the new profile only then (lpa --modem-reset)."""
        self._cycle_radio = True

    def reset(self) -> None:
        """The modem handles the REFRESH itself after an enable or disable; cycle the radio if asked."""
        if self._cycle_radio:
            self.close_channel()
            self.command("AT+CFUN=0", timeout=30)
            self.command("AT+CFUN=1", timeout=30)

    def identity(self) -> str:
        """The modem's maker and model (AT+CGMI, AT+CGMM), for `lpa readers --modems`."""
        return " ".join(" ".join(self.command(line)) for line in ("AT+CGMI", "AT+CGMM")).strip()

    def close(self) -> None:
        if self._serial.is_open:
            self.close_channel()
            self._serial.close()
