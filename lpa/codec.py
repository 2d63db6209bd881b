"""The SGP.22 ASN.1 module (RSPDefinitions, asn1/): DER encoding, BER decoding, a safe compile cache.

Compiling the module with asn1tools costs over a second, so the compiled
types are pickled into the user's cache directory, keyed by a hash of the
.asn files and the asn1tools version, each type on its own so that a
command unpickles only the types it uses, with only the asn1tools modules
that decode and encode imported (see :func:`_codecs_only`). Unpickling can
run code, so the cache is read only from a folder and file owned by the
user and writable by nobody else, and with an unpickler that builds
asn1tools' codec classes and nothing else (:class:`_Unpickler`); anything
else, or a cache that does not load, is compiled afresh (and rewritten only
where that is safe).

Requests are encoded as DER (:func:`encode`). Answers from cards are
decoded with asn1tools' BER decoder (:func:`decode`), which reads every DER
encoding and the looser ones real cards send; such answers are accepted and
reported to the caller's ``note``. asn1tools' DER decoder is never used: it
loops forever on a SEQUENCE OF whose element has a wrong tag (found by
fuzzing; upstream eerimoq/asn1tools#180 and the unmerged #200, still so in
0.169.0). To make that impossible by accident, the DER types are only
reachable through :class:`_Encoder`, which has no decode method.
"""
from __future__ import annotations

import importlib.util
import io
import os
import stat
import sys
import types
import zlib
from typing import Any, Callable, Protocol, TypedDict

from .errors import ProtocolError
from .paths import cache_dir, data_dir

try:  # the C unpickler that pickle.py wraps, without pickle.py's own Python classes (1 ms of every start)
    from _pickle import Unpickler, UnpicklingError
except ImportError:  # an interpreter other than CPython
    from pickle import Unpickler, UnpicklingError

Note = Callable[[str], None]


class _CompiledType(Protocol):
    """One type compiled by asn1tools (which has no type hints), as lpa uses it."""

    def check_types(self, data: object) -> None: ...

    def encode(self, data: object) -> bytes | bytearray: ...

    #: asn1tools decodes into untyped values (dicts, tuples, bytes, ints, text): hence Any.
    def decode(self, data: bytes) -> Any: ...


#: What the cache file starts with; the format: this, the index's length (8 bytes), the index
#: (a pickled {codec: {type name: (offset, length)}}), then each type pickled on its own.
_MAGIC = b"lpa-asn1-cache 2\n"

#: The only modules whose classes a cached type may be made of.
_CODEC_MODULES = ("asn1tools.codecs.ber", "asn1tools.codecs.der", "asn1tools.codecs.type_checker")


class _Unpickler(Unpickler):
    """Unpickles asn1tools' compiled types and nothing else: no other class, no function, no import.

    So a cache file that someone else wrote can at worst fail to load, and
    loading one needs only the codec modules already imported (not their
    package, see :func:`_codecs_only`).
    """

    def find_class(self, module: str, name: str) -> type:
        if module in _CODEC_MODULES and module in sys.modules and not name.startswith("_"):
            found = getattr(sys.modules[module], name)
            if isinstance(found, type):
                return found
        raise UnpicklingError(f"{module}.{name} is not allowed in the ASN.1 cache")


class _Types:
    """The compiled types of one codec, by name; from the cache, each unpickled when first used."""

    def __init__(self, loaded: dict[str, _CompiledType], blob: bytes | memoryview = b"",
                 index: dict[str, tuple[int, int]] | None = None) -> None:
        self._loaded = loaded
        self._blob = blob
        self._index = index or {}

    def __getitem__(self, name: str) -> _CompiledType:
        if name not in self._loaded:
            offset, length = self._index[name]
            self._loaded[name] = _Unpickler(io.BytesIO(self._blob[offset:offset + length])).load()
        return self._loaded[name]


class _Encoder:
    """The DER types, for encoding only."""

    def __init__(self, types: _Types) -> None:
        self._types = types

    def encode(self, type_name: str, value: object) -> bytes:
        compiled = self._types[type_name]
        compiled.check_types(value)
        return bytes(compiled.encode(value))


class _Decoder:
    """The BER types, for decoding only."""

    def __init__(self, types: _Types) -> None:
        self._types = types

    def decode(self, type_name: str, data: bytes) -> Any:
        return self._types[type_name].decode(data)


class _Specs(TypedDict, total=False):
    """The loaded types (:func:`_specs`): empty until first used."""

    encoder: _Encoder
    decoder: _Decoder
    #: asn1tools' Error class.
    error: type[Exception]


_compiled: _Specs = {}


def _asn_files() -> list[str]:
    folder = data_dir("asn1")
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".asn"))


def _private(path: str) -> bool:
    """Owned by this user and writable by nobody else (so that only the user could have put it there)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _asn1tools_dir() -> str:
    """Where asn1tools is installed, found without importing it."""
    spec = importlib.util.find_spec("asn1tools")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("asn1tools is not installed")
    return list(spec.submodule_search_locations)[0]


def _codecs_only() -> type[Exception]:
    """Import asn1tools' BER and DER codecs without asn1tools/__init__.py; return its Error class.

    asn1tools' package __init__ imports its ASN.1 parser (and with it
    pyparsing) and every codec: over 100 ms before lpa can decode a byte.
    Decoding and encoding with types compiled earlier needs only the BER and
    DER codec modules and the type checker, whose one import from the
    parser module is the constant EXTENSION_MARKER (None). So for the time
    of these imports the package is registered unexecuted, with a parser
    module holding only that constant; both are removed again afterwards,
    so that a later ``import asn1tools`` (to compile) runs the real package,
    which then reuses the codec modules loaded here.
    """
    if "asn1tools" in sys.modules:  # already imported for real
        import asn1tools

        return asn1tools.Error
    spec = importlib.util.find_spec("asn1tools")
    assert spec is not None
    package = importlib.util.module_from_spec(spec)
    parser = types.ModuleType("asn1tools.parser")
    parser.EXTENSION_MARKER = None  # type: ignore[attr-defined]  # as in asn1tools/parser.py
    sys.modules["asn1tools"], sys.modules["asn1tools.parser"] = package, parser
    try:
        import asn1tools.codecs.ber  # noqa: F401
        import asn1tools.codecs.der  # noqa: F401
        import asn1tools.codecs.type_checker  # noqa: F401
        from asn1tools.errors import Error
    finally:
        del sys.modules["asn1tools"], sys.modules["asn1tools.parser"]
    return Error


def _compile(files: list[str]) -> dict[str, dict[str, _CompiledType]]:
    """Compile the module with asn1tools: the DER and BER types by name."""
    import copy

    import asn1tools

    parsed = asn1tools.parse_files(files)  # parsing is most of the compile time: once
    compiled = {}
    for codec in ("der", "ber"):
        specification = asn1tools.compile_dict(copy.deepcopy(parsed), codec)
        for compiled_type in specification.types.values():
            compiled_type.constraints_checker = None  # never used; its module costs 20 ms to import
        compiled[codec] = dict(specification.types)
    return compiled


def _read(cache: str) -> dict[str, _Types] | None:
    """The types in the cache file, or None if it is missing, not the user's own, or not lpa's."""
    if not (_private(os.path.dirname(cache)) and _private(cache)):
        return None
    try:
        data = _contents(cache)
        if not data.startswith(_MAGIC):
            return None
        start = len(_MAGIC) + 8
        length = int.from_bytes(data[len(_MAGIC):start], "big")
        index = _Unpickler(io.BytesIO(data[start:start + length])).load()
        blob = memoryview(data)[start + length:]  # not copied: each type is read from it when used
        types_by_codec = {codec: _Types({}, blob, index[codec]) for codec in ("der", "ber")}
        types_by_codec["ber"]["ProfileInfoListResponse"]  # one type loads: the file is usable
        return types_by_codec
    except Exception:  # noqa: BLE001 (any unusable cache is simply rebuilt)
        return None


def _cache_path(files: list[str]) -> str:
    """The cache file for these .asn files and this asn1tools.

    Named by a key, not a signature (the folder's ownership protects the
    file): CRC-32 and length tell every edit apart, without loading OpenSSL
    for hashlib.
    """
    key = _contents(os.path.join(_asn1tools_dir(), "version.py"))
    for path in files:
        key += os.path.basename(path).encode() + b"\0" + _contents(path)
    return os.path.join(cache_dir(), f"asn1-{zlib.crc32(key):08x}-{len(key):x}.cache")


def _contents(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _load() -> tuple[dict[str, _Types], type[Exception]]:
    """The compiled types (from the cache when it is safe to read) and asn1tools' Error class."""
    files = _asn_files()
    cache = _cache_path(files)
    error = _codecs_only()
    cached = _read(cache)
    if cached is not None:
        return cached, error
    compiled = _compile(files)
    _save(cache, compiled)
    return {codec: _Types(types) for codec, types in compiled.items()}, error


def _save(cache: str, compiled: dict[str, dict[str, _CompiledType]]) -> None:
    """Write the cache if its folder is (or can be made) the user's own; otherwise go without."""
    import pickle
    import tempfile

    index: dict[str, dict[str, tuple[int, int]]] = {}
    blob = bytearray()
    for codec, types_by_name in compiled.items():
        index[codec] = {}
        for name, compiled_type in types_by_name.items():
            pickled = pickle.dumps(compiled_type, protocol=pickle.HIGHEST_PROTOCOL)
            index[codec][name] = (len(blob), len(pickled))
            blob += pickled
    header = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        folder = os.path.dirname(cache)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _private(folder):
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".asn1-")
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + len(header).to_bytes(8, "big") + header + blob)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only or odd cache only costs the compile time


def _specs() -> _Specs:
    if not _compiled:
        compiled, error = _load()
        _compiled.update({"encoder": _Encoder(compiled["der"]), "decoder": _Decoder(compiled["ber"]), "error": error})
    return _compiled


def encode(type_name: str, value: object) -> bytes:
    """DER-encode ``value`` as the SGP.22 type ``type_name``."""
    return _specs()["encoder"].encode(type_name, value)


def decode(type_name: str, data: bytes, note: Note | None = None, source: str = "the card's answer") -> Any:
    """Decode a card's answer ``data`` (or what ``source`` names) as ``type_name``; raise ProtocolError.

    The value is asn1tools' (which has no type hints): dicts for SEQUENCEs,
    (name, value) for CHOICEs, (bytes, bits) for BIT STRINGs, bytes, ints
    and text; hence Any.

    The BER decoder reads every DER encoding and also the looser encodings
    real cards send (indefinite or long-form lengths, unknown extension
    fields, trailing bytes); such answers are accepted and ``note`` is told.
    """
    specs = _specs()
    try:
        value = specs["decoder"].decode(type_name, data)
    except (specs["error"], IndexError, ValueError, TypeError, RecursionError, KeyError) as error:
        raise ProtocolError(f"{source} is not a valid {type_name} ({error}); answer: {_excerpt(data)}") from None
    problem = _implausible(value)
    if problem:
        raise ProtocolError(f"{source} is not a usable {type_name} ({problem}); answer: {_excerpt(data)}")
    if note is not None:
        try:
            strict = encode(type_name, value) == data
        except (specs["error"], IndexError, ValueError, TypeError):
            strict = False
        if not strict:
            note(f"{type_name} is not strict DER (lengths, unknown fields or trailing bytes); accepted as BER")
    return value


def _implausible(value: object) -> str | None:
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
