"""The GSMA CIs (Certificate Issuers) lpa knows, by the key identifier an eUICC lists (SGP.22 4.5.2.1).

Their root certificates are in certs/, each file named by the CI's key
identifier; their names are kept here, in code, so that `lpa info` names
the CIs without reading a file or importing a parser (nor :mod:`lpa.trust`,
which loads ssl). tests/e2e/test_info.py checks each name against its
certificate.
"""
from __future__ import annotations

#: Each CI's name (its certificate's common name, then what it is for), by key identifier (hex).
NAMES = {
    "16704b7f351e3607f18c4b70005c3a003dfd414a": "Entrust eSIM Certification Authority, production",
    "34eecf13156518d48d30bdf06853404d115f955d": "Test CI, SGP.26 v3 test, NIST P-256",
    "4c27967ad20c14b391e9601e41e604ad57c0222f": "OISTE GSMA CI G1, production",
    "665a1433d67c1a2c5db8b52c967f10a057ba5cb2": "Symantec Corporation RSP Test Root CA - For Test Purposes Only, test",
    "81370f5125d0b1d408d4c3b232e6d25e795bebfb": "GSM Association - RSP2 Root CI1, production",
    "c0bc70ba36929d43b467ff57570530e57ab8fcd8": "Test CI, SGP.26 test, brainpoolP256r1",
    "f54172bdf98a95d65cbeb88a38a1c11d800a85c3": "GSMA Test CI, SGP.26 v1 test, NIST P-256",
}


def ci_name(key_id: str) -> str | None:
    """The name of the CI whose key identifier is ``key_id`` (hex), if known."""
    return NAMES.get(key_id.lower())
