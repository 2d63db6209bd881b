"""The test SM-DP+'s own checks, met by requests a misbehaving eUICC or LPA would send (lpa/sim/servers), and
the simulated eUICC's reading of profile packages (lpa/sim/card/profile_elements.py)."""
from __future__ import annotations

import base64
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


def test_an_empty_package_is_refused():
    with pytest.raises(Refused):
        check_package(b"", TS48_ICCID)


def codec_pe(type_name: str, data: bytes) -> dict:
    from lpa.sim.card.profile_elements import module

    return module().decode(type_name, data)
