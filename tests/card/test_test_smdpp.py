"""The test SM-DP+'s own checks, met by requests a misbehaving eUICC or LPA would send (lpa/sim/servers), and
the simulated eUICC's reading of profile packages (lpa/sim/card/profile_elements.py)."""
from __future__ import annotations

import base64
import json
import os
import re

import pytest

from helpers import TS48_ICCID, TS48_PROFILE
from lpa import codec
from lpa.sim.card.profile_elements import SIMA_OK, Refused, check_package, euicc_response
from lpa.sim.pki.identity import Identity
from lpa.sim.pki.testpki import TEST_SMDP_OID
from lpa.sim.servers.authentication import Session
from lpa.sim.servers.download import DownloadService, Refused as ServerRefused
from lpa.sim.servers.profile_package import ts48_profiles, with_header_iccid
from lpa.sim.servers.smdpp import Rejected, TestSmdpp
from cryptography.hazmat.primitives.serialization import Encoding


@pytest.fixture(scope="module")
def service() -> DownloadService:
    return DownloadService("127.0.0.1:1")


def cancel(service: DownloadService, *, signed_tid: bytes | None = None, oid: str = TEST_SMDP_OID,
           sign=None) -> dict:
    """cancelSession for a fresh session of ``service``, the eUICC's answer made as told."""
    identity = Identity.builtin()
    tid = os.urandom(16)
    service.sessions[tid] = Session(tid, euicc_certificate=identity.euicc_cert)
    signed = codec.encode("EuiccCancelSessionSigned", {"transactionId": signed_tid or tid, "smdpOid": oid,
                                                       "reason": 0})
    answer = codec.encode("CancelSessionResponseView", ("cancelSessionResponseOk", {
        "euiccCancelSessionSigned": signed, "euiccCancelSessionSignature": (sign or identity.sign)(signed)}))
    return service.call("cancelSession", {"transactionId": tid.hex(),
                                          "cancelSessionResponse": base64.b64encode(answer).decode()})


def test_a_cancel_signed_by_the_sessions_euicc_for_this_session_is_accepted(service):
    assert cancel(service) == {} and service.cancelled[-1][1] == 0


@pytest.mark.parametrize("kind, message", [
    ("tid", "the signed transactionId is not this session's"),
    ("oid", "is not this SM-DP+'s"),
    ("key", "euiccCancelSessionSignature does not verify"),
])
def test_a_cancel_for_another_session_or_smdp_or_signed_by_another_key_is_refused(service, kind, message):
    from lpa.sim.card.faults import foreign_signature

    with pytest.raises(ServerRefused, match=re.escape(message)):
        cancel(service, signed_tid=os.urandom(16) if kind == "tid" else None,
               oid="2.25.1" if kind == "oid" else TEST_SMDP_OID, sign=foreign_signature if kind == "key" else None)


def test_a_cancel_for_a_session_without_an_euicc_certificate_is_refused(service):
    tid = os.urandom(16)
    service.sessions[tid] = Session(tid)
    answer = codec.encode("CancelSessionResponseView", ("cancelSessionResponseOk", {
        "euiccCancelSessionSigned": codec.encode("EuiccCancelSessionSigned", {
            "transactionId": tid, "smdpOid": TEST_SMDP_OID, "reason": 0}), "euiccCancelSessionSignature": bytes(64)}))
    with pytest.raises(ServerRefused, match="no eUICC certificate"):
        service.call("cancelSession", {"transactionId": tid.hex(),
                                       "cancelSessionResponse": base64.b64encode(answer).decode()})


# -- the card's reading of a profile package ---------------------------------------------------

PACKAGE = ts48_profiles()[TS48_PROFILE]


def header_length() -> int:
    from lpa.sim.card.profile_elements import module

    return module().types["ProfileElement"].decode_with_length(PACKAGE)[1]


def test_a_ts48_package_installs_with_the_one_ok_status_real_cards_give():
    assert check_package(PACKAGE, TS48_ICCID) == SIMA_OK == euicc_response()


def test_a_header_naming_another_iccid_is_a_data_mismatch():
    with pytest.raises(Refused) as refused:
        check_package(with_header_iccid(PACKAGE, "89674523018967452301"), TS48_ICCID)
    assert refused.value.mismatch
    assert refused.value.sima_response == euicc_response(3, None, 0)


def test_elements_without_the_header_first_are_refused_at_the_first():
    with pytest.raises(Refused) as refused:
        check_package(PACKAGE[header_length():], TS48_ICCID)
    assert not refused.value.mismatch
    decoded = codec_pe("EUICCResponse", refused.value.sima_response)
    assert decoded["peStatus"][0]["status"] == 5 and decoded["peStatus"][0]["offset"] == 0
    assert decoded["peStatus"][0]["identification"] > 0 and "profileInstallationAborted" in decoded


def test_a_second_header_is_out_of_order_too():
    with pytest.raises(Refused):
        check_package(PACKAGE[:header_length()] * 2, TS48_ICCID)


def test_an_element_that_does_not_decode_is_refused_at_its_offset_after_the_last_good_one():
    cut = len(PACKAGE) - 3
    with pytest.raises(Refused) as refused:
        check_package(PACKAGE[:cut], TS48_ICCID)
    status = codec_pe("EUICCResponse", refused.value.sima_response)["peStatus"][0]
    assert status["status"] == 5 and 0 < status["offset"] < cut and status["identification"] > 1


def test_an_empty_package_is_refused_at_offset_0():
    with pytest.raises(Refused) as refused:
        check_package(b"", TS48_ICCID)
    assert codec_pe("EUICCResponse", refused.value.sima_response)["peStatus"] == [{"status": 5, "offset": 0}]


def codec_pe(type_name: str, data: bytes) -> dict:
    from lpa.sim.card.profile_elements import module

    return module().decode(type_name, data)


# -- authenticateClient: the eUICC's chain, EID range and signature over this session ------------


def initiated(service: DownloadService, **changes: object) -> dict:
    from lpa.sim.pki.certificates import key_id

    info1 = codec.encode("EUICCInfo1", {"svn": b"\x02\x02\x00",
                                        "euiccCiPKIdListForVerification": [key_id(service.ci.cert)],
                                        "euiccCiPKIdListForSigning": [key_id(service.ci.cert)]})
    payload = {"euiccChallenge": base64.b64encode(bytes(16)).decode(), "euiccInfo1": base64.b64encode(info1).decode(),
               "smdpAddress": service.address, **changes}
    return service.call("initiateAuthentication", payload)


def client_payload(service: DownloadService, identity: Identity | None = None, *, other_session: bool = False,
                   matching_id: str | None = TS48_PROFILE) -> dict:
    """authenticateClient's request as an eUICC with ``identity`` (default: the test eUICC) would send it."""
    from cryptography.hazmat.primitives import serialization

    identity = identity or Identity.builtin()
    answer = initiated(service)
    signed1 = codec.decode("ServerSigned1", base64.b64decode(answer["serverSigned1"]))
    common: dict = {"deviceInfo": {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}}
    if matching_id is not None:
        common["matchingId"] = matching_id
    context = codec.encode("CtxParams1", ("ctxParamsForCommonAuthentication", common))
    euicc_signed1 = codec.encode("EuiccSigned1View", {
        "transactionId": os.urandom(16) if other_session else bytes(signed1["transactionId"]),
        "serverAddress": service.address, "serverChallenge": bytes(signed1["serverChallenge"]),
        "euiccInfo2": b"\xbf\x22\x00", "ctxParams1": context})
    der = lambda cert: cert.public_bytes(serialization.Encoding.DER)  # noqa: E731
    response = codec.encode("AuthenticateServerResponseView", ("authenticateResponseOk", {
        "euiccSigned1": euicc_signed1, "euiccSignature1": identity.sign(euicc_signed1),
        "euiccCertificate": der(identity.euicc_cert), "eumCertificate": der(identity.eum_cert)}))
    return {"transactionId": answer["transactionId"], "authenticateServerResponse": base64.b64encode(response).decode()}


def identity_under(eum_ci: str, euicc_eum: str, ein: str | None = "89049032") -> Identity:
    """A test eUICC whose EUM is signed by the CI or by another key, and whose certificate by the EUM or not."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from lpa.sim.pki import testpki

    ci = testpki.load(testpki.PKI_DIR, "ci")
    forged = lambda issued: testpki.Issued(issued.cert, ec.generate_private_key(ec.SECP256R1()))  # noqa: E731
    eum = testpki.make_eum(ci if eum_ci == "ci" else forged(ci), ein)
    euicc = testpki.make_euicc(eum if euicc_eum == "eum" else forged(eum), testpki.TEST_EID)
    return Identity(euicc.cert, eum.cert, euicc.key)


def test_a_genuine_euicc_is_authenticated(service):
    answer = service.call("authenticateClient", client_payload(service))
    assert answer["transactionId"] and answer["profileMetadata"]


@pytest.mark.parametrize("identity, message", [
    (lambda: identity_under("other", "eum"), "the EUM certificate is not signed by the CI"),
    (lambda: identity_under("ci", "other"), "the eUICC certificate is not signed by the EUM"),
    (lambda: identity_under("ci", "eum", ein=None), "no permitted EINs in the EUM certificate"),
    (lambda: identity_under("ci", "eum", ein="89001012"), "outside its EUM's permitted range 89001012"),
])
def test_an_euicc_outside_the_chain_or_the_eums_range_is_refused(service, identity, message):
    with pytest.raises(ServerRefused, match=re.escape(message)):
        service.call("authenticateClient", client_payload(service, identity()))


def test_a_signature_for_another_session_is_refused(service):
    with pytest.raises(ServerRefused, match="euiccSigned1 is not for this session"):
        service.call("authenticateClient", client_payload(service, other_session=True))


def test_an_unknown_transaction_and_a_request_that_is_not_base64_are_refused(service):
    with pytest.raises(ServerRefused, match="unknown transactionId"):
        service.call("authenticateClient", {**client_payload(service), "transactionId": "00" * 16})
    with pytest.raises(ServerRefused, match="authenticateServerResponse missing or not base64"):
        service.call("authenticateClient", {**client_payload(service), "authenticateServerResponse": "*"})


def test_the_euiccs_refusal_ends_the_session(service):
    answer = initiated(service)
    tid = bytes.fromhex(answer["transactionId"])
    refusal = codec.encode("AuthenticateServerResponseView", ("authenticateResponseError", {
        "transactionId": tid, "authenticateErrorCode": 2}))
    with pytest.raises(ServerRefused, match=r"the eUICC refused this server \(code 2\)"):
        service.call("authenticateClient", {"transactionId": answer["transactionId"],
                                            "authenticateServerResponse": base64.b64encode(refusal).decode()})
    assert tid not in service.sessions


@pytest.mark.parametrize("changes, message", [
    ({"smdpAddress": "evil.example"}, "this server is 127.0.0.1:1, not evil.example"),
    ({"euiccInfo1": base64.b64encode(codec.encode("EUICCInfo1", {
        "svn": b"\x02\x02\x00", "euiccCiPKIdListForVerification": [bytes(20)],
        "euiccCiPKIdListForSigning": [bytes(20)]})).decode()}, "none of the CIs the eUICC trusts"),
])
def test_initiate_authentication_for_another_server_or_ci_is_refused(service, changes, message):
    with pytest.raises(ServerRefused, match=re.escape(message)):
        initiated(service, **changes)


@pytest.mark.parametrize("certificate", [lambda s: s._faulty["forged-dpauth"].cert, lambda s: s.forged_dppb.cert])
def test_a_forged_certificate_names_the_ci_and_its_key_identifier_but_is_not_signed_by_it(service, certificate):
    """forged-dpauth, forged-dppb: what a card must catch by the signature, not by the names."""
    from cryptography import x509

    from lpa.sim.pki.certificates import issued_by, key_id

    cert = certificate(service)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == key_id(service.ci.cert) and cert.issuer == service.ci.cert.subject
    assert not issued_by(cert, service.ci.cert)


def test_a_session_has_a_16_byte_transaction_id_and_server_challenge(service):
    signed1 = codec.decode("ServerSigned1", base64.b64decode(initiated(service)["serverSigned1"]))
    assert len(signed1["transactionId"]) == len(signed1["serverChallenge"]) == 16


# -- getBoundProfilePackage: what the eUICC signed in PrepareDownload -----------------------------


def bpp_request(service: DownloadService, *, signed_tid: bytes | None = None, hash_cc: bytes | None = None,
                authenticate: bool = True) -> dict:
    """getBoundProfilePackage's request after a successful authenticateClient, as the test eUICC would sign it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    payload = client_payload(service)
    if authenticate:
        service.call("authenticateClient", payload)
    tid = bytes.fromhex(payload["transactionId"])
    otpk = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962,
                                                                            PublicFormat.UncompressedPoint)
    signed2 = {"transactionId": signed_tid or tid, "euiccOtpk": otpk}
    if hash_cc is not None:
        signed2["hashCc"] = hash_cc
    raw = codec.encode("EUICCSigned2", signed2)
    signature = Identity.builtin().sign(raw + codec.encode("SignatureElement", service.sessions[tid].smdp_signature2))
    answer = codec.encode("PrepareDownloadResponseView", ("downloadResponseOk", {
        "euiccSigned2": raw, "euiccSignature2": signature}))
    return {"transactionId": payload["transactionId"], "prepareDownloadResponse": base64.b64encode(answer).decode()}


def test_a_bpp_is_bound_for_an_euicc_that_signed_this_session(service):
    bpp = codec.decode("BoundProfilePackage", base64.b64decode(
        service.call("getBoundProfilePackage", bpp_request(service))["boundProfilePackage"]))
    assert "secondSequenceOf87" not in bpp


def test_in_ppk_mode_the_bpp_carries_replace_session_keys():
    ppk = DownloadService("127.0.0.1:1", ppk_mode=True)
    bpp = codec.decode("BoundProfilePackage", base64.b64decode(
        ppk.call("getBoundProfilePackage", bpp_request(ppk))["boundProfilePackage"]))
    assert len(bpp["secondSequenceOf87"]) == 1


@pytest.mark.parametrize("changes, message", [
    ({"authenticate": False}, "authenticateClient has not succeeded for this transactionId"),
    ({"signed_tid": bytes(16)}, "euiccSigned2 is not for this session"),
])
def test_a_bpp_is_refused_before_authentication_or_for_another_session(service, changes, message):
    with pytest.raises(ServerRefused, match=message):
        service.call("getBoundProfilePackage", bpp_request(service, **changes))


def test_an_order_with_a_confirmation_code_needs_its_hash():
    coded = DownloadService("127.0.0.1:1", confirmation_codes={TS48_PROFILE: "1234"})
    with pytest.raises(ServerRefused, match="confirmation code missing"):
        coded.call("getBoundProfilePackage", bpp_request(coded))
    with pytest.raises(ServerRefused, match="confirmation code refused"):
        coded.call("getBoundProfilePackage", bpp_request(coded, hash_cc=bytes(32)))


def test_a_default_order_for_this_eid_is_found_without_a_matching_id():
    from lpa.sim.pki.testpki import TEST_EID

    orders = DownloadService("127.0.0.1:1", default_orders={TEST_EID: TS48_PROFILE})
    payload = client_payload(orders, matching_id=None)
    assert orders.call("authenticateClient", payload)["profileMetadata"]
    other = DownloadService("127.0.0.1:1", default_orders={"89049032000001000000000000000999": TS48_PROFILE})
    with pytest.raises(ServerRefused, match="no pending order for eUICC"):
        other.call("authenticateClient", client_payload(other, matching_id=None))


def test_a_cancel_the_euicc_refused_is_refused(service):
    tid = os.urandom(16)
    service.sessions[tid] = Session(tid, euicc_certificate=Identity.builtin().euicc_cert)
    answer = codec.encode("CancelSessionResponseView", ("cancelSessionResponseError", 5))
    with pytest.raises(ServerRefused, match="the eUICC did not cancel the session"):
        service.call("cancelSession", {"transactionId": tid.hex(),
                                       "cancelSessionResponse": base64.b64encode(answer).decode()})


@pytest.mark.parametrize("certificate, matching_id", [(True, ""), (False, TS48_PROFILE)],
                         ids=["authenticateClient refused after reading the certificate", "no eUICC certificate"])
def test_get_bound_profile_package_before_authenticate_client_succeeded_is_refused(service, certificate, matching_id):
    """An LPA that asks for the BPP of a session whose authenticateClient failed (its matching ID unknown: the
    certificate was read, no order found) gets 8.10.1 3.9, not a package."""
    tid = os.urandom(16)
    service.sessions[tid] = Session(tid, matching_id=matching_id,
                                    euicc_certificate=Identity.builtin().euicc_cert if certificate else None)
    with pytest.raises(ServerRefused, match="authenticateClient has not succeeded for this transactionId"):
        service.call("getBoundProfilePackage", {"transactionId": tid.hex(), "prepareDownloadResponse": "AA=="})


def test_the_offered_profile_name_is_the_matching_id_cut_to_the_64_characters_storemetadata_allows():
    long_id = "TS48-" + "X" * 70
    service = DownloadService("127.0.0.1:1", profiles={long_id: ts48_profiles()[TS48_PROFILE]})
    name = codec.decode("StoreMetadataRequest", service.metadata(long_id))["profileName"]
    assert name == long_id[:64]


# -- handleNotification: what the test SM-DP+ checks before it acknowledges (SGP.22 6.5, 5.6.4) ----------------

HEADERS = {"content-type": "application/json", "x-admin-protocol": "gsma/rsp/v2.2.0", "user-agent": "gsma-rsp-lpad"}


def other_notification(*, euicc=None, eum=None, sign=None, euicc_der: bytes | None = None) -> bytes:
    """A handleNotification body: a delete notification signed as told (default: by the simulated eUICC)."""
    from lpa.encoding import iccid_to_bytes, operation_bits

    identity = Identity.builtin()
    tbs = codec.encode("NotificationMetadata", {"seqNumber": 7, "profileManagementOperation": operation_bits("delete"),
                                                "notificationAddress": "127.0.0.1:1", "iccid": iccid_to_bytes(TS48_ICCID)})
    der = codec.encode("OtherSignedNotificationView", {
        "tbsOtherNotification": tbs, "euiccNotificationSignature": (sign or (euicc.sign if euicc else identity.sign))(tbs),
        "euiccCertificate": euicc_der or (euicc.cert.public_bytes(Encoding.DER) if euicc else identity.der("euicc")),
        "eumCertificate": eum.cert.public_bytes(Encoding.DER) if eum else identity.der("eum")})
    return json.dumps({"pendingNotification": base64.b64encode(der).decode()}).encode()


class Signer:
    """An eUICC certificate of the test PKI and the key it certifies, signing as the card does (r||s)."""

    def __init__(self, issued) -> None:
        self.cert, self.key = issued.cert, issued.key

    def sign(self, data: bytes) -> bytes:
        from lpa.sim.pki.signatures import sign_rs

        return sign_rs(self.key, data)


def test_a_notification_signed_by_the_simulated_euicc_is_accepted():
    accepted = TestSmdpp().handle_notification(HEADERS, other_notification())
    assert (accepted.seq_number, accepted.operation, accepted.iccid) == (7, "delete", TS48_ICCID)
    assert accepted.eid == Identity.builtin().eid


def _pki():
    from lpa.sim.pki import testpki

    return testpki, testpki.load(testpki.PKI_DIR, "ci"), testpki.load(testpki.PKI_DIR, "eum")


@pytest.mark.parametrize("change, message", [
    ({"content-type": "text/plain"}, "Content-Type 'text/plain' is not application/json"),
    ({"x-admin-protocol": "gsma/rsp/v1.0"}, "X-Admin-Protocol 'gsma/rsp/v1.0' is not gsma/rsp/v2.x.y"),
    ({"user-agent": "curl/8"}, "User-Agent 'curl/8' is not gsma-rsp-lpad"),
])
def test_a_notification_with_the_wrong_headers_is_refused(change, message):
    with pytest.raises(Rejected, match=re.escape(message)):
        TestSmdpp().handle_notification({**HEADERS, **change}, other_notification())


@pytest.mark.parametrize("body, message", [
    (b'{"other": 1}', 'body is not {"pendingNotification": <base64>}'),
    (b'{"pendingNotification": "MA*A="}', 'body is not {"pendingNotification": <base64>}'),  # not strictly base64
    (b'{"pendingNotification": "MAA="}', "not a PendingNotification"),
])
def test_a_body_that_is_not_a_pending_notification_is_refused(body, message):
    with pytest.raises(Rejected, match=re.escape(message)):
        TestSmdpp().handle_notification(HEADERS, body)


def _faulty(kind: str) -> bytes:
    from lpa.sim.card.faults import foreign_signature

    testpki, ci, eum = _pki()
    eid = Identity.builtin().eid
    if kind == "unparsable certificate":  # well-formed DER, but X.509 version 6
        der = Identity.builtin().der("euicc")
        assert b"\xa0\x03\x02\x01\x02" in der
        return other_notification(euicc_der=der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1))
    if kind == "expired":
        return other_notification(euicc=Signer(testpki.make_euicc(eum, eid, expired=True)))
    if kind == "under another EUM":
        return other_notification(euicc=Signer(testpki.make_euicc(testpki.make_eum(ci), eid)))
    if kind == "EUM under another CI":
        other_eum = testpki.make_eum(testpki.make_ci("Another test CI"))
        return other_notification(euicc=Signer(testpki.make_euicc(other_eum, eid)), eum=other_eum)
    if kind == "short signature":
        return other_notification(sign=lambda data: Identity.builtin().sign(data)[:63])
    return other_notification(sign=foreign_signature)


@pytest.mark.parametrize("kind, message", [
    ("unparsable certificate", "certificate does not parse"),
    ("expired", "is expired or not yet valid"),
    ("under another EUM", "the eUICC certificate is not signed by the EUM certificate"),
    ("EUM under another CI", "the EUM certificate does not chain to a trusted CI"),
    ("short signature", "signature has 63 bytes, not 64 (r||s)"),
    ("signed by another key", "the eUICC signature does not verify"),
])
def test_a_notification_from_an_euicc_that_signs_or_certifies_wrongly_is_refused(kind, message):
    with pytest.raises(Rejected, match=re.escape(message)):
        TestSmdpp().handle_notification(HEADERS, _faulty(kind))


def _pir(transaction_id: bytes, sign) -> bytes:
    data = codec.encode("ProfileInstallationResultData", {
        "transactionId": transaction_id, "smdpOid": TEST_SMDP_OID,
        "notificationMetadata": {"seqNumber": 3, "profileManagementOperation": (b"\x80", 4),
                                 "notificationAddress": "127.0.0.1:1"},
        "finalResult": ("errorResult", {"bppCommandId": 5, "errorReason": 12})})
    der = codec.encode("ProfileInstallationResultView", {"profileInstallationResultData": data,
                                                         "euiccSignPIR": sign(data)})
    return json.dumps({"pendingNotification": base64.b64encode(der).decode()}).encode()


@pytest.mark.parametrize("ours", [True, False], ids=["this server's session", "another server's"])
def test_an_installation_result_is_verified_with_its_sessions_certificate_or_any_known_one(ours):
    from lpa.sim.card.faults import foreign_signature

    server = TestSmdpp()
    server.download = DownloadService("127.0.0.1:1")
    tid = os.urandom(16)
    if ours:
        server.download.sessions[tid] = Session(tid, euicc_certificate=Identity.builtin().euicc_cert)
    assert server.handle_notification(HEADERS, _pir(tid, Identity.builtin().sign)).seq_number == 3
    expected = "this session's eUICC certificate" if ours else "any known eUICC certificate"
    if ours:
        server.download.sessions[tid] = Session(tid, euicc_certificate=Identity.builtin().euicc_cert)
    with pytest.raises(Rejected, match=re.escape(f"euiccSignPIR does not verify with {expected}")):
        server.handle_notification(HEADERS, _pir(tid, foreign_signature))


def _post(smdpp, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    import http.client
    import ssl

    from helpers import TEST_CI

    host, port = smdpp.address.rsplit(":", 1)
    connection = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=TEST_CI),
                                             timeout=10)
    try:
        connection.request("POST", path, body, {k.title(): v for k, v in headers.items()})
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("fault, expected", [
    (None, (204, b"")),
    ("accept-200-empty", (200, b"")),
    ("accept-200-json", (200, b'{"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}')),
])
def test_the_acknowledgement_is_the_one_each_fault_stands_for(smdpp, fault, expected):
    """The answers lpa's tests accept (204, and the 200s other servers give) are really sent as such."""
    smdpp.fault = fault
    status, _, body = _post(smdpp, "/gsma/rsp2/es9plus/handleNotification", other_notification(), HEADERS)
    assert (status, body.replace(b" ", b"")) == (expected[0], expected[1].replace(b" ", b""))


def test_es9_functions_answer_200_and_an_unknown_function_404(smdpp):
    """SGP.22 6.5.1: an ES9+ function answers HTTP 200, its outcome in functionExecutionStatus (a malformed
    request too)."""
    status, content_type, body = _post(smdpp, "/gsma/rsp2/es9plus/initiateAuthentication", b"{}", HEADERS)
    assert (status, content_type) == (200, "application/json") and b'"Failed"' in body
    assert _post(smdpp, "/gsma/rsp2/es9plus/noSuchFunction", b"{}", HEADERS)[0] == 404


def test_an_euicc_certificate_of_an_x509_version_nobody_knows_is_refused_not_a_crash(service):
    """Well-formed DER of X.509 version 6 (cryptography raises InvalidVersion, not ValueError, for it)."""
    payload = client_payload(service)
    response = base64.b64decode(payload["authenticateServerResponse"])
    assert b"\xa0\x03\x02\x01\x02" in response
    payload["authenticateServerResponse"] = base64.b64encode(
        response.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1)).decode()
    with pytest.raises(ServerRefused, match="a certificate does not parse: 5 is not a valid X509 version"):
        service.call("authenticateClient", payload)
