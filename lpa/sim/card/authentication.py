"""The simulated eUICC's side of a download's mutual authentication (SGP.22 3.1.3; ES10b 5.7.13;
docs/download-flow.md, "AuthenticateServer").

GetEUICCChallenge's challenge; AuthenticateServer, which checks
the SM-DP+ as a real eUICC does (its CERT.DPauth up to a trusted CI, its
signature over serverSigned1 as received, the challenge, the CI to use)
and answers with euiccSigned1, signed by the eUICC; PrepareDownload, which
checks CERT.DPpb and smdpSignature2 and answers with a one-time key pair's
public half in euiccSigned2 (SGP.22 5.7.5). The session they build
is what LoadBoundProfilePackage (:mod:`lpa.sim.card.install`) continues.
"""
from __future__ import annotations

from typing import Any

from cryptography import x509

from ... import codec
from ..pki.certificates import POLICIES, issued_by, key_id, load_der, policies, smdp_oid, valid_now
from ..pki.signatures import verify_rs
from .download_state import DownloadState, Session
from .tlv import signature_tlv

#: AuthenticateErrorCode (SGP.22 5.7.13).
INVALID_CERTIFICATE, INVALID_SIGNATURE, CHALLENGE_MISMATCH, CI_UNKNOWN = 1, 2, 6, 7


def authenticate_server(state: DownloadState, request: dict[str, Any], trusted_cis: list[x509.Certificate],
                        signing_ci: bytes, euicc_info2: bytes, identity: Any) -> tuple[str, dict[str, Any]]:
    """ES10b.AuthenticateServer on a decoded AuthenticateServerRequestView; the response alternative."""
    signed1_raw = bytes(request["serverSigned1"])
    signed1 = codec.decode("ServerSigned1", signed1_raw)
    transaction_id = bytes(signed1["transactionId"])

    def error(code: int) -> tuple[str, dict[str, Any]]:
        return "authenticateResponseError", {"transactionId": transaction_id, "authenticateErrorCode": code}

    try:
        certificate = load_der(bytes(request["serverCertificate"]))
        issuer_key = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (ValueError, x509.ExtensionNotFound):
        return error(INVALID_CERTIFICATE)
    ci = next((c for c in trusted_cis if key_id(c) == issuer_key), None)
    if ci is None:
        return error(CI_UNKNOWN)
    # CERT.DPauth from an SM-DP+, CERT.DSauth from an SM-DS (SGP.22 5.7.13)
    if not {POLICIES["dpauth"], POLICIES["dsauth"]} & set(policies(certificate)) or not issued_by(certificate, ci) \
            or not valid_now(certificate):
        return error(INVALID_CERTIFICATE)
    if codec.decode("SubjectKeyIdentifier", bytes(request["euiccCiPKIdToBeUsed"])) != signing_ci:
        return error(CI_UNKNOWN)
    signature1 = codec.decode("SignatureElement", bytes(request["serverSignature1"]))
    if not verify_rs(certificate.public_key(), signed1_raw, signature1):  # type: ignore[arg-type]
        return error(INVALID_SIGNATURE)
    challenge, state.challenge = state.challenge, None  # single use, whatever happens next
    if challenge is None or bytes(signed1["euiccChallenge"]) != challenge:
        return error(CHALLENGE_MISMATCH)
    euicc_signed1 = codec.encode("EuiccSigned1View", {
        "transactionId": transaction_id,
        "serverAddress": signed1["serverAddress"],
        "serverChallenge": bytes(signed1["serverChallenge"]),
        "euiccInfo2": euicc_info2,
        "ctxParams1": bytes(request["ctxParams1"]),  # copied byte for byte
    })
    signature = identity.sign(euicc_signed1)
    state.session = Session(transaction_id, signed1["serverAddress"], smdp_oid(certificate), signature, ci)
    return "authenticateResponseOk", {"euiccSigned1": euicc_signed1, "euiccSignature1": signature,
                                      "euiccCertificate": identity.der("euicc"), "eumCertificate": identity.der("eum")}


#: DownloadErrorCode (SGP.22 5.7.5).
NO_SESSION, INVALID_TRANSACTION = 4, 5


def prepare_download(state: DownloadState, request: dict[str, Any], identity: Any) -> tuple[str, dict[str, Any]]:
    """ES10b.PrepareDownload on a decoded PrepareDownloadRequestView; the response alternative."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    signed2_raw = bytes(request["smdpSigned2"])
    signed2 = codec.decode("SmdpSigned2", signed2_raw)
    transaction_id = bytes(signed2["transactionId"])

    def error(code: int) -> tuple[str, dict[str, Any]]:
        return "downloadResponseError", {"transactionId": transaction_id, "downloadErrorCode": code}

    session = state.session
    if session is None:
        return error(NO_SESSION)
    try:
        certificate = load_der(bytes(request["smdpCertificate"]))
    except ValueError:
        return error(INVALID_CERTIFICATE)
    if POLICIES["dppb"] not in policies(certificate) or not issued_by(certificate, session.ci) or \
            not valid_now(certificate):
        return error(INVALID_CERTIFICATE)
    if transaction_id != session.transaction_id:
        return error(INVALID_TRANSACTION)
    smdp_signature2 = codec.decode("SignatureElement", bytes(request["smdpSignature2"]))
    if not verify_rs(certificate.public_key(), signed2_raw + signature_tlv(session.euicc_signature1),  # type: ignore[arg-type]
                     smdp_signature2):
        return error(INVALID_SIGNATURE)
    one_time_key = ec.generate_private_key(ec.SECP256R1())
    euicc_signed2: dict[str, Any] = {
        "transactionId": transaction_id,
        "euiccOtpk": one_time_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint),
    }
    if request.get("hashCc") is not None:
        euicc_signed2["hashCc"] = bytes(request["hashCc"])
    signed = codec.encode("EUICCSigned2", euicc_signed2)
    session.dppb_key, session.one_time_key, session.smdp_signature2 = \
        certificate.public_key(), one_time_key, smdp_signature2
    return "downloadResponseOk", {"euiccSigned2": euicc_signed2,
                                  "euiccSignature2": identity.sign(signed + signature_tlv(smdp_signature2))}
