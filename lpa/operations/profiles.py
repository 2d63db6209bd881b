"""Profile operations: list, find, enable, disable, delete, nickname (SGP.22 3.2, ES10c).

Each checks its target with a read-only GetProfilesInfo first, so a
request the card would refuse (the profile's policy rules, its state, its
class) is refused before anything that changes the card is sent. The
notifications a change produced are delivered right after it
(:func:`lpa.operations.notifications.deliver_produced`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from .. import es10
from ..encoding import check_iccid, check_nickname, looks_like_aid, parse_aid
from ..errors import Declined, InputError, ProtocolError
from ..es10 import Profile
from ..session import Session

if TYPE_CHECKING:  # imported by the operations that change the card, not by `lpa list`
    from .notifications import Delivery

#: ProfileInfo fields an operation needs to check its target and find its notifications.
TARGET_FIELDS = ("iccid", "isdpAid", "profileState", "profileNickname", "serviceProviderName", "profileName",
                  "profileClass", "notificationConfigurationInfo", "profilePolicyRules")


class OperationResult(NamedTuple):
    """A profile operation that succeeded, and what became of its notifications."""

    operation: str
    profile: Profile
    deliveries: Sequence[Delivery] = ()
    #: Other profiles the operation changed (an enable disables the enabled one).
    also_disabled: Profile | None = None
    #: What went wrong after the change (the reset, reading the notifications), if anything.
    problem: str | None = None

    @property
    def interrupted(self) -> bool:
        from .notifications import INTERRUPTED

        return self.problem == INTERRUPTED or any(d.error == INTERRUPTED for d in self.deliveries)

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "iccid": self.profile.iccid, "isdpAid": self.profile.isdp_aid,
                "alsoDisabled": self.also_disabled.iccid if self.also_disabled else None,
                "notifications": [d.to_json() for d in self.deliveries], "problem": self.problem}

    def summary(self, past: str) -> str:
        """What happened, in words: "enabled 8944... (disabled 8944...); notified smdp.example"."""
        line = f"{past} {self.profile.label}"
        if self.also_disabled is not None:
            line += f" (disabled {self.also_disabled.label})"
        from .notifications import delivery_notes

        notes = delivery_notes(self.deliveries)
        if self.problem:
            notes.append(f"its notifications were not sent ({self.problem}); run `lpa notifications process` later")
        return "; ".join([line, *notes])


def profiles(session: Session, *, icons: bool = False, details: bool = False) -> list[Profile]:
    """The installed profiles; icons, and with ``details`` notification
    configuration and policy rules, only when asked for (they cost bytes)."""
    fields = es10.LIST_FIELDS + (("iconType", "icon") if icons else ()) \
        + (("notificationConfigurationInfo", "profilePolicyRules") if details else ())
    return es10.get_profiles_info(session.channel, fields=fields)


def find_profile(session: Session, identifier: str, *, nickname: bool = True,
                 among: list[Profile] | None = None) -> Profile:
    """The profile an ICCID, ISD-P AID or (if ``nickname``) nickname names.

    Looks in ``among`` if given, else asks the card (a search by ICCID or
    AID is done by the card). Raises InputError for malformed input or a
    profile the card does not have.
    """
    criteria: dict[str, Any] = {}
    if looks_like_aid(identifier):
        aid = parse_aid(identifier)
        criteria["isdp_aid"] = aid
        match: Callable[[Profile], bool] = lambda p: p.isdp_aid == aid.hex().upper()
    elif identifier.isdigit():
        criteria["iccid"] = check_iccid(identifier)
        match = lambda p: p.iccid == identifier
    elif nickname:
        match = lambda p: p.nickname == identifier
    else:
        raise InputError(f"{identifier!r} is neither an ICCID (18-20 digits) nor an ISD-P AID (hex)")
    if among is None:
        among = es10.get_profiles_info(session.channel, fields=TARGET_FIELDS, **criteria)
    found = [p for p in among if match(p)]
    if len(found) > 1:
        raise InputError(f"{len(found)} profiles have the nickname {identifier!r}; use the ICCID")
    if not found:
        what = "ICCID, ISD-P AID or nickname" if nickname else "ICCID or ISD-P AID"
        raise InputError(f"no profile with {what} {identifier} on this eUICC; `lpa list` shows the profiles")
    return found[0]


def enable(session: Session, identifier: str, *, refresh: bool = False, reset: bool = False,
           notify: bool = True) -> OperationResult:
    """Enable a profile (ES10c.EnableProfile); the enabled one is disabled by the card."""
    everything = es10.get_profiles_info(session.channel, fields=TARGET_FIELDS)
    target = find_profile(session, identifier, among=everything)
    if target.state == "enabled":
        raise InputError(f"profile {target.label} is already enabled")
    current = next((p for p in everything if p.state == "enabled"), None)
    if current is not None and "ppr1" in (current.policy_rules or ()):
        raise InputError(f"profile {current.label} is enabled and its policy (PPR1) forbids disabling it; "
                         f"{target.label} cannot be enabled")
    if current is not None and target.profile_class == "test" and current.profile_class == "operational":
        raise InputError(f"{target.label} is a test profile and operational profile {current.label} is "
                         f"enabled; disable it first (lpa disable {current.label})")
    es10.enable_profile(session.channel, _identifier(target), refresh)
    expected = [(target, "enable")] + ([(current, "disable")] if current else [])
    return _after_change(session, OperationResult("enable", target, also_disabled=current), expected, reset, notify)


def disable(session: Session, identifier: str, *, refresh: bool = False, reset: bool = False,
            notify: bool = True) -> OperationResult:
    """Disable the enabled profile (ES10c.DisableProfile)."""
    target = find_profile(session, identifier)
    if target.state != "enabled":
        raise InputError(f"profile {target.label} is not enabled")
    if "ppr1" in (target.policy_rules or ()):
        raise InputError(f"profile {target.label} may not be disabled: its profile policy rules (PPR1) forbid it")
    es10.disable_profile(session.channel, _identifier(target), refresh)
    return _after_change(session, OperationResult("disable", target), [(target, "disable")], reset, notify)


def delete(session: Session, identifier: str, *, force: bool = False, reset: bool = False, notify: bool = True,
           confirm: Callable[[Profile], bool] = lambda profile: True) -> OperationResult:
    """Delete a disabled profile (ES10c.DeleteProfile); ``force`` disables it first.

    ``confirm`` is asked with the profile once it is known to be
    deletable; if it answers False, Declined is raised and nothing is
    sent.
    """
    target = find_profile(session, identifier)
    if "ppr2" in (target.policy_rules or ()):
        raise InputError(f"profile {target.label} may not be deleted: its profile policy rules (PPR2) forbid it")
    expected = [(target, "delete")]
    if target.state == "enabled":
        if not force:
            raise InputError(f"profile {target.label} is enabled; disable it first "
                             f"(lpa disable {target.label}) or use --force")
        if "ppr1" in (target.policy_rules or ()):
            raise InputError(f"profile {target.label} is enabled and may not be disabled (PPR1)")
    if not confirm(target):
        raise Declined(f"profile {target.label} was not deleted")
    if target.state == "enabled":
        es10.disable_profile(session.channel, _identifier(target), False)
        expected.insert(0, (target, "disable"))
    es10.delete_profile(session.channel, _identifier(target))
    return _after_change(session, OperationResult("delete", target), expected, reset, notify)


def set_nickname(session: Session, identifier: str, nickname: str) -> Profile:
    """Set (or, with "", clear) the nickname of the profile ``identifier`` names (ICCID, ISD-P AID or its
    nickname now) (ES10c.SetNickname, which takes the ICCID)."""
    check_nickname(nickname)
    target = find_profile(session, identifier)
    if target.iccid is None:
        raise InputError(f"the eUICC names no ICCID for profile {target.label}; SetNickname needs one")
    es10.set_nickname(session.channel, target.iccid, nickname)
    return target


def _after_change(session: Session, result: OperationResult, expected: list[tuple[Profile, str]], reset: bool,
                  notify: bool) -> OperationResult:
    """Reset if asked, then deliver the notifications the change produced."""
    from .notifications import deliver_produced

    deliveries, problem = deliver_produced(session, expected, reset=reset, notify=notify)
    return result._replace(deliveries=deliveries, problem=problem)


def _identifier(profile: Profile) -> str | bytes:
    """ICCID when the card gave one, else the ISD-P AID; ProtocolError if it gave neither."""
    if profile.iccid:
        return profile.iccid
    if profile.isdp_aid:
        return bytes.fromhex(profile.isdp_aid)
    raise ProtocolError("the eUICC listed this profile without ICCID and ISD-P AID: lpa cannot name it to the card")
