"""Fuzzing harness shared by the hypothesis tests and scripts/fuzz.py (the long campaign).

Valid card answers come from the simulated eUICC; mutations make them the
ways broken or hostile cards would: truncated, bytes flipped, lengths
changed, bytes inserted or deleted, wrapped in extra tags, or random.
:class:`Schema` makes well-formed answers with random contents from the
ASN.1 module itself: every alternative, odd integers (0 in an error
alternative, negative sequence numbers), absent optional fields, strings
and octet strings of the wrong size, unknown named bits. Every
ES10 response decoder, and the APDU layer answered by a random card, must
turn each input into a result or the project's own error (LpaError), never
into any other exception.
"""
from __future__ import annotations

import datetime
import random
import tempfile
from pathlib import Path
from typing import Any, Callable

from helpers import NORTHWIND, Answer
from lpa import codec, es10
from lpa.apdu import Channel
from lpa.encoding import iccid_to_bytes
from lpa.errors import LpaError
from lpa.paths import data_dir
from lpa.sim.card.isdr import Isdr
from lpa.sim.card.state import StateFile
from lpa.sim.pki.identity import Identity
from lpa.transport import Transport


ICCID = NORTHWIND
ICCID_BYTES = iccid_to_bytes(ICCID)

#: name -> (decoder called with a channel, the ES10 request the simulator answers validly, that request,
#: the response type the decoder reads)
DECODERS: dict[str, tuple[Callable[[Answer], object], str, object, str]] = {
    "GetEID": (es10.get_eid, "GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse"),
    "GetEuiccInfo1": (es10.get_euicc_info1, "GetEuiccInfo1Request", {}, "EUICCInfo1"),
    "GetEuiccInfo2": (es10.get_euicc_info2, "GetEuiccInfo2Request", {}, "EUICCInfo2"),
    "GetEuiccConfiguredAddresses": (es10.get_euicc_configured_addresses, "EuiccConfiguredAddressesRequest", {},
                                    "EuiccConfiguredAddressesResponse"),
    "GetProfilesInfo": (lambda ch: es10.get_profiles_info(ch, fields=None), "ProfileInfoListRequest", {},
                        "ProfileInfoListResponse"),
    "EnableProfile": (lambda ch: es10.enable_profile(ch, ICCID), "EnableProfileRequest",
                      {"profileIdentifier": ("iccid", ICCID_BYTES), "refreshFlag": False}, "EnableProfileResponse"),
    "DisableProfile": (lambda ch: es10.disable_profile(ch, ICCID), "DisableProfileRequest",
                       {"profileIdentifier": ("iccid", ICCID_BYTES), "refreshFlag": False}, "DisableProfileResponse"),
    "DeleteProfile": (lambda ch: es10.delete_profile(ch, ICCID), "DeleteProfileRequest",
                      ("iccid", ICCID_BYTES), "DeleteProfileResponse"),
    "SetNickname": (lambda ch: es10.set_nickname(ch, ICCID, "x"), "SetNicknameRequest",
                    {"iccid": ICCID_BYTES, "profileNickname": "x"}, "SetNicknameResponse"),
    "ListNotification": (es10.list_notification, "ListNotificationRequest", {}, "ListNotificationResponse"),
    "RetrieveNotificationsList": (es10.retrieve_notifications_list, "RetrieveNotificationsListRequest", {},
                                  "RetrieveNotificationsListResponse"),
    "RemoveNotificationFromList": (lambda ch: es10.remove_notification_from_list(ch, 1), "NotificationSentRequest",
                                   {"seqNumber": 1}, "NotificationSentResponse"),
}


def valid_answers() -> dict[str, list[bytes]]:
    """Valid answers of the simulated eUICC for each decoder (with notifications pending)."""
    with tempfile.TemporaryDirectory() as folder:
        state = StateFile(Path(folder) / "state.json").load()
    isdr = Isdr(state, Identity.builtin)
    answers: dict[str, list[bytes]] = {}
    for phase in range(2):
        for name, (_, request_type, request, _) in DECODERS.items():
            answers.setdefault(name, []).append(isdr.handle(codec.encode(request_type, request)))
        # second round: after operations, with notifications and other result codes
        state.add_notification(state.profiles[0], "delete")
        state.add_notification(state.profiles[0], "install", transaction_id="00" * 16)
    return answers


def _length_positions(data: bytearray) -> list[int]:
    return [i for i in range(1, len(data)) if data[i - 1] in (0x5A, 0x4F, 0xA0, 0x80, 0x81, 0x30, 0xE3, 0x2D,
                                                               0x2F, 0x0C, 0x04, 0x02) or data[i] & 0x80]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random mutations of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("truncate", "flip", "length", "insert", "delete", "nest", "random", "duplicate"))
        if kind == "truncate" and out:
            del out[rng.randrange(len(out)):]
        elif kind == "flip" and out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif kind == "length" and out:
            positions = _length_positions(out) or [rng.randrange(len(out))]
            out[rng.choice(positions)] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF, rng.randrange(256)))
        elif kind == "insert":
            position = rng.randint(0, len(out))
            out[position:position] = rng.randbytes(rng.randint(1, 8))
        elif kind == "delete" and out:
            position = rng.randrange(len(out))
            del out[position:position + rng.randint(1, 8)]
        elif kind == "nest":
            tag = rng.choice((b"\x30", b"\xa0", b"\xbf\x2d", b"\xe3", b"\x04"))
            inner = bytes(out[:127])
            out[:127] = tag + bytes([len(inner)]) + inner
        elif kind == "random":
            out = bytearray(rng.randbytes(rng.randint(0, 64)))
        elif kind == "duplicate" and out:
            start = rng.randrange(len(out))
            out[start:start] = out[start:start + rng.randint(1, 32)]
    return bytes(out)


def check(name: str, data: bytes) -> str | None:
    """Decode ``data`` with the decoder ``name``; the text of an unexpected exception, else None."""
    decoder = DECODERS[name][0]
    try:
        decoder(Answer(data))
    except LpaError:
        pass
    except Exception as error:  # what the fuzzing looks for
        return f"{name}: {type(error).__name__}: {error} on {data.hex().upper()}"
    return None


class RandomCard(Transport):
    """A card that answers each command with the next (data, SW) of ``answers``, then 6F00."""

    name = "random card"

    def __init__(self, answers: list[tuple[bytes, int]]) -> None:
        self.answers = list(answers)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return self.answers.pop(0) if self.answers else (b"", 0x6F00)


def check_apdu(answers: list[tuple[bytes, int]], payload: bytes, mss: int) -> str | None:
    """Send ``payload`` as STORE DATA to a :class:`RandomCard`; the text of an unexpected exception, else None."""
    try:
        result = Channel(RandomCard(answers), 1, mss).store_data(payload)
    except LpaError:
        return None
    except Exception as error:  # what the fuzzing looks for
        return f"APDU layer: {type(error).__name__}: {error} on {answers!r}, mss {mss}"
    return None if isinstance(result, bytes) else f"APDU layer returned {result!r}"


INTEGERS = (0, 1, 2, 3, 5, 127, 128, 255, 256, 65535, 2**31 - 1, 2**63 - 1, -1, -128, -(2**63))
STRINGS = ("", "a", "x" * 65, "Ünïcödé 📶", "line\nbreak\ttab\x00nul\x1b[31m", "\u202eevil", "smdp.example.com ")


class Schema:
    """Random, well-formed values of any type of the project's ASN.1 module."""

    def __init__(self) -> None:
        import asn1tools

        self.types: dict[str, dict[str, Any]] = {}
        for module in asn1tools.parse_files([str(p) for p in sorted(Path(data_dir("asn1")).glob("*.asn"))]).values():
            self.types.update(module["types"])

    def answer(self, type_name: str, rng: random.Random) -> bytes:
        """The DER encoding of a random value of ``type_name``."""
        return codec.encode(type_name, self.value(self.types[type_name], rng))

    def value(self, spec: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
        kind = spec["type"]
        if kind in self.types:
            return self.value(self.types[kind], rng, depth + 1)
        if kind in ("SEQUENCE", "SET"):
            members = [m for m in spec["members"] if isinstance(m, dict)]
            return {m["name"]: self.value(m, rng, depth + 1) for m in members
                    if not (m.get("optional") or "default" in m) or (depth < 12 and rng.random() < 0.6)}
        if kind in ("SEQUENCE OF", "SET OF"):
            return [self.value(spec["element"], rng, depth + 1) for _ in range(rng.randint(0, 3 if depth < 12 else 0))]
        if kind == "CHOICE":
            member = rng.choice([m for m in spec["members"] if isinstance(m, dict)])
            return member["name"], self.value(member, rng, depth + 1)
        if kind == "INTEGER":
            named = list(spec.get("named-numbers", {}).values())
            return rng.choice(named + list(INTEGERS)) if rng.random() < 0.7 else rng.randint(-1000, 1000)
        if kind == "ENUMERATED":
            return rng.choice([v[0] if isinstance(v, tuple) else v for v in spec["values"] if v != "..."])
        if kind == "BOOLEAN":
            return rng.random() < 0.5
        if kind == "NULL":
            return None
        if kind == "BIT STRING":
            bits = rng.randint(0, 16)
            return rng.randbytes((bits + 7) // 8), bits
        if kind == "OBJECT IDENTIFIER":
            return rng.choice(("2.23.146.1.2.1.0", "1.2.840.10045.4.3.2", "2.5.4.3")) + f".{rng.randint(0, 9)}"
        if kind in ("ANY", "ANY DEFINED BY"):
            return codec.encode("VersionType", rng.randbytes(3))  # some well-formed TLV
        if kind in ("UTCTime", "GeneralizedTime"):
            return datetime.datetime(rng.randint(1990, 2049), rng.randint(1, 12), rng.randint(1, 28))
        if kind in ("UTF8String", "BMPString", "UniversalString"):
            return rng.choice(STRINGS)
        if kind.endswith("String") and kind != "OCTET STRING":  # PrintableString, IA5String, ...
            return rng.choice(("", "ab1", "Z" * 70))
        if kind == "OCTET STRING":
            return rng.randbytes(_size(spec, rng))
        raise ValueError(f"no generator for ASN.1 type {kind}")



def _size(spec: dict[str, Any], rng: random.Random) -> int:
    """A length within the type's size constraint, or (one time in five) outside it."""
    size = spec.get("size")
    if not size or rng.random() < 0.2:
        return rng.randint(0, 40)
    bound = size[0]
    low, high = bound if isinstance(bound, tuple | list) else (bound, bound)
    return rng.randint(low, min(high, low + 40) if isinstance(high, int) else low + 40)
