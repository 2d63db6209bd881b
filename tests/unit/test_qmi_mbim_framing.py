"""QMI and MBIM message layouts, pinned to the bytes qmicli 1.32 and mbimcli 1.28 (Debian's libqmi-utils,
libmbim-utils) send for the same requests, captured from the simulated modems' logs."""
from __future__ import annotations

import struct

import pytest

from lpa.errors import InputError, TransportError
from lpa.transport import mbim, qmi
from lpa.transport.wdm import WdmDevice, parse_device, with_channel

EID_APDU = bytes.fromhex("81E2910006BF3E035C015A00")
ISDR = bytes.fromhex("A0000005591010FFFFFFFF8900000100")


def test_allocate_cid_for_uim_is_the_frame_qmicli_sends():
    frame = qmi.request(qmi.SERVICE_CTL, 0, 1, qmi.CTL_ALLOCATE_CID, qmi.tlv(0x01, bytes([qmi.SERVICE_UIM])))
    assert frame.hex() == "010f000000000001220004000101000b"


def test_release_cid_is_the_frame_qmicli_sends():
    frame = qmi.request(qmi.SERVICE_CTL, 0, 2, qmi.CTL_RELEASE_CID, qmi.tlv(0x01, bytes([qmi.SERVICE_UIM, 1])))
    assert frame.hex() == "0110000000000002230005000102000b01"


def test_uim_requests_have_a_two_byte_transaction_id():
    # the layout of qmicli's Get Card Status: flags 00, transaction 0001, message 002F, no TLVs
    assert qmi.request(qmi.SERVICE_UIM, 1, 1, 0x002F, b"").hex() == "010c00000b010001002f000000"
    frame = qmi.request(qmi.SERVICE_UIM, 1, 2, qmi.UIM_OPEN_LOGICAL_CHANNEL,
                        qmi.tlv(0x01, b"\x01") + qmi.tlv(0x10, bytes([16]) + ISDR))
    assert frame.hex() == "012400000b01000200420018000101000110110010a0000005591010ffffffff8900000100"


def test_responses_are_taken_apart_and_indications_told_from_them():
    answer = qmi.parse_frame(bytes.fromhex("011700800000010122000c00020400000000000102000b01"))  # qmicli's peer
    assert (answer.service, answer.transaction, answer.message, answer.is_response) == (0, 1, 0x22, True)
    assert answer.tlvs == {0x02: bytes(4), 0x01: b"\x0b\x01"}
    indication = qmi.parse_frame(bytes.fromhex("010c00800b0104010032000000"))
    assert not indication.is_response


@pytest.mark.parametrize("frame, message", [
    ("02", "not a QMUX frame"),
    ("010d00800b01020100", "a cut QMI message"),
    ("010f00800b0102010032000500020400", "does not match its frame"),
    ("011100800b010201003b0005000210000000", "overruns"),
])
def test_bad_frames_are_transport_errors(frame, message):
    with pytest.raises(TransportError, match=message):
        qmi.parse_frame(bytes.fromhex(frame))


def test_mbim_open_is_the_message_mbimcli_sends():
    assert mbim.open_message(1).hex() == "01000000100000000100000000100000"


def test_mbim_open_channel_and_apdu_are_the_messages_mbimcli_sends():
    opened = mbim.command(2, mbim.UICC_SERVICE, mbim.UICC_OPEN_CHANNEL, mbim.SET,
                          mbim._open_channel_buffer(ISDR, 1))  # noqa: SLF001
    assert opened.hex() == ("0300000050000000020000000100000000000000c2f6588ef0374bc98665f4d44bd0936702000000"
                            "010000002000000010000000100000000000000001000000a0000005591010ffffffff8900000100")
    apdu = mbim.command(2, mbim.UICC_SERVICE, mbim.UICC_APDU, mbim.SET,
                        mbim.uicc_set(struct.pack("<III", 1, 0, 0), EID_APDU))
    assert apdu.hex() == ("0300000050000000020000000100000000000000c2f6588ef0374bc98665f4d44bd0936704000000"
                          "01000000200000000100000000000000000000000c0000001400000081e2910006bf3e035c015a00")


def test_mbim_close_channel_and_slot_mapping_are_the_buffers_mbimcli_sends():
    close = mbim.command(2, mbim.UICC_SERVICE, mbim.UICC_CLOSE_CHANNEL, mbim.SET, struct.pack("<II", 1, 1))
    assert close.hex() == ("0300000038000000020000000100000000000000c2f6588ef0374bc98665f4d44bd09367030000000100"
                           "0000080000000100000001000000")
    mapping = mbim.command(2, mbim.EXTENSIONS_SERVICE, mbim.DEVICE_SLOT_MAPPINGS, mbim.SET,
                           struct.pack("<IIII", 1, 12, 4, 1))  # what _map_slot sends for slot=2
    assert mapping.hex() == ("03000000400000000200000001000000000000003d01dcc5fef54d050d3abef7058e9aaf07000000"
                             "0100000010000000010000000c0000000400000001000000")


@pytest.mark.parametrize("field, sw", [("90000000", 0x9000), ("6a880000", 0x6A88), ("61120000", 0x6112)])
def test_the_status_field_holds_sw1_first_as_real_modems_send_it(field, sw):
    """lpac's MBIM driver (run on real modems) and the mbimcli wrapper before it both take the Status
    field's first byte as SW1: mbimcli prints 9000 as "status: 144"."""
    assert mbim.status_word(int.from_bytes(bytes.fromhex(field), "little")) == sw


def test_uicc_byte_arrays_point_inside_the_answer():
    assert mbim.uicc_bytes(struct.pack("<III", 0x9000, 2, 12) + b"\xbf\x3e\x00\x00", 4) == b"\xbf\x3e"
    with pytest.raises(TransportError, match="points past its end"):
        mbim.uicc_bytes(struct.pack("<III", 0x9000, 9, 12) + b"\xbf\x3e", 4)


@pytest.mark.parametrize("argument, device", [
    ("/dev/cdc-wdm0", WdmDevice("/dev/cdc-wdm0")),
    ("/dev/cdc-wdm0,slot=2", WdmDevice("/dev/cdc-wdm0", 2, None, True)),
    ("/dev/cdc-wdm0,proxy", WdmDevice("/dev/cdc-wdm0", 1, "qmi-proxy")),
    ("/dev/cdc-wdm0,proxy=other,slot=1", WdmDevice("/dev/cdc-wdm0", 1, "other", True)),
])
def test_the_device_argument(argument, device):
    assert parse_device("qmi", argument, "qmi-proxy") == device


@pytest.mark.parametrize("argument", ["/dev/cdc-wdm0,slot=0", "/dev/cdc-wdm0,slot=x", "/dev/cdc-wdm0,proxy="])
def test_bad_device_arguments(argument):
    with pytest.raises(InputError):
        parse_device("mbim", argument, "mbim-proxy")


@pytest.mark.parametrize("cla, channel, expected", [(0x80, 1, 0x81), (0x00, 3, 0x03), (0x80, 5, 0xC1), (0x81, 2, 0x82)])
def test_the_channel_goes_into_the_class_byte(cla, channel, expected):
    assert with_channel(cla, channel) == expected


def test_the_proxy_open_messages_are_those_qmicli_and_mbimcli_send_first():
    assert qmi.request(qmi.SERVICE_CTL, 0, 1, qmi.CTL_PROXY_OPEN, qmi.tlv(0x01, b"/dev/null")).hex() == \
        "011700000000000100ff0c000109002f6465762f6e756c6c"
    configuration = mbim.command(1, mbim.PROXY_CONTROL_SERVICE, mbim.PROXY_CONFIGURATION, mbim.SET,
                                 mbim.proxy_configuration("/dev/null"))
    assert configuration.hex() == ("0300000050000000010000000100000000000000838cf7fb8d0d4d7f871ed71dbefbb39b0100000001"
                                   "000000200000000c000000120000001e0000002f006400650076002f006e0075006c006c000000")
