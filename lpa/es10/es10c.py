"""ES10c: local profile management (SGP.22 5.7.14 to 5.7.21): list, enable, disable, delete, nickname, EID."""
from __future__ import annotations

from typing import Any, NamedTuple

from ..encoding import (
    ICON_TYPES,
    PROFILE_CLASSES,
    PROFILE_STATES,
    PPR_BITS,
    PROFILE_INFO_TAGS,
    RESET_OPTIONS,
    bits_to_names,
    iccid_from_bytes,
    iccid_to_bytes,
    names_to_bits,
    operation_names,
)
from .base import StoreData, call, check, refused, identifier_choice, describe


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


class Profile(NamedTuple):
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

    @property
    def label(self) -> str:
        """The ICCID, or the ISD-P AID of a profile listed without one: how messages name it."""
        return self.iccid or self.isdp_aid or "(no ICCID or ISD-P AID)"

    def notification_address(self, operation: str) -> str | None:
        """The SM-DP+ address that gets notified of ``operation``, if any (SGP.22 5.7.15)."""
        for operations, address in self.notification_config or ():
            if operation in operations:
                return address
        return None

    def to_json(self) -> dict[str, object]:
        """lpac's field names (profileState enabled|disabled, icon as base64); every
        operation of a notificationConfigurationInfo entry (SGP.22 5.7.15)."""
        from binascii import b2a_base64  # what base64.b64encode calls, without base64's import

        out: dict[str, object] = {
            "iccid": self.iccid,
            "isdpAid": self.isdp_aid,
            "profileState": self.state,
            "profileNickname": self.nickname,
            "serviceProviderName": self.provider,
            "profileName": self.name,
            "iconType": self.icon_type,
            "icon": b2a_base64(self.icon, newline=False).decode() if self.icon is not None else None,
            "profileClass": self.profile_class,
        }
        out["notificationConfigurationInfo"] = None if self.notification_config is None else [
            {"profileManagementOperation": list(operations), "notificationAddress": address}
            for operations, address in self.notification_config
        ]
        out["profilePolicyRules"] = list(self.policy_rules or ())  # absent from ProfileInfo: none
        return out


def get_eid(ch: StoreData) -> str:
    """ES10c.GetEID (SGP.22 5.7.20): the EID as 32 digits."""
    answer = call(ch, "GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse", "GetEID")
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
    request: dict[str, object] = {}
    if iccid is not None:
        request["searchCriteria"] = ("iccid", iccid_to_bytes(iccid))
    elif isdp_aid is not None:
        request["searchCriteria"] = ("isdpAid", isdp_aid)
    elif profile_class is not None:
        request["searchCriteria"] = ("profileClass", PROFILE_CLASSES.index(profile_class))
    if fields is not None:
        request["tagList"] = b"".join(PROFILE_INFO_TAGS[f] for f in fields)
    kind, value = call(ch, "ProfileInfoListRequest", request, "ProfileInfoListResponse", "GetProfilesInfo")
    if kind == "profileInfoListError":
        refused("GetProfilesInfo", value, {1: ("incorrectInputValues", "the eUICC refused the search criteria")}, "")
    return [profile_from_asn1(item) for item in value]


def profile_from_asn1(info: dict[str, Any]) -> Profile:
    """A :class:`Profile` from a decoded ProfileInfo (asn1tools' untyped values, hence Any)."""

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
    _switch(ch, "EnableProfile", "enableResult", _ENABLE_RESULTS, identifier, refresh)


def disable_profile(ch: StoreData, identifier: str | bytes, refresh: bool = False) -> None:
    """ES10c.DisableProfile (SGP.22 5.7.17)."""
    _switch(ch, "DisableProfile", "disableResult", _DISABLE_RESULTS, identifier, refresh)


def _switch(ch: StoreData, function: str, result: str, reasons: dict[int, tuple[str, str]],
            identifier: str | bytes, refresh: bool) -> None:
    """EnableProfile and DisableProfile: the same request shape, their own result codes."""
    request = {"profileIdentifier": identifier_choice(identifier), "refreshFlag": refresh}
    answer = call(ch, f"{function}Request", request, f"{function}Response", function)
    check(function, answer[result], reasons, describe(identifier))


def delete_profile(ch: StoreData, identifier: str | bytes) -> None:
    """ES10c.DeleteProfile (SGP.22 5.7.18)."""
    answer = call(ch, "DeleteProfileRequest", identifier_choice(identifier), "DeleteProfileResponse", "DeleteProfile")
    check("DeleteProfile", answer["deleteResult"], _DELETE_RESULTS, describe(identifier))


def set_nickname(ch: StoreData, iccid: str, nickname: str) -> None:
    """ES10c.SetNickname (SGP.22 5.7.21)."""
    answer = call(
        ch,
        "SetNicknameRequest",
        {"iccid": iccid_to_bytes(iccid), "profileNickname": nickname},
        "SetNicknameResponse",
        "SetNickname",
    )
    check("SetNickname", answer["setNicknameResult"], {1: ("iccidNotFound", "no such profile on this eUICC")}, iccid)

_RESET_RESULTS = {
    1: ("nothingToDelete", "there was nothing to delete or reset"),
    5: ("catBusy", "the card's toolkit is busy; try again in a moment"),
}


def euicc_memory_reset(ch: StoreData, options: set[str]) -> None:
    """ES10c.eUICCMemoryReset (SGP.22 5.7.19): delete and reset what ``options`` (names of
    :data:`RESET_OPTIONS`) select. nothingToDelete raises ResultError like any refusal."""
    if not options or not options <= set(RESET_OPTIONS):
        raise ValueError(f"reset options must be some of {RESET_OPTIONS}, not {sorted(options)}")
    answer = call(ch, "EuiccMemoryResetRequest", {"resetOptions": names_to_bits(options, RESET_OPTIONS)},
                  "EuiccMemoryResetResponse", "eUICCMemoryReset")
    check("eUICCMemoryReset", answer["resetResult"], _RESET_RESULTS, "")
