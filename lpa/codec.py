"""The SGP.22 ASN.1 module (RSPDefinitions, asn1/): DER encoding, BER decoding, a safe compile cache.

Compiling the module with asn1tools costs over a second, so the compiled
specifications are pickled into the user's cache directory, keyed by a
hash of the .asn files and the asn1tools version. A pickle runs code when
loaded, so the cache is only read from a directory and file owned by the
user and writable by nobody else; anything else, or a cache that does not
load or is not what lpa wrote, is compiled afresh (and rewritten only where
that is safe).

Requests are encoded as DER (:func:`encode`). Answers from cards are
decoded with asn1tools' BER decoder (:func:`decode`), which reads every DER
encoding and the looser ones real cards send; such answers are accepted and
reported to the caller's ``note``. asn1tools' DER decoder is never used: it
loops forever on a SEQUENCE OF whose element has a wrong tag (found by
fuzzing; upstream eerimoq/asn1tools#180 and the unmerged #200, still so in
0.169.0). To make that impossible by accident, the DER specification is
only reachable through :class:`_Encoder`, which has no decode method.
"""
from __future__ import annotations

import copy
import hashlib
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ProtocolError
from .paths import cache_dir, data_dir

Note = Callable[[str], None]


class _Encoder:
    """The DER specification, for encoding only."""

    def __init__(self, der: Any) -> None:
        self._der = der

    def encode(self, type_name: str, value: Any) -> bytes:
        return bytes(self._der.encode(type_name, value))


_compiled: dict[str, Any] = {}


def _asn_files() -> list[Path]:
    return sorted(data_dir("asn1").glob("*.asn"))


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else (so that only the user could have put it there)."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _load() -> dict[str, Any]:
    import asn1tools

    files = _asn_files()
    digest = hashlib.sha256(asn1tools.__version__.encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    folder = cache_dir()
    cache = folder / f"asn1-{digest.hexdigest()[:16]}.pickle"
    if _private(folder) and _private(cache):
        try:
            with open(cache, "rb") as f:
                specs = pickle.load(f)
            if isinstance(specs, dict) and set(specs) == {"der", "ber"} and all(
                    type(s).__module__.startswith("asn1tools.") for s in specs.values()):
                return specs
        except Exception:  # noqa: BLE001 (any unreadable cache is simply rebuilt)
            pass
    parsed = asn1tools.parse_files([str(p) for p in files])  # parsing is most of the compile time: once
    specs = {codec: asn1tools.compile_dict(copy.deepcopy(parsed), codec) for codec in ("der", "ber")}
    _save(folder, cache, specs)
    return specs


def _save(folder: Path, cache: Path, specs: dict[str, Any]) -> None:
    """Write the cache if the folder is (or can be made) the user's own; otherwise go without."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".asn1-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(specs, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only or odd cache only costs the compile time


def _specs() -> dict[str, Any]:
    if not _compiled:
        specs = _load()
        _compiled.update(encoder=_Encoder(specs["der"]), decoder=specs["ber"])
    return _compiled


def encode(type_name: str, value: Any) -> bytes:
    """DER-encode ``value`` as the SGP.22 type ``type_name``."""
    return _specs()["encoder"].encode(type_name, value)


def decode(type_name: str, data: bytes, note: Note | None = None) -> Any:
    """Decode a card's answer ``data`` as ``type_name``; raise ProtocolError.

    The BER decoder reads every DER encoding and also the looser encodings
    real cards send (indefinite or long-form lengths, unknown extension
    fields, trailing bytes); such answers are accepted and ``note`` is told.
    """
    import asn1tools

    try:
        value = _specs()["decoder"].decode(type_name, data)
    except (asn1tools.Error, IndexError, ValueError, TypeError, RecursionError) as error:
        raise ProtocolError(f"the card's answer is not a valid {type_name} ({error}); answer: {_excerpt(data)}") from None
    problem = _implausible(value)
    if problem:
        raise ProtocolError(f"the card's answer is not a usable {type_name} ({problem}); answer: {_excerpt(data)}")
    if note is not None:
        try:
            strict = encode(type_name, value) == data
        except (asn1tools.Error, IndexError, ValueError, TypeError):
            strict = False
        if not strict:
            note(f"{type_name} is not strict DER (lengths, unknown fields or trailing bytes); accepted as BER")
    return value


def _implausible(value: Any) -> str | None:
    """What makes a decoded ``value`` unusable, or None.

    asn1tools decodes a CHOICE alternative unknown to the module as
    (None, None), a BIT STRING as (bytes, number of bits) even when the
    unused-bits count is out of range, and an INTEGER of any size; every
    integer of the module fits in 20 octets, the longest being certificate
    serial numbers (RFC 5280 4.1.2.2).
    """
    if isinstance(value, tuple):
        if value[:1] == (None,):
            return "an alternative this lpa does not know; a newer SGP.22 version?"
        if isinstance(value[0], (bytes, bytearray)) and not 0 <= value[1] <= 8 * len(value[0]):
            return "a BIT STRING with an impossible unused-bits count"
        return next(filter(None, map(_implausible, value)), None)
    if isinstance(value, list):
        return next(filter(None, map(_implausible, value)), None)
    if isinstance(value, dict):
        return next(filter(None, map(_implausible, value.values())), None)
    if isinstance(value, int) and value.bit_length() > 160:
        return f"an integer of {value.bit_length()} bits"
    return None


def _excerpt(data: bytes) -> str:
    return data[:48].hex().upper() + ("..." if len(data) > 48 else "")
