"""The simulated eUICC's identity: its certificate, its EUM's, its key (SGP.22 4.5.2)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .certificates import eid as certificate_eid
from .signatures import sign_rs
from .testpki import PKI_DIR


@dataclass
class Identity:
    euicc_cert: x509.Certificate
    eum_cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_pem(cls, euicc_cert: bytes, eum_cert: bytes, euicc_key: bytes) -> "Identity":
        """Load an identity; raise ValueError if the parts do not belong together."""
        euicc, eum = x509.load_pem_x509_certificate(euicc_cert), x509.load_pem_x509_certificate(eum_cert)
        key = serialization.load_pem_private_key(euicc_key, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the eUICC key is not an EC key")
        identity = cls(euicc, eum, key)
        certified = identity.euicc_cert.public_key()
        if not isinstance(certified, ec.EllipticCurvePublicKey) \
                or key.public_key().public_numbers() != certified.public_numbers():
            raise ValueError("the eUICC key does not match the eUICC certificate")
        if identity.euicc_cert.issuer != identity.eum_cert.subject:
            raise ValueError("the eUICC certificate was not issued by the EUM certificate")
        if not identity.eid:
            raise ValueError("the eUICC certificate has no EID (subject serialNumber)")
        return identity

    @classmethod
    def builtin(cls) -> "Identity":
        """The test identity shipped in lpa/sim/pki (signed by the lpa test CI)."""
        return cls.from_pem(*(Path(PKI_DIR, name).read_bytes()
                              for name in ("euicc-cert.pem", "eum-cert.pem", "euicc-key.pem")))

    @classmethod
    def from_state(cls, texts: dict[str, str] | None) -> "Identity":
        """The identity a state file names (PEM texts), or the built-in one for None."""
        if not texts:
            return cls.builtin()
        return cls.from_pem(*(texts[k].encode() for k in ("euicc_cert", "eum_cert", "euicc_key")))

    @property
    def eid(self) -> str:
        return certificate_eid(self.euicc_cert) or ""

    @property
    def ci_key_id(self) -> bytes:
        """The key identifier of the CI that issued the EUM certificate."""
        aki = self.eum_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        if aki.key_identifier is None:
            raise ValueError("the EUM certificate's authorityKeyIdentifier has no keyIdentifier")
        return aki.key_identifier

    def der(self, which: str) -> bytes:
        cert = self.euicc_cert if which == "euicc" else self.eum_cert
        return cert.public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        """ECDSA with SHA-256 as SGP.22 carries it: plain r||s (BSI TR-03111)."""
        return sign_rs(self.key, data)
