"""`lpa download` end to end: the simulated eUICC, the test SM-DP+ serving the TS.48 test profiles."""
from __future__ import annotations

import json

import pytest

from helpers import TEST_CI, TS48_ICCID, TS48_PROFILE, json_data, offer_with

pytestmark = pytest.mark.download
PROFILE = TS48_PROFILE
ICCID = TS48_ICCID


def test_download_installs_a_ts48_profile_and_delivers_the_result(lpa, smdpp, sim_state):
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 0, result.output
    installed = sim_state().find(iccid=ICCID)
    assert installed is not None and installed.state == "disabled" and installed.name == PROFILE
    assert result.output.strip().endswith(f"in ISD-P {installed.isdp_aid}; notified {smdpp.address}")
    [accepted] = [a for a in smdpp.accepted if a.operation == "install"]
    assert accepted.iccid == ICCID  # the SM-DP+ verified the signed installation result
    assert ICCID in lpa("list").output
    assert [n for n in sim_state().notifications if n.iccid == ICCID] == []  # delivered, then removed


def test_a_download_sends_each_es10_function_it_needs_once(lpa, smdpp, sim_state):
    # EUICCInfo1 read once per session (TLS anchors and initiateAuthentication), no GetRAT for an offer without
    # policy rules (TS.48 profiles have none), the install notification sent as the card answered the last
    # BPP piece (no RetrieveNotificationsList), then removed
    traced = lpa("-v", "download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert traced.exit_code == 0, traced.output
    tags = [line[12:16] for line in traced.output.splitlines() if line.startswith("> 80E2") and line[8:10] == "00"]
    functions = [tag for tag in tags if tag.startswith("BF") and tag != "BF36"]
    assert functions == ["BF20", "BF2E", "BF38", "BF2D", "BF21", "BF30"]
    assert [a.iccid for a in smdpp.accepted if a.operation == "install"] == [ICCID]


def test_download_json_and_declined_consent(lpa, smdpp, sim_state, monkeypatch):
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    declined = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert declined.exit_code == 1 and "was not downloaded; the session is cancelled" in declined.output
    assert sim_state().find(iccid=ICCID) is None
    assert smdpp.download.cancelled and smdpp.download.cancelled[-1][1] == 0  # endUserRejection, signed
    traced = lpa("-v", "download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert [line[12:16] for line in traced.output.splitlines() if line.startswith("> 80E2")].count("BF41") == 1
    data = json_data(lpa("--json", "download", f"LPA:1${smdpp.address}${PROFILE}", "--yes"))
    assert data["iccid"] == ICCID and data["profileClass"] == "test" and data["isdpAid"]
    assert data["notifications"][0]["delivered"] is True


def test_a_confirmation_code_is_hashed_and_checked_by_the_smdp(lpa, smdpp, sim_state):
    smdpp.download.confirmation_codes[PROFILE] = "12345678"
    refused = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes", "--confirmation-code", "0000")
    assert refused.exit_code == 5 and "confirmation code refused" in refused.output
    assert sim_state().find(iccid=ICCID) is None
    ok = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes", "--confirmation-code", "12345678")
    assert ok.exit_code == 0 and sim_state().find(iccid=ICCID) is not None


@pytest.mark.parametrize("args,message", [
    (["LPA:1$smdp.example.com"], "is not LPA:1$<SM-DP+ address>$<matching ID>"),
    (["LPA:1.example.com-MATCH"], "lost its $ fields, probably to the shell"),
    (["LPA:1$a.example$X", "--smdp", "b.example"], "give one of: an activation code"),
    (["LPA:1$smdp.example.com$X", "--imei", "12"], "IMEI '12' must be 14 to 16 digits"),
    (["LPA:1$smdp.example.com$X$$1"], "this activation code needs a confirmation code"),
])
def test_bad_codes_are_refused_before_the_card_is_touched(lpa, state_path, args, message):
    before = state_path.read_bytes()
    result = lpa("download", *args, "--yes")
    assert result.exit_code == 2 and message in result.output
    assert state_path.read_bytes() == before


def test_an_unknown_matching_id_is_the_smdps_refusal_in_words(lpa, smdpp, sim_state):
    result = lpa("download", f"LPA:1${smdpp.address}$NO-SUCH-ORDER", "--yes")
    assert result.exit_code == 5 and "8.2.6" in result.output and "matching ID refused" in result.output
    assert smdpp.download.sessions == {}  or all(s.matching_id == "" for s in smdpp.download.sessions.values())


@pytest.mark.parametrize("fault,code,message,cancelled", [
    ("dp-bad-signature", 3, "the eUICC refused the SM-DP+", None),
    ("dp-unknown-ci", 3, "ciPKUnknown", None),
    ("dp-expired", 3, "invalidCertificate", None),
    ("dp-bad-signature2", 3, "the eUICC refused the download: invalidSignature", None),
    ("fail-initiateAuthentication", 5, "test fault at initiateAuthentication", None),
    ("fail-authenticateClient", 5, "test fault at authenticateClient", None),  # no eUICC certificate: cancel refused
    ("fail-getBoundProfilePackage", 5, "test fault at getBoundProfilePackage", 127),
    ("drop-bpp", 5, "connection closed by the server before the answer was complete", 127),
])
def test_every_download_fault_ends_cleanly(lpa, smdpp, sim_state, fault, code, message, cancelled):
    smdpp.fault = fault
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == code and message in result.output, result.output
    assert len([line for line in result.output.splitlines() if not line.startswith("GSMA TS.48")]) == 1
    assert sim_state().find(iccid=ICCID) is None
    assert [reason for _, reason in smdpp.download.cancelled] == ([cancelled] if cancelled is not None else [])
    smdpp.fault = None
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0  # the card is fine after


def test_a_corrupted_segment_gives_the_euiccs_error_result_delivered_to_the_smdp(lpa, smdpp, sim_state):
    smdpp.fault = "corrupt-segment"
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 3
    assert result.output.splitlines()[-1] == "lpa: not installed: the eUICC answered scp03tSecurityError " \
        f"(loadProfileElements); notified {smdpp.address}; ask the operator whether to try again or for a new " \
        "activation code"
    assert sim_state().find(iccid=ICCID) is None
    assert [a.operation for a in smdpp.accepted] == ["install"]  # the error result, signed, reached the SM-DP+
    smdpp.accepted.clear()
    failed = lpa("--json", "download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert failed.exit_code == 3
    payload = json.loads(failed.output)
    assert payload["ok"] is False and payload["error"]["code"] == 3  # ok is false exactly when the exit is not 0
    data = payload["data"]
    assert data["iccid"] == ICCID and data["isdpAid"] is None
    assert data["error"] == {"bppCommandId": "loadProfileElements", "errorReason": "scp03tSecurityError"}
    assert [n["delivered"] for n in data["notifications"]] == [True]


def test_a_failing_cancel_at_the_smdp_still_ends_the_session_on_the_card(lpa, smdpp, sim_state, monkeypatch):
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    smdpp.fault = "fail-cancelSession"
    declined = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert declined.exit_code == 1 and "at the SM-DP+" not in declined.output
    assert "the session is cancelled on the eUICC (endUserRejection); the SM-DP+ did not accept the cancel" \
        in declined.output
    assert "test fault at cancelSession" in declined.output
    smdpp.fault = None
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0


def test_sim_smdpp_confirmation_codes_are_matching_id_equals_code(lpa):
    result = lpa("sim", "smdpp", "--port", "0", "--confirmation-code", "no-equals-sign", sim=False)
    assert result.exit_code == 2 and "MATCHING_ID=CODE" in result.output


def test_a_bpp_in_ppk_mode_installs(lpa, smdpp, sim_state):
    smdpp.download.ppk_mode = True
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 0, result.output
    assert sim_state().find(iccid=ICCID) is not None


def test_a_download_spends_the_euiccs_memory(lpa, smdpp):
    def free() -> int:
        return json_data(lpa("--json", "info"))["EUICCInfo2"]["extCardResource"]["freeNonVolatileMemory"]

    before = free()
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0
    assert before - free() == len(smdpp.download.profiles[PROFILE])


def test_the_offer_shows_icon_type_and_policy_rules_before_consent(lpa, smdpp, sim_state, monkeypatch):
    from lpa.encoding import PPR_BITS, names_to_bits

    offer_with(smdpp, monkeypatch, iconType=1, icon=b"\x89PNG\r\n\x1a\n",
               profilePolicyRules=names_to_bits(["ppr2"], PPR_BITS))
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    declined = lpa("-v", "download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert f"ICCID {ICCID}, test profile, png icon, policy rules ppr2" in declined.output
    assert sim_state().find(iccid=ICCID) is None
    # an offer with policy rules is checked against the eUICC's RAT before consent (the simulated one allows ppr2)
    assert "> 80E2910003BF430000" in declined.output.splitlines()


def test_an_answer_larger_than_lpa_reads_ends_the_download_cleanly(lpa, smdpp, sim_state, monkeypatch):
    monkeypatch.setattr("lpa.https.MAX_ANSWER", 2000)  # initiateAuthentication fits, the BPP does not
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 5 and "the answer is larger than 2000 bytes" in result.output, result.output
    assert sim_state().find(iccid=ICCID) is None
    assert [reason for _, reason in smdpp.download.cancelled] == [127]


@pytest.mark.parametrize("fault, function", [("dp-bad-signature", "authenticateClient"),
                                             ("dp-bad-signature2", "getBoundProfilePackage")])
def test_the_euiccs_refusal_is_forwarded_to_the_smdp(lpa, smdpp, fault, function):
    smdpp.fault = fault
    lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert smdpp.requests[-1][0] == f"/gsma/rsp2/es9plus/{function}"  # the refusal, signed by the eUICC
    assert smdpp.download.sessions == {}  # and the SM-DP+ ended its session


@pytest.mark.parametrize("imei, tac, packed", [
    ("356938035643809", "53968330", "53968330653408F9"),
    ("35693803564380", "53968330", "53968330653408FF"),
    ("3569380356438012", "53968330", "5396833065340821"),
])
def test_the_imei_is_sent_as_nibble_swapped_bcd_padded_with_f(imei, tac, packed):
    from lpa.operations.authentication import device_info

    info = device_info(imei)
    assert info["tac"].hex().upper() == tac and info["imei"].hex().upper() == packed


@pytest.mark.parametrize("imei", ["3569380356438", "35693803564380123", "35693803564380A",
                                  "３５６９３８０３５６４３８０９"])
def test_an_imei_that_is_not_14_to_16_digits_is_refused(imei):
    from lpa.operations.authentication import device_info
    from lpa.errors import InputError

    with pytest.raises(InputError, match="must be 14 to 16 digits"):
        device_info(imei)


def test_without_an_imei_lpacs_tac_is_sent():
    from lpa.operations.authentication import device_info

    assert device_info(None) == {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}


@pytest.mark.parametrize("fields, shown", [
    ({}, ("operational", None)),
    ({"profileClass": 0, "iconType": 0, "icon": b"\xff\xd8"}, ("test", "jpeg")),
    ({"profileClass": 1, "iconType": 1, "icon": b"\x89P"}, ("provisioning", "png")),
    ({"profileClass": 3}, ("3", None)),
])
def test_an_offer_in_words(fields, shown):
    from lpa import codec
    from lpa.operations.download import offer_from

    metadata = codec.encode("StoreMetadataRequest", {"iccid": bytes.fromhex("98" + "00" * 9),
                                                     "serviceProviderName": "Op", "profileName": "P", **fields})
    offer = offer_from(metadata, True, "smdp.example.com")
    assert (offer.profile_class, offer.icon_type) == shown and offer.confirmation_code_required
    assert offer.iccid == "89000000000000000000" and offer.policy_rules == ()


def test_the_library_download_counts_the_bytes_of_every_piece_and_notifies_by_default(lpa, smdpp, state_path):
    from lpa import NotifySettings, open_euicc
    from lpa.activation import ActivationCode

    seen = []
    settings = NotifySettings(ca_files=(TEST_CI,), timeout=30)
    with open_euicc(sim=True, sim_state=str(state_path), notify=settings) as euicc:
        result = euicc.download(ActivationCode(smdpp.address, PROFILE), consent=lambda offer: True,
                                confirmation_code=lambda: "", progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and len(seen) > 4
    assert all(before < after for (before, _), (after, _) in zip(seen, seen[1:])) and {t for _, t in seen} == {total}
    assert result.to_json()["error"] is None and result.to_json()["isdpAid"] == result.result.isdp_aid
    # notify is on by default: the installation result reached the SM-DP+ and left the card
    assert [d.delivered for d in result.deliveries] == [True] and [a.iccid for a in smdpp.accepted] == [ICCID]


def test_a_transaction_id_that_is_not_hexadecimal_is_refused(state_path):
    from lpa import es10
    from lpa.apdu import open_isdr
    from lpa.operations.authentication import mutual_authentication
    from lpa.errors import ServerError
    from lpa.sim.bridges.inprocess import SimulatedTransport

    with SimulatedTransport(state_path) as transport, open_isdr(transport) as ch:
        with pytest.raises(ServerError, match="its transactionId XYZ is not 1 to 16 bytes in hex"):
            mutual_authentication(ch, "smdp.example", {}, lambda challenge, info1: {"transactionId": "XYZ"},
                                  es10.get_euicc_info1(ch).der)


def test_an_operational_profile_whose_metadata_leaves_out_the_default_class_installs(lpa, smdpp, sim_state,
                                                                                     monkeypatch):
    # DER leaves out a DEFAULT value: profileClass DEFAULT operational is absent from real operational offers
    from lpa import codec

    plain = smdpp.download.metadata

    def operational(matching_id: str) -> bytes:
        value = codec.decode("StoreMetadataRequest", plain(matching_id))
        del value["profileClass"]
        encoded = codec.encode("StoreMetadataRequest", value)
        assert b"\x95\x01" not in encoded  # no profileClass TLV
        return encoded

    monkeypatch.setattr(smdpp.download, "metadata", operational)
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 0, result.output
    assert "operational profile" in result.output
    assert sim_state().find(iccid=ICCID).profile_class == "operational"


def test_smdp_and_matching_id_download_without_a_terminal_and_no_confirmation_code(lpa, smdpp, sim_state):
    result = lpa("download", "--smdp", smdpp.address, "--matching-id", PROFILE, "--yes")
    assert result.exit_code == 0, result.output
    assert sim_state().find(iccid=ICCID) is not None


@pytest.mark.parametrize("fault,code,message,cancelled", [
    ("forged-dpauth", 3, "the eUICC refused the SM-DP+", None),  # invalidCertificate: AKI right, signature not
    ("forged-dppb", 3, "the eUICC refused the download: invalidCertificate", None),
    ("bad-smdp-sign", 3, "not installed: the eUICC answered invalidSignature (initialiseSecureChannel)", None),
    ("bpp-wrong-transaction", 3, "not installed: the eUICC answered invalidTransactionId (initialiseSecureChannel)",
     None),
    ("bad-padding", 3, "not installed: the eUICC answered scp03tStructureError (loadProfileElements)", None),
    ("header-iccid-mismatch", 3,
     "not installed: the eUICC answered installFailedDueToDataMismatch (loadProfileElements)", None),
    ("metadata-mismatch", 5, "the profile package is not the profile offered: the package's ICCID is", 4),
])
def test_what_a_card_or_lpa_must_refuse_of_the_smdp_ends_the_download_cleanly(lpa, smdpp, sim_state, fault, code,
                                                                              message, cancelled):
    """`lpa sim smdpp --fault`: each ends with one line, nothing installed, the session cancelled where one is
    open (metadataMismatch), the eUICC's error result delivered where it gave one."""
    smdpp.fault = fault
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == code and message in result.output, result.output
    assert len([line for line in result.output.splitlines() if not line.startswith(("GSMA TS.48", "Evil Corp"))]) == 1
    assert sim_state().find(iccid=ICCID) is None and sim_state().find(iccid="89674523018967452301") is None
    assert [reason for _, reason in smdpp.download.cancelled] == ([cancelled] if cancelled is not None else [])
    assert [a.operation for a in smdpp.accepted] == (["install"] if "not installed" in message else [])
    if fault == "header-iccid-mismatch":  # after StoreMetadata, the error result names the profile
        assert smdpp.accepted[0].iccid == ICCID
    smdpp.fault = None
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0  # the card is fine after


@pytest.mark.parametrize("fault,message,cancelled", [
    ("bad-euicc-signature1", "euiccSignature1 does not verify", 127),
    ("bad-euicc-signature2", "euiccSignature2 does not verify", 127),
    ("eid-outside-eum-range", "outside its EUM's permitted range 89049032", None),  # no certificate to trust
])
def test_an_euicc_that_signs_or_certifies_wrongly_is_refused_by_the_smdp(lpa, smdpp, sim_state, fault, message,
                                                                        cancelled):
    """`lpa sim quirks --fault`: the test SM-DP+ refuses, lpa ends with its reason, nothing installed, the session
    cancelled (the eUICC's certificate chains to the CI, so the SM-DP+ verifies the cancel with it)."""
    assert lpa("sim", "quirks", "--fault", fault).exit_code == 0
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert result.exit_code == 5 and message in result.output, result.output
    assert sim_state().find(iccid=ICCID) is None
    assert [reason for _, reason in smdpp.download.cancelled] == ([cancelled] if cancelled is not None else [])
    assert "no quirks" in lpa("sim", "quirks", "--clear").output
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0


def test_a_pir_the_euicc_signed_wrongly_is_refused_and_stays_on_the_card(lpa, smdpp, sim_state):
    """bad-pir-signature: the profile is on the card (the card says so), but the SM-DP+ verifies the result with
    the session's eUICC certificate and refuses it; the notification is kept for a later delivery."""
    lpa("sim", "quirks", "--fault", "bad-pir-signature")
    steps: list[str] = []
    smdpp.download.log = steps.append
    result = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert f"notification 1 for {smdpp.address} is kept on the eUICC (HTTP 400" in result.output
    assert smdpp.accepted == [] and steps[-1].endswith("ProfileInstallationResult refused: euiccSignPIR does not verify")
    assert [n.operation for n in sim_state().notifications if n.iccid == ICCID] == ["install"]


def test_a_cancel_signed_by_another_key_is_refused_and_lpa_says_so(lpa, smdpp, sim_state, monkeypatch):
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    lpa("sim", "quirks", "--fault", "foreign-cancel")
    declined = lpa("download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert declined.exit_code == 1 and "at the SM-DP+" not in declined.output
    assert "the SM-DP+ did not accept the cancel" in declined.output and \
        "euiccCancelSessionSignature does not verify" in declined.output
    assert smdpp.download.cancelled == [] and sim_state().find(iccid=ICCID) is None


def test_sim_quirks_refuses_an_unknown_fault(lpa):
    result = lpa("sim", "quirks", "--fault", "no-such-fault")
    assert result.exit_code == 2 and "not one of bad-euicc-signature1" in result.output


def test_the_test_smdpp_logs_each_session_step(lpa, smdpp, monkeypatch):
    """What `lpa sim smdpp` prints: initiate, authenticate, offer, BPP sent, PIR verified; a refusal and a cancel
    with their reasons."""
    steps: list[str] = []
    smdpp.download.log = steps.append
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0
    tid = steps[0].split(":")[0]
    assert [step.split(": ", 1)[1].split(" (")[0].split(",")[0] for step in steps] == [
        "initiateAuthentication", "authenticateClient", f"offered {PROFILE}", "BPP sent",
        "ProfileInstallationResult verified"]
    assert all(step.startswith(tid) for step in steps)
    assert lpa("delete", "--yes", ICCID).exit_code == 0  # else lpa cancels before consent: already on the eUICC
    steps.clear()
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    lpa("download", f"LPA:1${smdpp.address}${PROFILE}", input="n\n")
    assert steps[-1].endswith("cancelled by the eUICC, endUserRejection")
    smdpp.fault = "forged-dppb"
    lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert steps[-1].startswith("getBoundProfilePackage refused (8.1/6.1): the eUICC refused the download (code 1)")


def test_the_installation_result_is_verified_with_the_sessions_euicc_certificate(lpa, smdpp, sim_state):
    """Not with the certificates the SM-DP+ keeps for other servers' sessions (here: none that fits)."""
    from lpa.sim.pki import testpki

    smdpp.euicc_certs = [testpki.make_euicc(testpki.load(testpki.PKI_DIR, "eum"), testpki.TEST_EID).cert]
    assert lpa("download", f"LPA:1${smdpp.address}${PROFILE}", "--yes").exit_code == 0
    assert [(a.operation, a.iccid) for a in smdpp.accepted] == [("install", ICCID)]


def test_a_download_is_one_tls_connection_and_255_byte_blocks_on_a_reader(lpa, smdpp):
    traced = lpa("-v", "download", f"LPA:1${smdpp.address}${PROFILE}", "--yes")
    assert traced.exit_code == 0, traced.output
    # the three ES9+ exchanges of the download and the install notification, on one TLS connection
    assert [path.rsplit("/", 1)[1] for path, _, _ in smdpp.requests] == [
        "initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification"]
    assert smdpp.connections == 1
    # every STORE DATA block that more blocks follow carries ISO 7816's short-APDU maximum
    assert {line[10:12] for line in traced.output.splitlines() if line.startswith("> 80E211")} == {"FF"}
