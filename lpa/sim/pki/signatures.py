"""ECDSA as SGP.22 carries it inside its structures: P-256, SHA-256, the plain 64-byte r||s (BSI TR-03111).

Certificates carry normal DER ECDSA signatures; every signature inside an
SGP.22 structure (serverSignature1, euiccSignature1/2, smdpSignature2,
smdpSign, euiccSignPIR, euiccNotificationSignature, CancelSession) is r||s.
Card side and test servers: the LPA verifies nothing of the kind.
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature


def sign_rs(key: ec.EllipticCurvePrivateKey, data: bytes, deterministic: bool = False) -> bytes:
    """Sign ``data``; r||s, each left-padded to the curve size. ``deterministic``: RFC 6979."""
    algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=True) if deterministic else ec.ECDSA(hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, algorithm))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify_rs(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """Does the r||s ``signature`` verify over ``data`` exactly as given?"""
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
