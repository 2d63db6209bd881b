"""The simulated ISD-R's ES10c functions (SGP.22 5.7.15-5.7.21): the profiles and the eUICC's memory.

The rules of SGP.22 3.2 and 5.7: at most one enabled profile, delete only
when disabled, profile policy rules PPR1 and PPR2, no test profile
replacing an operational one, and a pending notification (through
:mod:`lpa.sim.card.notifications`) for each operation the profile's
notificationConfigurationInfo lists.
"""
from __future__ import annotations

import base64
from typing import Any, Callable

from ...encoding import (
    ICON_TYPES,
    OPERATIONS,
    PPR_BITS,
    PROFILE_CLASSES,
    PROFILE_INFO_TAGS,
    RESET_OPTIONS,
    bits_to_names,
    iccid_from_bytes,
    iccid_to_bytes,
    names_to_bits,
    split_tags,
)
from .state import SimProfile, SimState


class Es10c:
    """GetEID, ProfileInfoList, Enable/Disable/DeleteProfile, SetNickname and eUICCMemoryReset, a part
    of :class:`~lpa.sim.card.isdr.Isdr` (which records their notifications with
    :meth:`~lpa.sim.card.notifications.Notifications._notify`)."""

    state: SimState
    changed: bool
    refresh_pending: bool
    _notify: Callable[[SimProfile, str], None]

    def _find(self, choice: tuple[str, bytes]) -> SimProfile | None:
        kind, value = choice
        if kind == "iccid":
            return self.state.find(iccid=iccid_from_bytes(value))
        return self.state.find(isdp_aid=value.hex().upper())

    def get_eid(self, request: dict) -> dict:
        return {"eidValue": bytes.fromhex(self.state.eid)}

    def get_profiles_info(self, request: dict) -> tuple:
        profiles = self.state.profiles
        criteria = request.get("searchCriteria")
        if criteria is not None:
            kind, value = criteria
            if kind == "profileClass":
                profiles = [p for p in profiles if PROFILE_CLASSES.index(p.profile_class) == value]
            else:
                found = self._find(criteria)
                profiles = [found] if found else []
        wanted = None
        if "tagList" in request:
            tags = set(split_tags(bytes(request["tagList"])))
            wanted = {name for name, tag in PROFILE_INFO_TAGS.items() if tag in tags}
        return ("profileInfoListOk", [self._profile_info(p, wanted) for p in profiles])

    def _profile_info(self, profile: SimProfile, wanted: set[str] | None) -> dict:
        info: dict[str, Any] = {
            "iccid": iccid_to_bytes(profile.iccid),
            "isdpAid": bytes.fromhex(profile.isdp_aid),
            "profileState": 1 if profile.state == "enabled" else 0,
            "serviceProviderName": profile.provider,
            "profileName": profile.name,
            "profileClass": PROFILE_CLASSES.index(profile.profile_class),
        }
        if profile.nickname is not None:
            info["profileNickname"] = profile.nickname
        if profile.icon is not None and profile.icon_type is not None:
            info["iconType"] = ICON_TYPES.index(profile.icon_type)
            info["icon"] = base64.b64decode(profile.icon)
        if profile.notify:
            # one entry per address with all its operations' bits, as a real eSIM.me card does
            by_address: dict[str, list[str]] = {}
            for op, address in profile.notify.items():
                by_address.setdefault(address, []).append(op)
            info["notificationConfigurationInfo"] = [
                {"profileManagementOperation": names_to_bits(ops, OPERATIONS), "notificationAddress": address}
                for address, ops in by_address.items()
            ]
        if profile.policy_rules:
            info["profilePolicyRules"] = names_to_bits(profile.policy_rules, PPR_BITS)
        if wanted is not None:
            info = {k: v for k, v in info.items() if k in wanted}
        return info

    def enable_profile(self, request: dict) -> dict:
        target = self._find(request["profileIdentifier"])
        if target is None:
            return {"enableResult": 1}
        if target.state == "enabled":
            return {"enableResult": 2}
        current = self.state.enabled()
        if current is not None:
            if "ppr1" in current.policy_rules:
                return {"enableResult": 3}
            if target.profile_class == "test" and current.profile_class == "operational":
                return {"enableResult": 3}
            current.state = "disabled"
            self._notify(current, "disable")
        target.state = "enabled"
        self._notify(target, "enable")
        self.refresh_pending = request["refreshFlag"]
        return {"enableResult": 0}

    def disable_profile(self, request: dict) -> dict:
        target = self._find(request["profileIdentifier"])
        if target is None:
            return {"disableResult": 1}
        if target.state != "enabled":
            return {"disableResult": 2}
        if "ppr1" in target.policy_rules:
            return {"disableResult": 3}
        target.state = "disabled"
        self._notify(target, "disable")
        self.refresh_pending = request["refreshFlag"]
        return {"disableResult": 0}

    def delete_profile(self, request: tuple) -> dict:
        target = self._find(request)
        if target is None:
            return {"deleteResult": 1}
        if target.state == "enabled":
            return {"deleteResult": 2}
        if "ppr2" in target.policy_rules:
            return {"deleteResult": 3}
        self.state.profiles.remove(target)
        self._notify(target, "delete")
        return {"deleteResult": 0}

    def set_nickname(self, request: dict) -> dict:
        target = self.state.find(iccid=iccid_from_bytes(request["iccid"]))
        if target is None:
            return {"setNicknameResult": 1}
        nickname = request["profileNickname"]
        if len(nickname.encode()) > 64:
            return {"setNicknameResult": 127}
        target.nickname = nickname or None
        self.changed = True
        return {"setNicknameResult": 0}

    def euicc_memory_reset(self, request: dict) -> dict:
        """Delete the profiles of the classes asked for, whatever their state and policy rules (the
        response has no code for a refusal), each with its delete notification; nothingToDelete when
        nothing was there to delete or reset. A deleted enabled profile asks for a REFRESH."""
        options = set(bits_to_names(request["resetOptions"], RESET_OPTIONS))
        classes = {"operational"} if "deleteOperationalProfiles" in options else set()
        classes |= {"test"} if "deleteFieldLoadedTestProfiles" in options else set()
        doomed = [p for p in self.state.profiles if p.profile_class in classes]
        reset_address = "resetDefaultSmdpAddress" in options and bool(self.state.default_dp_address)
        if not doomed and not reset_address:
            return {"resetResult": 1}
        for profile in doomed:
            self.state.profiles.remove(profile)
            self.refresh_pending = self.refresh_pending or profile.state == "enabled"
            self._notify(profile, "delete")
        if reset_address:
            self.state.default_dp_address = ""
        self.changed = True
        return {"resetResult": 0}
