"""Faults of the simulated eUICC: an eUICC that signs or certifies wrongly, for the tests of the servers that
must refuse it. Set with ``lpa sim quirks --fault NAME`` (kept in the state's quirks)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..pki.identity import Identity

#: The card's faults, and what each does.
FAULTS = {
    "bad-euicc-signature1": "euiccSignature1 (AuthenticateServer) does not verify",
    "bad-euicc-signature2": "euiccSignature2 (PrepareDownload) does not verify",
    "bad-pir-signature": "the ProfileInstallationResult's signature does not verify",
    "eid-outside-eum-range": "an eUICC certificate whose EID is outside its EUM's permitted range",
    "foreign-cancel": "CancelSession signed with a key that is not the eUICC's",
}

#: The EID the "eid-outside-eum-range" certificate names: under an EIN the test EUM may not certify.
OUTSIDE_EID = "89001012012341234012345678901224"


def spoil(signature: bytes) -> bytes:
    """The signature with one bit flipped: well formed, not verifying."""
    return bytes([signature[0] ^ 1]) + signature[1:]


def foreign_signature(data: bytes) -> bytes:
    """A valid-looking signature over ``data`` by a key nobody certified."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..pki.signatures import sign_rs

    return sign_rs(ec.generate_private_key(ec.SECP256R1()), data)


def outside_identity() -> Identity:
    """An identity certified by the test EUM for :data:`OUTSIDE_EID`, which its nameConstraints exclude."""
    from ..pki import testpki
    from ..pki.identity import Identity

    eum = testpki.load(testpki.PKI_DIR, "eum")
    euicc = testpki.make_euicc(eum, OUTSIDE_EID)
    return Identity(euicc.cert, eum.cert, euicc.key)
