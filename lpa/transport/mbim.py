"""MBIM transport: an eUICC in a modem driven by cdc_mbim, through Microsoft's UICC low-level access service.

The few messages needed are built here with :mod:`struct` (no libmbim).
Every message starts with its type, length and transaction id (32-bit
little-endian). OPEN (1, with the largest control transfer) starts the
session, CLOSE (2) ends it; a COMMAND (3) carries a fragment header, the
service UUID, the CID, query (0) or set (1) and an information buffer,
answered by COMMAND_DONE (0x80000003) with a status. The UICC low-level
access service opens a channel with an application selected (Open
Channel), carries APDUs on it (APDU) and closes it (Close Channel); the
Basic Connect Extensions service's Device Slot Mappings picks the SIM slot;
with --modem-reset, Basic Connect's Radio State switches the radio off and on.
Through mbim-proxy, the connection first names the device (the proxy
control service's Configuration). Byte arrays in the UICC service are
given as size then offset ("uicc-ref-byte-array" in libmbim's
data/mbim-service-ms-uicc-low-level-access.json), elsewhere as offset then
size. docs/cards-and-modems.md, "QMI and MBIM modems".
"""
from __future__ import annotations

import struct
import time
import uuid
from typing import Callable

from ..errors import StatusWordError, TransportError
from . import Transport
from .wdm import REQUEST_TIMEOUT, Stream, WdmDevice, describe_devices, parse_device, with_channel

OPEN, CLOSE, COMMAND = 1, 2, 3
OPEN_DONE, CLOSE_DONE, COMMAND_DONE, FUNCTION_ERROR = 0x80000001, 0x80000002, 0x80000003, 0x80000004
QUERY, SET = 0, 1

UICC_SERVICE = uuid.UUID("c2f6588e-f037-4bc9-8665-f4d44bd09367").bytes
UICC_OPEN_CHANNEL, UICC_CLOSE_CHANNEL, UICC_APDU = 2, 3, 4
EXTENSIONS_SERVICE = uuid.UUID("3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf").bytes
DEVICE_SLOT_MAPPINGS = 7
BASIC_CONNECT_SERVICE = uuid.UUID("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df").bytes
RADIO_STATE = 3
PROXY_CONTROL_SERVICE = uuid.UUID("838cf7fb-8d0d-4d7f-871e-d71dbefbb39b").bytes
PROXY_CONFIGURATION = 1

#: The largest control message lpa takes (OPEN's MaxControlTransfer).
MAX_CONTROL_TRANSFER = 4096

#: MBIM status codes met here, by number (libmbim's MbimStatusError names).
MBIM_STATUSES = {1: "Busy", 2: "Failure", 3: "SimNotInserted", 4: "BadSim", 9: "NoDeviceSupport",
                 14: "NotInitialized", 21: "InvalidParameters", 0x87430001: "MsNoLogicalChannels",
                 0x87430002: "MsSelectFailed", 0x87430003: "MsInvalidLogicalChannel"}
#: FUNCTION_ERROR codes (MBIM 1.0 9.4.6).
FUNCTION_ERRORS = {1: "TimeoutFragment", 2: "FragmentOutOfSequence", 3: "LengthMismatch",
                   4: "DuplicatedTid", 5: "NotOpened", 6: "Unknown", 7: "Cancel", 8: "MaxTransfer"}
STATUS_SELECT_FAILED = 0x87430002


def command(transaction: int, service: bytes, cid: int, kind: int, buffer: bytes) -> bytes:
    """A COMMAND message in one fragment."""
    body = struct.pack("<II", 1, 0) + service + struct.pack("<III", cid, kind, len(buffer)) + buffer
    return struct.pack("<III", COMMAND, 12 + len(body), transaction) + body


def open_message(transaction: int) -> bytes:
    return struct.pack("<IIII", OPEN, 16, transaction, MAX_CONTROL_TRANSFER)


def close_message(transaction: int) -> bytes:
    return struct.pack("<III", CLOSE, 12, transaction)


def padded(data: bytes) -> bytes:
    """``data`` padded with zeros to a multiple of 4 bytes (MBIM 1.0 10.3)."""
    return data + bytes(-len(data) % 4)


def uicc_set(fixed: bytes, data: bytes) -> bytes:
    """An information buffer of the UICC service: ``fixed`` fields, then ``data`` as (size, offset)."""
    return fixed + struct.pack("<II", len(data), len(fixed) + 8) + padded(data)


def status_word(status: int) -> int:
    """The card's status word in a UICC service Status field: SW1 is its first byte, SW2 its second
    (9000 arrives as 90 00 00 00, 0x0090 read little-endian), as lpac's MBIM driver and the mbimcli
    wrapper before it read the field from real modems (hardware-notes.md, "Modems (QMI and MBIM)")."""
    return (status & 0xFF) << 8 | (status >> 8) & 0xFF


def uicc_bytes(buffer: bytes, at: int) -> bytes:
    """The byte array whose (size, offset) pair is at ``at`` in ``buffer``."""
    if at + 8 > len(buffer):
        raise TransportError("the modem's MBIM answer is cut short")
    size, offset = struct.unpack_from("<II", buffer, at)
    if offset + size > len(buffer):
        raise TransportError("the modem's MBIM answer points past its end")
    return buffer[offset:offset + size]


def proxy_configuration(path: str) -> bytes:
    """The proxy control service's Configuration: the device path (a UTF-16LE string), a timeout of 30 s."""
    text = path.encode("utf-16-le")
    return struct.pack("<III", 12, len(text), 30) + padded(text)


class MbimError(TransportError):
    """The modem answered a command with a status other than success, or with FUNCTION_ERROR."""

    def __init__(self, request_name: str, status: int, where: str, names: dict[int, str] = MBIM_STATUSES) -> None:
        self.status = status
        super().__init__(f"{where} answered MBIM status {status:#x} ({names.get(status, 'unknown')}) "
                         f"to {request_name}")


def open_device(argument: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "MbimTransport":
    """The ``mbim:PATH[,slot=N][,proxy[=NAME]]`` device."""
    return MbimTransport(parse_device("mbim", argument, "mbim-proxy"), note)


def describe_modems(start: int, sys_root: str = "/sys") -> list[dict[str, object]]:
    """Each MBIM control device (cdc_mbim), as `lpa readers --modems` shows it."""
    return describe_devices("mbim", "cdc_mbim", start, sys_root)


class MbimTransport(Transport):
    """A modem's SIM through MBIM's UICC low-level access: the ISD-R on a channel the modem opens."""

    opens_channel = True
    needs_logical_channel = True
    can_cycle_radio = True  # Basic Connect Radio State: off, then on
    #: The channel group lpa's channels belong to (any number; the modem closes them by group).
    channel_group = 1

    def __init__(self, device: WdmDevice, note: Callable[[str], None] = lambda line: None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.device = device
        self.name = f"MBIM modem at {device.path}" + (f" slot {device.slot}" if device.slot_given else "")
        self.note = note
        self.timeout = timeout
        self._transaction = 0
        self._channel: int | None = None
        self._opened = False
        self._cycle_radio = False
        self._stream = Stream(device, self.name)
        try:
            if device.proxy is not None:
                self._command(PROXY_CONTROL_SERVICE, PROXY_CONFIGURATION, SET, proxy_configuration(device.path),
                              "proxy Configuration")
            self._exchange(open_message, OPEN_DONE, "OPEN")
            self._opened = True
            if device.slot_given:
                self._map_slot(device.slot)
        except TransportError:
            self.close()
            raise

    def _next(self) -> int:
        self._transaction = self._transaction % 0xFFFFFFFF + 1
        return self._transaction

    def _exchange(self, build: Callable[[int], bytes], done: int, name: str) -> bytes:
        """Send one message; wait for the answer of type ``done`` with its transaction id; its body."""
        transaction = self._next()
        message = build(transaction)
        self.note(f"MBIM> {message.hex()}")
        self._stream.write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            head = self._stream.read(12, deadline)
            kind, length, answered = struct.unpack("<III", head)
            if not 12 <= length <= MAX_CONTROL_TRANSFER:
                raise TransportError(f"{self.name} sent an MBIM message of {length} bytes")
            body = self._stream.read(length - 12, deadline)
            self.note(f"MBIM< {(head + body).hex()}")
            if answered != transaction:
                continue  # an indication, or the answer to something else
            if kind == FUNCTION_ERROR:
                raise MbimError(name, struct.unpack_from("<I", body)[0] if len(body) >= 4 else 0, self.name,
                                FUNCTION_ERRORS)
            if kind != done:
                continue
            if kind == COMMAND_DONE:
                return body
            status = struct.unpack_from("<I", body)[0] if len(body) >= 4 else 2
            if status:
                raise MbimError(name, status, self.name)
            return body

    def _command(self, service: bytes, cid: int, kind: int, buffer: bytes, name: str) -> bytes:
        """A COMMAND and its COMMAND_DONE: the information buffer answered (MbimError on a failed status)."""
        body = self._exchange(lambda transaction: command(transaction, service, cid, kind, buffer), COMMAND_DONE, name)
        if len(body) < 36:
            raise TransportError(f"{self.name} answered {name} with a cut COMMAND_DONE")
        fragments, _ = struct.unpack_from("<II", body)
        if fragments != 1 or body[8:24] != service or struct.unpack_from("<I", body, 24)[0] != cid:
            raise TransportError(f"{self.name} answered {name} with a COMMAND_DONE lpa does not take")
        status, length = struct.unpack_from("<II", body, 28)
        if status and not (cid == UICC_OPEN_CHANNEL and status == STATUS_SELECT_FAILED and service == UICC_SERVICE):
            raise MbimError(name, status, self.name)
        if 36 + length > len(body):
            raise TransportError(f"{self.name} answered {name} with an information buffer past its end")
        if status:
            raise StatusWordError("SELECT", 0x6A82)
        return body[36:36 + length]

    def _map_slot(self, slot: int) -> None:
        """Device Slot Mappings: put SIM slot ``slot`` (from 1; MBIM counts from 0) on the modem's executor."""
        answer = self._command(EXTENSIONS_SERVICE, DEVICE_SLOT_MAPPINGS, QUERY, b"", "Device Slot Mappings")
        if len(answer) >= 12:
            offset, size = struct.unpack_from("<II", answer, 4)
            if size == 4 and offset + 4 <= len(answer) and struct.unpack_from("<I", answer, offset)[0] == slot - 1:
                return
        self.note(f"{self.name}: mapping SIM slot {slot} to the modem (Device Slot Mappings)")
        self._command(EXTENSIONS_SERVICE, DEVICE_SLOT_MAPPINGS, SET, struct.pack("<IIII", 1, 12, 4, slot - 1),
                      "Device Slot Mappings")

    def open_channel(self, aid: bytes) -> bool:
        """Open Channel: a channel with ``aid`` selected (StatusWordError when the card lacks it)."""
        answer = self._command(UICC_SERVICE, UICC_OPEN_CHANNEL, SET, _open_channel_buffer(aid, self.channel_group),
                               "Open Channel")
        if len(answer) < 8:
            raise TransportError(f"{self.name} answered Open Channel without a channel")
        status, channel = struct.unpack_from("<II", answer)
        sw = status_word(status)
        if sw != 0x9000 and sw >> 8 != 0x61:
            raise StatusWordError("SELECT", sw)
        if not 1 <= channel <= 19:
            raise TransportError(f"{self.name} opened no usable channel ({channel})")
        self._channel = channel
        return True

    def close_channel(self) -> None:
        """Close Channel (a modem that is gone has closed it)."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            try:
                self._command(UICC_SERVICE, UICC_CLOSE_CHANNEL, SET, struct.pack("<II", channel, self.channel_group),
                              "Close Channel")
            except TransportError:
                pass

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """APDU on the open channel (no secure messaging, inter-industry class byte, the channel in it)."""
        channel = self._channel or 0
        if channel:
            apdu = bytes([with_channel(apdu[0], channel)]) + apdu[1:]
        answer = self._command(UICC_SERVICE, UICC_APDU, SET, uicc_set(struct.pack("<III", channel, 0, 0), apdu),
                               f"APDU {apdu[:4].hex().upper()}")
        if len(answer) < 12:
            raise TransportError(f"{self.name} answered APDU without a status")
        return uicc_bytes(answer, 4), status_word(struct.unpack_from("<I", answer)[0])

    def cycle_radio_on_reset(self) -> None:
        """After an enable or disable, switch the radio off and on (lpa --modem-reset)."""
        self._cycle_radio = True

    def reset(self) -> None:
        """The modem handles the REFRESH itself after an enable or disable; cycle the radio if asked."""
        if self._cycle_radio:
            self.close_channel()
            for state in (0, 1):
                self._command(BASIC_CONNECT_SERVICE, RADIO_STATE, SET, struct.pack("<I", state), "Radio State")

    def close(self) -> None:
        if self._opened:
            self.close_channel()
            self._opened = False
            try:
                self._exchange(close_message, CLOSE_DONE, "CLOSE")
            except TransportError:
                pass
        self._stream.close()


def _open_channel_buffer(aid: bytes, group: int) -> bytes:
    """Open Channel's information buffer: AppId (size, offset), SelectP2Arg 0 (first occurrence), the group."""
    return struct.pack("<IIII", len(aid), 16, 0, group) + padded(aid)
