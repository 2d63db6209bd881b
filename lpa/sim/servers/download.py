"""The test SM-DP+'s download functions: ES9+ initiateAuthentication, authenticateClient,
getBoundProfilePackage, cancelSession (SGP.22 5.6; docs/download-flow.md).

TEST TOOL. It serves the TS.48 test profiles (matching ID = file name
without .der, as other test SM-DP+ servers do), optionally behind a
confirmation code, with a DPauth and a DPpb certificate of its own under the
lpa test CI, checks what the eUICC signs as an SM-DP+ does, and binds each
profile to the eUICC that asked (:mod:`lpa.sim.servers.bpp_builder`).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization

from ... import codec
from ...encoding import CANCEL_REASONS, OPERATIONS, iccid_to_bytes, names_to_bits
from ..pki import testpki
from ..pki.certificates import POLICIES, eid, smdp_oid
from ..pki.signatures import sign_rs, verify_rs
from .authentication import MutualAuthentication, Refused, Session, b64, unb64
from .bpp_builder import FAULTS as BPP_FAULTS
from .bpp_builder import build_bpp
from .profile_package import iccid as package_iccid
from .profile_package import ts48_profiles, with_header_iccid
from .scp03t import Keys

__all__ = ["DownloadService", "Refused", "FAULTS", "FUNCTIONS"]


#: Download faults of the test SM-DP+, and what each does.
FAULTS = {
    "dp-bad-signature": "serverSignature1 does not verify",
    "dp-unknown-ci": "CERT.DPauth from a CI the eUICC does not trust",
    "dp-expired": "an expired CERT.DPauth",
    "dp-bad-signature2": "smdpSignature2 does not verify (the eUICC refuses PrepareDownload)",
    "fail-initiateAuthentication": "functionExecutionStatus Failed at initiateAuthentication",
    "fail-authenticateClient": "functionExecutionStatus Failed at authenticateClient",
    "fail-getBoundProfilePackage": "functionExecutionStatus Failed at getBoundProfilePackage",
    "fail-cancelSession": "functionExecutionStatus Failed at cancelSession",
    "corrupt-segment": "a bit flipped in the BPP's last profile segment",
    "drop-bpp": "the connection dropped in the middle of getBoundProfilePackage's answer",
    "forged-dpauth": "a CERT.DPauth naming the CI and its key identifier, signed by another key",
    "forged-dppb": "a CERT.DPpb naming the CI and its key identifier, signed by another key",
    "bad-smdp-sign": "smdpSign in the BPP's InitialiseSecureChannel does not verify",
    "bpp-wrong-transaction": "a BPP (validly signed) for another transactionId",
    "bad-padding": "the last profile segment padded wrongly (its MAC right)",
    "metadata-mismatch": "profileMetadata unlike the StoreMetadata in the BPP (another operator, another ICCID)",
    "header-iccid-mismatch": "a profile package whose ProfileHeader ICCID differs from StoreMetadata's",
}

#: The unsigned profileMetadata the "metadata-mismatch" fault offers instead of the BPP's.
MISMATCHED_ICCID = "89674523018967452301"
MISMATCHED_METADATA = {"iccid": iccid_to_bytes(MISMATCHED_ICCID), "serviceProviderName": "Evil Corp",
                       "profileName": "Totally Different Operator Profile", "profileClass": 2}

#: ES9+ download functions and the method for each.
FUNCTIONS = {"initiateAuthentication": "initiate_authentication", "authenticateClient": "authenticate_client",
            "getBoundProfilePackage": "get_bound_profile_package", "cancelSession": "cancel_session"}


def hash_cc(confirmation_code: str, transaction_id: bytes) -> bytes:
    """The hashCc the eUICC must send for this confirmation code and session (SGP.22 3.1.3.1):
    SHA-256(SHA-256(confirmation code) || transactionId)."""
    inner = hashlib.sha256(confirmation_code.encode("utf-8")).digest()
    return hashlib.sha256(inner + transaction_id).digest()


@dataclass
class DownloadService(MutualAuthentication):
    """The SM-DP+'s sessions and download functions (its mutual authentication from the base class)."""

    profiles: dict[str, bytes] = field(default_factory=ts48_profiles)
    #: Matching ID -> confirmation code, for orders that need one.
    confirmation_codes: dict[str, str] = field(default_factory=dict)
    #: Orders for the default SM-DP+ flow (empty or no matching ID, SGP.22 3.1.3): EID ("*": any) -> profile.
    default_orders: dict[str, str] = field(default_factory=dict)
    #: Protect the profile data with fresh Profile Protection Keys (ReplaceSessionKeys, SGP.22 5.5.4).
    ppk_mode: bool = False
    #: Sessions the eUICC cancelled: (transactionId, reason).
    cancelled: list[tuple[bytes, int]] = field(default_factory=list)

    functions: ClassVar[dict[str, str]] = FUNCTIONS

    def __post_init__(self) -> None:
        super().__post_init__()
        self.dppb = testpki.load(testpki.PKI_DIR, "dppb")
        self.forged_dppb = testpki.make_dp(self.forged_ci(), POLICIES["dppb"])

    def authenticate_client(self, payload: dict[str, Any]) -> dict[str, Any]:
        client = self.authenticated_client(payload)
        session, matching_id = client.session, client.context.get("matchingId", "")
        if not matching_id:  # the default SM-DP+ flow: an order held for this EID
            euicc_eid = eid(client.certificate) or ""
            matching_id = self.default_orders.get(euicc_eid) or self.default_orders.get("*", "")
            if not matching_id:
                raise Refused("8.2.6", "3.8", f"no pending order for eUICC {euicc_eid} (empty matching ID)")
        if matching_id not in self.profiles:
            raise Refused("8.2.6", "3.8", f"no order for matching ID {matching_id!r}")
        session.matching_id, session.euicc_certificate = matching_id, client.certificate
        session.euicc_signature1 = client.signature1
        signed2 = codec.encode("SmdpSigned2", {"transactionId": session.transaction_id,
                                               "ccRequiredFlag": matching_id in self.confirmation_codes})
        dppb = self.forged_dppb if self.fault == "forged-dppb" else self.dppb
        session.smdp_signature2 = sign_rs(dppb.key, signed2 + codec.encode("SignatureElement",
                                                                            session.euicc_signature1))
        signature2 = session.smdp_signature2
        if self.fault == "dp-bad-signature2":
            signature2 = bytes([signature2[0] ^ 1]) + signature2[1:]
        metadata = codec.encode("StoreMetadataRequest", MISMATCHED_METADATA) if self.fault == "metadata-mismatch" \
            else self.metadata(matching_id)
        self.log(f"{session.transaction_id.hex().upper()}: offered {matching_id}")
        return {"transactionId": session.transaction_id.hex().upper(),
                "profileMetadata": b64(metadata), "smdpSigned2": b64(signed2),
                "smdpSignature2": b64(codec.encode("SignatureElement", signature2)),
                "smdpCertificate": b64(dppb.cert.public_bytes(serialization.Encoding.DER))}

    def metadata(self, matching_id: str) -> bytes:
        """StoreMetadataRequest for a TS.48 profile: its ICCID, names, test class, all operations notify us."""
        return codec.encode("StoreMetadataRequest", {
            "iccid": iccid_to_bytes(package_iccid(self.profiles[matching_id])),
            "serviceProviderName": "GSMA TS.48", "profileName": matching_id[:64], "profileClass": 0,
            "notificationConfigurationInfo": [{"profileManagementOperation": names_to_bits(
                ["install", "enable", "disable", "delete"], OPERATIONS), "notificationAddress": self.address}]})

    def get_bound_profile_package(self, payload: dict[str, Any]) -> dict[str, Any]:
        session = self.session_of(payload)
        if session.euicc_certificate is None or not session.matching_id:
            raise Refused("8.10.1", "3.9", "authenticateClient has not succeeded for this transactionId")
        kind, response = codec.decode("PrepareDownloadResponseView", unb64(payload, "prepareDownloadResponse"))
        if kind != "downloadResponseOk":
            del self.sessions[session.transaction_id]
            raise Refused("8.1", "6.1", f"the eUICC refused the download (code {response['downloadErrorCode']})")
        signed2_raw = bytes(response["euiccSigned2"])  # verified as received, never re-encoded
        covered = signed2_raw + codec.encode("SignatureElement", session.smdp_signature2)
        if not verify_rs(session.euicc_certificate.public_key(), covered,  # type: ignore[arg-type]
                         response["euiccSignature2"]):
            raise Refused("8.1", "6.1", "euiccSignature2 does not verify")
        signed2 = codec.decode("EUICCSigned2", signed2_raw)
        if bytes(signed2["transactionId"]) != session.transaction_id:
            raise Refused("8.1", "6.1", "euiccSigned2 is not for this session")
        code = self.confirmation_codes.get(session.matching_id)
        if code is not None:
            if "hashCc" not in signed2:
                raise Refused("8.2.7", "2.2", "confirmation code missing")
            if bytes(signed2["hashCc"]) != hash_cc(code, session.transaction_id):
                raise Refused("8.2.7", "3.8", "confirmation code refused")
        package = self.profiles[session.matching_id]
        if self.fault == "header-iccid-mismatch":
            package = with_header_iccid(package, MISMATCHED_ICCID)
        bpp = build_bpp(transaction_id=os.urandom(16) if self.fault == "bpp-wrong-transaction"
                        else session.transaction_id, euicc_otpk=bytes(signed2["euiccOtpk"]),
                        eid=bytes.fromhex(eid(session.euicc_certificate) or ""), dppb_key=self.dppb.key,
                        configure_isdp=codec.encode("ConfigureISDPRequest", {}),
                        store_metadata=self.metadata(session.matching_id), profile_package=package,
                        host_id=b"lpa-test-smdp",
                        ppk=Keys(os.urandom(16), os.urandom(16), os.urandom(16)) if self.ppk_mode else None,
                        fault=self.fault if self.fault in BPP_FAULTS else None)
        if self.fault == "corrupt-segment":  # a bit flipped in the last 86 segment's ciphertext
            bpp = bpp[:-20] + bytes([bpp[-20] ^ 1]) + bpp[-19:]
        self.log(f"{session.transaction_id.hex().upper()}: BPP sent ({session.matching_id}, {len(bpp)} bytes)")
        return {"transactionId": session.transaction_id.hex().upper(), "boundProfilePackage": b64(bpp)}

    def cancel_session(self, payload: dict[str, Any]) -> dict[str, Any]:
        """ES9+ cancelSession (SGP.22 5.6.5): the eUICC's signature over what it sent, with this session's
        eUICC certificate; the signed transactionId and SM-DP+ OID this session's."""
        session = self.session_of(payload)
        kind, cancelled = codec.decode("CancelSessionResponseView", unb64(payload, "cancelSessionResponse"))
        if kind != "cancelSessionResponseOk":
            raise Refused("8.1", "6.1", "the eUICC did not cancel the session")
        if session.euicc_certificate is None:
            raise Refused("8.1", "6.1", "no eUICC certificate in this session to verify the cancel with")
        signed_raw = bytes(cancelled["euiccCancelSessionSigned"])
        if not verify_rs(session.euicc_certificate.public_key(), signed_raw,  # type: ignore[arg-type]
                         cancelled["euiccCancelSessionSignature"]):
            raise Refused("8.1", "6.1", "euiccCancelSessionSignature does not verify")
        signed = codec.decode("EuiccCancelSessionSigned", signed_raw)
        if bytes(signed["transactionId"]) != session.transaction_id:
            raise Refused("8.10.1", "3.9", "the signed transactionId is not this session's")
        if signed["smdpOid"] != smdp_oid(self.auth.cert):
            raise Refused("8.8", "3.10", f"the signed SM-DP+ OID {signed['smdpOid']} is not this SM-DP+'s")
        self.cancelled.append((session.transaction_id, signed["reason"]))
        del self.sessions[session.transaction_id]
        self.log(f"{session.transaction_id.hex().upper()}: cancelled by the eUICC, {_reason(signed['reason'])}")
        return {}

    def installation_result(self, transaction_id: bytes) -> Session | None:
        """The session a ProfileInstallationResult reports on, ended now (None: not one of this server's)."""
        return self.sessions.pop(transaction_id, None)


def _reason(reason: int | str) -> str:
    """A CancelSessionReason by its name."""
    names = {number: name for name, number in CANCEL_REASONS.items()}
    return reason if isinstance(reason, str) else names.get(reason, str(reason))
