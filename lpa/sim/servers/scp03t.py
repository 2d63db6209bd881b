"""The test SM-DP+'s side of SCP03t: session keys and protected segments (SGP.22 2.6.4, 5.5, Annex G;
docs/bound-profile-package.md, "SCP03t protection").

TEST TOOL. Written apart from the card's (:mod:`lpa.sim.card.bsp`) on purpose:
a mistake made in one (the key order, the block counter, the chaining) then
shows as a failed download instead of cancelling out; the download vectors
pin both. The key derivation is cryptography's ANSI X9.63 KDF.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

#: The CRT's keyType (AES) and keyLen (16) that start the KDF's SharedInfo (SGP.22 2.6.4).
CRT = b"\x88\x10"
#: The padding SCP03t puts after a plaintext (then zeros up to the block size).
PADDING = b"\x80"


@dataclass(frozen=True)
class Keys:
    """Initial MAC chaining value, S-ENC and S-MAC of one BPP (or its Profile Protection Keys)."""

    initial_mcv: bytes
    enc: bytes
    mac: bytes


def session_keys(shared_secret: bytes, host_id: bytes, eid: bytes) -> Keys:
    """The X9.63 KDF (SHA-256) over ShS with SharedInfo = CRT || len || hostId || len || EID, cut in three."""
    shared_info = CRT + len(host_id).to_bytes(1, "big") + host_id + len(eid).to_bytes(1, "big") + eid
    material = X963KDF(algorithm=hashes.SHA256(), length=48, sharedinfo=shared_info).derive(shared_secret)
    return Keys(material[:16], material[16:32], material[32:])


def _length(size: int) -> bytes:
    """A DER length field."""
    if size < 0x80:
        return size.to_bytes(1, "big")
    width = (size.bit_length() + 7) // 8
    return (0x80 | width).to_bytes(1, "big") + size.to_bytes(width, "big")


class Sender:
    """The SM-DP+'s SCP03t state: each :meth:`segment` counts one block and chains its MAC."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.chaining = keys.initial_mcv
        self.sent = 0

    def segment(self, tag: int, plaintext: bytes, padding: bytes = PADDING) -> bytes:
        """One segment: 88 in clear, 86/87 AES-CBC under the counter's ICV; then the MAC's first 8 bytes.

        ``padding`` other than 80 makes a segment a card must refuse (for the test faults).
        """
        self.sent += 1  # the block counter: 1 for a BPP's first segment
        body = plaintext
        if tag != 0x88:
            padded = plaintext + padding
            padded += bytes(-len(padded) % 16)
            icv = Cipher(algorithms.AES(self.keys.enc), modes.ECB()).encryptor().update(self.sent.to_bytes(16, "big"))
            encryptor = Cipher(algorithms.AES(self.keys.enc), modes.CBC(icv)).encryptor()
            body = encryptor.update(padded) + encryptor.finalize()
        head = tag.to_bytes(1, "big") + _length(len(body) + 8)
        signer = cmac.CMAC(algorithms.AES(self.keys.mac))
        signer.update(self.chaining + head + body)
        self.chaining = signer.finalize()
        return head + body + self.chaining[:8]
