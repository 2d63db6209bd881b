"""The simulated eUICC's download side, driven as an SM-DP+ and an LPA would (SGP.22 3.1.3, 5.7.13).

The SM-DP+ side is built here from the lpa test CI (DPauth certificate,
serverSigned1 signed with its key); what the card answers is checked as the
SM-DP+ checks it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from helpers import TEST_PROFILE, TS48_PROFILE
from lpa import codec, es10
from lpa.apdu import open_isdr
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.sim.pki import testpki
from lpa.sim.pki.certificates import POLICIES
from lpa.sim.pki.signatures import sign_rs, verify_rs

TRANSACTION_ID = bytes.fromhex("A5B4C3D2E1F00718293A4B5C6D7E8F90")


def lpa_test_ci() -> testpki.Issued:
    pki = Path(testpki.PKI_DIR)
    return testpki.Issued(x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes()),
                          serialization.load_pem_private_key((pki / "ci-key.pem").read_bytes(), None))


@pytest.fixture(scope="module")
def dpauth() -> testpki.Issued:
    return testpki.make_dp(lpa_test_ci(), POLICIES["dpauth"])


CTX_PARAMS1 = ("ctxParamsForCommonAuthentication",
               {"matchingId": "TS48V2-SAIP2-1-BERTLV-UNIQUE", "deviceInfo": {"tac": bytes.fromhex("35290611"),
                                                                            "deviceCapabilities": {}}})


def authenticate_server(ch, dp: testpki.Issued, *, challenge: bytes | None = None, tamper: bool = False,
                        ci_to_use: bytes | None = None) -> tuple[str, dict]:
    """What an LPA sends after initiateAuthentication, with what an SM-DP+ would have answered."""
    challenge = es10.get_euicc_challenge(ch) if challenge is None else challenge
    signed1 = codec.encode("ServerSigned1", {"transactionId": TRANSACTION_ID, "euiccChallenge": challenge,
                                             "serverAddress": "127.0.0.1:8443", "serverChallenge": bytes(range(16))})
    signature = sign_rs(dp.key, signed1)
    if tamper:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    ci_key_id = x509.SubjectKeyIdentifier.from_public_key(lpa_test_ci().key.public_key()).digest
    request = codec.encode("AuthenticateServerRequestView", {
        "serverSigned1": signed1, "serverSignature1": codec.encode("SignatureElement", signature),
        "euiccCiPKIdToBeUsed": codec.encode("SubjectKeyIdentifier", ci_to_use or ci_key_id),
        "serverCertificate": dp.cert.public_bytes(
            serialization.Encoding.DER),
        "ctxParams1": codec.encode("CtxParams1", CTX_PARAMS1)})
    return codec.decode("AuthenticateServerResponseView", ch.store_data(request, "AuthenticateServer"))


def test_authenticate_server_answers_euicc_signed1_signed_by_the_euicc(ch, dpauth, sim_state):
    kind, ok = authenticate_server(ch, dpauth)
    assert kind == "authenticateResponseOk"
    euicc_cert = x509.load_der_x509_certificate(bytes(ok["euiccCertificate"]))
    eum_cert = x509.load_der_x509_certificate(bytes(ok["eumCertificate"]))
    assert euicc_cert.verify_directly_issued_by(eum_cert) is None
    signed1 = bytes(ok["euiccSigned1"])
    assert verify_rs(euicc_cert.public_key(), signed1, bytes(ok["euiccSignature1"]))  # over the TLV as sent
    fields = codec.decode("EuiccSigned1View", signed1)
    assert bytes(fields["transactionId"]) == TRANSACTION_ID and fields["serverAddress"] == "127.0.0.1:8443"
    assert bytes(fields["serverChallenge"]) == bytes(range(16))
    assert bytes(fields["ctxParams1"]) == codec.encode("CtxParams1", CTX_PARAMS1)  # byte for byte
    assert codec.decode("EUICCInfo2", bytes(fields["euiccInfo2"]))["svn"] == b"\x02\x02\x00"


def test_the_challenge_is_single_use_and_must_be_the_last_one(ch, dpauth):
    challenge = es10.get_euicc_challenge(ch)
    assert authenticate_server(ch, dpauth, challenge=challenge)[0] == "authenticateResponseOk"
    kind, error = authenticate_server(ch, dpauth, challenge=challenge)  # used already
    assert (kind, error["authenticateErrorCode"]) == ("authenticateResponseError", 6)
    old = es10.get_euicc_challenge(ch)
    es10.get_euicc_challenge(ch)
    assert authenticate_server(ch, dpauth, challenge=old)[1]["authenticateErrorCode"] == 6  # not the latest


@pytest.mark.parametrize("case,code", [
    ("tampered signature", 2),
    ("certificate from an unknown CI", 7),
    ("TLS certificate instead of DPauth", 1),
    ("a CI the eUICC cannot sign under", 7),
])
def test_authenticate_server_refuses_what_a_real_eUICC_refuses(ch, dpauth, case, code):
    if case == "tampered signature":
        kind, error = authenticate_server(ch, dpauth, tamper=True)
    elif case == "certificate from an unknown CI":
        kind, error = authenticate_server(ch, testpki.make_dp(testpki.make_ci("Unknown CI"), POLICIES["dpauth"]))
    elif case == "TLS certificate instead of DPauth":
        kind, error = authenticate_server(ch, testpki.make_tls(lpa_test_ci(), ["127.0.0.1"]))
    else:
        kind, error = authenticate_server(ch, dpauth, ci_to_use=bytes(20))
    assert kind == "authenticateResponseError"
    assert bytes(error["transactionId"]) == TRANSACTION_ID and error["authenticateErrorCode"] == code


def test_the_euicc_lists_the_cis_it_trusts_for_verification(ch, sim_state):
    info1 = es10.get_euicc_info1(ch)
    ci_key_id = x509.SubjectKeyIdentifier.from_public_key(lpa_test_ci().key.public_key()).digest.hex()
    assert ci_key_id in info1.ci_pkid_verification and info1.ci_pkid_signing == (ci_key_id,)


def version_6(issued: testpki.Issued):
    """``issued`` as a faulty SM-DP+ sends it: its certificate well-formed DER, but of X.509 version 6."""
    from types import SimpleNamespace

    der = issued.cert.public_bytes(serialization.Encoding.DER)
    assert b"\xa0\x03\x02\x01\x02" in der
    spoilt = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1)
    return SimpleNamespace(cert=SimpleNamespace(public_bytes=lambda encoding: spoilt), key=issued.key)


@pytest.fixture(scope="module")
def dppb() -> testpki.Issued:
    return testpki.make_dp(lpa_test_ci(), POLICIES["dppb"])


def prepare_download(ch, dp: testpki.Issued, euicc_signature1: bytes, *, transaction_id: bytes = TRANSACTION_ID,
                     cover_signature1: bool = True, hash_cc: bytes | None = None) -> tuple[str, dict]:
    signed2 = codec.encode("SmdpSigned2", {"transactionId": transaction_id, "ccRequiredFlag": hash_cc is not None})
    covered = signed2 + (b"\x5f\x37\x40" + euicc_signature1 if cover_signature1 else b"")
    request = {"smdpSigned2": signed2, "smdpSignature2": codec.encode("SignatureElement", sign_rs(dp.key, covered)),
               "smdpCertificate": dp.cert.public_bytes(serialization.Encoding.DER)}
    if hash_cc is not None:
        request["hashCc"] = hash_cc
    answer = ch.store_data(codec.encode("PrepareDownloadRequestView", request), "PrepareDownload")
    return codec.decode("PrepareDownloadResponse", answer), codec.decode("SignatureElement", request["smdpSignature2"])


def test_prepare_download_answers_a_one_time_key_signed_by_the_euicc(ch, dpauth, dppb):
    _, ok = authenticate_server(ch, dpauth)
    hash_cc = bytes(range(32))
    (kind, answer), smdp_signature2 = prepare_download(ch, dppb, bytes(ok["euiccSignature1"]), hash_cc=hash_cc)
    assert kind == "downloadResponseOk"
    signed2 = answer["euiccSigned2"]
    assert bytes(signed2["transactionId"]) == TRANSACTION_ID and bytes(signed2["hashCc"]) == hash_cc
    assert len(signed2["euiccOtpk"]) == 65 and signed2["euiccOtpk"][0] == 4
    euicc_key = x509.load_der_x509_certificate(bytes(ok["euiccCertificate"])).public_key()
    covered = codec.encode("EUICCSigned2", signed2) + b"\x5f\x37\x40" + smdp_signature2
    assert verify_rs(euicc_key, covered, answer["euiccSignature2"])  # over euiccSigned2 || smdpSignature2


@pytest.mark.parametrize("case,code", [
    ("no session", 4),
    ("wrong transaction", 5),
    ("signature over smdpSigned2 alone", 2),
    ("DPauth certificate instead of DPpb", 1),
])
def test_prepare_download_refuses_what_a_real_euicc_refuses(ch, dpauth, dppb, case, code):
    signature1 = bytes(64)
    if case != "no session":
        signature1 = bytes(authenticate_server(ch, dpauth)[1]["euiccSignature1"])
    (kind, error), _ = prepare_download(
        ch, dpauth if case.startswith("DPauth") else dppb, signature1,
        transaction_id=bytes(16) if case == "wrong transaction" else TRANSACTION_ID,
        cover_signature1=case != "signature over smdpSigned2 alone")
    assert kind == "downloadResponseError" and error["downloadErrorCode"] == code


# -- LoadBoundProfilePackage, with the BPP pySim built (download-vectors: bpp-session-keys-pysim) --------


def vector_card(state_path, *, keep_test_profile: bool = False):
    """The simulated ISD-R in the state PrepareDownload leaves, with the vector's keys and EID."""
    import json

    from cryptography.hazmat.primitives.asymmetric import ec

    from lpa.sim.card.download_state import DownloadState, Session
    from lpa.sim.card.isdr import Isdr
    from lpa.sim.card.state import StateFile

    case = next(c for c in json.loads((Path(__file__).parents[1] / "data" / "download-vectors.json").read_text())["cases"]
                if c["id"] == "bpp-session-keys-pysim")
    inputs = case["inputs"]
    state = StateFile(state_path).load()
    state.eid = inputs["eid"]
    if not keep_test_profile:
        state.profiles = [p for p in state.profiles if p.iccid != TEST_PROFILE]
    session = Session(bytes.fromhex(inputs["transaction_id"]), "smdp.example.com", testpki.TEST_SMDP_OID, bytes(64),
                      lpa_test_ci().cert)
    session.dppb_key = ec.derive_private_key(int(inputs["dppb_sk"], 16), ec.SECP256R1()).public_key()
    session.one_time_key = ec.derive_private_key(int(inputs["euicc_otsk"], 16), ec.SECP256R1())
    isdr = Isdr(state, download=DownloadState(session=session))
    return isdr, [bytes.fromhex(p) for p in case["outputs"]["sbpp_segments"]], state


def test_the_euicc_opens_every_piece_of_a_bpp_pysim_built_and_checks_its_profile_header(state_path):
    """The vector's pieces open with its keys to the end; its package's ProfileHeader holds the ICCID
    nibble-swapped (the bytes of StoreMetadata's Iccid), where TS.48 profiles hold the digits in order, so the
    card reports installFailedDueToDataMismatch, signed and kept as the install notification, and installs
    nothing."""
    from lpa.sim.pki.identity import Identity

    isdr, pieces, state = vector_card(state_path)
    answers = [isdr.handle(piece) for piece in pieces]
    assert answers[:-1] == [b""] * (len(pieces) - 1)  # 9000 with no data until the last piece
    pir = codec.decode("ProfileInstallationResultView", answers[-1])
    data = bytes(pir["profileInstallationResultData"])
    assert verify_rs(Identity.builtin().euicc_cert.public_key(), data, bytes(pir["euiccSignPIR"]))
    kind, error = codec.decode("ProfileInstallationResultData", data)["finalResult"]
    assert (kind, error["bppCommandId"], error["errorReason"]) == ("errorResult", 5, 13)  # loadProfileElements
    # the header's PEStatus: bad-values, at offset 0, the installation aborted
    assert error["simaResponse"] == bytes.fromhex("300CA008300680010383010081" "00")
    assert state.find(iccid=TEST_PROFILE) is None
    [notification] = [n for n in state.notifications if n.operation == "install"]
    import base64

    assert base64.b64decode(notification.signed) == answers[-1]


def test_an_iccid_already_on_the_card_gives_an_error_result(state_path):
    isdr, pieces, state = vector_card(state_path, keep_test_profile=True)
    answers = [isdr.handle(piece) for piece in pieces]
    result = codec.decode("ProfileInstallationResultData",
                          bytes(codec.decode("ProfileInstallationResultView", answers[-1])["profileInstallationResultData"]))
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 2, "errorReason": 9})
    assert len([p for p in state.profiles if p.iccid == TEST_PROFILE]) == 1


def test_a_tampered_segment_stops_the_load_with_a_security_error(state_path):
    isdr, pieces, state = vector_card(state_path)
    tampered = bytearray(pieces[3])  # the 88 of StoreMetadata
    tampered[10] ^= 1
    assert isdr.handle(pieces[0]) == b"" and isdr.handle(pieces[1]) == b"" and isdr.handle(pieces[2]) == b""
    answer = isdr.handle(bytes(tampered))
    result = codec.decode("ProfileInstallationResultData",
                          bytes(codec.decode("ProfileInstallationResultView", answer)["profileInstallationResultData"]))
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 2, "errorReason": 8})
    assert state.find(iccid=TEST_PROFILE) is None and isdr.download.session is None


def test_a_piece_without_a_bpp_under_way_is_refused_as_a_real_card_does(state_path):
    from lpa.sim.card.isdr import CardStatus

    isdr, pieces, _ = vector_card(state_path)
    with pytest.raises(CardStatus) as caught:
        isdr.handle(pieces[1][2:])  # a bare 87, as in the real capture
    assert caught.value.sw == 0x6A88


def test_cancel_session_ends_the_session_with_a_signed_answer(ch, dpauth, dppb):
    from lpa.errors import ResultError

    _, ok = authenticate_server(ch, dpauth)
    answer = es10.cancel_session(ch, TRANSACTION_ID, "endUserRejection")
    kind, cancelled = codec.decode("CancelSessionResponse", answer)
    signed = cancelled["euiccCancelSessionSigned"]
    assert kind == "cancelSessionResponseOk" and signed["reason"] == 0 and signed["smdpOid"] == testpki.TEST_SMDP_OID
    euicc_key = x509.load_der_x509_certificate(bytes(ok["euiccCertificate"])).public_key()
    assert verify_rs(euicc_key, codec.encode("EuiccCancelSessionSigned", signed),
                     cancelled["euiccCancelSessionSignature"])
    (kind, error), _ = prepare_download(ch, dppb, bytes(ok["euiccSignature1"]))
    assert error["downloadErrorCode"] == 4  # no session any more
    with pytest.raises(ResultError, match="invalidTransactionId"):
        es10.cancel_session(ch, TRANSACTION_ID, "endUserRejection")


def test_a_whole_download_on_the_card_through_the_apdu_layer(state_path, dpauth, dppb, sim_state):
    """SM-DP+ side built here, LPA side lpa's own (ES10b, the BPP cut into pieces, STORE DATA)."""
    from lpa.bpp import split_bpp
    from lpa.encoding import iccid_to_bytes, names_to_bits, OPERATIONS
    from lpa.sim.servers.bpp_builder import build_bpp

    iccid = "8988247000000000077"
    metadata = codec.encode("StoreMetadataRequest", {
        "iccid": iccid_to_bytes(iccid), "serviceProviderName": "Test Op", "profileName": "Downloaded",
        "profileClass": 2, "notificationConfigurationInfo": [
            {"profileManagementOperation": names_to_bits(["install", "delete"], OPERATIONS),
             "notificationAddress": "127.0.0.1:8443"}]})
    from lpa.sim.servers.profile_package import ts48_profiles, with_header_iccid

    # a TS.48 package (over two 86 segments) whose ProfileHeader names this ICCID, in digit order
    profile_package = with_header_iccid(ts48_profiles()[TS48_PROFILE], iccid)
    with SimulatedTransport(state_path) as transport, open_isdr(transport, mss=120) as ch:
        _, ok = authenticate_server(ch, dpauth)
        (kind, prepared), _ = prepare_download(ch, dppb, bytes(ok["euiccSignature1"]))
        bpp = build_bpp(transaction_id=TRANSACTION_ID, euicc_otpk=bytes(prepared["euiccSigned2"]["euiccOtpk"]),
                        eid=bytes.fromhex(sim_state().eid), dppb_key=dppb.key, configure_isdp=bytes.fromhex("BF2400"),
                        store_metadata=metadata, profile_package=profile_package, host_id=b"lpa-test-smdp")
        result = es10.load_bound_profile_package(ch, split_bpp(bpp))
        assert result.error is None and result.metadata.iccid == iccid
        assert result.metadata.operation == "install" and result.metadata.address == "127.0.0.1:8443"
        [installed] = es10.get_profiles_info(ch, iccid=iccid)
    assert (installed.provider, installed.name, installed.state) == ("Test Op", "Downloaded", "disabled")
    assert installed.isdp_aid == result.isdp_aid
    pending = [n for n in sim_state().notifications if n.iccid == iccid]
    assert [n.operation for n in pending] == ["install"]


def test_sim_identity_trust_ci_lets_the_euicc_accept_another_ci(lpa, state_path, tmp_path):
    foreign = testpki.make_ci("Another test CI")
    pem = tmp_path / "ci.pem"
    pem.write_bytes(foreign.cert.public_bytes(serialization.Encoding.PEM))
    refused = lpa("sim", "identity", "--trust-ci", str(tmp_path / "missing.pem"))
    assert refused.exit_code == 2
    shown = lpa("sim", "identity", "--trust-ci", str(pem))
    key_id = x509.SubjectKeyIdentifier.from_public_key(foreign.key.public_key()).digest
    assert shown.exit_code == 0 and f"trusts CI: {key_id.hex()}" in shown.output
    with SimulatedTransport(state_path) as transport, open_isdr(transport) as ch:
        assert key_id.hex() in es10.get_euicc_info1(ch).ci_pkid_verification
        kind, _ = authenticate_server(ch, testpki.make_dp(foreign, POLICIES["dpauth"]))
    assert kind == "authenticateResponseOk"
    lpa("sim", "identity", "--forget-cis")
    with SimulatedTransport(state_path) as transport, open_isdr(transport) as ch:
        kind, error = authenticate_server(ch, testpki.make_dp(foreign, POLICIES["dpauth"]))
    assert kind == "authenticateResponseError" and error["authenticateErrorCode"] == 7  # ciPKUnknown


@pytest.mark.parametrize("content,message", [
    (b"not a certificate", "not a PEM certificate"),
    ("eum", "not a root CA certificate"),
])
def test_sim_identity_refuses_what_is_not_a_ci(lpa, state_path, tmp_path, content, message):
    if content == "eum":
        content = testpki.make_eum(lpa_test_ci()).cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "x.pem").write_bytes(content)
    result = lpa("sim", "identity", "--trust-ci", str(tmp_path / "x.pem"))
    assert result.exit_code == 1 and message in result.output


def test_after_replace_session_keys_the_86s_are_under_the_ppks_with_the_counter_at_1():
    """docs/bound-profile-package.md, "ReplaceSessionKeys": S-ENC = ppkEnc, S-MAC = ppkCmac,
    MCV = initialMacChainingValue, c = 1,
    checked here with AES and CMAC directly rather than with lpa's SecureChannel."""
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from lpa.sim.servers.bpp_builder import build_bpp
    from lpa.sim.servers.scp03t import Keys

    ppk = Keys(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
    euicc_otpk = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    package = bytes(range(256)) * 5
    bpp = codec.decode("BoundProfilePackage", build_bpp(
        transaction_id=TRANSACTION_ID, euicc_otpk=euicc_otpk, eid=bytes(16), dppb_key=lpa_test_ci().key,
        configure_isdp=codec.encode("ConfigureISDPRequest", {}), store_metadata=b"\xbf\x25\x00",
        profile_package=package, host_id=b"host", ppk=ppk))
    assert len(bpp["secondSequenceOf87"]) == 1
    first = bytes(bpp["sequenceOf86"][0])  # the value of the first 86: ciphertext, 8-byte MAC
    body, mac = first[:-8], first[-8:]
    check = cmac.CMAC(algorithms.AES(ppk.mac))
    check.update(ppk.initial_mcv + b"\x86\x82" + len(first).to_bytes(2, "big") + body)
    assert check.finalize()[:8] == mac
    icv = Cipher(algorithms.AES(ppk.enc), modes.ECB()).encryptor().update((1).to_bytes(16, "big"))
    plain = Cipher(algorithms.AES(ppk.enc), modes.CBC(icv)).decryptor().update(body)
    assert plain[:1007] == package[:1007] and plain[1007:] == b"\x80"


def test_certificates_of_an_x509_version_the_euicc_does_not_know_are_invalid_not_a_crash(ch, dpauth, dppb):
    kind, error = authenticate_server(ch, version_6(dpauth))
    assert kind == "authenticateResponseError" and error["authenticateErrorCode"] == 1  # invalidCertificate
    _, ok = authenticate_server(ch, dpauth)
    (kind, error), _ = prepare_download(ch, version_6(dppb), bytes(ok["euiccSignature1"]))
    assert kind == "downloadResponseError" and error["downloadErrorCode"] == 1  # invalidCertificate
