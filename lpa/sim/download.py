"""The simulated eUICC's side of a profile download (SGP.22 3.1.3; ES10b 5.7.13, download-notes 1.5).

So far: GetEUICCChallenge's challenge; AuthenticateServer, which checks
the SM-DP+ as a real eUICC does (its CERT.DPauth up to a trusted CI, its
signature over serverSigned1 as received, the challenge, the CI to use)
and answers with euiccSigned1, signed by the eUICC; PrepareDownload, which
checks CERT.DPpb and smdpSignature2 and answers with a one-time key pair's
public half in euiccSigned2 (download-notes 1.8). The session they build
is what LoadBoundProfilePackage will continue.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from .. import codec
from .certificates import POLICIES, issued_by, policies, smdp_oid
from .signatures import verify_rs

#: AuthenticateErrorCode (SGP.22 5.7.13).
INVALID_CERTIFICATE, INVALID_SIGNATURE, CHALLENGE_MISMATCH, CI_UNKNOWN = 1, 2, 6, 7


@dataclass
class Session:
    """What a download has established so far; lives as long as the card is powered."""

    transaction_id: bytes
    server_address: str
    smdp_oid: str | None
    euicc_signature1: bytes
    #: The CI the SM-DP+ certificates chain to.
    ci: x509.Certificate
    #: From PrepareDownload: CERT.DPpb's key, the one-time private key, smdpSignature2.
    dppb_key: Any = None
    one_time_key: Any = None
    smdp_signature2: bytes = b""


@dataclass
class DownloadState:
    """The card's download state: the last challenge handed out, and the open session."""

    challenge: bytes | None = None
    session: Session | None = None
    loading: "Loading | None" = None
    #: For tests: the challenges handed out, newest last.
    history: list[bytes] = field(default_factory=list)

    def new_challenge(self) -> bytes:
        self.challenge = os.urandom(16)
        self.history.append(self.challenge)
        return self.challenge


def authenticate_server(state: DownloadState, request: dict[str, Any], trusted_cis: list[x509.Certificate],
                        signing_ci: bytes, euicc_info2: bytes, identity: Any) -> tuple[str, dict[str, Any]]:
    """ES10b.AuthenticateServer on a decoded AuthenticateServerRequestView; the response alternative."""
    signed1_raw = bytes(request["serverSigned1"])
    signed1 = codec.decode("ServerSigned1", signed1_raw)
    transaction_id = bytes(signed1["transactionId"])

    def error(code: int) -> tuple[str, dict[str, Any]]:
        return "authenticateResponseError", {"transactionId": transaction_id, "authenticateErrorCode": code}

    try:
        certificate = x509.load_der_x509_certificate(bytes(request["serverCertificate"]))
        issuer_key = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (ValueError, x509.ExtensionNotFound):
        return error(INVALID_CERTIFICATE)
    ci = next((c for c in trusted_cis if _key_id(c) == issuer_key), None)
    if ci is None:
        return error(CI_UNKNOWN)
    # CERT.DPauth from an SM-DP+, CERT.DSauth from an SM-DS (download-notes 1.5)
    if not {POLICIES["dpauth"], POLICIES["dsauth"]} & set(policies(certificate)) or not issued_by(certificate, ci) \
            or not _valid(certificate):
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
        certificate = x509.load_der_x509_certificate(bytes(request["smdpCertificate"]))
    except ValueError:
        return error(INVALID_CERTIFICATE)
    if POLICIES["dppb"] not in policies(certificate) or not issued_by(certificate, session.ci) or \
            not _valid(certificate):
        return error(INVALID_CERTIFICATE)
    if transaction_id != session.transaction_id:
        return error(INVALID_TRANSACTION)
    smdp_signature2 = codec.decode("SignatureElement", bytes(request["smdpSignature2"]))
    if not verify_rs(certificate.public_key(), signed2_raw + _signature_tlv(session.euicc_signature1),  # type: ignore[arg-type]
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
                                  "euiccSignature2": identity.sign(signed + _signature_tlv(smdp_signature2))}


def _signature_tlv(signature: bytes) -> bytes:
    """The ``5F37 40 <r||s>`` element a signature travels in, which the next signature covers."""
    return b"\x5f\x37" + bytes([len(signature)]) + signature


def _valid(certificate: x509.Certificate) -> bool:
    """Within its validity period now."""
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def _key_id(certificate: x509.Certificate) -> bytes:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier


# -- LoadBoundProfilePackage (SGP.22 5.7.6; download-notes 2, 3, 6) ----------------------

#: BppCommandId: which part of the BPP an error concerns.
INITIALISE, CONFIGURE_ISDP, STORE_METADATA, REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = 0, 1, 2, 4, 5
#: ErrorReason values the simulated eUICC gives.
REASON_INVALID_SIGNATURE, REASON_INVALID_TRANSACTION, REASON_CRT, REASON_REMOTE_OP = 2, 3, 4, 5
REASON_STRUCTURE, REASON_SECURITY, REASON_ICCID_EXISTS, REASON_NO_MEMORY = 7, 8, 9, 10

#: simaResponse of a successful install: one EUICCResponse, PEStatus ok (real cards' answer).
SIMA_OK = bytes.fromhex("3007A0053003800100")

#: The containers after BF23, their BppCommandId, and the segment tag they hold.
_CONTAINERS = {0xA0: (CONFIGURE_ISDP, 0x87), 0xA1: (STORE_METADATA, 0x88), 0xA2: (REPLACE_SESSION_KEYS, 0x87),
               0xA3: (LOAD_PROFILE_ELEMENTS, 0x86)}


class BppFailure(Exception):
    """The BPP fails: answer the ProfileInstallationResult with this errorResult."""

    def __init__(self, command: int, reason: int) -> None:
        super().__init__(f"bppCommandId {command}, errorReason {reason}")
        self.command, self.reason = command, reason


@dataclass
class Loading:
    """A BPP being loaded piece by piece: the secure channel, and each container's plaintext."""

    channel: Any
    remaining: int  # bytes of the BF36 value still to come
    container: int = 0
    container_left: int = 0
    plaintext: dict[int, bytes] = field(default_factory=dict)


def _header(data: bytes) -> tuple[int, int]:
    """The end of the tag and length at the start of ``data``, and the length."""
    from ..bpp import _header as header

    return header(data, 0)


def start_loading(state: DownloadState, piece: bytes, eid: bytes) -> None:
    """Piece 1: the BF36 header and InitialiseSecureChannel (BF23); opens the secure channel."""
    from ..errors import ProtocolError
    from .bsp import SecureChannel, derive_session_keys

    session = state.session
    if session is None or session.one_time_key is None:
        raise BppFailure(INITIALISE, REASON_INVALID_TRANSACTION)
    try:
        body, length = _header(piece)
        start, inner = _header(piece[body:])
    except ProtocolError:
        raise BppFailure(INITIALISE, REASON_STRUCTURE) from None
    bf23 = piece[body:]
    if piece[body:body + 2] != b"\xbf\x23" or start + inner != len(bf23):
        raise BppFailure(INITIALISE, REASON_STRUCTURE)
    request = codec.decode("InitialiseSecureChannelRequest", bf23)
    if request["remoteOpId"] != 1:
        raise BppFailure(INITIALISE, REASON_REMOTE_OP)
    if bytes(request["transactionId"]) != session.transaction_id:
        raise BppFailure(INITIALISE, REASON_INVALID_TRANSACTION)
    crt = request["controlRefTemplate"]
    if bytes(crt["keyType"]) != b"\x88" or bytes(crt["keyLen"]) != b"\x10":
        raise BppFailure(INITIALISE, REASON_CRT)
    signature = bytes(request["smdpSign"])
    signed = bf23[start:len(bf23) - len(_signature_tlv(signature))]  # 82, 80, A6, 5F49 as received
    euicc_otpk = _public_bytes(session.one_time_key)
    if not verify_rs(session.dppb_key, signed + b"\x5f\x49" + bytes([len(euicc_otpk)]) + euicc_otpk, signature):
        raise BppFailure(INITIALISE, REASON_INVALID_SIGNATURE)
    from cryptography.hazmat.primitives.asymmetric import ec

    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(request["smdpOtpk"]))
    shs = session.one_time_key.exchange(ec.ECDH(), peer)
    keys = derive_session_keys(shs, bytes(crt["hostId"]), eid)
    state.loading = Loading(SecureChannel(keys), remaining=length - len(bf23))


def _public_bytes(key: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_piece(state: DownloadState, piece: bytes) -> dict[int, bytes] | None:
    """A further piece: a container header (alone or with its first segment) or a segment.

    Returns the containers' plaintexts (A0: ConfigureISDP, A1: StoreMetadata,
    A2: ReplaceSessionKeys, A3: the profile package) once the BPP is complete.
    """
    from ..errors import ProtocolError
    from .bsp import BspError, SecureChannel, SessionKeys

    loading = state.loading
    assert loading is not None
    if loading.remaining < len(piece):
        raise BppFailure(loading.container and _CONTAINERS[loading.container][0] or INITIALISE, REASON_STRUCTURE)
    loading.remaining -= len(piece)
    rest = piece
    if piece[0] in _CONTAINERS:
        if loading.container_left:
            raise BppFailure(_CONTAINERS[piece[0]][0], REASON_STRUCTURE)
        try:
            start, length = _header(piece)
        except ProtocolError:
            raise BppFailure(_CONTAINERS[piece[0]][0], REASON_STRUCTURE) from None
        loading.container, loading.container_left = piece[0], length
        loading.plaintext.setdefault(piece[0], b"")
        rest = piece[start:]
    if rest:
        command, tag = _CONTAINERS.get(loading.container, (INITIALISE, 0))
        if rest[0] != tag or len(rest) > loading.container_left:
            raise BppFailure(command, REASON_STRUCTURE)
        loading.container_left -= len(rest)
        try:
            loading.plaintext[loading.container] += loading.channel.unprotect(rest)
        except BspError as error:
            raise BppFailure(command, REASON_SECURITY if error.security else REASON_STRUCTURE) from None
        if loading.container == 0xA2 and not loading.container_left:  # ReplaceSessionKeys: the PPKs from now on
            keys = codec.decode("ReplaceSessionKeysRequest", loading.plaintext[0xA2])
            loading.channel = SecureChannel(SessionKeys(bytes(keys["initialMacChainingValue"]), bytes(keys["ppkEnc"]),
                                                        bytes(keys["ppkCmac"])))
    if loading.remaining == 0:
        if loading.container_left:
            raise BppFailure(_CONTAINERS[loading.container][0], REASON_STRUCTURE)
        return loading.plaintext
    return None
