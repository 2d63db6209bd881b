"""lpa's checks of what an SM-DP+ offers (lpa/operations/offer.py): the package against the offer, the policy rules
against the eUICC's RAT, serverSigned1 against the transaction and the address (docs/download-flow.md)."""
from __future__ import annotations

import pytest

from lpa import codec
from lpa.encoding import OPERATIONS, PPR_BITS, iccid_to_bytes, names_to_bits
from lpa.es10 import PolicyRule
from lpa.operations.offer import metadata_difference, package_metadata, rules_not_allowed, server_signed1_difference

BASE = {"iccid": iccid_to_bytes("8949449999999990049"), "serviceProviderName": "GSMA TS.48", "profileName": "P",
        "profileClass": 0, "notificationConfigurationInfo": [
            {"profileManagementOperation": names_to_bits(["install"], OPERATIONS), "notificationAddress": "a.example"}]}


def metadata(**changes: object) -> bytes:
    value = {**BASE, **changes}
    return codec.encode("StoreMetadataRequest", {k: v for k, v in value.items() if v is not None})


def test_the_same_metadata_is_no_difference_and_an_absent_class_is_operational():
    assert metadata_difference(metadata(), metadata()) is None
    assert metadata_difference(metadata(profileClass=None), metadata(profileClass=2)) is None


@pytest.mark.parametrize("changes, words", [
    ({"iccid": iccid_to_bytes("89674523018967452301")}, "the package's ICCID is"),
    ({"serviceProviderName": "Evil Corp"}, "the package's service provider name is 'Evil Corp', the offer's 'GSMA"),
    ({"profileName": "Q"}, "profile name is 'Q'"),
    ({"profileClass": 2}, "profile class is 2, the offer's 0"),
    ({"profilePolicyRules": names_to_bits(["ppr1"], PPR_BITS)}, "policy rules is"),
    ({"notificationConfigurationInfo": [{"profileManagementOperation": names_to_bits(["install"], OPERATIONS),
                                         "notificationAddress": "evil.example"}]}, "notification configuration is"),
])
def test_each_field_the_package_changes_is_named(changes, words):
    difference = metadata_difference(metadata(), metadata(**changes))
    assert difference is not None and words in difference


def test_the_package_metadata_is_the_88_segments_without_their_macs():
    bpp = {"sequenceOf88": [b"\xbf\x25\x03" + bytes(8), b"\x80\x01\x00" + bytes(8)]}
    assert package_metadata(bpp) == b"\xbf\x25\x03\x80\x01\x00"


ANY_OPERATOR = PolicyRule(("ppr1", "ppr2"), (("EEEEEE", None, None),), False)
ONE_OPERATOR = PolicyRule(("ppr2",), (("32F410", None, None),), False)


@pytest.mark.parametrize("rules, owner, rat, refused", [
    (None, None, [], []),
    (["ppr1"], None, [ANY_OPERATOR], []),
    (["ppr1"], None, [], ["ppr1"]),
    (["ppr2"], bytes.fromhex("32F410"), [ONE_OPERATOR], []),
    (["ppr2"], bytes.fromhex("32F420"), [ONE_OPERATOR], ["ppr2"]),
    (["ppr2"], None, [ONE_OPERATOR], ["ppr2"]),  # an owner not named is no operator the rule names
    (["ppr1", "ppr2"], bytes.fromhex("32F410"), [ONE_OPERATOR], ["ppr1"]),
    (["pprUpdateControl"], None, [], []),  # not a rule the RAT authorises
])
def test_policy_rules_are_checked_against_the_rat_for_the_profile_owner(rules, owner, rat, refused):
    changes: dict = {"profilePolicyRules": names_to_bits(rules, PPR_BITS) if rules is not None else None}
    if owner is not None:
        changes["profileOwner"] = {"mccMnc": owner}
    assert rules_not_allowed(metadata(**changes), rat) == refused


def signed1(transaction_id: bytes, address: str) -> bytes:
    return codec.encode("ServerSigned1", {"transactionId": transaction_id, "euiccChallenge": bytes(16),
                                          "serverAddress": address, "serverChallenge": bytes(16)})


def test_server_signed1_must_name_the_transaction_and_the_address_asked():
    tid = bytes(range(16))
    assert server_signed1_difference(signed1(tid, "SMDP.example.com"), tid, "smdp.example.com") is None
    assert "names transaction" in (server_signed1_difference(signed1(bytes(16), "smdp.example.com"), tid,
                                                             "smdp.example.com") or "")
    assert "names server 'evil.example'" in (server_signed1_difference(signed1(tid, "evil.example"), tid,
                                                                        "smdp.example.com") or "")
