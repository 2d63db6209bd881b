"""Unprotected profile packages (TCA eUICC Profile Package, SGP.22 2.5.2): their ProfileHeader.

The test SM-DP+ serves the TS.48 test profiles in ``ts48/`` beside this
module, and reads their ICCID here. The TCA ASN.1 module (PE_Definitions) is
compiled with asn1tools when first needed, apart from the SGP.22 module
(both define UICCCapability).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ...encoding import iccid_from_bytes

FOLDER = Path(__file__).with_name("ts48")


@lru_cache(maxsize=1)
def _module() -> Any:
    import asn1tools

    return asn1tools.compile_files([str(FOLDER / "PE_Definitions-3.3.1.asn")], "ber")


def header(package: bytes) -> dict[str, Any]:
    """The ProfileHeader, the package's first ProfileElement; ValueError if it is not one."""
    import asn1tools

    try:
        (kind, value), _ = _module().types["ProfileElement"].decode_with_length(package)
    except (asn1tools.Error, ValueError, IndexError, TypeError) as error:
        raise ValueError(f"not a profile package: {error}") from None
    if kind != "header":
        raise ValueError(f"a profile package starts with its header, not {kind}")
    return value


def iccid(package: bytes) -> str:
    """The ICCID the ProfileHeader names (it reads in digit order there, unlike SGP.22's Iccid)."""
    return iccid_from_bytes(bytes(b << 4 & 0xF0 | b >> 4 for b in bytes(header(package)["iccid"])))


def ts48_profiles() -> dict[str, bytes]:
    """The TS.48 test profiles by matching ID (the file name without .der, as test SM-DP+ servers do)."""
    return {path.stem: path.read_bytes() for path in sorted(FOLDER.glob("*.der"))}
