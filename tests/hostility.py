"""A hostile SM-DP+ and hostile files, shared by tests/e2e/test_hostile*.py and scripts/hostile.py (the campaign).

:class:`HostileSmdpp` is the test SM-DP+ whose answers to chosen ES9+
functions pass through a mutation: truncated, fields huge, nested deeply,
wrongly typed, dropped, mis-encoded (invalid UTF-8, lone surrogates,
NaN), their base64 contents mutated (so that the ASN.1 the SM-DP+ signed
is broken), or the status made strange. lpa must answer each with one
line naming the server and an exit code, never an internal error.
"""
from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from lpa.sim.servers.smdpp import TestSmdpp

#: The ES9+ functions a download and a notification call.
FUNCTIONS = ("initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "cancelSession",
             "handleNotification")

Mutation = Callable[[bytes], bytes]


@dataclass
class HostileSmdpp(TestSmdpp):
    """The test SM-DP+, its answer to each function in :attr:`hostile` mutated (HTTP 200, JSON)."""

    hostile: dict[str, Mutation] = field(default_factory=dict)

    def route(self, request: Any, interface: str, function: str, headers: dict[str, str], body: bytes) -> None:
        mutate = self.hostile.get(function)
        if mutate is not None:
            reply = request.reply

            def hostile_reply(status: int, answer: bytes = b"", content_type: str = "text/plain",
                              headers: tuple[tuple[str, str], ...] = ()) -> None:
                reply(200, mutate(answer or _SUCCESS), "application/json", headers)

            request.reply = hostile_reply
        super().route(request, interface, function, headers, body)


_SUCCESS = json.dumps({"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}).encode()
_WRONG_TYPES: list[Any] = [None, True, 0, -1, 1.5, 10**40, "", "x", "\u202e", [], {}, [1], {"a": 1}]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    if value is _DROP:
        del document[path[-1]]
    else:
        document[path[-1]] = value


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


_DROP = object()


def _flip(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few bytes changed, cut, or grown."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(4)
        if kind == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1 and data:
            del data[rng.randrange(len(data)):]
        elif kind == 2:
            data[rng.randrange(len(data) + 1):0] = rng.randbytes(rng.randint(1, 8))
        elif data:
            i = rng.randrange(len(data))
            data[i] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xFF))
    return bytes(data)


def mutation(rng: random.Random) -> tuple[str, Mutation]:
    """A random mutation of a JSON answer: (what it does, the function)."""
    kind = rng.choice(["truncate", "nest", "huge", "type", "drop", "utf8", "surrogate", "nan", "base64", "status",
                       "garbage", "empty"])

    def apply(answer: bytes) -> bytes:
        if kind == "truncate":
            return answer[:rng.randrange(len(answer) + 1)]
        if kind == "garbage":
            return rng.randbytes(rng.randint(0, 200))
        if kind == "empty":
            return rng.choice([b"", b"{}", b"[]", b"null", b'"x"', b"1"])
        if kind == "utf8":
            i = rng.randrange(len(answer) + 1)
            return answer[:i] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + answer[i:]
        document = json.loads(answer)
        paths = _paths(document) or [()]
        path = rng.choice(paths)
        if kind == "nest":
            depth = rng.choice([50, 1000, 100000])
            nested = "[" * depth + "]" * depth
            if not path:
                return nested.encode()
            return json.dumps(document).replace(json.dumps(_get(document, path)), nested, 1).encode() \
                if isinstance(_get(document, path), str) else nested.encode()
        if not path:
            return answer
        if kind == "huge":
            _set(document, path, rng.choice(["00" * rng.choice([100, 20000, 100000]), "A" * 300000,
                                             base64.b64encode(bytes(40000)).decode()]))
        elif kind == "type":
            _set(document, path, rng.choice(_WRONG_TYPES))
        elif kind == "drop":
            _set(document, path, _DROP)
        elif kind == "surrogate":
            value = _get(document, path)
            _set(document, path, (value if isinstance(value, str) else "") + "\ud800\u001b[31m")
        elif kind == "nan":
            _set(document, path, float(rng.choice(["nan", "inf", "-inf"])))
        elif kind == "base64":
            value = _get(document, path)
            try:
                decoded = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
            except ValueError:
                decoded = b""
            _set(document, path, base64.b64encode(_flip(decoded, rng)).decode())
        elif kind == "status":
            document.setdefault("header", {})["functionExecutionStatus"] = rng.choice([
                {"status": rng.choice(_WRONG_TYPES)},
                {"status": "Failed", "statusCodeData": rng.choice(_WRONG_TYPES)},
                {"status": "Failed", "statusCodeData": {"subjectCode": rng.choice(_WRONG_TYPES),
                                                        "reasonCode": rng.choice(_WRONG_TYPES),
                                                        "message": "\ud800\u001b]0;owned\u0007" * 50}},
            ])
        return json.dumps(document, allow_nan=True).encode()

    return kind, apply


def png(width: int, height: int, pixels: bytes | None = None) -> bytes:
    """A PNG declaring ``width`` x ``height`` (RGB) whose data is ``pixels`` (default: none at all)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(pixels or b"")) + chunk(b"IEND", b"")


def hostile_image(rng: random.Random) -> tuple[str, bytes]:
    """A hostile image file: (what it is, its bytes)."""
    kind = rng.choice(["huge-header", "wide", "truncated", "flipped", "random", "empty", "other-format"])
    small = png(8, 8, bytes(8 * 25))
    if kind == "huge-header":
        return kind, png(rng.choice([30000, 65535, 2**31 - 1]), rng.choice([30000, 65535, 2**31 - 1]))
    if kind == "wide":
        return kind, png(rng.randint(10**6, 10**8), 1)
    if kind == "truncated":
        return kind, small[:rng.randrange(len(small))]
    if kind == "flipped":
        return kind, _flip(small, rng)
    if kind == "random":
        return kind, rng.randbytes(rng.randint(1, 4000))
    if kind == "empty":
        return kind, b""
    return kind, rng.choice([b"GIF89a" + rng.randbytes(40), b"\xff\xd8\xff\xe0" + rng.randbytes(60),
                             b"BM" + rng.randbytes(60), b"RIFF\x00\x00\x00\x00WEBPVP8 " + rng.randbytes(30)])
