"""The APDU layer against scripted cards: framing, chaining, channels, errors."""
from __future__ import annotations

import pytest

from lpa.apdu import ISDR_AID, Channel, cla, open_isdr
from lpa.errors import StatusWordError
from lpa.transport import Transport


class Scripted(Transport):
    """A card that answers from a list of (expected command prefix, response) and records commands."""

    name = "scripted"

    def __init__(self, answers: list[tuple[str, str]]) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        prefix, response = self.answers.pop(0)
        assert apdu.hex().upper().startswith(prefix.replace(" ", "")), f"unexpected {apdu.hex().upper()}"
        raw = bytes.fromhex(response.replace(" ", ""))
        return raw[:-2], int.from_bytes(raw[-2:], "big")


class Echo(Transport):
    """Answers every STORE DATA with 9000 and records the commands."""

    name = "echo"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        return (b"\xbf\x2d\x00" if apdu[2] == 0x91 else b""), 0x9000


@pytest.mark.parametrize("channel,select,store", [
    (0, 0x00, 0x80), (1, 0x01, 0x81), (3, 0x03, 0x83), (4, 0x40, 0xC0), (5, 0x41, 0xC1), (19, 0x4F, 0xCF),
])
def test_class_byte_encodes_channels_0_to_19(channel, select, store):
    assert cla(0x00, channel) == select
    assert cla(0x80, channel) == store


def test_class_byte_rejects_channel_20():
    with pytest.raises(ValueError):
        cla(0x00, 20)


@pytest.mark.parametrize("mss,blocks", [(120, 3), (255, 2)])
def test_store_data_is_segmented(mss, blocks):
    payload = bytes(range(256)) + bytes(44)  # 300 bytes
    card = Echo()
    answer = Channel(card, 1, mss).store_data(payload)
    assert answer == b"\xbf\x2d\x00"
    assert len(card.sent) == blocks
    for number, apdu in enumerate(card.sent):
        last = number == blocks - 1
        assert apdu[:4] == bytes([0x81, 0xE2, 0x91 if last else 0x11, number])
        assert apdu[4] == len(apdu) - 6  # Lc, then Le
        assert apdu[-1] == 0x00  # Le 00 on every block
        assert len(apdu) - 6 == (len(payload) - mss * number if last else mss)
    assert b"".join(apdu[5:-1] for apdu in card.sent) == payload


def test_store_data_on_a_high_channel_uses_the_extended_class_byte():
    card = Echo()
    Channel(card, 7).store_data(b"\xbf\x2d\x00")
    assert card.sent[0][0] == 0xC3


def test_get_response_chains_are_followed_to_the_end():
    card = Scripted([
        ("81E29100", "61 00"),
        ("01C0000000", "AA" * 256 + "61 10"),
        ("01C0000010", "BB" * 16 + "61 02"),
        ("01C0000002", "CC CC 90 00"),
    ])
    assert Channel(card, 1).store_data(b"\xbf\x2d\x00") == b"\xaa" * 256 + b"\xbb" * 16 + b"\xcc\xcc"


def test_data_before_61xx_is_kept():
    card = Scripted([("81E29100", "AA AA 61 01"), ("01C0000001", "BB 90 00")])
    assert Channel(card, 1).store_data(b"\xbf\x2d\x00") == b"\xaa\xaa\xbb"


def test_6cxx_resends_the_same_command_with_the_right_le():
    card = Scripted([("01A40400", "6C 1A"), ("01A4040010" + ISDR_AID.hex().upper() + "1A", "6F 00 90 00")])
    assert Channel(card, 1).select(ISDR_AID) == b"\x6f\x00"


def test_6cxx_on_get_response_is_resent_with_the_right_le():
    card = Scripted([("81E29100", "61 05"), ("01C0000005", "6C 03"), ("01C0000003", "01 02 03 90 00")])
    assert Channel(card, 1).store_data(b"\xbf\x2d\x00") == b"\x01\x02\x03"


def test_91xx_counts_as_success():
    card = Scripted([("81E29100", "BF 31 03 80 01 00 91 0B")])
    assert Channel(card, 1).store_data(b"\xbf\x31\x00") == bytes.fromhex("BF3103800100")


def test_a_failing_status_word_names_the_command_and_the_sw():
    card = Scripted([("81E29100", "6A 80")])
    with pytest.raises(StatusWordError) as caught:
        Channel(card, 1).store_data(b"\xbf\x2d\x00", "GetProfilesInfo")
    assert caught.value.sw == 0x6A80
    assert "GetProfilesInfo failed with status word 6A80 (incorrect data)" in str(caught.value)


def test_logical_channel_is_opened_selected_and_closed():
    card = Scripted([("0070000001", "02 90 00"), ("02A40400", "61 02"), ("02C0000002", "6F 00 90 00"),
                     ("00708002", "90 00")])
    with open_isdr(card) as channel:
        assert channel.number == 2  # the number the card gave, not 1
    assert len(card.answers) == 0
    assert card.sent[-1] == bytes.fromhex("00708002")


def test_refused_manage_channel_falls_back_to_the_basic_channel():
    notes = []
    card = Scripted([("0070000001", "68 81"), ("00A40400", "90 00")])
    with open_isdr(card, note=notes.append) as channel:
        assert channel.number == 0
    assert "basic channel" in notes[0]
    assert len(card.sent) == 2  # channel 0 is never closed


def test_channel_is_closed_even_when_the_operation_fails():
    card = Scripted([("0070000001", "01 90 00"), ("01A40400", "90 00"), ("81E29100", "6F 00"),
                     ("00708001", "90 00")])
    with pytest.raises(StatusWordError):
        with open_isdr(card) as channel:
            channel.store_data(b"\xbf\x2d\x00")
    assert card.sent[-1] == bytes.fromhex("00708001")


def test_missing_isdr_is_reported_with_its_status_word():
    card = Scripted([("0070000001", "01 90 00"), ("01A40400", "6A 82"), ("00708001", "90 00")])
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(card):
            pass
    assert caught.value.sw == 0x6A82
