"""Trust anchors for SM-DP+ TLS: the GSMA CI roots the eUICC names (SGP.22 2.6.5).

An SM-DP+ TLS certificate chains to a GSMA CI, not to a web CA. For each
connection lpa trusts the CI roots (certs/, files named by
SubjectKeyIdentifier) whose key identifiers the eUICC lists in
euiccCiPKIdListForVerification, plus GSMA RSP2 Root CI1, plus any files the
user adds with --ca-file. They are held in memory (nothing is written), and
nothing turns verification off.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .paths import data_dir

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
    #: All of them as one PEM text, for an SSL context's ``cadata``.
    pem: str

    def describe(self) -> str:
        parts = [f"CI key ids {', '.join(self.key_ids) or 'none'}"]
        if self.extra_files:
            parts.append(f"--ca-file {', '.join(self.extra_files)}")
        return "; ".join(parts)


def read_ca_files(paths: Iterable[str]) -> str:
    """The PEM text of the user's CA files; InputError if one is unreadable or holds no certificate.

    Called before the card is touched, so that a typo never leaves an
    operation done and its notification undeliverable.
    """
    import ssl

    texts = []
    for name in paths:
        try:
            text = Path(name).read_bytes().decode("ascii")
        except OSError as error:
            raise InputError(f"cannot read --ca-file {name}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"--ca-file {name} holds no PEM certificate (it is not ASCII text)") from None
        try:  # not create_default_context: given an empty cadata, it loads the system's CAs instead
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
        except (ssl.SSLError, ValueError):
            raise InputError(f"--ca-file {name} holds no PEM certificate") from None
        texts.append(text.rstrip("\n") + "\n")
    return "".join(texts)


def anchors(card_key_ids: Iterable[str], ca_files: Iterable[str] = ()) -> TrustAnchors:
    """Trust anchors for the CI key ids the card lists and the user's CA files."""
    roots = Path(data_dir("certs"))
    wanted = list(dict.fromkeys([*(k.lower() for k in card_key_ids), GSMA_RSP2_ROOT_CI1]))
    found = [k for k in wanted if (roots / f"{k}.pem").is_file()]
    pem = "".join((roots / f"{k}.pem").read_text("ascii").rstrip("\n") + "\n" for k in found)
    extra = tuple(str(f) for f in ca_files)
    return TrustAnchors(tuple(found), tuple(k for k in wanted if k not in found), extra, pem + read_ca_files(extra))
