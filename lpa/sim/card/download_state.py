"""The simulated eUICC's download state: what AuthenticateServer and PrepareDownload establish
(:mod:`.authentication`) and LoadBoundProfilePackage continues (:mod:`.install`), for as long as
the card is powered (SGP.22 3.1.3)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509


@dataclass
class Loading:
    """A BPP being loaded piece by piece: the secure channel, and each container's plaintext."""

    channel: Any
    remaining: int  # bytes of the BF36 value still to come
    container: int = 0
    container_left: int = 0
    plaintext: dict[int, bytes] = field(default_factory=dict)


@dataclass
class Session:
    """What a download has established so far; lives as long as the card is powered."""

    transaction_id: bytes
    server_address: str
    smdp_oid: str | None
    euicc_signature1: bytes
    #: The CI the SM-DP+ certificates chain to.
    ci: x509.Certificate
    #: From PrepareDownload: CERT.DPpb's key, the one-time private key, smdpSignature2.
    dppb_key: Any = None
    one_time_key: Any = None
    smdp_signature2: bytes = b""


@dataclass
class DownloadState:
    """The card's download state: the last challenge handed out, and the open session."""

    challenge: bytes | None = None
    session: Session | None = None
    loading: Loading | None = None
    #: For tests: the challenges handed out, newest last.
    history: list[bytes] = field(default_factory=list)

    def new_challenge(self) -> bytes:
        self.challenge = os.urandom(16)
        self.history.append(self.challenge)
        return self.challenge
