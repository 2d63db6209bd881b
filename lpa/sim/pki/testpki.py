"""The test PKI of the simulated eUICC: TEST MATERIAL, NOT FOR PRODUCTION.

Builds, with cryptography, certificates shaped like the GSMA eSIM PKI
(SGP.22 4.5.2, SGP.26): a self-signed test CI, an EUM certificate signed
by it, an eUICC certificate signed by the EUM (subject serialNumber = EID),
an SM-DP+ TLS certificate for 127.0.0.1 / localhost and the test servers'
CERT.DPauth, CERT.DPpb and CERT.DSauth, all signed by the CI. The servers
load theirs from these files rather than making them at each start, as a
real server has fixed certificates: the APDU counts bench/run prints then
do not move with the length of a fresh signature.
The private keys are published on purpose: anyone can sign as this test
eUICC. Nothing here is trusted by lpa unless given with --ca-file.

Regenerate the shipped files (lpa/sim/pki/) with::

    python -m lpa.sim.pki.testpki            # keeps the CI, remakes the rest
    python -m lpa.sim.pki.testpki --new-ci   # remakes the CI too
"""
from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from .certificates import POLICIES, key_id

PKI_DIR = Path(__file__).resolve().parent

#: SGP.22 4.5.2.1 certificate policies, id-rspRole.
ROLE_CI, ROLE_EUICC, ROLE_EUM, ROLE_DP_TLS = (f"2.23.146.1.2.1.{n}" for n in (0, 1, 2, 3))

#: EID of the simulated eUICC (32 digits, check digits per GSMA: EID mod 97 == 1).
TEST_EID = "89049032000001000000000000000074"
#: The EIN the test EUM may certify EIDs under (its nameConstraints; pySim's test EUM has the same).
TEST_EIN = TEST_EID[:8]
#: The test EUM's organisation, in its subject and in its permitted directoryName.
TEST_EUM_ORGANISATION = "lpa test EUM"

_NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
_NOT_AFTER = datetime.datetime(2056, 1, 1, tzinfo=datetime.timezone.utc)


def eid_with_check_digits(first30: str) -> str:
    """Complete 30 EID digits with the two check digits (ISO 7064 mod 97-10)."""
    return first30 + f"{98 - int(first30 + '00') % 97:02d}"


@dataclass
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(**parts: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME,
            "serialNumber": NameOID.SERIAL_NUMBER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])


def _issue(
    subject: x509.Name,
    issuer: Issued | None,
    policy: str,
    *,
    ca: bool,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    not_after: datetime.datetime = _NOT_AFTER,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    signing_key = issuer.key if issuer is not None else key  # self-signed CI
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(not_after)
        .add_extension(ski, critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(ObjectIdentifier(policy), None)]),
                       critical=True)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None if issuer is None else (0 if ca else None)),
                       critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(key_id(issuer.cert), None, None), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def make_ci(name: str = "lpa Test CI - NOT FOR PRODUCTION") -> Issued:
    """A self-signed test CI."""
    return _issue(_name(C="ZZ", O="lpa test PKI", CN=name), None, ROLE_CI, ca=True)


def make_eum(ci: Issued, ein: str | None = TEST_EIN) -> Issued:
    """An EUM certificate that may certify the EIDs starting with ``ein``.

    As SGP.22 4.5.2 asks of EUM certificates: a critical nameConstraints
    whose permitted directoryName holds the EUM's organisation and the EIN
    as serialNumber (what an SM-DP+ checks an eUICC's EID against). ``ein``
    None leaves it out, as this test PKI once did (an SM-DP+ refuses that).
    """
    permitted = x509.DirectoryName(_name(O=TEST_EUM_ORGANISATION, serialNumber=ein)) if ein is not None else None
    return _issue(_name(C="ZZ", O=TEST_EUM_ORGANISATION, CN="lpa Test EUM - NOT FOR PRODUCTION"), ci, ROLE_EUM,
                  ca=True, extensions=[(x509.NameConstraints(permitted_subtrees=[permitted], excluded_subtrees=None),
                                        True)] if permitted is not None else [])


def make_euicc(eum: Issued, eid: str, expired: bool = False) -> Issued:
    """An eUICC certificate with subject serialNumber = ``eid`` (``expired``: valid until just after its start,
    for tests)."""
    return _issue(_name(O=TEST_EUM_ORGANISATION, serialNumber=eid, CN="lpa Test eUICC"), eum, ROLE_EUICC, ca=False,
                  not_after=_NOT_BEFORE + datetime.timedelta(days=1) if expired else _NOT_AFTER)


def make_tls(ci: Issued, hosts: list[str], not_after: datetime.datetime = _NOT_AFTER) -> Issued:
    """An SM-DP+ TLS certificate for ``hosts`` (names or IP addresses), valid until ``not_after``."""
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    return _issue(
        _name(O="lpa test SM-DP+", CN=hosts[0]), ci, ROLE_DP_TLS, ca=False,
        extensions=[
            (x509.SubjectAlternativeName(alt_names), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
        not_after=not_after,
    )


#: The SM-DP+ OID of the test SM-DP+: a UUID OID (ITU-T X.667, 2.25.<UUID>), unique without
#: registration and no real organisation's. (Not under the example arc 2.999: asn1tools decodes
#: an OID whose second arc under 2 is 40 or more wrongly, 2.999.10 as 26.39.10.)
TEST_SMDP_OID = "2.25.245082740640627847768330080977082350640"


def make_dp(ci: Issued, policy: str, oid: str = TEST_SMDP_OID, expired: bool = False) -> Issued:
    """A CERT.DPauth (``policy`` 2.23.146.1.2.1.4) or CERT.DPpb (.5) with the SM-DP+ OID in subjectAltName
    (``expired``: valid until just after its start, for tests)."""
    return _issue(_name(O="lpa test SM-DP+", CN="lpa Test SM-DP+ - NOT FOR PRODUCTION"), ci, policy, ca=False,
                  extensions=[(x509.SubjectAlternativeName([x509.RegisteredID(ObjectIdentifier(oid))]), False)],
                  not_after=_NOT_BEFORE + datetime.timedelta(days=1) if expired else _NOT_AFTER)


def load(folder: Path, stem: str) -> Issued:
    """A certificate and key of the test PKI, ``<stem>-cert.pem`` and ``<stem>-key.pem`` in ``folder``."""
    key = serialization.load_pem_private_key((folder / f"{stem}-key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # the test PKI's keys are EC keys (make_* above)
    return Issued(x509.load_pem_x509_certificate((folder / f"{stem}-cert.pem").read_bytes()), key)


def write_pki(folder: Path = PKI_DIR, eid: str = TEST_EID, new_ci: bool = False) -> None:
    """Generate the test PKI into ``folder`` as PEM files; the CI already there is kept (its key
    identifier is what certs/ and the tests name) unless ``new_ci``."""
    ci = load(folder, "ci") if not new_ci and (folder / "ci-cert.pem").exists() else make_ci()
    eum = make_eum(ci)
    files = {
        "ci": ci,
        "eum": eum,
        "euicc": make_euicc(eum, eid),
        "smdp-tls": make_tls(ci, ["127.0.0.1", "localhost", "::1"]),
        **{role: make_dp(ci, POLICIES[role]) for role in ("dpauth", "dppb", "dsauth")},
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, issued in files.items():
        (folder / f"{stem}-cert.pem").write_bytes(issued.cert_pem())
        (folder / f"{stem}-key.pem").write_bytes(issued.key_pem())


if __name__ == "__main__":
    import sys

    write_pki(new_ci="--new-ci" in sys.argv[1:])
    print(f"test PKI written to {PKI_DIR}")
