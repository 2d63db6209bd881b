"""The test SM-DP+'s download functions: ES9+ initiateAuthentication, authenticateClient,
getBoundProfilePackage, cancelSession (SGP.22 5.6; download-notes 1.4-1.12).

TEST TOOL. It serves the TS.48 test profiles (matching ID = file name
without .der, as other test SM-DP+ servers do), optionally behind a
confirmation code, with a DPauth and a DPpb certificate of its own under the
lpa test CI, checks what the eUICC signs as an SM-DP+ does, and binds each
profile to the eUICC that asked (:mod:`lpa.sim.bpp_builder`).
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import codec
from ..activation import hash_cc
from ..encoding import OPERATIONS, iccid_to_bytes, names_to_bits
from . import testpki
from .bpp_builder import build_bpp
from .bsp import SessionKeys
from .certificates import POLICIES, eid, issued_by
from .profile_package import iccid as package_iccid
from .profile_package import ts48_profiles
from .signatures import sign_rs, verify_rs


#: Download faults of the test SM-DP+, and what each does.
FAULTS = {
    "dp-bad-signature": "serverSignature1 does not verify",
    "dp-unknown-ci": "CERT.DPauth from a CI the eUICC does not trust",
    "dp-expired": "an expired CERT.DPauth",
    "fail-initiateAuthentication": "functionExecutionStatus Failed at initiateAuthentication",
    "fail-authenticateClient": "functionExecutionStatus Failed at authenticateClient",
    "fail-getBoundProfilePackage": "functionExecutionStatus Failed at getBoundProfilePackage",
    "fail-cancelSession": "functionExecutionStatus Failed at cancelSession",
    "corrupt-segment": "a bit flipped in the BPP's last profile segment",
    "drop-bpp": "the connection dropped in the middle of getBoundProfilePackage's answer",
}

#: ES9+ download functions and the method for each.
FUNCTIONS = {"initiateAuthentication": "initiate_authentication", "authenticateClient": "authenticate_client",
            "getBoundProfilePackage": "get_bound_profile_package", "cancelSession": "cancel_session"}


class Refused(Exception):
    """Answer functionExecutionStatus Failed with these subject and reason codes (download-notes 1.2)."""

    def __init__(self, subject: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.subject, self.reason, self.message = subject, reason, message


@dataclass
class _Session:
    transaction_id: bytes
    matching_id: str = ""
    server_challenge: bytes = b""
    euicc_certificate: x509.Certificate | None = None
    euicc_signature1: bytes = b""
    smdp_signature2: bytes = b""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(payload: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode("".join(str(payload[name]).split()), validate=True)
    except (KeyError, ValueError):
        raise Refused("8.1", "3.8", f"{name} missing or not base64") from None


@dataclass
class DownloadService:
    """Sessions and the functions; ``address`` is what the SM-DP+ calls itself (serverAddress)."""

    address: str
    profiles: dict[str, bytes] = field(default_factory=ts48_profiles)
    #: Matching ID -> confirmation code, for orders that need one.
    confirmation_codes: dict[str, str] = field(default_factory=dict)
    #: Protect the profile data with fresh Profile Protection Keys (ReplaceSessionKeys, SGP.22 5.5.4).
    ppk_mode: bool = False
    sessions: dict[bytes, _Session] = field(default_factory=dict)
    #: Sessions the eUICC cancelled: (transactionId, reason).
    cancelled: list[tuple[bytes, int]] = field(default_factory=list)
    #: A download fault (:data:`FAULTS`), set by the server before each call.
    fault: str | None = None

    def __post_init__(self) -> None:
        pki = Path(testpki.PKI_DIR)
        self.ci = testpki.Issued(x509.load_pem_x509_certificate((pki / "ci-cert.pem").read_bytes()),
                                 serialization.load_pem_private_key((pki / "ci-key.pem").read_bytes(), None))
        self.dpauth = testpki.make_dp(self.ci, POLICIES["dpauth"])
        self.dppb = testpki.make_dp(self.ci, POLICIES["dppb"])
        self._faulty = {"dp-unknown-ci": testpki.make_dp(testpki.make_ci("Unknown Test CI"), POLICIES["dpauth"]),
                        "dp-expired": testpki.make_dp(self.ci, POLICIES["dpauth"], expired=True)}

    def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run an ES9+ download function (by its ES9+ name), or fail as the fault says."""
        if self.fault == f"fail-{function}":
            raise Refused("8.1", "6.1", f"test fault at {function}")
        return getattr(self, FUNCTIONS[function])(payload)

    def initiate_authentication(self, payload: dict[str, Any]) -> dict[str, Any]:
        if str(payload.get("smdpAddress", "")).lower() != self.address.lower():
            raise Refused("8.8.1", "3.8", f"this SM-DP+ is {self.address}, not {payload.get('smdpAddress')}")
        challenge = _unb64(payload, "euiccChallenge")
        info1 = codec.decode("EUICCInfo1", _unb64(payload, "euiccInfo1"))
        ci_key = self.ci.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier
        if ci_key not in [bytes(k) for k in info1["euiccCiPKIdListForVerification"]]:
            raise Refused("8.8.2", "3.1", "none of the CIs the eUICC trusts signed this SM-DP+'s certificates")
        session = _Session(os.urandom(16), server_challenge=os.urandom(16))
        self.sessions[session.transaction_id] = session
        signed1 = codec.encode("ServerSigned1", {"transactionId": session.transaction_id, "euiccChallenge": challenge,
                                                 "serverAddress": self.address,
                                                 "serverChallenge": session.server_challenge})
        dpauth = self._faulty.get(self.fault or "", self.dpauth)
        signature = sign_rs(dpauth.key, signed1)
        if self.fault == "dp-bad-signature":
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return {"transactionId": session.transaction_id.hex().upper(), "serverSigned1": _b64(signed1),
                "serverSignature1": _b64(codec.encode("SignatureElement", signature)),
                "euiccCiPKIdToBeUsed": _b64(codec.encode("SubjectKeyIdentifier", ci_key)),
                "serverCertificate": _b64(dpauth.cert.public_bytes(serialization.Encoding.DER))}

    def _session(self, payload: dict[str, Any]) -> _Session:
        try:
            session = self.sessions.get(bytes.fromhex(str(payload.get("transactionId", ""))))
        except ValueError:
            session = None
        if session is None:
            raise Refused("8.10.1", "3.9", "unknown transactionId")
        return session

    def authenticate_client(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = self._session(payload)
        kind, response = codec.decode("AuthenticateServerResponseView", _unb64(payload, "authenticateServerResponse"))
        if kind != "authenticateResponseOk":
            del self.sessions[session.transaction_id]
            raise Refused("8.1", "6.1", f"the eUICC refused this SM-DP+ (code {response['authenticateErrorCode']})")
        euicc = x509.load_der_x509_certificate(bytes(response["euiccCertificate"]))
        eum = x509.load_der_x509_certificate(bytes(response["eumCertificate"]))
        if not issued_by(eum, self.ci.cert):
            raise Refused("8.1.2", "6.1", "the EUM certificate is not signed by the CI")
        if not issued_by(euicc, eum):
            raise Refused("8.1.3", "6.1", "the eUICC certificate is not signed by the EUM")
        signed1 = bytes(response["euiccSigned1"])
        if not verify_rs(euicc.public_key(), signed1, response["euiccSignature1"]):  # type: ignore[arg-type]
            raise Refused("8.1", "6.1", "euiccSignature1 does not verify")
        fields = codec.decode("EuiccSigned1View", signed1)
        if bytes(fields["transactionId"]) != session.transaction_id or \
                bytes(fields["serverChallenge"]) != session.server_challenge:
            raise Refused("8.1", "6.1", "euiccSigned1 is not for this session")
        _, context = codec.decode("CtxParams1", bytes(fields["ctxParams1"]))
        matching_id = context.get("matchingId", "")
        if matching_id not in self.profiles:
            raise Refused("8.2.6", "3.8", f"no order for matching ID {matching_id!r}")
        session.matching_id, session.euicc_certificate = matching_id, euicc
        session.euicc_signature1 = bytes(response["euiccSignature1"])
        signed2 = codec.encode("SmdpSigned2", {"transactionId": session.transaction_id,
                                               "ccRequiredFlag": matching_id in self.confirmation_codes})
        session.smdp_signature2 = sign_rs(self.dppb.key, signed2 + codec.encode("SignatureElement",
                                                                                 session.euicc_signature1))
        return {"transactionId": session.transaction_id.hex().upper(),
                "profileMetadata": _b64(self.metadata(matching_id)), "smdpSigned2": _b64(signed2),
                "smdpSignature2": _b64(codec.encode("SignatureElement", session.smdp_signature2)),
                "smdpCertificate": _b64(self.dppb.cert.public_bytes(serialization.Encoding.DER))}

    def metadata(self, matching_id: str) -> bytes:
        """StoreMetadataRequest for a TS.48 profile: its ICCID, names, test class, all operations notify us."""
        return codec.encode("StoreMetadataRequest", {
            "iccid": iccid_to_bytes(package_iccid(self.profiles[matching_id])),
            "serviceProviderName": "GSMA TS.48", "profileName": matching_id[:64], "profileClass": 0,
            "notificationConfigurationInfo": [{"profileManagementOperation": names_to_bits(
                ["install", "enable", "disable", "delete"], OPERATIONS), "notificationAddress": self.address}]})

    def get_bound_profile_package(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = self._session(payload)
        if session.euicc_certificate is None:
            raise Refused("8.10.1", "3.9", "authenticateClient has not succeeded for this transactionId")
        kind, response = codec.decode("PrepareDownloadResponse", _unb64(payload, "prepareDownloadResponse"))
        if kind != "downloadResponseOk":
            del self.sessions[session.transaction_id]
            raise Refused("8.1", "6.1", f"the eUICC refused the download (code {response['downloadErrorCode']})")
        signed2 = response["euiccSigned2"]
        covered = codec.encode("EUICCSigned2", signed2) + codec.encode("SignatureElement", session.smdp_signature2)
        if not verify_rs(session.euicc_certificate.public_key(), covered,  # type: ignore[arg-type]
                         response["euiccSignature2"]):
            raise Refused("8.1", "6.1", "euiccSignature2 does not verify")
        code = self.confirmation_codes.get(session.matching_id)
        if code is not None:
            if "hashCc" not in signed2:
                raise Refused("8.2.7", "2.2", "confirmation code missing")
            if bytes(signed2["hashCc"]) != hash_cc(code, session.transaction_id):
                raise Refused("8.2.7", "3.8", "confirmation code refused")
        package = self.profiles[session.matching_id]
        bpp = build_bpp(transaction_id=session.transaction_id, euicc_otpk=bytes(signed2["euiccOtpk"]),
                        eid=bytes.fromhex(eid(session.euicc_certificate) or ""), dppb_key=self.dppb.key,
                        configure_isdp=codec.encode("ConfigureISDPRequest", {}),
                        store_metadata=self.metadata(session.matching_id), profile_package=package,
                        host_id=b"lpa-test-smdp",
                        ppk=SessionKeys(os.urandom(16), os.urandom(16), os.urandom(16)) if self.ppk_mode else None)
        if self.fault == "corrupt-segment":  # a bit flipped in the last 86 segment's ciphertext
            bpp = bpp[:-20] + bytes([bpp[-20] ^ 1]) + bpp[-19:]
        return {"transactionId": session.transaction_id.hex().upper(), "boundProfilePackage": _b64(bpp)}

    def cancel_session(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = self._session(payload)
        kind, cancelled = codec.decode("CancelSessionResponse", _unb64(payload, "cancelSessionResponse"))
        if kind != "cancelSessionResponseOk":
            raise Refused("8.1", "6.1", "the eUICC did not cancel the session")
        signed = cancelled["euiccCancelSessionSigned"]
        if session.euicc_certificate is not None and not verify_rs(
                session.euicc_certificate.public_key(), codec.encode("EuiccCancelSessionSigned", signed),  # type: ignore
                cancelled["euiccCancelSessionSignature"]):
            raise Refused("8.1", "6.1", "euiccCancelSessionSignature does not verify")
        self.cancelled.append((session.transaction_id, signed["reason"]))
        del self.sessions[session.transaction_id]
        return {}
