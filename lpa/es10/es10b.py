"""ES10b: what the LPA asks the eUICC for downloads and notifications (SGP.22 5.7.5 to 5.7.11).

eUICC information and challenge, the rules authorisation table, the download session
(AuthenticateServer, PrepareDownload, LoadBoundProfilePackage, CancelSession) and the notification list.
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from .. import codec
from ..encoding import (
    CANCEL_REASONS,
    PPR_BITS,
    RSP_CAPABILITY,
    UICC_CAPABILITY,
    bits_to_names,
    iccid_from_bytes,
    operation_bits,
    operation_name,
    simple_tlv,
    version_str,
)
from ..errors import ProtocolError
from .base import StoreData, call, check, exchange, refused


class NotificationMetadata(NamedTuple):
    """One NotificationMetadata (BF2F, SGP.22 5.7.10)."""

    seq_number: int
    operation: str
    address: str
    iccid: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "seqNumber": self.seq_number,
            "profileManagementOperation": self.operation,
            "notificationAddress": self.address,
            "iccid": self.iccid,
        }


class PendingNotification(NamedTuple):
    """A signed notification as the eUICC gave it (SGP.22 5.7.10)."""

    metadata: NotificationMetadata
    #: The PendingNotification DER exactly as the card sent it: what ES9+ carries.
    der: bytes


class EuiccInfo1(NamedTuple):
    """EUICCInfo1 (SGP.22 5.7.8)."""

    #: The BF20 exactly as the card sent it: what initiateAuthentication carries.
    der: bytes
    svn: str
    ci_pkid_verification: tuple[str, ...]
    ci_pkid_signing: tuple[str, ...]


class EuiccInfo2(NamedTuple):
    """EUICCInfo2 (SGP.22 5.7.8), with extCardResource decoded."""

    #: JSON-ready: versions as text, key identifiers and octet strings as hex, bit strings as lists of names.
    fields: dict[str, object]


class PolicyRule(NamedTuple):
    """One ProfilePolicyAuthorisationRule of the Rules Authorisation Table (SGP.22 2.9.2.2)."""

    #: The PPRs the rule is about (ppr1, ppr2, ...).
    ppr_ids: tuple[str, ...]
    #: MCC/MNC of each operator allowed to set them, as hex ("EEEEEE": any operator); gid1, gid2.
    operators: tuple[tuple[str, str | None, str | None], ...]
    consent_required: bool

    def to_json(self) -> dict[str, object]:
        return {"pprIds": list(self.ppr_ids),
                "allowedOperators": [{"mccMnc": m, "gid1": g1, "gid2": g2} for m, g1, g2 in self.operators],
                "consentRequired": self.consent_required}


def get_euicc_info1(ch: StoreData) -> EuiccInfo1:
    """ES10b.GetEUICCInfo, EUICCInfo1 (SGP.22 5.7.8), checked and kept as sent: ES9+ and ES11
    initiateAuthentication carry it."""
    der, answer = exchange(ch, "GetEuiccInfo1Request", {}, "EUICCInfo1", "GetEuiccInfo1")
    return EuiccInfo1(
        der=der,
        svn=version_str(answer["svn"]),
        ci_pkid_verification=tuple(k.hex() for k in answer["euiccCiPKIdListForVerification"]),
        ci_pkid_signing=tuple(k.hex() for k in answer["euiccCiPKIdListForSigning"]),
    )


_EUICC_CATEGORY = ("other", "basicEuicc", "mediumEuicc", "contactlessEuicc")


def get_euicc_info2(ch: StoreData) -> EuiccInfo2:
    """ES10b.GetEUICCInfo, EUICCInfo2 (SGP.22 5.7.8), as JSON-ready fields.

    Field names are the ASN.1 ones; versions become "2.2.0", key
    identifiers hex, bit strings lists of names, and extCardResource (ETSI
    TS 102 226) installedApplication / freeNonVolatileMemory /
    freeVolatileMemory.
    """
    answer = call(ch, "GetEuiccInfo2Request", {}, "EUICCInfo2", "GetEuiccInfo2")
    out: dict[str, object] = {}
    for key, value in answer.items():
        if key in ("profileVersion", "svn", "euiccFirmwareVer", "ts102241Version", "globalplatformVersion",
                   "ppVersion"):
            out[key] = version_str(value)
        elif key in ("euiccCiPKIdListForVerification", "euiccCiPKIdListForSigning"):
            out[key] = [k.hex() for k in value]
        elif key == "uiccCapability":
            out[key] = bits_to_names(value, UICC_CAPABILITY)
        elif key == "rspCapability":
            out[key] = bits_to_names(value, RSP_CAPABILITY)
        elif key == "forbiddenProfilePolicyRules":
            out[key] = bits_to_names(value, PPR_BITS)
        elif key == "euiccCategory":
            out[key] = _EUICC_CATEGORY[value] if 0 <= value < len(_EUICC_CATEGORY) else value
        elif key == "extCardResource":
            out[key] = _ext_card_resource(bytes(value), getattr(ch, "note", None))
        elif isinstance(value, (bytes, bytearray)):
            out[key] = bytes(value).hex()
        else:
            out[key] = value
    return EuiccInfo2(out)


def _ext_card_resource(data: bytes, note: codec.Note | None) -> dict[str, int]:
    """ETSI TS 102 226 8.2.1.7.2: 81 installed applications, 82 free NVM, 83 free RAM.

    A malformed one is left out, with a ``note``: the rest of EUICCInfo2 is
    still worth showing.
    """
    try:
        tlvs = simple_tlv(data)
    except ValueError as error:
        if note is not None:
            note(f"EUICCInfo2.extCardResource is malformed ({error}), free memory not shown: {data.hex().upper()}")
        return {}
    names = {0x81: "installedApplication", 0x82: "freeNonVolatileMemory", 0x83: "freeVolatileMemory"}
    return {names[tag]: int.from_bytes(value, "big") for tag, value in tlvs.items() if tag in names}


def get_euicc_challenge(ch: StoreData) -> bytes:
    """ES10b.GetEUICCChallenge (SGP.22 5.7.7): 16 random bytes for one download session."""
    return bytes(call(ch, "GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse",
                       "GetEuiccChallenge")["euiccChallenge"])


def get_rat(ch: StoreData) -> list[PolicyRule]:
    """ES10b.GetRAT (SGP.22 5.7.22): which operators may set which profile policy rules."""
    answer = call(ch, "GetRatRequest", {}, "GetRatResponse", "GetRAT")

    def optional_hex(value: bytes | None) -> str | None:
        return None if value is None else bytes(value).hex().upper()

    return [PolicyRule(
        ppr_ids=tuple(bits_to_names(rule["pprIds"], PPR_BITS)),
        operators=tuple((bytes(op["mccMnc"]).hex().upper(), optional_hex(op.get("gid1")), optional_hex(op.get("gid2")))
                        for op in rule["allowedOperators"]),
        consent_required=bool(bits_to_names(rule["pprFlags"], ("consentRequired",))),
    ) for rule in answer["rat"]]


#: AuthenticateErrorCode and DownloadErrorCode in words (SGP.22 5.7.13, 5.7.5).
AUTHENTICATE_ERRORS = {1: "invalidCertificate", 2: "invalidSignature", 3: "unsupportedCurve", 4: "noSessionContext",
                       5: "invalidOid", 6: "euiccChallengeMismatch", 7: "ciPKUnknown", 127: "undefinedError"}
DOWNLOAD_ERRORS = {1: "invalidCertificate", 2: "invalidSignature", 3: "unsupportedCurve", 4: "noSessionContext",
                   5: "invalidTransactionId", 127: "undefinedError"}


def authenticate_server(ch: StoreData, server_signed1: bytes, server_signature1: bytes, euicc_ci_pkid: bytes,
                        server_certificate: bytes, ctx_params1: Mapping[str, object]) -> tuple[bytes, str | None]:
    """ES10b.AuthenticateServer (SGP.22 5.7.13): the SM-DP+'s TLVs forwarded byte for byte.

    Returns the AuthenticateServerResponse as the card sent it (it goes to
    the SM-DP+ unchanged, an error one too) and, if the eUICC refused the
    server, its reason.
    """
    request = codec.encode("AuthenticateServerRequestView", {
        "serverSigned1": server_signed1, "serverSignature1": server_signature1, "euiccCiPKIdToBeUsed": euicc_ci_pkid,
        "serverCertificate": server_certificate, "ctxParams1": codec.encode("CtxParams1", (
            "ctxParamsForCommonAuthentication", ctx_params1))})
    answer = ch.store_data(request, "AuthenticateServer")
    kind, value = codec.decode("AuthenticateServerResponseView", answer, getattr(ch, "note", None))
    code = value.get("authenticateErrorCode") if kind == "authenticateResponseError" else None
    return answer, None if code is None else AUTHENTICATE_ERRORS.get(code, str(code))


def prepare_download(ch: StoreData, smdp_signed2: bytes, smdp_signature2: bytes, smdp_certificate: bytes,
                     hash_cc: bytes | None = None) -> tuple[bytes, str | None]:
    """ES10b.PrepareDownload (SGP.22 5.7.5): the PrepareDownloadResponse as the card sent it, and the
    eUICC's reason if it refused."""
    request: dict[str, object] = {"smdpSigned2": smdp_signed2, "smdpSignature2": smdp_signature2,
                               "smdpCertificate": smdp_certificate}
    if hash_cc is not None:
        request["hashCc"] = hash_cc
    answer = ch.store_data(codec.encode("PrepareDownloadRequestView", request), "PrepareDownload")
    kind, value = codec.decode("PrepareDownloadResponse", answer, getattr(ch, "note", None))
    code = value.get("downloadErrorCode") if kind == "downloadResponseError" else None
    return answer, None if code is None else DOWNLOAD_ERRORS.get(code, str(code))


#: BppCommandId and ErrorReason in words (SGP.22 5.7.6).
BPP_COMMANDS = ("initialiseSecureChannel", "configureISDP", "storeMetadata", "storeMetadata2", "replaceSessionKeys",
                "loadProfileElements")
BPP_ERRORS = {1: "incorrectInputValues", 2: "invalidSignature", 3: "invalidTransactionId", 4: "unsupportedCrtValues",
              5: "unsupportedRemoteOperationType", 6: "unsupportedProfileClass", 7: "scp03tStructureError",
              8: "scp03tSecurityError", 9: "installFailedDueToIccidAlreadyExistsOnEuicc",
              10: "installFailedDueToInsufficientMemoryForProfile", 11: "installFailedDueToInterruption",
              12: "installFailedDueToPEProcessingError", 13: "installFailedDueToDataMismatch",
              14: "testProfileInstallFailedDueToInvalidNaaKey", 15: "pprNotAllowed",
              127: "installFailedDueToUnknownError"}


class InstallationResult(NamedTuple):
    """A ProfileInstallationResult (SGP.22 5.7.6): what the eUICC made of a BPP."""

    #: The BF37 exactly as the card sent it (it is also the install notification).
    der: bytes
    metadata: NotificationMetadata
    #: The new profile's ISD-P AID (hex), on success.
    isdp_aid: str | None = None
    #: On failure: the BPP part (bppCommandId) and the reason, in words.
    error: tuple[str, str] | None = None


def load_bound_profile_package(ch: StoreData, pieces: list[bytes]) -> InstallationResult:
    """ES10b.LoadBoundProfilePackage (SGP.22 5.7.6): each piece (:func:`lpa.bpp.split_bpp`) its own
    STORE DATA sequence; the card answers nothing until the last, or until one fails, with the
    ProfileInstallationResult. The LPA stops at the first answer."""
    for number, piece in enumerate(pieces, 1):
        answer = ch.store_data(piece, f"LoadBoundProfilePackage ({number}/{len(pieces)})")
        if answer:
            return installation_result(answer, getattr(ch, "note", None))
    raise ProtocolError("LoadBoundProfilePackage: the eUICC gave no ProfileInstallationResult after the last piece")


def installation_result(der: bytes, note: codec.Note | None = None) -> InstallationResult:
    """An :class:`InstallationResult` from a BF37 as the card sent it."""
    data = codec.decode("ProfileInstallationResult", der, note)["profileInstallationResultData"]
    kind, result = data["finalResult"]
    metadata = metadata_from_asn1(data["notificationMetadata"])
    if kind == "successResult":
        return InstallationResult(der, metadata, isdp_aid=bytes(result["aid"]).hex().upper())
    command = result["bppCommandId"]
    return InstallationResult(der, metadata, error=(
        BPP_COMMANDS[command] if 0 <= command < len(BPP_COMMANDS) else str(command),
        BPP_ERRORS.get(result["errorReason"], str(result["errorReason"]))))


def cancel_session(ch: StoreData, transaction_id: bytes, reason: str) -> bytes:
    """ES10b.CancelSession (SGP.22 5.7.14): the signed CancelSessionResponse, as the card sent it.

    The SM-DP+ gets those bytes unchanged (ES9+ cancelSession); an error
    alternative raises ResultError.
    """
    request = codec.encode("CancelSessionRequest", {"transactionId": transaction_id,
                                                    "reason": CANCEL_REASONS[reason]})
    answer = ch.store_data(request, "CancelSession")
    kind, value = codec.decode("CancelSessionResponse", answer, getattr(ch, "note", None))
    if kind == "cancelSessionResponseError":
        refused("CancelSession", value, {5: ("invalidTransactionId", "the eUICC has no session with that "
                                                                      "transaction ID")}, transaction_id.hex().upper())
    return answer


def list_notification(ch: StoreData, operation: str | None = None) -> list[NotificationMetadata]:
    """ES10b.ListNotification (SGP.22 5.7.9), sorted by sequence number.

    Cards return them in any order; ``operation`` (install, enable,
    disable, delete) filters on the card.
    """
    request = {} if operation is None else {"profileManagementOperation": operation_bits(operation)}
    kind, value = call(ch, "ListNotificationRequest", request, "ListNotificationResponse", "ListNotification")
    if kind == "listNotificationsResultError":
        refused("ListNotification", value, {}, "")
    return sorted((metadata_from_asn1(m) for m in value), key=lambda m: m.seq_number)


def metadata_from_asn1(value: dict[str, Any]) -> NotificationMetadata:
    """A :class:`NotificationMetadata` from a decoded BF2F (asn1tools' untyped values, hence Any)."""
    return NotificationMetadata(
        seq_number=value["seqNumber"],
        operation=operation_name(value["profileManagementOperation"]),
        address=value["notificationAddress"],
        iccid=iccid_from_bytes(value["iccid"]) if "iccid" in value else None,
    )


def retrieve_notifications_list(ch: StoreData, seq_number: int | None = None) -> list[PendingNotification]:
    """ES10b.RetrieveNotificationsList (SGP.22 5.7.10): all, or the one with ``seq_number``.

    The notifications are kept as the card encoded them (they are signed);
    the metadata is decoded from them for display.
    """
    request = {} if seq_number is None else {"searchCriteria": ("seqNumber", seq_number)}
    kind, value = call(ch, "RetrieveNotificationsListRequest", request,
                        "RetrieveNotificationsListResponseView", "RetrieveNotificationsList")
    if kind == "notificationsListResultError":
        if value == 1:  # noResultAvailable
            return []
        refused("RetrieveNotificationsList", value, {}, "")
    notifications = [PendingNotification(pending_metadata(bytes(der)), bytes(der)) for der in value]
    return sorted(notifications, key=lambda n: n.metadata.seq_number)


def pending_metadata(der: bytes) -> NotificationMetadata:
    """The NotificationMetadata inside a signed PendingNotification (SGP.22 5.7.10)."""
    kind, value = codec.decode("PendingNotification", der)
    if kind == "profileInstallationResult":
        value = value["profileInstallationResultData"]["notificationMetadata"]
    else:
        value = value["tbsOtherNotification"]
    return metadata_from_asn1(value)


def remove_notification_from_list(ch: StoreData, seq_number: int) -> None:
    """ES10b.RemoveNotificationFromList (SGP.22 5.7.11)."""
    answer = call(ch, "NotificationSentRequest", {"seqNumber": seq_number}, "NotificationSentResponse",
                   "RemoveNotificationFromList")
    check("RemoveNotificationFromList", answer["deleteNotificationStatus"],
           {1: ("nothingToDelete", "there is no such notification on the eUICC")}, str(seq_number))
