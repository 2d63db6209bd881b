"""SCP03t (BSP from SGP.22 v3): the secure channel inside a Bound Profile Package (SGP.22 2.6.4, 5.5, Annex G).

The card's side only (the test SM-DP+ has its own, :mod:`lpa.sim.servers.scp03t`; the LPA never needs
it). After the key agreement (ECKA-DH on NIST P-256, BSI TR-03111, in :mod:`.install`), key derivation
by the ANSI X9.63 KDF with SHA-256, then per segment a chained AES-CMAC (86, 87, 88) checked and
AES-128-CBC (86, 87) undone, as docs/bound-profile-package.md, "SCP03t protection", describes byte for byte.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: keyType and keyLen of the CRT: AES, 16 bytes (SGP.22 2.6.4).
KEY_TYPE, KEY_LEN = 0x88, 0x10


class BspError(Exception):
    """A segment failed its MAC (scp03tSecurityError) or is malformed (scp03tStructureError)."""

    def __init__(self, reason: str, security: bool) -> None:
        super().__init__(reason)
        #: True for a MAC failure, False for a structure error.
        self.security = security


@dataclass(frozen=True)
class SessionKeys:
    """The keys and initial MAC chaining value of one BPP (SGP.22 2.6.4.2)."""

    initial_mcv: bytes
    s_enc: bytes
    s_mac: bytes


def shared_info(host_id: bytes, eid: bytes, key_type: int = KEY_TYPE, key_len: int = KEY_LEN) -> bytes:
    """keyType || keyLen || len(hostId) || hostId || len(EID) || EID."""
    return bytes([key_type, key_len, len(host_id)]) + host_id + bytes([len(eid)]) + eid


def derive_session_keys(shs: bytes, host_id: bytes, eid: bytes) -> SessionKeys:
    """ANSI X9.63 KDF with SHA-256: 48 bytes = initial MCV || S-ENC || S-MAC."""
    info = shared_info(host_id, eid)
    data = b"".join(hashlib.sha256(shs + counter.to_bytes(4, "big") + info).digest() for counter in (1, 2))
    return SessionKeys(data[:16], data[16:32], data[32:48])


class SecureChannel:
    """One SCP03t state: S-ENC, S-MAC, the MAC chaining value and the block counter.

    The eUICC calls :meth:`unprotect` for every segment, in BPP order.
    """

    def __init__(self, keys: SessionKeys) -> None:
        self.s_enc = keys.s_enc
        self.s_mac = keys.s_mac
        self.mcv = keys.initial_mcv
        self.counter = 1

    def _icv(self) -> bytes:
        encryptor = Cipher(algorithms.AES(self.s_enc), modes.ECB()).encryptor()
        return encryptor.update(self.counter.to_bytes(16, "big")) + encryptor.finalize()

    def _mac(self, tag: int, length: bytes, body: bytes) -> bytes:
        mac = cmac.CMAC(algorithms.AES(self.s_mac))
        mac.update(self.mcv + bytes([tag]) + length + body)
        return mac.finalize()

    def unprotect(self, segment: bytes) -> bytes:
        """Verify (and for 86/87 decrypt) one segment as received (its tag, 86, 87 or 88, checked against its
        container by the caller); its plaintext."""
        if len(segment) < 2:
            raise BspError("a segment's tag without its length", security=False)
        tag, first = segment[0], segment[1]
        start = 2 + (first & 0x7F if first & 0x80 else 0)
        length_field = segment[1:start]
        length = int.from_bytes(length_field[1:], "big") if first & 0x80 else first
        if first == 0x80 or start + length != len(segment) or length < 8:
            raise BspError("segment length does not match its size", security=False)
        body, received = segment[start:-8], segment[-8:]
        mac = self._mac(tag, length_field, body)
        if not hmac.compare_digest(mac[:8], received):
            raise BspError("segment MAC does not verify", security=True)
        icv = self._icv()
        self.mcv, self.counter = mac, self.counter + 1
        if tag == 0x88:
            return body
        if not body or len(body) % 16:
            raise BspError("encrypted segment is not a whole number of blocks", security=False)
        decryptor = Cipher(algorithms.AES(self.s_enc), modes.CBC(icv)).decryptor()
        padded = decryptor.update(body) + decryptor.finalize()
        stripped = padded.rstrip(b"\x00")
        if not stripped.endswith(b"\x80") or len(padded) - len(stripped) + 1 > 16:
            raise BspError("segment padding is malformed", security=False)
        return stripped[:-1]
