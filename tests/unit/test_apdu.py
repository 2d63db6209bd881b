"""The APDU layer against scripted cards: framing, chaining, channels, errors."""
from __future__ import annotations

import pytest

from lpa.apdu import ISDR_AID, KNOWN_ISDR_AIDS, Channel, NoIsdrError, cla, open_isdr
from lpa.errors import ProtocolError, StatusWordError
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
    card = Scripted([("81E2910003BF2D0000", "6C 1A"), ("81E2910003BF2D001A", "BF 2D 00 90 00")])
    assert Channel(card, 1).store_data(b"\xbf\x2d\x00") == b"\xbf\x2d\x00"


def test_6cxx_on_get_response_is_resent_with_the_right_le():
    card = Scripted([("81E29100", "61 05"), ("01C0000005", "6C 03"), ("01C0000003", "01 02 03 90 00")])
    assert Channel(card, 1).store_data(b"\xbf\x2d\x00") == b"\x01\x02\x03"


@pytest.mark.parametrize("sw", ["91 0B", "91 00", "91 FF"])
def test_91xx_counts_as_success(sw):
    card = Scripted([("81E29100", "BF 31 03 80 01 00 " + sw)])
    assert Channel(card, 1).store_data(b"\xbf\x31\x00") == bytes.fromhex("BF3103800100")


def test_91xx_at_the_end_of_a_get_response_chain_counts_as_success():
    # the 9esim capture: 82C0000006 -> BF3203800100 910B
    card = Scripted([("82E29100", "61 06"), ("02C0000006", "BF 32 03 80 01 00 91 0B")])
    assert Channel(card, 2).store_data(bytes.fromhex("BF32")) == bytes.fromhex("BF3203800100")


def test_a_refused_block_is_not_resent_smaller_unless_the_card_said_wrong_length():
    card = Scripted([("80E21100", "6A 80")])
    with pytest.raises(StatusWordError) as caught:
        Channel(card, 0, mss=120).store_data(bytes(200), "SetNickname")
    assert caught.value.sw == 0x6A80 and len(card.sent) == 1


def test_wrong_length_resends_the_whole_sequence_in_smaller_segments():
    notes = []
    card = Scripted([("80E2110078", "67 00"), ("80E2110040", "90 00"), ("80E2110140", "90 00"),
                     ("80E2910208", "BF 29 03 80 01 00 90 00")])
    assert Channel(card, 0, mss=120, note=notes.append).store_data(bytes(136)) == bytes.fromhex("BF2903800100")
    assert "segment size 64 from now on" in notes[0]


def test_a_failing_status_word_names_the_command_and_the_sw():
    card = Scripted([("81E29100", "6A 80")])
    with pytest.raises(StatusWordError) as caught:
        Channel(card, 1).store_data(b"\xbf\x2d\x00", "GetProfilesInfo")
    assert caught.value.sw == 0x6A80
    assert "GetProfilesInfo failed with status word 6A80 (incorrect data)" in str(caught.value)


STANDARD = ISDR_AID.hex().upper()


def test_the_basic_channel_is_used_by_default_and_the_fci_is_not_fetched():
    card = Scripted([("00A4040010" + STANDARD, "61 21"), ("80E29100", "BF 2D 02 A0 00 90 00")])
    with open_isdr(card) as channel:
        assert channel.number == 0
        channel.store_data(b"\xbf\x2d\x00")
    assert card.sent[0] == bytes.fromhex("00A4040010" + STANDARD)  # no Le: lpac's form
    assert len(card.sent) == 2  # no MANAGE CHANNEL, no GET RESPONSE of the FCI, nothing to close


def test_logical_channel_is_opened_selected_and_closed():
    card = Scripted([("0070000001", "02 90 00"), ("02A40400", "61 21"), ("00708002", "90 00")])
    with open_isdr(card, logical_channel=True) as channel:
        assert channel.number == 2  # the number the card gave, not 1
    assert len(card.answers) == 0
    assert card.sent[-1] == bytes.fromhex("00708002")


def test_refused_manage_channel_falls_back_to_the_basic_channel():
    notes = []
    card = Scripted([("0070000001", "68 81"), ("00A40400", "90 00")])
    with open_isdr(card, note=notes.append, logical_channel=True) as channel:
        assert channel.number == 0
    assert "basic channel" in notes[0]
    assert len(card.sent) == 2  # channel 0 is never closed


@pytest.mark.parametrize("sw", ["6881", "6999", "6A81", "6D00"])
def test_isdr_refused_on_a_logical_channel_is_selected_on_the_basic_channel(sw):
    notes = []
    card = Scripted([("0070000001", "01 90 00"), ("01A4040010" + STANDARD, sw), ("00A4040010" + STANDARD, "61 21"),
                     ("00708001", "90 00"), ("80E29100", "BF 2D 02 A0 00 90 00")])
    with open_isdr(card, note=notes.append, logical_channel=True) as channel:
        channel.store_data(b"\xbf\x2d\x00")
    assert channel.number == 0 and not card.answers
    assert notes == [f"SELECT on logical channel 1 answered {sw}; using the basic channel"]


def test_a_5ber_on_a_logical_channel_is_found_at_its_own_aid_on_the_basic_channel():
    # the 5ber capture: 6999 for everything on channel 1, 6A82 for the standard AID on channel 0
    fiveber = "A0000005591010FFFFFFFF8900050500"
    card = Scripted([("0070000001", "01 90 00"), ("01A4040010" + STANDARD, "6999"), ("00A4040010" + STANDARD, "6A82"),
                     ("01A4040010" + fiveber, "6999"), ("00A4040010" + fiveber, "6121"), ("00708001", "90 00")])
    with open_isdr(card, [ISDR_AID, bytes.fromhex(fiveber)], logical_channel=True) as channel:
        assert channel.number == 0 and channel.aid.hex().upper() == fiveber
    assert not card.answers


def test_channel_is_closed_even_when_the_operation_fails():
    card = Scripted([("0070000001", "01 90 00"), ("01A40400", "90 00"), ("81E29100", "6F 00"),
                     ("00708001", "90 00")])
    with pytest.raises(StatusWordError):
        with open_isdr(card, logical_channel=True) as channel:
            channel.store_data(b"\xbf\x2d\x00")
    assert card.sent[-1] == bytes.fromhex("00708001")


def test_missing_isdr_is_reported_with_its_status_word():
    card = Scripted([("0070000001", "01 90 00"), ("01A40400", "6A 82"), ("00708001", "90 00")])
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(card, logical_channel=True):
            pass
    assert caught.value.sw == 0x6A82


def test_the_no_isdr_message_names_exactly_the_aids_tried():
    aids = [aid for aid, _ in KNOWN_ISDR_AIDS]
    card = Scripted([("00A40400", "6A 82"), ("00A40400", "6A 82"), ("00A40400", "69 85")])
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(card, aids):
            pass
    assert caught.value.sw == 0x6985 and "refused SELECT of A0000005591010000000008900000300" in str(caught.value)
    card = Scripted([("00A40400", "6A 82")] * len(aids))
    with pytest.raises(NoIsdrError) as missing:
        with open_isdr(card, aids[:3]):
            pass
    assert missing.value.tried == tuple(aids[:3])
    assert aids[3].hex().upper() not in str(missing.value) and aids[2].hex().upper() in str(missing.value)


class ModemLike(Scripted):
    """A transport that uses the basic channel itself (an AT modem without AT+CCHO)."""

    needs_logical_channel = True


def test_a_transport_that_owns_the_basic_channel_never_gets_the_isdr_there():
    card = ModemLike([("0070000001", "68 81")])
    with pytest.raises(StatusWordError, match="does not use the basic channel"):
        with open_isdr(card):
            pass
    card = ModemLike([("0070000001", "01 90 00"), ("01A4040010" + STANDARD, "6999"), ("00708001", "90 00")])
    with pytest.raises(NoIsdrError):
        with open_isdr(card, [ISDR_AID]):
            pass
    assert all(apdu[0] != 0x00 or apdu[1] == 0x70 for apdu in card.sent)  # no SELECT on channel 0


@pytest.mark.parametrize("answer", ["00 90 00", "14 90 00", "90 00", "01 02 90 00"])
def test_manage_channel_with_an_unusable_channel_number_falls_back_to_the_basic_channel(answer):
    notes = []
    card = Scripted([("0070000001", answer), ("00A4040010" + STANDARD, "90 00")])
    with open_isdr(card, note=notes.append, logical_channel=True) as channel:
        assert channel.number == 0
    assert notes == [f"MANAGE CHANNEL answered {answer[:-6].replace(' ', '')} 9000; using the basic channel"]
    assert len(card.sent) == 2  # nothing to close


def test_manage_channel_channel_19_is_the_top_of_the_range():
    card = Scripted([("0070000001", "13 90 00"), ("4FA40400", "90 00"), ("00708013", "90 00")])
    with open_isdr(card, logical_channel=True) as channel:
        assert channel.number == 19
    assert not card.answers


@pytest.mark.parametrize("sw", ["6881", "6D00", "6E00", "6A81", "6985"])
def test_every_no_logical_channel_answer_falls_back_to_the_basic_channel(sw):
    card = Scripted([("0070000001", sw), ("00A4040010" + STANDARD, "90 00")])
    with open_isdr(card, logical_channel=True) as channel:
        assert channel.number == 0


def test_an_unexpected_manage_channel_answer_is_an_error_naming_it():
    card = Scripted([("0070000001", "6F 00")])
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(card, logical_channel=True):
            pass
    assert caught.value.sw == 0x6F00 and str(caught.value).startswith("MANAGE CHANNEL failed with status word 6F00")


@pytest.mark.parametrize("sw", ["6A82", "6D00", "6A86", "6999"])
def test_every_aid_not_found_answer_moves_on_to_the_next_known_aid(sw):
    fiveber = KNOWN_ISDR_AIDS[1][0].hex().upper()
    card = Scripted([("00A4040010" + STANDARD, sw), ("00A4040010" + fiveber, "90 00")])
    with open_isdr(card, [ISDR_AID, KNOWN_ISDR_AIDS[1][0]]) as channel:
        assert channel.aid.hex().upper() == fiveber


def test_any_other_select_refusal_stops_the_search_with_its_status_word():
    card = Scripted([("00A4040010" + STANDARD, "6982")])
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(card, [ISDR_AID, KNOWN_ISDR_AIDS[1][0]]):
            pass
    assert caught.value.sw == 0x6982 and "refused SELECT of " + STANDARD in str(caught.value)


def test_segments_are_120_bytes_by_default():
    card = Echo()
    Channel(card, 0).store_data(bytes(241))
    assert [apdu[4] for apdu in card.sent] == [120, 120, 1]


def test_wrong_length_falls_back_from_120_to_64_to_32_then_gives_up():
    notes = []
    card = Scripted([("80E2110078", "6700"), ("80E2110040", "6700"), ("80E2110020", "6700")])
    with pytest.raises(StatusWordError) as caught:
        Channel(card, 0, note=notes.append).store_data(bytes(200), "LoadBoundProfilePackage")
    assert caught.value.sw == 0x6700 and len(card.sent) == 3
    assert [n.split("; ")[1] for n in notes] == ["segment size 64 from now on (--mss 64)",
                                                  "segment size 32 from now on (--mss 32)"]


def test_a_full_120_byte_block_refused_as_too_long_is_resent_in_64_byte_blocks():
    card = Scripted([("80E2910078", "6700"), ("80E2110040", "9000"), ("80E2910138", "BF2900 9000")])
    assert Channel(card, 0).store_data(bytes(120)) == bytes.fromhex("BF2900")
    assert not card.answers


def test_a_larger_mss_refused_falls_back_to_120_first():
    card = Scripted([("80E21100FF", "6700"), ("80E2110078", "9000"), ("80E2110178", "9000"),
                     ("80E2910210", "BF2900 9000")])
    assert Channel(card, 0, mss=255).store_data(bytes(256)) == bytes.fromhex("BF2900")


@pytest.mark.parametrize("mss", [0, 256])
def test_a_segment_size_outside_1_to_255_is_refused(mss):
    with pytest.raises(ValueError, match=f"segment size {mss} out of range 1-255"):
        Channel(Echo(), 0, mss)


def test_segment_sizes_1_and_255_work():
    for mss, blocks in ((1, 3), (255, 1)):
        card = Echo()
        Channel(card, 0, mss).store_data(b"\xbf\x2d\x00")
        assert len(card.sent) == blocks


def test_a_sequence_of_more_than_256_blocks_is_refused_before_anything_is_sent():
    card = Echo()
    Channel(card, 0, mss=6).store_data(bytes(6 * 256))  # 256 blocks: P2 00 to FF
    assert len(card.sent) == 256 and card.sent[-1][3] == 0xFF
    card = Echo()
    with pytest.raises(ValueError, match="1537 bytes need more than 256 blocks of 6"):
        Channel(card, 0, mss=6).store_data(bytes(6 * 256 + 1))
    assert card.sent == []


class Endless(Transport):
    """A broken card: 61xx for ever."""

    name = "endless"

    def __init__(self) -> None:
        self.sent = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent += 1
        return b"\x00", 0x6101


def test_a_card_answering_61xx_for_ever_is_stopped_after_256_get_responses():
    card = Endless()
    with pytest.raises(ProtocolError, match="GetProfilesInfo: the card still answers 61xx after 256 GET RESPONSE"):
        Channel(card, 0).store_data(b"\xbf\x2d\x00", "GetProfilesInfo")
    assert card.sent == 1 + 256


def test_exchange_uses_the_iso_class_unless_proprietary():
    card = Scripted([("02CA0000", "9000"), ("82CA0000", "9000")])
    Channel(card, 2).exchange("GET DATA", 0xCA, 0, 0)
    Channel(card, 2).exchange("GET DATA", 0xCA, 0, 0, proprietary=True)
    assert not card.answers


class CchoModem(Scripted):
    """A transport that opens a channel and selects in one step (AT+CCHO), answering from a list."""

    opens_channel = True

    def __init__(self, outcomes):
        super().__init__([])
        self.outcomes = list(outcomes)

    def open_channel(self, aid):
        outcome = self.outcomes.pop(0)
        if not isinstance(outcome, bool):
            raise StatusWordError("AT+CCHO", outcome)
        return outcome

    def close_channel(self):
        pass


def test_a_channel_opened_by_the_transport_tries_each_aid_and_names_them_all():
    with pytest.raises(NoIsdrError) as caught:
        with open_isdr(CchoModem([0x6A82, 0x6A82]), [ISDR_AID, KNOWN_ISDR_AIDS[1][0]]):
            pass
    assert caught.value.sw == 0x6A82 and caught.value.tried == (ISDR_AID, KNOWN_ISDR_AIDS[1][0])
    with open_isdr(CchoModem([0x6A82, True]), [ISDR_AID, KNOWN_ISDR_AIDS[1][0]]) as channel:
        assert channel.aid == KNOWN_ISDR_AIDS[1][0]


def test_another_refusal_of_the_transports_channel_is_raised():
    with pytest.raises(StatusWordError) as caught:
        with open_isdr(CchoModem([0x6F00]), [ISDR_AID, KNOWN_ISDR_AIDS[1][0]]):
            pass
    assert caught.value.sw == 0x6F00 and not isinstance(caught.value, NoIsdrError)
