"""Every ES10 function against the simulated eUICC, through the APDU layer."""
from __future__ import annotations

import pytest
from cryptography import x509

from helpers import CONTOSO, FABRIKAM, NORTHWIND, TEST_PROFILE
from lpa import codec, es10
from lpa.apdu import open_isdr
from lpa.errors import ResultError
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.sim.pki.testpki import PKI_DIR, TEST_EID



def test_get_eid(ch):
    assert es10.get_eid(ch) == TEST_EID


def test_get_euicc_info1_lists_the_test_ci():
    ci = x509.load_pem_x509_certificate((PKI_DIR / "ci-cert.pem").read_bytes())
    ski = ci.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    with SimulatedTransport() as transport, open_isdr(transport) as ch:
        info = es10.get_euicc_info1(ch)
    assert info.svn == "2.2.0"
    assert info.ci_pkid_verification == (ski,)


def test_get_euicc_info2_decodes_versions_capabilities_and_memory(ch):
    info = es10.get_euicc_info2(ch).fields
    assert info["svn"] == "2.2.0"
    assert info["euiccFirmwareVer"] == "1.0.0"
    assert "testProfileSupport" in info["rspCapability"]
    assert info["extCardResource"]["installedApplication"] == 4
    assert info["extCardResource"]["freeNonVolatileMemory"] > 0
    assert info["euiccCategory"] == "basicEuicc"


def test_a_malformed_ext_card_resource_leaves_out_free_memory_with_a_note(ch):
    notes = []

    class Answer:
        note = notes.append

        def store_data(self, payload, name=""):
            info = codec.decode("EUICCInfo2", ch.store_data(payload, name))
            return codec.encode("EUICCInfo2", {**info, "extCardResource": bytes.fromhex("8203FFFF")})

    info = es10.get_euicc_info2(Answer()).fields
    assert info["extCardResource"] == {} and info["svn"] == "2.2.0"
    assert notes == ["EUICCInfo2.extCardResource is malformed (TLV 82 is truncated), free memory not shown: 8203FFFF"]


def test_get_euicc_configured_addresses(ch):
    addresses = es10.get_euicc_configured_addresses(ch)
    assert addresses.default_dp_address is None
    assert addresses.root_ds_address == "lpa.ds.gsma.com"


def test_get_profiles_info_returns_only_the_fields_asked_for(ch):
    profiles = es10.get_profiles_info(ch, fields=("iccid", "profileState"))
    assert [p.iccid for p in profiles] == [NORTHWIND, CONTOSO, FABRIKAM, TEST_PROFILE]
    assert profiles[0].state == "enabled"
    assert profiles[0].name is None and profiles[0].icon is None


def test_get_profiles_info_leaves_icons_out_of_a_list_unless_asked(ch):
    assert es10.get_profiles_info(ch)[0].icon is None
    with_icon = es10.get_profiles_info(ch, fields=es10.LIST_FIELDS + ("iconType", "icon"))[0]
    assert with_icon.icon_type == "png" and with_icon.icon.startswith(b"\x89PNG")


def test_get_profiles_info_searches_by_iccid_aid_and_class(ch):
    assert [p.iccid for p in es10.get_profiles_info(ch, iccid=CONTOSO)] == [CONTOSO]
    aid = es10.get_profiles_info(ch, iccid=CONTOSO)[0].isdp_aid
    assert [p.iccid for p in es10.get_profiles_info(ch, isdp_aid=bytes.fromhex(aid))] == [CONTOSO]
    assert [p.iccid for p in es10.get_profiles_info(ch, profile_class="test")] == [TEST_PROFILE]
    assert es10.get_profiles_info(ch, iccid="8988888888888888888") == []


def test_get_profiles_info_without_tag_list_has_everything(ch):
    enabled = es10.get_profiles_info(ch, iccid=NORTHWIND, fields=None)[0]
    assert enabled.notification_address("delete") == "smdp.northwind.example"
    fabrikam = es10.get_profiles_info(ch, iccid=FABRIKAM, fields=None)[0]
    assert fabrikam.policy_rules == ("ppr2",)


def test_enable_profile_disables_the_enabled_one(ch):
    es10.enable_profile(ch, CONTOSO)
    states = {p.iccid: p.state for p in es10.get_profiles_info(ch)}
    assert states[CONTOSO] == "enabled" and states[NORTHWIND] == "disabled"


def test_enable_profile_by_isdp_aid(ch):
    aid = es10.get_profiles_info(ch, iccid=CONTOSO)[0].isdp_aid
    es10.enable_profile(ch, bytes.fromhex(aid))
    assert es10.get_profiles_info(ch, iccid=CONTOSO)[0].state == "enabled"


def test_disable_profile(ch):
    es10.disable_profile(ch, NORTHWIND)
    assert es10.get_profiles_info(ch, iccid=NORTHWIND)[0].state == "disabled"


def test_delete_profile(ch):
    es10.delete_profile(ch, CONTOSO)
    assert es10.get_profiles_info(ch, iccid=CONTOSO) == []


def test_delete_of_an_enabled_profile_is_refused_with_its_result_code(ch):
    with pytest.raises(ResultError) as caught:
        es10.delete_profile(ch, NORTHWIND)
    assert caught.value.code == 2 and caught.value.reason == "profileNotInDisabledState"
    assert "disable it first" in str(caught.value)


def test_unknown_iccid_gives_iccid_or_aid_not_found(ch):
    with pytest.raises(ResultError) as caught:
        es10.enable_profile(ch, "8988888888888888888")
    assert caught.value.reason == "iccidOrAidNotFound"


def test_set_nickname(ch):
    es10.set_nickname(ch, CONTOSO, "travel ✈")
    assert es10.get_profiles_info(ch, iccid=CONTOSO)[0].nickname == "travel ✈"
    with pytest.raises(ResultError) as caught:
        es10.set_nickname(ch, "8988888888888888888", "x")
    assert caught.value.reason == "iccidNotFound"


def test_list_notification_is_sorted_and_filterable(ch):
    es10.disable_profile(ch, NORTHWIND)
    es10.delete_profile(ch, CONTOSO)
    everything = es10.list_notification(ch)
    assert [(n.seq_number, n.operation, n.iccid) for n in everything] == [
        (1, "disable", NORTHWIND), (2, "delete", CONTOSO)]
    assert [n.operation for n in es10.list_notification(ch, "delete")] == ["delete"]


def test_retrieve_notifications_list_keeps_the_signed_bytes(ch):
    es10.disable_profile(ch, NORTHWIND)
    [pending] = es10.retrieve_notifications_list(ch, 1)
    assert pending.metadata.operation == "disable" and pending.metadata.iccid == NORTHWIND
    kind, value = codec.decode("PendingNotification", pending.der)
    assert kind == "otherSignedNotification"
    assert len(value["euiccNotificationSignature"]) == 64
    assert es10.retrieve_notifications_list(ch, 99) == []


def test_remove_notification_from_list(ch):
    es10.disable_profile(ch, NORTHWIND)
    es10.remove_notification_from_list(ch, 1)
    assert es10.list_notification(ch) == []
    with pytest.raises(ResultError) as caught:
        es10.remove_notification_from_list(ch, 1)
    assert caught.value.reason == "nothingToDelete"


def test_answers_survive_a_segment_size_of_255(state_path):
    with SimulatedTransport(state_path) as transport, open_isdr(transport, mss=255) as ch:
        es10.set_nickname(ch, CONTOSO, "x" * 64)
        assert es10.get_profiles_info(ch, iccid=CONTOSO)[0].nickname == "x" * 64


def test_a_notification_is_returned_byte_identical_every_time(ch):
    es10.disable_profile(ch, NORTHWIND)
    first = es10.retrieve_notifications_list(ch, 1)[0].der
    assert es10.retrieve_notifications_list(ch, 1)[0].der == first  # signed once, when recorded
    assert es10.retrieve_notifications_list(ch)[0].der == first


class _Answer:
    def __init__(self, hex_answer: str) -> None:
        self.answer = bytes.fromhex(hex_answer.replace(" ", ""))

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        return self.answer


def test_every_operation_of_a_notification_configuration_entry_notifies():
    # one entry setting enable, disable and delete (bits 1-3: 04 70) for one address, as an eSIM.me card
    # answers (docs/cards-and-modems.md, "Notification configuration"); assembled by hand from the ASN.1,
    # not by lpa's encoder
    answer = _Answer("BF2D25 A023 E321 5A0A984474560000214365F7 B613 3011 80020470 810B7273702E6573696D2E6D65")
    [profile] = es10.get_profiles_info(answer)
    assert profile.notification_config == ((("enable", "disable", "delete"), "rsp.esim.me"),)
    assert [profile.notification_address(op) for op in ("install", "enable", "disable", "delete")] == [
        None, "rsp.esim.me", "rsp.esim.me", "rsp.esim.me"]
    assert profile.to_json()["notificationConfigurationInfo"] == [
        {"profileManagementOperation": ["enable", "disable", "delete"], "notificationAddress": "rsp.esim.me"}]


def test_the_simulator_lists_one_entry_per_address_with_all_its_operations(ch):
    [enabled] = es10.get_profiles_info(ch, iccid=NORTHWIND, fields=("notificationConfigurationInfo",))
    assert enabled.notification_config == ((("install", "enable", "disable", "delete"), "smdp.northwind.example"),)


def test_get_euicc_challenge_is_16_fresh_bytes(ch):
    first, second = es10.get_euicc_challenge(ch), es10.get_euicc_challenge(ch)
    assert len(first) == len(second) == 16 and first != second


def test_get_rat_allows_the_policy_rules_the_seeded_profiles_carry(ch):
    [rule] = es10.get_rat(ch)
    assert set(rule.ppr_ids) >= {"ppr1", "ppr2"} and rule.operators == (("EEEEEE", "", ""),)
    assert rule.to_json() == {"pprIds": ["ppr1", "ppr2"], "consentRequired": False,
                              "allowedOperators": [{"mccMnc": "EEEEEE", "gid1": "", "gid2": ""}]}


def _info2_with(ch, **fields):
    """The simulator's EUICCInfo2 with ``fields`` replaced, as a scripted card's answer."""

    class Answer:
        def store_data(self, payload, name=""):
            info = codec.decode("EUICCInfo2", ch.store_data(payload, name))
            return codec.encode("EUICCInfo2", {**info, **fields})

    return es10.get_euicc_info2(Answer()).fields


@pytest.mark.parametrize("number, shown", [(0, "other"), (3, "contactlessEuicc"), (4, 4), (-1, -1)])
def test_euicc_category_in_words_and_unknown_ones_as_numbers(ch, number, shown):
    assert _info2_with(ch, euiccCategory=number)["euiccCategory"] == shown


def test_ext_card_resource_gives_free_volatile_memory(ch):
    info = _info2_with(ch, extCardResource=bytes.fromhex("810102 820400010000 83020800"))
    assert info["extCardResource"] == {"installedApplication": 2, "freeNonVolatileMemory": 65536,
                                       "freeVolatileMemory": 2048}


def test_a_default_smdp_address_is_read_back(ch):
    es10.set_default_dp_address(ch, "smdp.example.com")
    assert es10.get_euicc_configured_addresses(ch).default_dp_address == "smdp.example.com"
    # assembled by hand: BF3C { 80 "smdp.io", 81 "lpa.ds.gsma.com" }
    addresses = es10.get_euicc_configured_addresses(_Answer(
        "BF3C1A 8007736D64702E696F 810F6C70612E64732E67736D612E636F6D"))
    assert (addresses.default_dp_address, addresses.root_ds_address) == ("smdp.io", "lpa.ds.gsma.com")


@pytest.mark.parametrize("function, answer, reason, words", [
    (es10.enable_profile, "BF3103800104", "wrongProfileReenabling", "re-enabled without a card reset"),
    (es10.enable_profile, "BF3103800105", "catBusy", "toolkit is busy"),
    (es10.enable_profile, "BF3103800103", "disallowedByPolicy", "refused by policy"),
    (es10.disable_profile, "BF3203800101", "iccidOrAidNotFound", "no such profile"),
    (es10.disable_profile, "BF3203800105", "catBusy", "toolkit is busy"),
    (es10.disable_profile, "BF3203800103", "disallowedByPolicy", "(PPR1)"),
    (es10.delete_profile, "BF3303800101", "iccidOrAidNotFound", "no such profile"),
    (es10.delete_profile, "BF3303800103", "disallowedByPolicy", "(PPR2)"),
    (es10.delete_profile, "BF330380017F", "undefinedError", "undefined error"),
])
def test_the_cards_refusals_name_the_reason_and_the_profile(function, answer, reason, words):
    for identifier, shown in ((CONTOSO, CONTOSO), (bytes.fromhex("A0000005591010FFFFFFFF8900001100"),
                                                   "A0000005591010FFFFFFFF8900001100")):
        with pytest.raises(ResultError) as caught:
            function(_Answer(answer), identifier)
        assert caught.value.reason == reason and caught.value.code == int(answer[-2:], 16)
        assert words in str(caught.value) and f" {shown}: " in str(caught.value)


def test_notification_addresses_are_per_operation():
    # two entries (assembled by hand): enable+disable to a.example, delete to b.example
    answer = _Answer("BF2D34 A032 E330 5A0A984474560000214365F7 B622"
                     " 300F 80020560 8109612E6578616D706C65"  # bits 1, 2 (enable, disable): 05 60
                     " 300F 80020410 8109622E6578616D706C65")  # bit 3 (delete): 04 10
    [profile] = es10.get_profiles_info(answer)
    assert [profile.notification_address(op) for op in ("install", "enable", "disable", "delete")] == [
        None, "a.example", "a.example", "b.example"]


def test_an_empty_answer_is_a_protocol_error_suggesting_a_smaller_segment_size():
    from lpa.errors import ProtocolError

    with pytest.raises(ProtocolError, match="GetEID: the card answered 9000 with no data; try a smaller --mss"):
        es10.get_eid(_Answer(""))


CONTEXT = {"deviceInfo": {"tac": b"1234", "deviceCapabilities": {}}}


@pytest.mark.parametrize("function, answer, reason", [
    # assembled by hand from the ASN.1: BF21/BF38 { A1 { 80 transactionId, 02 code } }
    (lambda ch: es10.prepare_download(ch, b"", b"", b""), "BF210A A108 8003010203 020105", "invalidTransactionId"),
    (lambda ch: es10.prepare_download(ch, b"", b"", b"", b"\x00" * 32), "BF210A A108 8003010203 02017F",
     "undefinedError"),
    (lambda ch: es10.authenticate_server(ch, b"", b"", b"", b"", CONTEXT), "BF380A A108 8003010203 020107",
     "ciPKUnknown"),
    (lambda ch: es10.authenticate_server(ch, b"", b"", b"", b"", CONTEXT), "BF380A A108 8003010203 020109", "9"),
])
def test_a_refused_download_step_gives_the_cards_answer_and_its_reason(function, answer, reason):
    assert function(_Answer(answer)) == (bytes.fromhex(answer.replace(" ", "")), reason)


class _Recorded(_Answer):
    def __init__(self, hex_answer: str) -> None:
        super().__init__(hex_answer)
        self.sent: list[bytes] = []

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        self.sent.append(payload)
        return self.answer


@pytest.mark.parametrize("function, answer", [(es10.enable_profile, "BF3103800100"),
                                              (es10.disable_profile, "BF3203800100")])
def test_refresh_flag_is_false_unless_asked(function, answer):
    card = _Recorded(answer)
    function(card, CONTOSO)
    function(card, CONTOSO, True)
    assert card.sent[0].hex().upper().endswith("810100") and card.sent[1].hex().upper().endswith("8101FF")


@pytest.mark.parametrize("answer, reason", [("BF2D03810101", "incorrectInputValues"),  # profileInfoListError [1]
                                            ("BF2D0381017F", "undefinedError")])
def test_a_refused_profile_search_names_the_reason(answer, reason):
    with pytest.raises(ResultError) as caught:
        es10.get_profiles_info(_Answer(answer), iccid=CONTOSO)
    assert caught.value.reason == reason


def test_values_sgp22_does_not_name_are_shown_as_unknown():
    # a ProfileInfo with profileState 2 and profileClass 3, assembled by hand
    [profile] = es10.get_profiles_info(_Answer("BF2D15 A013 E311 5A0A984474560000214365F7 9F700102 950103"))
    assert (profile.state, profile.profile_class) == ("unknown(2)", "unknown(3)")


@pytest.mark.parametrize("options", [set(), {"deleteEverything"}, {"deleteOperationalProfiles", "wipe"}])
def test_memory_reset_options_are_checked_before_anything_is_sent(options):
    card = _Recorded("BF3403800100")
    with pytest.raises(ValueError, match="reset options must be some of"):
        es10.euicc_memory_reset(card, options)
    assert card.sent == []
