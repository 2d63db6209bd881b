"""The simulated eUICC's ES10b.LoadBoundProfilePackage (SGP.22 5.7.6; docs/bound-profile-package.md): the
Bound Profile Package loaded piece by piece through SCP03t (:mod:`lpa.sim.card.bsp`), then installed
as a disabled profile, answered with the signed ProfileInstallationResult.
"""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable

from ... import codec
from ...encoding import ICON_TYPES, PPR_BITS, PROFILE_CLASSES, bits_to_names, iccid_from_bytes, operation_names
from ...errors import LpaError, ProtocolError
from ..pki.signatures import verify_rs
from ..pki.testpki import TEST_SMDP_OID
from .download_state import DownloadState, Loading
from .faults import spoil
from .state import SimNotification, SimProfile, SimState
from .tlv import header, signature_tlv

if TYPE_CHECKING:
    from ..pki.identity import Identity

#: BppCommandId: which part of the BPP an error concerns.
INITIALISE, CONFIGURE_ISDP, STORE_METADATA, REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = 0, 1, 2, 4, 5
#: ErrorReason values the simulated eUICC gives.
REASON_INCORRECT_INPUT, REASON_INVALID_SIGNATURE, REASON_INVALID_TRANSACTION = 1, 2, 3
REASON_CRT, REASON_REMOTE_OP = 4, 5
REASON_STRUCTURE, REASON_SECURITY, REASON_ICCID_EXISTS, REASON_NO_MEMORY = 7, 8, 9, 10
REASON_PE_PROCESSING, REASON_DATA_MISMATCH = 12, 13

#: The containers after BF23, their BppCommandId, and the segment tag they hold.
_CONTAINERS = {0xA0: (CONFIGURE_ISDP, 0x87), 0xA1: (STORE_METADATA, 0x88), 0xA2: (REPLACE_SESSION_KEYS, 0x87),
               0xA3: (LOAD_PROFILE_ELEMENTS, 0x86)}


class BppFailure(Exception):
    """The BPP fails: answer the ProfileInstallationResult with this errorResult (and simaResponse)."""

    def __init__(self, command: int, reason: int, sima_response: bytes | None = None, iccid: str = "") -> None:
        super().__init__(f"bppCommandId {command}, errorReason {reason}")
        self.command, self.reason, self.sima_response = command, reason, sima_response
        #: The profile's ICCID once StoreMetadata was processed (the result's notificationMetadata names it).
        self.iccid = iccid


def start_loading(state: DownloadState, piece: bytes, eid: bytes) -> None:
    """Piece 1: the BF36 header and InitialiseSecureChannel (BF23); opens the secure channel."""
    from .bsp import SecureChannel, derive_session_keys

    session = state.session
    assert session is not None  # the ISD-R answers 6A88 without one
    if session.one_time_key is None:  # AuthenticateServer without PrepareDownload
        raise BppFailure(INITIALISE, REASON_INVALID_TRANSACTION)
    try:
        body, length = header(piece)
        start, inner = header(piece[body:])
    except ProtocolError:
        raise BppFailure(INITIALISE, REASON_STRUCTURE) from None
    bf23 = piece[body:]
    if piece[body:body + 2] != b"\xbf\x23" or start + inner != len(bf23):
        raise BppFailure(INITIALISE, REASON_STRUCTURE)
    request = _decoded(INITIALISE, "InitialiseSecureChannelRequest", bf23)
    if request["remoteOpId"] != 1:
        raise BppFailure(INITIALISE, REASON_REMOTE_OP)
    if bytes(request["transactionId"]) != session.transaction_id:
        raise BppFailure(INITIALISE, REASON_INVALID_TRANSACTION)
    crt = request["controlRefTemplate"]
    if bytes(crt["keyType"]) != b"\x88" or bytes(crt["keyLen"]) != b"\x10":
        raise BppFailure(INITIALISE, REASON_CRT)
    signature = bytes(request["smdpSign"])
    signed = bf23[start:len(bf23) - len(signature_tlv(signature))]  # 82, 80, A6, 5F49 as received
    euicc_otpk = _public_bytes(session.one_time_key)
    if not verify_rs(session.dppb_key, signed + b"\x5f\x49" + bytes([len(euicc_otpk)]) + euicc_otpk, signature):
        raise BppFailure(INITIALISE, REASON_INVALID_SIGNATURE)
    from cryptography.hazmat.primitives.asymmetric import ec

    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(request["smdpOtpk"]))
    shs = session.one_time_key.exchange(ec.ECDH(), peer)
    keys = derive_session_keys(shs, bytes(crt["hostId"]), eid)
    state.loading = Loading(SecureChannel(keys), remaining=length - len(bf23))


def _decoded(command: int, type_name: str, der: bytes) -> Any:
    """``der`` decoded as ``type_name``; a part that does not decode fails the BPP at ``command``."""
    try:
        return codec.decode(type_name, der)
    except LpaError:
        raise BppFailure(command, REASON_STRUCTURE) from None


def _public_bytes(key: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_piece(state: DownloadState, piece: bytes) -> dict[int, bytes] | None:
    """A further piece: a container header (alone or with its first segment) or a segment.

    Returns the containers' plaintexts (A0: ConfigureISDP, A1: StoreMetadata,
    A2: ReplaceSessionKeys, A3: the profile package) once the BPP is complete.
    """
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
            start, length = header(piece)
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
            keys = _decoded(REPLACE_SESSION_KEYS, "ReplaceSessionKeysRequest", loading.plaintext[0xA2])
            if any(len(keys[name]) != 16 for name in ("initialMacChainingValue", "ppkEnc", "ppkCmac")):
                raise BppFailure(REPLACE_SESSION_KEYS, REASON_STRUCTURE)  # AES-128 keys, a 16-byte MCV (SGP.22 5.5.4)
            loading.channel = SecureChannel(SessionKeys(bytes(keys["initialMacChainingValue"]), bytes(keys["ppkEnc"]),
                                                        bytes(keys["ppkCmac"])))
    if loading.remaining == 0:
        if loading.container_left:
            raise BppFailure(_CONTAINERS[loading.container][0], REASON_STRUCTURE)
        return loading.plaintext
    return None


class Installation:
    """LoadBoundProfilePackage, a part of :class:`~lpa.sim.card.isdr.Isdr` (which makes the
    installation result's notification metadata with
    :meth:`~lpa.sim.card.notifications.Notifications._metadata`)."""

    state: SimState
    download: DownloadState
    changed: bool
    _metadata: Callable[[SimNotification], dict]
    faults: list[str]

    if TYPE_CHECKING:
        @property
        def identity(self) -> Identity:
            """The eUICC's identity (read-only: :attr:`.Isdr.identity` loads it when first used)."""

    def load_bound_profile_package(self, piece: bytes) -> bytes:
        """ES10b.LoadBoundProfilePackage (SGP.22 5.7.6): one piece of the BPP
        (docs/bound-profile-package.md, "Pieces and answers").

        Every piece but the last answers nothing (9000); the last, or the
        first that fails, answers the signed ProfileInstallationResult, which
        is also recorded as the install notification.
        """
        try:
            if piece[:2] == b"\xbf\x36":
                start_loading(self.download, piece, bytes.fromhex(self.state.eid))
                return b""
            parts = load_piece(self.download, piece)
            if parts is None:
                return b""
            profile, sima_response = self._install(parts)
        except BppFailure as failure:
            return self._installation_result(None, failure)
        return self._installation_result(profile, None, sima_response)

    def _install(self, parts: dict[int, bytes]) -> tuple[SimProfile, bytes]:
        """Create the profile a complete BPP describes (disabled), or raise BppFailure; the profile and the
        simaResponse of its elements."""
        from .profile_elements import Refused, check_package

        _decoded(CONFIGURE_ISDP, "ConfigureISDPRequest", parts.get(0xA0, b""))
        metadata = _decoded(STORE_METADATA, "StoreMetadataRequest", parts.get(0xA1, b""))
        iccid = iccid_from_bytes(bytes(metadata["iccid"]))
        # an icon only with its iconType, jpg or png (SGP.22's StoreMetadataRequest, asn1/rsp.asn)
        if "icon" in metadata and metadata.get("iconType") not in (0, 1):
            raise BppFailure(STORE_METADATA, REASON_INCORRECT_INPUT, iccid=iccid)
        if self.state.find(iccid=iccid):
            raise BppFailure(STORE_METADATA, REASON_ICCID_EXISTS, iccid=iccid)
        package = parts.get(0xA3, b"")
        if len(package) > self.state.free_memory():
            raise BppFailure(LOAD_PROFILE_ELEMENTS, REASON_NO_MEMORY, iccid=iccid)
        try:
            sima_response = check_package(package, iccid)
        except Refused as refused:
            raise BppFailure(LOAD_PROFILE_ELEMENTS, REASON_DATA_MISMATCH if refused.mismatch else REASON_PE_PROCESSING,
                             refused.sima_response, iccid) from None
        notify: dict[str, str] = {}
        for entry in metadata.get("notificationConfigurationInfo", []):
            for operation in operation_names(entry["profileManagementOperation"]):
                notify[operation] = entry["notificationAddress"]
        session = self.download.session
        assert session is not None
        profile = SimProfile(
            iccid=iccid, isdp_aid=self.state.allocate_isdp_aid(), provider=metadata["serviceProviderName"],
            name=metadata["profileName"], profile_class=_class_name(metadata.get("profileClass", "operational")),
            icon_type=ICON_TYPES[metadata["iconType"]] if "icon" in metadata else None,
            icon=base64.b64encode(bytes(metadata["icon"])).decode() if "icon" in metadata else None,
            notify=notify, smdp_address=session.server_address,
            policy_rules=bits_to_names(metadata["profilePolicyRules"], PPR_BITS) if "profilePolicyRules" in metadata
            else [], size=len(package))
        self.state.profiles.append(profile)
        return profile, sima_response

    def _installation_result(self, profile: SimProfile | None, failure: BppFailure | None,
                             sima_response: bytes = b"") -> bytes:
        """The signed ProfileInstallationResult (SGP.22 5.7.6), recorded as the install notification."""
        session = self.download.session
        assert session is not None
        notification = SimNotification(self.state.next_seq_number, "install", session.server_address,
                                        profile.iccid if profile else failure.iccid if failure else "",
                                        profile.isdp_aid if profile else "",
                                        session.transaction_id.hex())
        self.state.next_seq_number += 1
        if profile is not None:
            result: tuple = ("successResult", {"aid": bytes.fromhex(profile.isdp_aid), "simaResponse": sima_response})
        else:
            assert failure is not None
            error = {"bppCommandId": failure.command, "errorReason": failure.reason}
            result = ("errorResult", error if failure.sima_response is None else
                      {**error, "simaResponse": failure.sima_response})
        data = codec.encode("ProfileInstallationResultData", {
            "transactionId": session.transaction_id, "notificationMetadata": self._metadata(notification),
            "smdpOid": session.smdp_oid or TEST_SMDP_OID, "finalResult": result})
        pir = codec.encode("ProfileInstallationResultView",
                           {"profileInstallationResultData": data, "euiccSignPIR": spoil(self.identity.sign(data))
                            if "bad-pir-signature" in self.faults else self.identity.sign(data)})
        notification.signed = base64.b64encode(pir).decode()
        self.state.notifications.append(notification)
        self.download.session = self.download.loading = None  # the session is over, whatever the result
        self.changed = True
        return pir


def _class_name(value: int | str) -> str:
    """profileClass as decoded: a number, or the DEFAULT's name (operational) when the SM-DP+ left it out."""
    return PROFILE_CLASSES[value] if isinstance(value, int) else value
