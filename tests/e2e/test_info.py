"""`lpa info` in words: CI names (lpa.ci), memory in human units."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

CERTS = Path(__file__).parents[2] / "certs"


@pytest.mark.filterwarnings("ignore:Parsed a serial number")  # one test root has a negative serial number
def test_every_ci_name_belongs_to_a_certificate_in_certs_and_starts_with_its_common_name():
    from lpa.ci import NAMES as names

    assert sorted(names) == sorted(p.stem for p in CERTS.glob("*.pem"))
    for key_id, name in names.items():
        cert = x509.load_pem_x509_certificate((CERTS / f"{key_id}.pem").read_bytes())
        assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier.hex() == key_id
        assert name.startswith(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value + ", ")


def test_info_names_the_cis_it_knows_and_gives_memory_in_kib(lpa):
    gsma = "81370f5125d0b1d408d4c3b232e6d25e795bebfb"
    assert lpa("sim", "identity", "--trust-ci", str(CERTS / f"{gsma}.pem")).exit_code == 0
    lines = lpa("info").output.splitlines()
    assert "Free memory:              416000 bytes (406 KiB)" in lines
    at = lines.index("CI keys (verification):   03e282b295a1c1ddfd4b421e67acea8c61c7a085")  # lpa's test CI: no name
    assert lines[at + 1] == " " * 26 + f"{gsma} (GSM Association - RSP2 Root CI1, production)"


def test_info_shows_the_rules_authorisation_table_in_words(lpa):
    assert "Policy rules allowed:     ppr1, ppr2: any operator" in lpa("info").output
    from helpers import json_data

    [rule] = json_data(lpa("--json", "info"))["rat"]
    assert rule["pprIds"] == ["ppr1", "ppr2"] and rule["allowedOperators"][0]["mccMnc"] == "EEEEEE"


def test_rules_in_words_name_operators_and_consent():
    from lpa.operations.info import _rule
    from lpa.es10 import PolicyRule

    rule = PolicyRule(("ppr1",), (("00F110", "1234", None), ("EEEEEE", None, None)), True)
    assert _rule(rule) == "ppr1: MCC/MNC 00F110 GID1 1234, any operator, with the user's consent"


def test_a_card_without_get_rat_still_shows_its_info(lpa, monkeypatch):
    from lpa.errors import StatusWordError

    def refused(ch):
        raise StatusWordError("GetRAT", 0x6A88)

    monkeypatch.setattr("lpa.es10.get_rat", refused)
    result = lpa("-v", "info")
    assert result.exit_code == 0 and "Policy rules allowed" not in result.output
    assert "GetRAT refused with 6A88" in result.output


def test_info_shows_the_certification_data_object_when_the_card_gives_one(lpa):
    # the simulator answers the SGP.26 test card's sample values (real-cards answers.json)
    assert "Certification:            1.2.840.1234567/myPlatformLabel (DLOA registrar " \
           "https://mycompany.com/myDLOARegistrar)" in lpa("info").output
    data = json.loads(lpa("--json", "info").output)["data"]
    assert data["EUICCInfo2"]["certificationDataObject"] == {
        "platformLabel": "1.2.840.1234567/myPlatformLabel", "discoveryBaseURL": "https://mycompany.com/myDLOARegistrar"}
