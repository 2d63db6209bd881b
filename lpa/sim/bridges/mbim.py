"""A simulated MBIM modem: MBIM messages on a pseudo-terminal or an mbim-proxy socket, before the simulated eUICC.

It answers OPEN and CLOSE, the proxy control service's Configuration (as
mbim-proxy takes it), Microsoft's UICC low-level access service (ATR, Open
Channel, Close Channel, APDU, Reset) and the Basic Connect Extensions
service's Device Slot Mappings and Slot Info Status, Basic Connect's Radio
State, as libmbim's data files
define them; anything else gets NoDeviceSupport. The framing is written
here apart from lpa's driver. The quirks are the QMI modem's
(:class:`~lpa.sim.bridges.wdm.WdmQuirks`); the SIM is powered with the UICC
service's Reset.
"""
from __future__ import annotations

import struct
import time
import uuid

from ..card.state import StateFile
from .wdm import Connection, ControlDevice, WdmQuirks, fold

_UICC = uuid.UUID("c2f6588e-f037-4bc9-8665-f4d44bd09367").bytes
_EXTENSIONS = uuid.UUID("3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf").bytes
_BASIC_CONNECT = uuid.UUID("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df").bytes
_PROXY = uuid.UUID("838cf7fb-8d0d-4d7f-871e-d71dbefbb39b").bytes

SUCCESS, FAILURE, SIM_NOT_INSERTED, NO_DEVICE_SUPPORT, NOT_INITIALIZED, INVALID_PARAMETERS = 0, 2, 3, 9, 14, 21
NO_LOGICAL_CHANNELS, SELECT_FAILED, INVALID_LOGICAL_CHANNEL = 0x87430001, 0x87430002, 0x87430003
_ATR = bytes.fromhex("3B9F96803FC7828031E073FE211F65D002341512810F")


class SimulatedMbimModem(ControlDevice):
    """The modem; :meth:`start` serves it, :attr:`device` is what to give ``--device mbim:``."""

    kind = "mbim"

    def __init__(self, state_file: StateFile, quirks: WdmQuirks | None = None, proxy: str | None = None) -> None:
        super().__init__(state_file, proxy)
        self.quirks = quirks or WdmQuirks()
        self._powered = not self.quirks.powered_off
        self._channels: dict[int, int] = {}  # channel -> group
        self._apdus = 0
        #: The SIM slot (from 0) on the modem's executor.
        self.mapped_slot = 0
        #: Every radio state set (0 off, 1 on), for tests.
        self.radio_states: list[int] = []

    def message_length(self, buffer: bytes) -> int | None:
        return struct.unpack_from("<I", buffer, 4)[0] if len(buffer) >= 8 else None

    def answer(self, message: bytes, connection: Connection) -> list[bytes]:
        if self.quirks.slow:
            time.sleep(self.quirks.slow)
        kind, _, transaction = struct.unpack_from("<III", message)
        if kind == 1:  # OPEN
            connection.opened["open"] = True
            return [struct.pack("<IIII", 0x80000001, 16, transaction, SUCCESS)]
        if kind == 2:  # CLOSE
            connection.opened.pop("open", None)
            return [struct.pack("<IIII", 0x80000002, 16, transaction, SUCCESS)]
        if kind != 3:
            return [struct.pack("<IIII", 0x80000004, 16, transaction, 6)]  # FUNCTION_ERROR Unknown
        service, cid, command_type, length = message[20:36], *struct.unpack_from("<III", message, 36)
        buffer = message[48:48 + length]
        if service != _PROXY and not connection.opened.get("open"):
            return [struct.pack("<IIII", 0x80000004, 16, transaction, 5)]  # NotOpened
        status, answer = self._command(service, cid, command_type, buffer, connection)
        if self._stop.is_set():
            return []
        body = struct.pack("<II", 1, 0) + service + struct.pack("<III", cid, status, len(answer)) + answer
        return [struct.pack("<III", 0x80000003, 12 + len(body), transaction) + body]

    def _slots(self) -> dict[int, str]:
        slots = {0: "empty" if self.quirks.empty_slot else "euicc"}
        if self.quirks.plain_sim_in_slot_2:
            slots[1] = "sim"
        return slots

    def _command(self, service: bytes, cid: int, command_type: int, buffer: bytes,
                 connection: Connection) -> tuple[int, bytes]:
        if service == _PROXY and cid == 1:  # Configuration: DevicePath, Timeout
            offset, size = struct.unpack_from("<II", buffer)
            connection.opened["path"] = buffer[offset:offset + size].decode("utf-16-le", "replace")
            return SUCCESS, b""
        if service == _EXTENSIONS and cid == 7:  # Device Slot Mappings
            if command_type == 1:
                count, offset, size = struct.unpack_from("<III", buffer)
                slot = struct.unpack_from("<I", buffer, offset)[0]
                if count != 1 or slot not in self._slots():
                    return INVALID_PARAMETERS, b""
                self.mapped_slot = slot
                self._channels.clear()
                self.card.reset()
            return SUCCESS, struct.pack("<IIII", 1, 12, 4, self.mapped_slot)
        if service == _BASIC_CONNECT and cid == 3:  # Radio State: HwRadioState, SwRadioState
            if command_type == 1:
                self.radio_states.append(struct.unpack_from("<I", buffer)[0] if len(buffer) >= 4 else 1)
                if self.radio_states[-1] == 1:  # back on: the SIM restarts
                    self._channels.clear()
                    self.card.reset()
            return SUCCESS, struct.pack("<II", 1, self.radio_states[-1] if self.radio_states else 1)
        if service == _EXTENSIONS and cid == 8:  # Slot Info Status: 3 empty, 5 active, 7 active eSIM
            slot = struct.unpack_from("<I", buffer)[0] if len(buffer) >= 4 else 0
            content = self._slots().get(slot)
            state = {None: 0, "empty": 3, "sim": 5, "euicc": 7}[content]
            return SUCCESS, struct.pack("<II", slot, state)
        if service != _UICC or self.quirks.no_uim:
            return NO_DEVICE_SUPPORT, b""
        if cid == 6 and command_type == 1:  # Reset: the SIM powered again
            self._powered = True
            self._channels.clear()
            self.card.reset()
            return SUCCESS, struct.pack("<I", 1)
        content = self._slots().get(self.mapped_slot)
        if content is None or content == "empty":
            return SIM_NOT_INSERTED, b""
        if not self._powered:
            return NOT_INITIALIZED, b""
        if cid == 1:  # ATR: its bytes, as (size, offset) like the service's other byte arrays (mbimcli 1.28)
            return SUCCESS, struct.pack("<II", len(_ATR), 8) + _ATR + bytes(-len(_ATR) % 4)
        handler = {2: self._open_channel, 3: self._close_channel, 4: self._apdu}.get(cid)
        if handler is None or command_type != 1:
            return NO_DEVICE_SUPPORT, b""
        return handler(buffer, content)

    def _open_channel(self, buffer: bytes, content: str) -> tuple[int, bytes]:
        size, offset, _, group = struct.unpack_from("<IIII", buffer)
        aid = buffer[offset:offset + size]
        if self.quirks.refuse_channel or self.quirks.max_channels and len(self._channels) >= self.quirks.max_channels:
            return NO_LOGICAL_CHANNELS, b""
        if content == "sim":
            return SELECT_FAILED, b""
        opened = self.card.transmit(bytes.fromhex("0070000001"))
        if opened[-2:] != b"\x90\x00":
            return NO_LOGICAL_CHANNELS, b""
        channel = opened[0]
        selected = fold(self.card, bytes([_cla(channel), 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
        if selected[-2:] != b"\x90\x00":
            self.card.transmit(bytes([0x00, 0x70, 0x80, channel]))
            return SELECT_FAILED, b""
        self._channels[channel] = group
        response = selected[:-2]
        return SUCCESS, struct.pack("<IIII", _OK, channel, len(response), 16) + response + bytes(-len(response) % 4)

    def _close_channel(self, buffer: bytes, content: str) -> tuple[int, bytes]:
        channel, group = struct.unpack_from("<II", buffer)
        if self._channels.get(channel) != group:
            return INVALID_LOGICAL_CHANNEL, b""
        del self._channels[channel]
        self.card.transmit(bytes([0x00, 0x70, 0x80, channel]))
        return SUCCESS, struct.pack("<I", _OK)

    def _apdu(self, buffer: bytes, content: str) -> tuple[int, bytes]:
        self._apdus += 1
        if self.quirks.vanish_after and self._apdus >= self.quirks.vanish_after:
            self.vanish()
            return FAILURE, b""
        if self.quirks.refuse_apdu_after and self._apdus >= self.quirks.refuse_apdu_after:
            return FAILURE, b""
        channel, _, _, size, offset = struct.unpack_from("<IIIII", buffer)
        if channel not in self._channels:
            return INVALID_LOGICAL_CHANNEL, b""
        response = fold(self.card, buffer[offset:offset + size]) if content == "euicc" else b"\x6e\x00"
        data = response[:-2]
        return SUCCESS, (struct.pack("<III", int.from_bytes(response[-2:], "little"), len(data), 12) + data
                         + bytes(-len(data) % 4))


#: A Status field holds the status word as the card sent it, SW1 first: 9000 is 90 00 00 00 (what real
#: modems answer, as lpac's MBIM driver reads them; docs/cards-and-modems.md).
_OK = int.from_bytes(b"\x90\x00", "little")


def _cla(channel: int) -> int:
    return channel if channel < 4 else 0x40 | (channel - 4)
