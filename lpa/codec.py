"""The SGP.22 ASN.1 module (RSPDefinitions, asn1/), compiled once and cached.

Compiling the module with asn1tools costs over a second, so the
compiled specifications are pickled into the user's cache directory, keyed
by a hash of the .asn files and the asn1tools version: an edited module is
recompiled on the next run.

Requests are encoded as DER. Answers from cards are decoded as BER, which
DER is a subset of: an answer that is not strict DER (indefinite lengths,
for instance) is accepted and reported on the warning hook, since real
cards send such encodings (see :func:`decode`).
"""
from __future__ import annotations

import copy
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ProtocolError
from .paths import cache_dir, data_dir

#: Called with a one-line message when a card's answer is accepted leniently.
warn: Callable[[str], None] = lambda message: None

_specs: dict[str, Any] = {}


def _asn_files() -> list[Path]:
    return sorted(data_dir("asn1").glob("*.asn"))


def _load() -> dict[str, Any]:
    import asn1tools

    files = _asn_files()
    digest = hashlib.sha256(asn1tools.__version__.encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = cache_dir() / f"asn1-{digest.hexdigest()[:16]}.pickle"
    try:
        with open(cache, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    parsed = asn1tools.parse_files([str(p) for p in files])  # parsing is most of the compile time: once
    specs = {codec: asn1tools.compile_dict(copy.deepcopy(parsed), codec) for codec in ("der", "ber")}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".asn1-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(specs, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache only costs the compile time
    return specs


def spec(codec: str = "der") -> Any:
    """The compiled asn1tools specification for ``codec`` ("der" or "ber")."""
    if not _specs:
        _specs.update(_load())
    return _specs[codec]


def encode(type_name: str, value: Any) -> bytes:
    """DER-encode ``value`` as the SGP.22 type ``type_name``."""
    return bytes(spec().encode(type_name, value))


def decode(type_name: str, data: bytes) -> Any:
    """Decode a card's answer ``data`` as ``type_name``; raise ProtocolError.

    The BER decoder reads every DER encoding and also the looser encodings
    real cards send (indefinite or long-form lengths, unknown extension
    fields, trailing bytes); such answers are accepted and reported on
    :data:`warn`. The DER decoder of asn1tools is not used for answers: it
    loops forever on a SEQUENCE OF whose element has a wrong tag (found by
    fuzzing; upstream eerimoq/asn1tools#180 and the unmerged #200, still so
    in 0.169.0).
    """
    import asn1tools

    try:
        value = spec("ber").decode(type_name, data)
    except (asn1tools.Error, IndexError, ValueError, TypeError, RecursionError) as error:
        raise ProtocolError(f"the card's answer is not a valid {type_name} ({error}); answer: {_excerpt(data)}") from None
    problem = _implausible(value)
    if problem:
        raise ProtocolError(f"the card's answer is not a usable {type_name} ({problem}); answer: {_excerpt(data)}")
    try:
        strict = encode(type_name, value) == data
    except (asn1tools.Error, IndexError, ValueError, TypeError):
        strict = False
    if not strict:
        warn(f"{type_name} is not strict DER (lengths, unknown fields or trailing bytes); accepted as BER")
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
