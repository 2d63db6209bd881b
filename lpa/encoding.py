"""Value encodings of SGP.22 that sit below ASN.1: ICCID, AID, EID, versions, bit strings.

Both sides use these: the LPA to build requests and read answers, the
simulated eUICC to read requests and build answers.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import InputError

#: NotificationEvent bit numbers (SGP.22 2.4a / ASN.1 NotificationEvent).
OPERATIONS = ("install", "enable", "disable", "delete")

#: ProfileState, ProfileClass and IconType values, by number (SGP.22 5.7.15).
PROFILE_STATES = ("disabled", "enabled")
PROFILE_CLASSES = ("test", "provisioning", "operational")
ICON_TYPES = ("jpeg", "png")

#: UICCCapability bit names (ASN.1 UICCCapability).
UICC_CAPABILITY = (
    "contactlessSupport", "usimSupport", "isimSupport", "csimSupport", "akaMilenage", "akaCave",
    "akaTuak128", "akaTuak256", "rfu1", "rfu2", "gbaAuthenUsim", "gbaAuthenISim", "mbmsAuthenUsim",
    "eapClient", "javacard", "multos", "multipleUsimSupport", "multipleIsimSupport",
    "multipleCsimSupport", "berTlvFileSupport", "dfLinkSupport", "catTp", "getIdentity",
    "profile-a-x25519", "profile-b-p256", "suciCalculatorApi",
)
#: RspCapability bit names (ASN.1 RspCapability).
RSP_CAPABILITY = ("additionalProfile", "crlSupport", "rpmSupport", "testProfileSupport",
                   "deviceInfoExtensibilitySupport")
#: PprIds bit numbers (SGP.22 2.4a / ASN.1 PprIds).
PPR_BITS = {"pprUpdateControl": 0, "ppr1": 1, "ppr2": 2}

#: CancelSessionReason (SGP.22 5.7.14).
CANCEL_REASONS = {"endUserRejection": 0, "postponed": 1, "timeout": 2, "pprNotAllowed": 3, "metadataMismatch": 4,
                  "loadBppExecutionError": 5, "undefinedReason": 127}

#: EuiccMemoryResetRequest resetOptions, by bit (SGP.22 5.7.19).
RESET_OPTIONS = ("deleteOperationalProfiles", "deleteFieldLoadedTestProfiles", "resetDefaultSmdpAddress")

#: ProfileInfo fields and their tags (SGP.22 5.7.15, ASN.1 ProfileInfo).
PROFILE_INFO_TAGS = {
    "iccid": b"\x5a",
    "isdpAid": b"\x4f",
    "profileState": b"\x9f\x70",
    "profileNickname": b"\x90",
    "serviceProviderName": b"\x91",
    "profileName": b"\x92",
    "iconType": b"\x93",
    "icon": b"\x94",
    "profileClass": b"\x95",
    "notificationConfigurationInfo": b"\xb6",
    "profileOwner": b"\xb7",
    "dpProprietaryData": b"\xb8",
    "profilePolicyRules": b"\x99",
}


def iccid_to_bytes(iccid: str) -> bytes:
    """Encode an ICCID as the 10 bytes of EFiccid: BCD, nibbles swapped, F padded.

    >>> iccid_to_bytes("89014103211118510720").hex()
    '98101430121181157002'
    """
    check_iccid(iccid)
    digits = iccid.ljust(20, "F")
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, 20, 2)))


def iccid_from_bytes(data: bytes) -> str:
    """Decode EFiccid bytes (nibble-swapped BCD, F padded) into the ICCID digits."""
    swapped = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return swapped.rstrip("F")


def check_iccid(iccid: str) -> str:
    """Return ``iccid`` if it has 18 to 20 decimal digits, else raise InputError.

    The Luhn digit is not checked: some cards carry ICCIDs without one.
    """
    if not iccid.isdigit() or not iccid.isascii():
        raise InputError(f"ICCID {iccid!r} must be decimal digits only")
    if not 18 <= len(iccid) <= 20:
        raise InputError(f"ICCID {iccid} has {len(iccid)} digits; an ICCID has 18 to 20")
    return iccid


#: Format characters that reorder text (Unicode bidirectional controls).
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control(char: str) -> bool:
    """A control character (C0, DEL, C1) or a bidirectional control: never shown raw, never in a nickname."""
    return unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS


def check_nickname(nickname: str) -> str:
    """Return ``nickname`` if it fits profileNickname (SGP.22 5.7.21: UTF-8, at most 64 bytes)
    and holds no control characters; else raise InputError."""
    size = len(nickname.encode("utf-8"))
    if size > 64:
        raise InputError(f"nickname is {size} bytes of UTF-8; at most 64 fit")
    bad = next((char for char in nickname if is_control(char)), None)
    if bad is not None:
        raise InputError(f"nickname holds the control character U+{ord(bad):04X}; use printable text")
    return nickname


def parse_aid(text: str) -> bytes:
    """Parse an AID given as hex (5 to 16 bytes) or raise InputError."""
    cleaned = text.replace(" ", "").replace(":", "")
    try:
        aid = bytes.fromhex(cleaned)
    except ValueError:
        raise InputError(f"AID {text!r} is not hexadecimal") from None
    if not 5 <= len(aid) <= 16:
        raise InputError(f"AID {text} has {len(aid)} bytes; an AID has 5 to 16")
    return aid


def looks_like_aid(text: str) -> bool:
    """Tell an ISD-P AID (10 to 32 hex digits with a letter, or 32 hex digits) from an ICCID."""
    if not 10 <= len(text) <= 32 or len(text) % 2:
        return False
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return not text.isdigit() or len(text) == 32


def version_str(data: bytes) -> str:
    """VersionType (3 bytes major, minor, revision) as "2.2.0"."""
    return ".".join(str(b) for b in data)


def bits_to_names(value: tuple[bytes, int], names: dict[str, int] | tuple[str, ...]) -> list[str]:
    """Names of the bits set in an asn1tools BIT STRING ``(bytes, length)``."""
    data, length = value
    numbered = dict(enumerate(names)) if isinstance(names, tuple) else {n: k for k, n in names.items()}
    return [
        numbered.get(bit, f"bit{bit}")
        for bit in range(length)
        if data[bit // 8] & (0x80 >> (bit % 8))
    ]


def names_to_bits(selected: list[str] | set[str], names: dict[str, int] | tuple[str, ...]) -> tuple[bytes, int]:
    """An asn1tools BIT STRING with the named bits set, trailing zero bits dropped (DER)."""
    numbers = {n: k for k, n in enumerate(names)} if isinstance(names, tuple) else names
    bits = sorted(numbers[name] for name in selected)
    if not bits:
        return b"", 0
    length = bits[-1] + 1
    data = bytearray((length + 7) // 8)
    for bit in bits:
        data[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(data), length


def operation_bits(operation: str) -> tuple[bytes, int]:
    """NotificationEvent with the one bit of ``operation`` set."""
    return names_to_bits([operation], OPERATIONS)


def operation_name(value: tuple[bytes, int]) -> str:
    """The operation a NotificationMetadata's NotificationEvent names (one bit set; its lowest)."""
    names = bits_to_names(value, OPERATIONS)
    return names[0] if names else "unknown"


def operation_names(value: tuple[bytes, int]) -> tuple[str, ...]:
    """Every operation a notificationConfigurationInfo entry's NotificationEvent sets.

    Unlike NotificationMetadata, such an entry may set several bits: a real
    eSIM.me card lists enable, disable and delete in one entry for one
    SM-DP+ address (docs/cards-and-modems.md, "Notification configuration").
    """
    return tuple(bits_to_names(value, OPERATIONS))


def simple_tlv(data: bytes) -> dict[int, bytes]:
    """Split ETSI TS 102 226 simple-TLV data (one-byte tags and lengths) by tag.

    Used for EUICCInfo2.extCardResource, which is not ASN.1 but a
    concatenation of such TLVs. Raises ValueError on a truncated TLV.
    """
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated TLV header")
        tag, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ValueError(f"TLV {tag:02X} is truncated")
        fields[tag] = value
        pos += 2 + length
    return fields


def split_tags(tag_list: bytes) -> list[bytes]:
    """Split a tag list (ASN.1 tag list, tag 5C) into single BER tags."""
    tags = []
    pos = 0
    while pos < len(tag_list):
        end = pos + 1
        if tag_list[pos] & 0x1F == 0x1F:
            while end < len(tag_list) and tag_list[end] & 0x80:
                end += 1
            end += 1
        tags.append(tag_list[pos:end])
        pos = end
    return tags


def simple_tlv_encode(fields: dict[int, bytes]) -> bytes:
    """The inverse of :func:`simple_tlv`: one-byte tags, values under 256 bytes."""
    return b"".join(bytes([tag, len(value)]) + value for tag, value in fields.items())


#: The deepest JSON nesting lpa parses (servers' answers nest three levels, lpa's files four).
MAX_DEPTH = 32


def parse_json(content: bytes | str) -> Any:
    """JSON from outside (a server, a file), bounded: at most :data:`MAX_DEPTH` levels of nesting, no NaN or
    Infinity, lone surrogates (``"\\ud800"``) replaced by U+FFFD; ValueError if it is not such JSON."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    depth = deepest = 0
    for bracket in re.findall(_BRACKETS, re.sub(_STRINGS, '""', text, flags=re.DOTALL)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    import json

    return _mend(json.loads(text, parse_constant=_no_constant))


#: Patterns compiled when first used (by re's cache): only parse_json and hostile text need them, and
#: compiling them costs every command's start half a millisecond.
_STRINGS = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_BRACKETS = r"[\[\]{}]"
_SURROGATE = "[\ud800-\udfff]"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def without_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (which no UTF-8 output can carry) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate cannot be encoded
        return re.sub(_SURROGATE, "\ufffd", text)
    return text


def _mend(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, list):
        return [_mend(item) for item in value]
    if isinstance(value, dict):
        return {_mend(key): _mend(item) for key, item in value.items()}
    return value
