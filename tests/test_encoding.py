import pytest

from lpa.encoding import (
    OPERATIONS,
    PPR_BITS,
    bits_to_names,
    check_iccid,
    iccid_from_bytes,
    iccid_to_bytes,
    looks_like_aid,
    names_to_bits,
    operation_bits,
    operation_name,
    parse_aid,
    simple_tlv,
    simple_tlv_encode,
    split_tags,
    version_str,
)
from lpa.errors import InputError


def test_iccid_nibbles_are_swapped():
    assert iccid_to_bytes("89014103211118510720").hex() == "98101430121181157002"


def test_19_digit_iccid_is_padded_with_f_to_10_bytes():
    encoded = iccid_to_bytes("8944476500001234567")
    assert len(encoded) == 10
    assert encoded.hex().upper().endswith("F7")
    assert iccid_from_bytes(encoded) == "8944476500001234567"


def test_18_digit_iccid_is_sent_as_10_bytes():
    encoded = iccid_to_bytes("894447650000123456")
    assert len(encoded) == 10 and encoded[-1] == 0xFF
    assert iccid_from_bytes(encoded) == "894447650000123456"


@pytest.mark.parametrize("bad", ["8944", "894447650000123456789012", "89444765000012345a7", "", "８９" * 9 + "12",
                                 "8944 476500001234567"])
def test_malformed_iccids_are_refused(bad):
    with pytest.raises(InputError):
        check_iccid(bad)


def test_iccid_without_valid_luhn_digit_is_accepted():
    assert check_iccid("89014103211118510721")


def test_aid_parsing():
    assert parse_aid("A0000005591010FFFFFFFF8900000100") == bytes.fromhex("A0000005591010FFFFFFFF8900000100")
    for bad in ("A00000055", "zz00000559", "A0" * 17):
        with pytest.raises(InputError):
            parse_aid(bad)


def test_aids_are_told_from_iccids():
    assert looks_like_aid("A0000005591010FFFFFFFF8900001000")
    assert not looks_like_aid("89014103211118510720")
    assert not looks_like_aid("work")


def test_notification_event_bits():
    for number, name in enumerate(OPERATIONS):
        value = operation_bits(name)
        assert value[1] == number + 1
        assert operation_name(value) == name


def test_ppr_bit_strings_round_trip_with_trailing_zeros_dropped():
    assert names_to_bits(["ppr2"], PPR_BITS) == (b"\x20", 3)
    assert names_to_bits(["ppr1"], PPR_BITS) == (b"\x40", 2)
    assert bits_to_names((b"\x60", 3), PPR_BITS) == ["ppr1", "ppr2"]
    assert names_to_bits([], PPR_BITS) == (b"", 0)


def test_version():
    assert version_str(b"\x02\x02\x00") == "2.2.0"


def test_simple_tlv_round_trip_and_truncation():
    fields = {0x81: b"\x02", 0x82: b"\x00\x01\x00\x00"}
    assert simple_tlv(simple_tlv_encode(fields)) == fields
    with pytest.raises(ValueError):
        simple_tlv(b"\x82\x04\x00")


def test_tag_lists_split_into_single_and_two_byte_tags():
    assert split_tags(bytes.fromhex("5A4F9F7090B6")) == [b"\x5a", b"\x4f", b"\x9f\x70", b"\x90", b"\xb6"]
