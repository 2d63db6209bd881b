"""Trust anchors for SM-DP+ TLS: the GSMA CI roots the eUICC names (SGP.22 2.6.5).

An SM-DP+ TLS certificate chains to a GSMA CI, not to a web CA. For each
connection lpa trusts the CI roots (certs/, files named by
SubjectKeyIdentifier) whose key identifiers the eUICC lists in
euiccCiPKIdListForVerification, plus GSMA RSP2 Root CI1, plus any files the
user adds with --ca-file. Nothing turns verification off.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .paths import cache_dir, data_dir

#: GSMA RSP2 Root CI1, the CI most production SM-DP+ servers chain to.
GSMA_RSP2_ROOT_CI1 = "81370f5125d0b1d408d4c3b232e6d25e795bebfb"


@dataclass(frozen=True)
class TrustAnchors:
    """The CA certificates one ES9+ connection may chain to."""

    #: CI key identifiers (lowercase hex) found in certs/ and used.
    key_ids: tuple[str, ...]
    #: Key identifiers the card named that certs/ has no root for.
    unknown_key_ids: tuple[str, ...]
    #: Files the user added (--ca-file).
    extra_files: tuple[str, ...]
    #: A PEM bundle holding all of them, for requests' ``verify``.
    bundle: str

    def describe(self) -> str:
        parts = [f"CI key ids {', '.join(self.key_ids) or 'none'}"]
        if self.extra_files:
            parts.append(f"--ca-file {', '.join(self.extra_files)}")
        return "; ".join(parts)


def anchors(card_key_ids: Iterable[str], ca_files: Iterable[str] = ()) -> TrustAnchors:
    """Trust anchors for the CI key ids the card lists and the user's CA files."""
    roots = data_dir("certs")
    wanted = list(dict.fromkeys([*(k.lower() for k in card_key_ids), GSMA_RSP2_ROOT_CI1]))
    found = [k for k in wanted if (roots / f"{k}.pem").is_file()]
    pem = b"".join((roots / f"{k}.pem").read_bytes().rstrip(b"\n") + b"\n" for k in found)
    extra = tuple(str(f) for f in ca_files)
    for name in extra:
        try:
            data = Path(name).read_bytes()
        except OSError as error:
            raise InputError(f"cannot read --ca-file {name}: {error.strerror}") from None
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise InputError(f"--ca-file {name} holds no PEM certificate")
        pem += data.rstrip(b"\n") + b"\n"
    return TrustAnchors(tuple(found), tuple(k for k in wanted if k not in found), extra, _bundle(pem))


def _bundle(pem: bytes) -> str:
    """Write ``pem`` once to the cache (named by its hash) and return the path."""
    path = cache_dir() / f"trust-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trust-")
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
    return str(path)
