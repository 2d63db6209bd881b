"""A simulated QMI modem: QMUX frames on a pseudo-terminal or a qmi-proxy socket, in front of the simulated eUICC.

It answers what a UIM client needs, as libqmi's data/qmi-service-ctl.json
and qmi-service-uim.json define the messages (CTL: Get Version Info,
Allocate and Release CID, Sync, and qmi-proxy's Internal Proxy Open; UIM:
Reset, Get Card Status, Power Off/On SIM, Send APDU, Logical Channel,
Open Logical Channel, Get Slot Status; DMS: Get and Set Operating
Mode, the radio). The framing is written here apart
from lpa's driver, so that a mistake is not made on both sides.
:class:`WdmQuirks` switch on the ways modems fail.
"""
from __future__ import annotations

import struct
import time

from ..card.state import StateFile
from .wdm import Connection, ControlDevice, WdmQuirks, fold

CTL, DMS, UIM = 0x00, 0x02, 0x0B
ERROR_INTERNAL, ERROR_INVALID_SERVICE_TYPE, ERROR_DEVICE_NOT_READY = 3, 31, 52
ERROR_INSUFFICIENT_RESOURCES, ERROR_INVALID_QMI_COMMAND, ERROR_SIM_FILE_NOT_FOUND = 68, 71, 80
ERROR_INVALID_ARGUMENT = 48


def _tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("<BH", kind, len(value)) + value


def _result(error: int = 0) -> bytes:
    return _tlv(0x02, struct.pack("<HH", 1 if error else 0, error))


class SimulatedQmiModem(ControlDevice):
    """The modem; :meth:`start` serves it, :attr:`device` is what to give ``--device qmi:``."""

    kind = "qmi"

    def __init__(self, state_file: StateFile, quirks: WdmQuirks | None = None, proxy: str | None = None) -> None:
        super().__init__(state_file, proxy)
        self.quirks = quirks or WdmQuirks()
        self._powered = not self.quirks.powered_off
        self._clients: dict[int, int] = {}  # client id -> service
        #: Every operating mode set (DMS), for tests: 0 online, 1 low power.
        self.operating_modes: list[int] = []
        self._channels: set[int] = set()
        self._apdus = 0

    # -- framing ----------------------------------------------------------------------

    def message_length(self, buffer: bytes) -> int | None:
        if len(buffer) < 3:
            return None
        return 1 + struct.unpack_from("<H", buffer, 1)[0]

    def answer(self, message: bytes, connection: Connection) -> list[bytes]:
        if self.quirks.slow:
            time.sleep(self.quirks.slow)
        service, client = message[4], message[5]
        layout = "<BBHH" if service == CTL else "<BHHH"
        _, transaction, number, length = struct.unpack_from(layout, message, 6)
        tlvs = _parse(message[6 + struct.calcsize(layout):])
        if service == CTL:
            body = self._ctl(number, tlvs, connection)
            sdu = struct.pack("<BBHH", 0x01, transaction, number, len(body)) + body
        else:
            owner = self._clients.get(client)
            body = self._uim(number, tlvs) if service == UIM == owner else self._dms(number, tlvs) \
                if service == DMS == owner else _result(ERROR_INVALID_SERVICE_TYPE)
            sdu = struct.pack("<BHHH", 0x02, transaction, number, len(body)) + body
        if self._stop.is_set():
            return []
        return [struct.pack("<BHBBB", 0x01, 5 + len(sdu), 0x80, service, client) + sdu]

    # -- CTL --------------------------------------------------------------------------

    def _ctl(self, number: int, tlvs: dict[int, bytes], connection: Connection) -> bytes:
        if number == 0xFF00:  # qmi-proxy's Internal Proxy Open: the device path
            connection.opened["path"] = tlvs.get(0x01, b"").decode(errors="replace")
            return _result()
        if number == 0x0021:  # Get Version Info: CTL 1.5, UIM 1.46
            services = [(CTL, 1, 5), (DMS, 1, 14)] + ([] if self.quirks.no_uim else [(UIM, 1, 46)])
            return _result() + _tlv(0x01, bytes([len(services)]) + b"".join(struct.pack("<BHH", *s) for s in services))
        if number == 0x0022:  # Allocate CID
            service = tlvs.get(0x01, b"\xff")[0]
            if service not in (UIM, DMS) or service == UIM and self.quirks.no_uim:
                return _result(ERROR_INVALID_SERVICE_TYPE)
            client = next(c for c in range(1, 256) if c not in self._clients)
            self._clients[client] = service
            return _result() + _tlv(0x01, bytes([service, client]))
        if number == 0x0023:  # Release CID
            info = tlvs.get(0x01, b"")
            if len(info) != 2 or self._clients.get(info[1]) != info[0]:
                return _result(ERROR_INVALID_ARGUMENT)
            del self._clients[info[1]]
            return _result() + _tlv(0x01, info)
        if number == 0x0027:  # Sync
            return _result()
        return _result(ERROR_INVALID_QMI_COMMAND)

    # -- DMS --------------------------------------------------------------------------

    def _dms(self, number: int, tlvs: dict[int, bytes]) -> bytes:
        if number == 0x002D:  # Get Operating Mode
            return _result() + _tlv(0x01, bytes([self.operating_modes[-1] if self.operating_modes else 0]))
        if number == 0x002E:  # Set Operating Mode: back online restarts the SIM
            mode = tlvs.get(0x01, b"")
            if len(mode) != 1:
                return _result(ERROR_INVALID_ARGUMENT)
            self.operating_modes.append(mode[0])
            if mode[0] == 0:
                self._channels.clear()
                self.card.reset()
            return _result()
        return _result(ERROR_INVALID_QMI_COMMAND)

    # -- UIM --------------------------------------------------------------------------

    def _slots(self) -> dict[int, str]:
        """What is in each slot: "euicc", "sim" or "empty"."""
        slots = {1: "empty" if self.quirks.empty_slot else "euicc"}
        if self.quirks.plain_sim_in_slot_2:
            slots[2] = "sim"
        return slots

    def _uim(self, number: int, tlvs: dict[int, bytes]) -> bytes:
        if number == 0x0000:  # Reset (of the client's state)
            return _result()
        if number == 0x002F:
            return _result() + _tlv(0x10, self._card_status())
        if number == 0x0047:
            return _result() + _tlv(0x10, self._slot_status())
        if number in (0x0030, 0x0031):  # Power Off / On SIM
            self._powered = number == 0x0031
            if self._powered:
                self.card.reset()
                self._channels.clear()
            return _result()
        handler = {0x003B: self._send_apdu, 0x003F: self._logical_channel, 0x0042: self._open_logical_channel}.get(number)
        if handler is None:
            return _result(ERROR_INVALID_QMI_COMMAND)
        slot = tlvs.get(0x01, b"\x00")[0]
        content = self._slots().get(slot)
        if content is None:
            return _result(ERROR_INVALID_ARGUMENT)
        if content == "empty" or not self._powered:
            return _result(ERROR_DEVICE_NOT_READY)
        return handler(tlvs, content)

    def _open_logical_channel(self, tlvs: dict[int, bytes], content: str) -> bytes:
        aid_tlv = tlvs.get(0x10, b"")
        if not aid_tlv or aid_tlv[0] != len(aid_tlv) - 1:
            return _result(ERROR_INVALID_ARGUMENT)
        aid = aid_tlv[1:]
        if self.quirks.refuse_channel or self.quirks.max_channels and len(self._channels) >= self.quirks.max_channels:
            return _result(ERROR_INSUFFICIENT_RESOURCES)
        if content == "sim":
            return _result(ERROR_SIM_FILE_NOT_FOUND) + _tlv(0x11, b"\x6a\x82")
        opened = self.card.transmit(bytes.fromhex("0070000001"))
        if opened[-2:] != b"\x90\x00":
            return _result(ERROR_INSUFFICIENT_RESOURCES)
        channel = opened[0]
        selected = fold(self.card, bytes([_cla(0x00, channel), 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
        if selected[-2:] != b"\x90\x00":
            self.card.transmit(bytes([0x00, 0x70, 0x80, channel]))
            return _result(ERROR_SIM_FILE_NOT_FOUND) + _tlv(0x11, selected[-2:])
        self._channels.add(channel)
        return (_result() + _tlv(0x10, bytes([channel])) + _tlv(0x11, selected[-2:])
                + _tlv(0x12, bytes([len(selected) - 2]) + selected[:-2]))

    def _logical_channel(self, tlvs: dict[int, bytes], content: str) -> bytes:
        close = tlvs.get(0x11, b"")
        if len(close) != 1 or close[0] not in self._channels:
            return _result(ERROR_INVALID_ARGUMENT)
        self._channels.discard(close[0])
        self.card.transmit(bytes([0x00, 0x70, 0x80, close[0]]))
        return _result()

    def _send_apdu(self, tlvs: dict[int, bytes], content: str) -> bytes:
        self._apdus += 1
        if self.quirks.vanish_after and self._apdus >= self.quirks.vanish_after:
            self.vanish()
            return b""
        if self.quirks.refuse_apdu_after and self._apdus >= self.quirks.refuse_apdu_after:
            return _result(ERROR_INTERNAL)
        data = tlvs.get(0x02, b"")
        if len(data) < 6 or struct.unpack_from("<H", data)[0] != len(data) - 2:
            return _result(ERROR_INVALID_ARGUMENT)
        apdu = data[2:]
        channel = tlvs.get(0x10)
        if channel is not None and (len(channel) != 1 or channel[0] not in self._channels):
            return _result(ERROR_INVALID_ARGUMENT)
        response = fold(self.card, apdu) if content == "euicc" else b"\x6e\x00"
        return _result() + _tlv(0x10, struct.pack("<H", len(response)) + response)


    def _card_status(self) -> bytes:
        """Card Status TLV: the primary/secondary session indexes, then each card (no applications listed)."""
        cards = b""
        for content in self._slots().values():
            state = 0 if content == "empty" else 1  # absent, present
            cards += bytes([state, 0, 0, 0, 0, 0])  # UPIN state and retries, error code, no applications
        return struct.pack("<HHHH", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF) + bytes([len(self._slots())]) + cards

    def _slot_status(self) -> bytes:
        """Physical Slot Status TLV: each slot's card state (1 absent, 2 present), slot state (1 active),
        logical slot and ICCID (none given)."""
        entries = b""
        for number, content in self._slots().items():
            entries += struct.pack("<IIBB", 1 if content == "empty" else 2, 1 if number == 1 else 0,
                                   1 if number == 1 else 0, 0)
        return bytes([len(self._slots())]) + entries


def _parse(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while len(data) >= 3:
        kind, length = struct.unpack_from("<BH", data)
        found[kind] = data[3:3 + length]
        data = data[3 + length:]
    return found


def _cla(base: int, channel: int) -> int:
    return base | channel if channel < 4 else base | 0x40 | (channel - 4)
