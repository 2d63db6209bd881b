"""QMI transport: an eUICC in a Qualcomm-style modem, through its UIM service (qmi_wwan's /dev/cdc-wdmN).

The few messages needed are built here with :mod:`struct` (no libqmi):
a QMUX frame is the marker 01, a 2-byte length (of what follows the
marker), control flags (00 from the host, 80 from the modem), the service
and the client id, then the message: control flags, a transaction id (one
byte for CTL, two for the other services), the message id, the length of
the TLVs, and the TLVs (type, 2-byte length, value), all little-endian.
The CTL service (0) allocates a client id for UIM (11) and releases it;
UIM's Open Logical Channel (0x0042) opens a channel with the ISD-R
selected, Send APDU (0x003B) carries each APDU on it, and Logical Channel
(0x003F) with the channel id closes it; with --modem-reset, DMS (2) Set
Operating Mode (0x002E) switches the radio to low power and back online.
Through qmi-proxy, the connection
first names the device (CTL 0xFF00, "Internal Proxy Open"). The message
and TLV numbers follow libqmi's data/qmi-service-ctl.json and
qmi-service-uim.json; docs/cards-and-modems.md, "QMI and MBIM modems".
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import StatusWordError, TransportError
from . import Transport
from .wdm import REQUEST_TIMEOUT, Stream, WdmDevice, describe_devices, parse_device, with_channel

SERVICE_CTL = 0x00
SERVICE_DMS = 0x02
SERVICE_UIM = 0x0B

CTL_ALLOCATE_CID = 0x0022
CTL_RELEASE_CID = 0x0023
CTL_PROXY_OPEN = 0xFF00
UIM_SEND_APDU = 0x003B
UIM_LOGICAL_CHANNEL = 0x003F
UIM_OPEN_LOGICAL_CHANNEL = 0x0042
DMS_SET_OPERATING_MODE = 0x002E
#: DMS operating modes (libqmi's QmiDmsOperatingMode).
MODE_ONLINE, MODE_LOW_POWER = 0, 1

#: QMI protocol errors met on the UIM service, by number (libqmi's QmiProtocolError names).
QMI_ERRORS = {1: "MalformedMessage", 3: "Internal", 5: "ClientIdsExhausted", 31: "InvalidServiceType",
              48: "InvalidArgument", 52: "DeviceNotReady", 68: "InsufficientResources", 71: "InvalidQmiCommand",
              80: "SimFileNotFound", 82: "AccessDenied", 94: "NotSupported", 102: "NoSim"}

#: Open Logical Channel errors that mean "the card has no such application" (a SELECT answering 6A82).
NO_SUCH_AID_ERRORS = {80}


def tlv(kind: int, value: bytes) -> bytes:
    """One TLV: type, 2-byte little-endian length, value."""
    return struct.pack("<BH", kind, len(value)) + value


def parse_tlvs(data: bytes) -> dict[int, bytes]:
    """The TLVs of a message, by type; ProtocolError-like TransportError when one overruns."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset < len(data):
        if offset + 3 > len(data):
            raise TransportError("the modem sent a QMI message with a cut TLV")
        kind, length = struct.unpack_from("<BH", data, offset)
        offset += 3
        if offset + length > len(data):
            raise TransportError("the modem sent a QMI message whose TLV overruns it")
        found[kind] = data[offset:offset + length]
        offset += length
    return found


def request(service: int, client: int, transaction: int, message: int, tlvs: bytes) -> bytes:
    """A QMUX frame carrying one request from the host."""
    if service == SERVICE_CTL:
        sdu = struct.pack("<BBHH", 0x00, transaction, message, len(tlvs)) + tlvs
    else:
        sdu = struct.pack("<BHHH", 0x00, transaction, message, len(tlvs)) + tlvs
    return struct.pack("<BHBBB", 0x01, 5 + len(sdu), 0x00, service, client) + sdu


@dataclass(frozen=True)
class Message:
    """A QMUX frame from the modem, taken apart."""

    service: int
    client: int
    flags: int
    transaction: int
    message: int
    tlvs: dict[int, bytes]

    @property
    def is_response(self) -> bool:
        """A response (CTL flags 01, other services 02), not an indication."""
        return self.flags == (0x01 if self.service == SERVICE_CTL else 0x02)


def parse_frame(frame: bytes) -> Message:
    """Take a QMUX frame apart (the marker included)."""
    if len(frame) < 6 or frame[0] != 0x01:
        raise TransportError(f"the modem sent something that is not a QMUX frame: {frame[:8].hex()}")
    service, client = frame[4], frame[5]
    body = frame[6:]
    layout = "<BBHH" if service == SERVICE_CTL else "<BHHH"
    size = struct.calcsize(layout)
    if len(body) < size:
        raise TransportError("the modem sent a cut QMI message")
    flags, transaction, message, length = struct.unpack_from(layout, body)
    if size + length != len(body):
        raise TransportError("the modem sent a QMI message whose length does not match its frame")
    return Message(service, client, flags, transaction, message, parse_tlvs(body[size:]))


class QmiError(TransportError):
    """The modem answered a request with a QMI error."""

    def __init__(self, request_name: str, code: int, where: str) -> None:
        self.code = code
        name = QMI_ERRORS.get(code, "unknown")
        super().__init__(f"{where} answered QMI error {code} ({name}) to {request_name}")


def open_device(argument: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "QmiTransport":
    """The ``qmi:PATH[,slot=N][,proxy[=NAME]]`` device."""
    return QmiTransport(parse_device("qmi", argument, "qmi-proxy"), note)


def describe_modems(start: int, sys_root: str = "/sys") -> list[dict[str, object]]:
    """Each QMI control device (qmi_wwan), as `lpa readers --modems` shows it."""
    return describe_devices("qmi", "qmi_wwan", start, sys_root)


class QmiTransport(Transport):
    """A modem's SIM slot through the QMI UIM service: the ISD-R on a logical channel the modem opens."""

    opens_channel = True
    needs_logical_channel = True
    can_cycle_radio = True  # DMS Set Operating Mode: low power, then online

    def __init__(self, device: WdmDevice, note: Callable[[str], None] = lambda line: None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.device = device
        self._cycle_radio = False
        self.name = f"QMI modem at {device.path}" + (f" slot {device.slot}" if device.slot != 1 else "")
        self.note = note
        self.timeout = timeout
        self._transaction = 0
        self._channel: int | None = None
        self._client = 0
        self._stream = Stream(device, self.name)
        try:
            if device.proxy is not None:
                path = device.path.encode()
                self._call(SERVICE_CTL, CTL_PROXY_OPEN, tlv(0x01, path), "Internal Proxy Open")
            self._client = self._allocate(SERVICE_UIM, "UIM")
        except TransportError:
            self._stream.close()
            raise

    def _allocate(self, service: int, name: str) -> int:
        """CTL Allocate CID: a client id for ``service``."""
        answer = self._call(SERVICE_CTL, CTL_ALLOCATE_CID, tlv(0x01, bytes([service])), f"Allocate CID ({name})")
        allocation = answer.get(0x01, b"")
        if len(allocation) != 2 or allocation[0] != service:
            raise TransportError(f"{self.name} allocated no {name} client id")
        return allocation[1]

    def _release(self, service: int, client: int) -> None:
        """CTL Release CID (a modem that is gone has released it)."""
        try:
            self._call(SERVICE_CTL, CTL_RELEASE_CID, tlv(0x01, bytes([service, client])), "Release CID")
        except TransportError:
            pass

    def _call(self, service: int, message: int, tlvs: bytes, name: str, client: int | None = None) -> dict[int, bytes]:
        """Send one request (to the UIM client unless ``client`` is given); wait for its response (indications
        are skipped); raise QmiError on failure."""
        self._transaction = self._transaction % (0xFF if service == SERVICE_CTL else 0xFFFF) + 1
        if client is None:
            client = 0 if service == SERVICE_CTL else self._client
        frame = request(service, client, self._transaction, message, tlvs)
        self.note(f"QMI> {frame.hex()}")
        self._stream.write(frame)
        deadline = time.monotonic() + self.timeout
        while True:
            head = self._stream.read(3, deadline)
            if head[0] != 0x01:
                raise TransportError(f"{self.name} sent something that is not a QMUX frame: {head.hex()}")
            frame = head + self._stream.read(struct.unpack_from("<H", head, 1)[0] - 2, deadline)
            self.note(f"QMI< {frame.hex()}")
            answer = parse_frame(frame)
            if (answer.service, answer.client, answer.transaction, answer.message) == \
                    (service, client, self._transaction, message) and answer.is_response:
                break
        result = answer.tlvs.get(0x02, b"")
        if len(result) != 4:
            raise TransportError(f"{self.name} answered {name} without a result")
        status, error = struct.unpack("<HH", result)
        if status != 0:
            card = answer.tlvs.get(0x11, b"")
            if message == UIM_OPEN_LOGICAL_CHANNEL and (error in NO_SUCH_AID_ERRORS or len(card) == 2):
                raise StatusWordError("SELECT", int.from_bytes(card, "big") if len(card) == 2 else 0x6A82)
            raise QmiError(name, error, self.name)
        return answer.tlvs

    def open_channel(self, aid: bytes) -> bool:
        """UIM Open Logical Channel: a channel with ``aid`` selected (StatusWordError when the card lacks it)."""
        answer = self._call(SERVICE_UIM, UIM_OPEN_LOGICAL_CHANNEL,
                            tlv(0x01, bytes([self.device.slot])) + tlv(0x10, bytes([len(aid)]) + aid),
                            "Open Logical Channel")
        channel = answer.get(0x10, b"")
        if len(channel) != 1 or not 1 <= channel[0] <= 19:
            raise TransportError(f"{self.name} opened no usable channel: {channel.hex() or 'no channel id'}")
        self._channel = channel[0]
        return True

    def close_channel(self) -> None:
        """UIM Logical Channel with the channel id: close it (a modem that is gone has closed it)."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            try:
                self._call(SERVICE_UIM, UIM_LOGICAL_CHANNEL,
                           tlv(0x01, bytes([self.device.slot])) + tlv(0x11, bytes([channel])), "Logical Channel")
            except TransportError:
                pass

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """UIM Send APDU on the open channel; the modem passes the APDU on as it is, so its class byte
        gets the channel here (ISO/IEC 7816-4 5.1.1)."""
        if self._channel is not None:
            apdu = bytes([with_channel(apdu[0], self._channel)]) + apdu[1:]
        tlvs = tlv(0x01, bytes([self.device.slot])) + tlv(0x02, struct.pack("<H", len(apdu)) + apdu)
        if self._channel is not None:
            tlvs += tlv(0x10, bytes([self._channel]))
        answer = self._call(SERVICE_UIM, UIM_SEND_APDU, tlvs, f"Send APDU {apdu[:4].hex().upper()}")
        response = answer.get(0x10, b"")
        if len(response) < 4 or struct.unpack_from("<H", response)[0] != len(response) - 2:
            raise TransportError(f"{self.name} answered Send APDU without a response APDU")
        return response[2:-2], int.from_bytes(response[-2:], "big")

    def cycle_radio_on_reset(self) -> None:
        """After an enable or disable, switch the radio to low power and back online (lpa --modem-reset)."""
        self._cycle_radio = True

    def reset(self) -> None:
        """The modem handles the REFRESH itself after an enable or disable; cycle the radio if asked
        (DMS Set Operating Mode, through a DMS client of its own)."""
        if self._cycle_radio:
            self.close_channel()
            dms = self._allocate(SERVICE_DMS, "DMS")
            try:
                for mode in (MODE_LOW_POWER, MODE_ONLINE):
                    self._call(SERVICE_DMS, DMS_SET_OPERATING_MODE, tlv(0x01, bytes([mode])), "Set Operating Mode",
                               client=dms)
            finally:
                self._release(SERVICE_DMS, dms)

    def close(self) -> None:
        if self._client:
            self.close_channel()
            client, self._client = self._client, 0
            self._release(SERVICE_UIM, client)
        self._stream.close()

