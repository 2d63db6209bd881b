"""ES10a/b/c: the functions of the eUICC's ISD-R (SGP.22 5.7), one per function.

Each function takes an open ISD-R :class:`~lpa.apdu.Channel`, sends one
STORE DATA command sequence and returns a typed result. A result code
other than ok raises :class:`~lpa.errors.ResultError` with a message that
says what happened.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from . import codec
from .encoding import (
    ICON_TYPES,
    PROFILE_CLASSES,
    PROFILE_STATES,
    PPR_BITS,
    PROFILE_INFO_TAGS,
    RSP_CAPABILITY,
    UICC_CAPABILITY,
    bits_to_names,
    iccid_from_bytes,
    iccid_to_bytes,
    operation_bits,
    operation_name,
    operation_names,
    simple_tlv,
    version_str,
)
from .errors import ProtocolError, ResultError

#: Fields `lpa list` shows; icons and the rest are fetched only when asked for.
LIST_FIELDS = (
    "iccid",
    "isdpAid",
    "profileState",
    "profileNickname",
    "serviceProviderName",
    "profileName",
    "profileClass",
)


class StoreData(Protocol):
    """What an ES10 function needs: an ISD-R channel (:class:`lpa.apdu.Channel`).

    If it has a ``note`` callable, leniently accepted answers are reported to it.
    """

    def store_data(self, payload: bytes, name: str = ...) -> bytes: ...


# -- results -------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """One ProfileInfo (SGP.22 5.7.15). Fields the card left out are None."""

    iccid: str | None = None
    isdp_aid: str | None = None
    state: str | None = None
    nickname: str | None = None
    provider: str | None = None
    name: str | None = None
    icon_type: str | None = None
    icon: bytes | None = None
    profile_class: str | None = None
    #: notificationConfigurationInfo: (operations, SM-DP+ address) per entry.
    notification_config: tuple[tuple[tuple[str, ...], str], ...] | None = None
    policy_rules: tuple[str, ...] | None = None

    def notification_address(self, operation: str) -> str | None:
        """The SM-DP+ address that gets notified of ``operation``, if any (SGP.22 5.7.15)."""
        for operations, address in self.notification_config or ():
            if operation in operations:
                return address
        return None

    def to_json(self) -> dict[str, Any]:
        """lpac's field names (profileState enabled|disabled, icon as base64); every
        operation of a notificationConfigurationInfo entry (SGP.22 5.7.15)."""
        import base64

        out = {
            "iccid": self.iccid,
            "isdpAid": self.isdp_aid,
            "profileState": self.state,
            "profileNickname": self.nickname,
            "serviceProviderName": self.provider,
            "profileName": self.name,
            "iconType": self.icon_type,
            "icon": base64.b64encode(self.icon).decode() if self.icon is not None else None,
            "profileClass": self.profile_class,
        }
        out["notificationConfigurationInfo"] = None if self.notification_config is None else [
            {"profileManagementOperation": list(operations), "notificationAddress": address}
            for operations, address in self.notification_config
        ]
        out["profilePolicyRules"] = None if self.policy_rules is None else list(self.policy_rules)
        return out


@dataclass(frozen=True)
class NotificationMetadata:
    """One NotificationMetadata (BF2F, SGP.22 5.7.10)."""

    seq_number: int
    operation: str
    address: str
    iccid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seqNumber": self.seq_number,
            "profileManagementOperation": self.operation,
            "notificationAddress": self.address,
            "iccid": self.iccid,
        }


@dataclass(frozen=True)
class PendingNotification:
    """A signed notification as the eUICC gave it (SGP.22 5.7.10)."""

    metadata: NotificationMetadata
    #: The PendingNotification DER exactly as the card sent it: what ES9+ carries.
    der: bytes


@dataclass(frozen=True)
class EuiccInfo1:
    """EUICCInfo1 (SGP.22 5.7.8)."""

    svn: str
    ci_pkid_verification: tuple[str, ...]
    ci_pkid_signing: tuple[str, ...]


@dataclass(frozen=True)
class EuiccInfo2:
    """EUICCInfo2 (SGP.22 5.7.8), with extCardResource decoded."""

    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def ci_pkid_verification(self) -> tuple[str, ...]:
        return tuple(self.fields.get("euiccCiPKIdListForVerification", ()))

    @property
    def free_nvm(self) -> int | None:
        return (self.fields.get("extCardResource") or {}).get("freeNonVolatileMemory")


@dataclass(frozen=True)
class PolicyRule:
    """One ProfilePolicyAuthorisationRule of the Rules Authorisation Table (SGP.22 2.9.2.2)."""

    #: The PPRs the rule is about (ppr1, ppr2, ...).
    ppr_ids: tuple[str, ...]
    #: MCC/MNC of each operator allowed to set them, as hex ("EEEEEE": any operator); gid1, gid2.
    operators: tuple[tuple[str, str | None, str | None], ...]
    consent_required: bool

    def to_json(self) -> dict[str, Any]:
        return {"pprIds": list(self.ppr_ids),
                "allowedOperators": [{"mccMnc": m, "gid1": g1, "gid2": g2} for m, g1, g2 in self.operators],
                "consentRequired": self.consent_required}


@dataclass(frozen=True)
class ConfiguredAddresses:
    """EuiccConfiguredAddressesResponse (SGP.22 5.7.3)."""

    default_dp_address: str | None
    root_ds_address: str | None

    def to_json(self) -> dict[str, Any]:
        return {"defaultDpAddress": self.default_dp_address, "rootDsAddress": self.root_ds_address}


# -- helpers -------------------------------------------------------------------


def _call(ch: StoreData, request_type: str, request: Any, response_type: str, name: str) -> Any:
    answer = ch.store_data(codec.encode(request_type, request), name)
    if not answer:
        raise ProtocolError(f"{name}: the card answered 9000 with no data; try a smaller --mss")
    return codec.decode(response_type, answer, getattr(ch, "note", None))


def _check(name: str, result: int, reasons: dict[int, tuple[str, str]], what: str) -> None:
    """A result code: 0 is ok, anything else raises ResultError."""
    if result != 0:
        _refused(name, result, reasons, what)


def _refused(name: str, result: int, reasons: dict[int, tuple[str, str]], what: str) -> NoReturn:
    """Raise ResultError for ``result``, the value of a response's error alternative (even 0)."""
    reason, message = reasons.get(result, ("undefinedError", "the eUICC reported an undefined error"))
    raise ResultError(name, result, reason, f"{name} {what}: {message} (result {result}, {reason})")


def identifier_choice(identifier: str | bytes) -> tuple[str, bytes]:
    """ProfileIdentifier CHOICE: an ISD-P AID as bytes, or an ICCID as digits."""
    if isinstance(identifier, bytes):
        return ("isdpAid", identifier)
    return ("iccid", iccid_to_bytes(identifier))


def _describe(identifier: str | bytes) -> str:
    return identifier.hex().upper() if isinstance(identifier, bytes) else identifier


# -- ES10c ---------------------------------------------------------------------


def get_eid(ch: StoreData) -> str:
    """ES10c.GetEID (SGP.22 5.7.20): the EID as 32 digits."""
    answer = _call(ch, "GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse", "GetEID")
    return answer["eidValue"].hex().upper()


def get_profiles_info(
    ch: StoreData,
    *,
    iccid: str | None = None,
    isdp_aid: bytes | None = None,
    profile_class: str | None = None,
    fields: tuple[str, ...] | None = LIST_FIELDS,
) -> list[Profile]:
    """ES10c.GetProfilesInfo (SGP.22 5.7.15).

    At most one of ``iccid``, ``isdp_aid``, ``profile_class`` narrows the
    search. ``fields`` (ProfileInfo field names) becomes the tag list, so
    that big fields such as icons are only read when asked for; None asks
    for everything the card has.
    """
    request: dict[str, Any] = {}
    if iccid is not None:
        request["searchCriteria"] = ("iccid", iccid_to_bytes(iccid))
    elif isdp_aid is not None:
        request["searchCriteria"] = ("isdpAid", isdp_aid)
    elif profile_class is not None:
        request["searchCriteria"] = ("profileClass", PROFILE_CLASSES.index(profile_class))
    if fields is not None:
        request["tagList"] = b"".join(PROFILE_INFO_TAGS[f] for f in fields)
    kind, value = _call(ch, "ProfileInfoListRequest", request, "ProfileInfoListResponse", "GetProfilesInfo")
    if kind == "profileInfoListError":
        _refused("GetProfilesInfo", value, {1: ("incorrectInputValues", "the eUICC refused the search criteria")}, "")
    return [profile_from_asn1(item) for item in value]


def profile_from_asn1(info: dict[str, Any]) -> Profile:
    """A :class:`Profile` from a decoded ProfileInfo."""

    def pick(table: tuple[str, ...], key: str) -> str | None:
        if key not in info:
            return None
        number = info[key]
        return table[number] if 0 <= number < len(table) else f"unknown({number})"

    config = info.get("notificationConfigurationInfo")
    rules = info.get("profilePolicyRules")
    return Profile(
        iccid=iccid_from_bytes(info["iccid"]) if "iccid" in info else None,
        isdp_aid=info["isdpAid"].hex().upper() if "isdpAid" in info else None,
        state=pick(PROFILE_STATES, "profileState"),
        nickname=info.get("profileNickname"),
        provider=info.get("serviceProviderName"),
        name=info.get("profileName"),
        icon_type=pick(ICON_TYPES, "iconType"),
        icon=bytes(info["icon"]) if "icon" in info else None,
        profile_class=pick(PROFILE_CLASSES, "profileClass"),
        notification_config=None
        if config is None
        else tuple(
            (operation_names(c["profileManagementOperation"]), c["notificationAddress"]) for c in config
        ),
        policy_rules=None if rules is None else tuple(bits_to_names(rules, PPR_BITS)),
    )


_ENABLE_RESULTS = {
    1: ("iccidOrAidNotFound", "no such profile on this eUICC"),
    2: ("profileNotInDisabledState", "the profile is not disabled (it is already enabled)"),
    3: ("disallowedByPolicy", "refused by policy: the enabled profile may not be disabled (PPR1), "
        "or a test profile may not replace an operational one"),
    4: ("wrongProfileReenabling", "the profile was re-enabled without a card reset; reset the card and try again"),
    5: ("catBusy", "the card's toolkit is busy; try again in a moment"),
}
_DISABLE_RESULTS = {
    1: ("iccidOrAidNotFound", "no such profile on this eUICC"),
    2: ("profileNotInEnabledState", "the profile is not enabled"),
    3: ("disallowedByPolicy", "its profile policy rules forbid disabling it (PPR1)"),
    5: ("catBusy", "the card's toolkit is busy; try again in a moment"),
}
_DELETE_RESULTS = {
    1: ("iccidOrAidNotFound", "no such profile on this eUICC"),
    2: ("profileNotInDisabledState", "the profile is enabled; disable it first"),
    3: ("disallowedByPolicy", "its profile policy rules forbid deleting it (PPR2)"),
}


def enable_profile(ch: StoreData, identifier: str | bytes, refresh: bool = False) -> None:
    """ES10c.EnableProfile (SGP.22 5.7.16) by ICCID (digits) or ISD-P AID (bytes)."""
    answer = _call(
        ch,
        "EnableProfileRequest",
        {"profileIdentifier": identifier_choice(identifier), "refreshFlag": refresh},
        "EnableProfileResponse",
        "EnableProfile",
    )
    _check("EnableProfile", answer["enableResult"], _ENABLE_RESULTS, _describe(identifier))


def disable_profile(ch: StoreData, identifier: str | bytes, refresh: bool = False) -> None:
    """ES10c.DisableProfile (SGP.22 5.7.17)."""
    answer = _call(
        ch,
        "DisableProfileRequest",
        {"profileIdentifier": identifier_choice(identifier), "refreshFlag": refresh},
        "DisableProfileResponse",
        "DisableProfile",
    )
    _check("DisableProfile", answer["disableResult"], _DISABLE_RESULTS, _describe(identifier))


def delete_profile(ch: StoreData, identifier: str | bytes) -> None:
    """ES10c.DeleteProfile (SGP.22 5.7.18)."""
    answer = _call(ch, "DeleteProfileRequest", identifier_choice(identifier), "DeleteProfileResponse", "DeleteProfile")
    _check("DeleteProfile", answer["deleteResult"], _DELETE_RESULTS, _describe(identifier))


def set_nickname(ch: StoreData, iccid: str, nickname: str) -> None:
    """ES10c.SetNickname (SGP.22 5.7.21)."""
    answer = _call(
        ch,
        "SetNicknameRequest",
        {"iccid": iccid_to_bytes(iccid), "profileNickname": nickname},
        "SetNicknameResponse",
        "SetNickname",
    )
    _check("SetNickname", answer["setNicknameResult"], {1: ("iccidNotFound", "no such profile on this eUICC")}, iccid)


# -- ES10a ---------------------------------------------------------------------


def get_euicc_configured_addresses(ch: StoreData) -> ConfiguredAddresses:
    """ES10a.GetEuiccConfiguredAddresses (SGP.22 5.7.3)."""
    answer = _call(ch, "EuiccConfiguredAddressesRequest", {}, "EuiccConfiguredAddressesResponse",
                   "GetEuiccConfiguredAddresses")
    return ConfiguredAddresses(answer.get("defaultDpAddress") or None, answer.get("rootDsAddress") or None)


# -- ES10b ---------------------------------------------------------------------


def get_euicc_info1(ch: StoreData) -> EuiccInfo1:
    """ES10b.GetEUICCInfo, EUICCInfo1 (SGP.22 5.7.8)."""
    answer = _call(ch, "GetEuiccInfo1Request", {}, "EUICCInfo1", "GetEuiccInfo1")
    return EuiccInfo1(
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
    answer = _call(ch, "GetEuiccInfo2Request", {}, "EUICCInfo2", "GetEuiccInfo2")
    out: dict[str, Any] = {}
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
    return bytes(_call(ch, "GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse",
                       "GetEuiccChallenge")["euiccChallenge"])


def get_rat(ch: StoreData) -> list[PolicyRule]:
    """ES10b.GetRAT (SGP.22 5.7.22): which operators may set which profile policy rules."""
    answer = _call(ch, "GetRatRequest", {}, "GetRatResponse", "GetRAT")

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
                        server_certificate: bytes, ctx_params1: dict[str, Any]) -> tuple[bytes, str | None]:
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
    request: dict[str, Any] = {"smdpSigned2": smdp_signed2, "smdpSignature2": smdp_signature2,
                               "smdpCertificate": smdp_certificate}
    if hash_cc is not None:
        request["hashCc"] = hash_cc
    answer = ch.store_data(codec.encode("PrepareDownloadRequestView", request), "PrepareDownload")
    kind, value = codec.decode("PrepareDownloadResponse", answer, getattr(ch, "note", None))
    code = value.get("downloadErrorCode") if kind == "downloadResponseError" else None
    return answer, None if code is None else DOWNLOAD_ERRORS.get(code, str(code))


def get_euicc_info1_raw(ch: StoreData) -> bytes:
    """EUICCInfo1 (BF20) exactly as the card sent it, checked: ES9+ initiateAuthentication carries it."""
    answer = ch.store_data(codec.encode("GetEuiccInfo1Request", {}), "GetEuiccInfo1")
    codec.decode("EUICCInfo1", answer, getattr(ch, "note", None))
    return answer


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


@dataclass(frozen=True)
class InstallationResult:
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


#: CancelSessionReason (SGP.22 5.7.14).
CANCEL_REASONS = {"endUserRejection": 0, "postponed": 1, "timeout": 2, "pprNotAllowed": 3, "metadataMismatch": 4,
                  "loadBppExecutionError": 5, "undefinedReason": 127}


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
        _refused("CancelSession", value, {5: ("invalidTransactionId", "the eUICC has no session with that "
                                                                      "transaction ID")}, transaction_id.hex().upper())
    return answer


def list_notification(ch: StoreData, operation: str | None = None) -> list[NotificationMetadata]:
    """ES10b.ListNotification (SGP.22 5.7.9), sorted by sequence number.

    Cards return them in any order; ``operation`` (install, enable,
    disable, delete) filters on the card.
    """
    request = {} if operation is None else {"profileManagementOperation": operation_bits(operation)}
    kind, value = _call(ch, "ListNotificationRequest", request, "ListNotificationResponse", "ListNotification")
    if kind == "listNotificationsResultError":
        _refused("ListNotification", value, {}, "")
    return sorted((metadata_from_asn1(m) for m in value), key=lambda m: m.seq_number)


def metadata_from_asn1(value: dict[str, Any]) -> NotificationMetadata:
    """A :class:`NotificationMetadata` from a decoded BF2F."""
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
    kind, value = _call(ch, "RetrieveNotificationsListRequest", request,
                        "RetrieveNotificationsListResponseView", "RetrieveNotificationsList")
    if kind == "notificationsListResultError":
        if value == 1:  # noResultAvailable
            return []
        _refused("RetrieveNotificationsList", value, {}, "")
    notifications = [PendingNotification(_pending_metadata(bytes(der)), bytes(der)) for der in value]
    return sorted(notifications, key=lambda n: n.metadata.seq_number)


def _pending_metadata(der: bytes) -> NotificationMetadata:
    kind, value = codec.decode("PendingNotification", der)
    if kind == "profileInstallationResult":
        value = value["profileInstallationResultData"]["notificationMetadata"]
    else:
        value = value["tbsOtherNotification"]
    return metadata_from_asn1(value)


def remove_notification_from_list(ch: StoreData, seq_number: int) -> None:
    """ES10b.RemoveNotificationFromList (SGP.22 5.7.11)."""
    answer = _call(ch, "NotificationSentRequest", {"seqNumber": seq_number}, "NotificationSentResponse",
                   "RemoveNotificationFromList")
    _check("RemoveNotificationFromList", answer["deleteNotificationStatus"],
           {1: ("nothingToDelete", "there is no such notification on the eUICC")}, str(seq_number))

