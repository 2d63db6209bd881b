"""Unprotected profile packages (TCA eUICC Profile Package, SGP.22 2.5.2): their ProfileHeader.

The test SM-DP+ serves the TS.48 test profiles in ``ts48/`` beside this
module, and reads their ICCID here, with the PE_Definitions module the
simulated eUICC installs them with (:mod:`lpa.sim.card.profile_elements`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..card.profile_elements import header_iccid, module

FOLDER = Path(__file__).with_name("ts48")


def _header(package: bytes) -> tuple[dict[str, Any], int]:
    """The ProfileHeader, the package's first ProfileElement, and its length; ValueError if it is not one."""
    import asn1tools

    try:
        (kind, value), length = module().types["ProfileElement"].decode_with_length(package)
    except (asn1tools.Error, ValueError, IndexError, TypeError) as error:
        raise ValueError(f"not a profile package: {error}") from None
    if kind != "header":
        raise ValueError(f"a profile package starts with its header, not {kind}")
    return value, length


def iccid(package: bytes) -> str:
    """The ICCID the ProfileHeader names (it reads in digit order there, unlike SGP.22's Iccid)."""
    return header_iccid(_header(package)[0])


def with_header_iccid(package: bytes, iccid: str) -> bytes:
    """``package`` with its ProfileHeader naming ``iccid`` instead (digit order, F padded)."""
    header, length = _header(package)
    header["iccid"] = bytes.fromhex(iccid.ljust(20, "F"))
    return bytes(module().encode("ProfileElement", ("header", header))) + package[length:]


def ts48_profiles() -> dict[str, bytes]:
    """The TS.48 test profiles by matching ID (the file name without .der, as test SM-DP+ servers do)."""
    return {path.stem: path.read_bytes() for path in sorted(FOLDER.glob("*.der"))}
