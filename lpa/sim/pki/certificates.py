"""What the simulated eUICC and the test SM-DP+ check in RSP certificates (SGP.22 4.5.2;
docs/download-flow.md, "Certificates").

Chains have no intermediates in SGP.22 v2: CERT.EUICC <- CERT.EUM <- CI,
CERT.DPauth <- CI, CERT.DPpb <- CI; a certificate's role is its
certificatePolicies OID.
"""
from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

#: certificatePolicies OIDs by role (SGP.22 4.5.2.1).
POLICIES = {"ci": "2.23.146.1.2.1.0", "euicc": "2.23.146.1.2.1.1", "eum": "2.23.146.1.2.1.2",
            "dp-tls": "2.23.146.1.2.1.3", "dpauth": "2.23.146.1.2.1.4", "dppb": "2.23.146.1.2.1.5",
            "ds-tls": "2.23.146.1.2.1.6", "dsauth": "2.23.146.1.2.1.7"}


def load_der(der: bytes) -> x509.Certificate:
    """A certificate as received; ValueError for anything that does not parse as one (cryptography raises
    InvalidVersion, not a ValueError, for an X.509 version it does not know)."""
    try:
        return x509.load_der_x509_certificate(der)
    except x509.InvalidVersion as error:
        raise ValueError(str(error)) from None


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Is ``cert`` signed by ``issuer``'s key, with the issuer's name?"""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def policies(cert: x509.Certificate) -> list[str]:
    """The certificate's policy OIDs (dotted)."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return []
    return [policy.policy_identifier.dotted_string for policy in extension]


def key_id(cert: x509.Certificate) -> bytes:
    """The certificate's subject key identifier (how SGP.22 names a CI's key)."""
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier


def valid_now(cert: x509.Certificate) -> bool:
    """Within its validity period now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def eid(cert: x509.Certificate) -> str | None:
    """The EID an eUICC certificate names: its subject serialNumber."""
    names = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(names[0].value) if names else None


def smdp_oid(cert: x509.Certificate) -> str | None:
    """The SM-DP+ OID of a DPauth or DPpb certificate: the registeredID in its subjectAltName."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    oids = names.get_values_for_type(x509.RegisteredID)
    return oids[0].dotted_string if oids else None


def eum_eid_prefix(cert: x509.Certificate) -> str | None:
    """The EID prefix an EUM may issue for: serialNumber of its permitted nameConstraints directoryName."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    for subtree in constraints.permitted_subtrees or ():
        if isinstance(subtree, x509.DirectoryName):
            serials = subtree.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
            if serials:
                return str(serials[0].value)
    return None
