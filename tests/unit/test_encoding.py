import pytest

from lpa.encoding import (
    OPERATIONS,
    PPR_BITS,
    UICC_CAPABILITY,
    bits_to_names,
    check_iccid,
    check_nickname,
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
from lpa.errors import InputError, ProtocolError


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


@pytest.mark.parametrize("digits", [18, 19, 20])
def test_iccids_of_18_to_20_digits_are_accepted(digits):
    assert iccid_from_bytes(iccid_to_bytes("8" * digits)) == "8" * digits


def test_a_21_digit_iccid_is_refused_before_it_is_encoded():
    for refuse in (check_iccid, iccid_to_bytes):
        with pytest.raises(InputError, match="21 digits"):
            refuse("8" * 21)


def test_aids_of_5_to_16_bytes_are_accepted():
    assert parse_aid("A000000559") == bytes.fromhex("A000000559")
    assert parse_aid("A0 00 00 05 59") == bytes.fromhex("A000000559")
    assert len(parse_aid("A0" * 16)) == 16
    with pytest.raises(InputError, match="4 bytes"):
        parse_aid("A0000005")


@pytest.mark.parametrize("text, aid", [
    ("A000000559", True),               # 5 bytes, the shortest AID
    ("A00000055", False),              # odd number of hex digits
    ("A0" * 16, True),                  # 16 bytes, the longest
    ("A0" * 16 + "01", False),
    ("1" * 32, True),                   # 32 digits: too long for an ICCID
    ("1" * 20, False),                  # 20 digits: an ICCID
    ("A" * 20, True),                   # hex with a letter
    ("work-phone", False),
])
def test_aids_are_told_from_iccids_and_nicknames_at_the_edges(text, aid):
    assert looks_like_aid(text) is aid


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x7f", "\x85", "\u202e", "\u2066"])
def test_nicknames_with_control_or_bidi_characters_are_refused(char):
    with pytest.raises(InputError, match=f"U\\+{ord(char):04X}"):
        check_nickname(f"work{char}")
    assert check_nickname("Arbeit \u00e9t\u00e9 \u4e2d") == "Arbeit \u00e9t\u00e9 \u4e2d"


def test_ppr_update_control_is_bit_0():
    assert names_to_bits(["pprUpdateControl"], PPR_BITS) == (b"\x80", 1)
    assert bits_to_names((b"\xe0", 3), PPR_BITS) == ["pprUpdateControl", "ppr1", "ppr2"]


def test_capabilities_at_bit_8_and_above_round_trip():
    # rfu1 is bit 8, gbaAuthenISim bit 11, suciCalculatorApi bit 25 (ASN.1 UICCCapability)
    assert UICC_CAPABILITY[8] == "rfu1" and UICC_CAPABILITY[11] == "gbaAuthenISim"
    assert names_to_bits(["rfu1"], UICC_CAPABILITY) == (b"\x00\x80", 9)
    assert names_to_bits(["gbaAuthenISim", "usimSupport"], UICC_CAPABILITY) == (b"\x40\x10", 12)
    assert names_to_bits(["suciCalculatorApi"], UICC_CAPABILITY) == (b"\x00\x00\x00\x40", 26)
    assert bits_to_names((b"\x40\x10", 12), UICC_CAPABILITY) == ["usimSupport", "gbaAuthenISim"]


@pytest.mark.parametrize("data", [b"\x81", b"\x81\x01\x05\x82"])
def test_a_simple_tlv_with_a_lone_header_byte_is_truncated(data):
    with pytest.raises(ValueError, match="truncated TLV header"):
        simple_tlv(data)
    assert simple_tlv(b"\x81\x01\x05\x82\x00") == {0x81: b"\x05", 0x82: b""}


def test_a_bit_string_of_whole_bytes_has_no_extra_byte():
    assert names_to_bits(["akaTuak256"], UICC_CAPABILITY) == (b"\x01", 8)  # bit 7: one byte, all bits used


@pytest.mark.parametrize("tag_list, tags", [
    ("9F817F5A", ["9F817F", "5A"]),   # a three-byte tag: 81 continues, 7F ends it
    ("5A9F70", ["5A", "9F70"]),
    ("5A9F81", ["5A", "9F81"]),       # cut short after a continuation byte: what is there, no IndexError
])
def test_multi_byte_tags_in_a_tag_list(tag_list, tags):
    assert [t.hex().upper() for t in split_tags(bytes.fromhex(tag_list))] == tags


@pytest.mark.parametrize("answer, problem", [
    ("BF2D03820100", "an alternative this lpa does not know; a newer SGP.22 version?"),  # a CHOICE [2] SGP.22 v2 lacks
    ("BF2D08A006E3049902090A", "a BIT STRING with an impossible unused-bits count"),  # 9 unused bits of 8
    ("BF2D178115" + "01" + "00" * 20, "an integer of 161 bits"),
])
def test_a_decodable_but_unusable_answer_is_refused_with_what_is_wrong(answer, problem):
    from lpa import codec

    with pytest.raises(ProtocolError) as caught:
        codec.decode("ProfileInfoListResponse", bytes.fromhex(answer))
    assert str(caught.value) == \
        f"the card's answer is not a usable ProfileInfoListResponse ({problem}); answer: {answer}"


def test_the_largest_integer_the_module_holds_is_usable():
    from lpa import codec

    assert codec.decode("ProfileInfoListResponse", bytes.fromhex("BF2D17811500" + "FF" * 20)) == \
        ("profileInfoListError", 2 ** 160 - 1)  # 20 octets: a certificate serial number's most


@pytest.mark.parametrize("size, shown", [(48, "30" + "00" * 47), (49, "30" + "00" * 47 + "...")])
def test_an_answer_in_an_error_is_cut_after_48_bytes(size, shown):
    from lpa import codec

    with pytest.raises(ProtocolError) as caught:
        codec.decode("ProfileInfoListResponse", b"\x30" + bytes(size - 1))
    assert str(caught.value).endswith(f"; answer: {shown}")


def test_a_missing_asn1tools_is_named(monkeypatch):
    import importlib.util

    from lpa import codec

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="asn1tools is not installed"):
        codec._asn1tools_dir()
