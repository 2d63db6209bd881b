"""The simulated eUICC's reading of a profile package: its profile elements, decoded with the TCA eUICC Profile
Package module (PE_Definitions, beside this file) as a card processes them (SGP.22 2.5.2, 5.5.5;
docs/bound-profile-package.md).

The ProfileHeader comes first and names the profile's ICCID, in digit order
(unlike SGP.22's Iccid); every element must decode. The outcome is the
EUICCResponse a card puts in simaResponse: one PEStatus ok for a package
installed, else the failing element's status, identification and offset
with profileInstallationAborted.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODULE = Path(__file__).with_name("PE_Definitions-3.3.1.asn")

#: PEStatus values the simulated card gives (TCA eUICC Profile Package, EUICCResponse).
OK, BAD_VALUES, INVALID_REQUEST_FORMAT = 0, 3, 5

#: The EUICCResponse of a package installed: one PEStatus ok (real cards' answer; :func:`euicc_response`).
SIMA_OK = bytes.fromhex("3007A0053003800100")


@lru_cache(maxsize=1)
def module() -> Any:
    """PE_Definitions compiled (BER), apart from the SGP.22 module (both define UICCCapability)."""
    import asn1tools

    return asn1tools.compile_files([str(MODULE)], "ber")


def euicc_response(status: int = OK, identification: int | None = None, offset: int | None = None) -> bytes:
    """The EUICCResponse for one PEStatus: ok, or an error that aborted the installation."""
    pe_status: dict[str, Any] = {"status": status}
    if identification is not None:
        pe_status["identification"] = identification
    if offset is not None:
        pe_status["offset"] = offset
    response: dict[str, Any] = {"peStatus": [pe_status]}
    if status != OK:
        response["profileInstallationAborted"] = None
    return bytes(module().encode("EUICCResponse", response))


@dataclass(frozen=True)
class Refused(Exception):
    """The package is refused: ``mismatch`` when its ICCID is not the metadata's, else unprocessable."""

    sima_response: bytes
    mismatch: bool = False


def header_iccid(header: dict[str, Any]) -> str:
    """The ProfileHeader's ICCID as its digits (stored in digit order, F padded)."""
    return bytes(header["iccid"]).hex().upper().rstrip("F")


def _identification(value: Any) -> int | None:
    """A profile element's identification number, from its PEHeader (the ProfileHeader has none)."""
    if isinstance(value, dict):
        for name, part in value.items():
            if name.endswith("header") and isinstance(part, dict) and "identification" in part:
                return int(part["identification"])
    return None


def check_package(package: bytes, iccid: str) -> bytes:
    """Decode every profile element of ``package`` for the profile ``iccid`` (StoreMetadata's); the
    simaResponse of a package installed, or raise :class:`Refused`."""
    import asn1tools

    element = module().types["ProfileElement"]
    offset, identification = 0, None
    while offset < len(package):
        try:
            (kind, value), length = element.decode_with_length(package[offset:])
        except (asn1tools.Error, ValueError, IndexError, TypeError):
            raise Refused(euicc_response(INVALID_REQUEST_FORMAT, identification, offset)) from None
        if (offset == 0) != (kind == "header"):  # the header first, and only there
            raise Refused(euicc_response(INVALID_REQUEST_FORMAT, _identification(value), offset))
        if kind == "header" and header_iccid(value) != iccid:
            raise Refused(euicc_response(BAD_VALUES, None, offset), mismatch=True)
        identification = _identification(value)
        offset += length
    if not package:
        raise Refused(euicc_response(INVALID_REQUEST_FORMAT, None, 0))
    return SIMA_OK
