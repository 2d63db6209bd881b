"""eUICC memory reset (ES10c.eUICCMemoryReset, SGP.22 5.7.19) as one operation.

:func:`plan` reads, without changing anything, exactly what a reset with the
chosen options deletes: the profiles of the classes asked for and the
default SM-DP+ address. :func:`memory_reset` checks the plan, asks
``confirm`` with it, resets, reads the profile list again to report what
the card really deleted (a test profile installed at manufacture is not
"field-loaded" and stays), and delivers the delete notifications the card
produced, each removed only after its SM-DP+ acknowledged it.

The card deletes regardless of the profiles' policy rules (the response
has no code for a refusal); lpa refuses a reset that would delete a
profile whose rules forbid deleting it (PPR2) or disabling it (PPR1, when
enabled), unless asked to override them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .. import es10
from ..errors import Declined, InputError
from ..session import Session
from .notifications import INTERRUPTED, Delivery, deliver_produced, delivery_notes
from .profiles import TARGET_FIELDS

#: Command-line scope -> resetOptions bit name.
SCOPES = {"operational": "deleteOperationalProfiles", "test": "deleteFieldLoadedTestProfiles",
          "default_smdp": "resetDefaultSmdpAddress"}

_CLASSES = {"deleteOperationalProfiles": "operational", "deleteFieldLoadedTestProfiles": "test"}


@dataclass(frozen=True)
class ResetPlan:
    """What a memory reset with ``options`` deletes, read from the card before it is sent."""

    eid: str
    options: frozenset[str]
    #: The profiles it deletes (test profiles: those the card counts as loaded in the field).
    profiles: list[es10.Profile]
    #: The default SM-DP+ address it clears ("" when none is set); None when not asked.
    default_smdp: str | None

    @property
    def empty(self) -> bool:
        return not self.profiles and not self.default_smdp

    @property
    def protected(self) -> list[es10.Profile]:
        """Profiles whose policy rules forbid what the reset does to them."""
        return [p for p in self.profiles
                if "ppr2" in (p.policy_rules or ()) or (p.state == "enabled" and "ppr1" in (p.policy_rules or ()))]

    def to_json(self) -> dict[str, Any]:
        return {"eidValue": self.eid, "resetOptions": sorted(self.options),
                "profiles": [p.to_json() for p in self.profiles], "defaultDpAddress": self.default_smdp}


@dataclass(frozen=True)
class ResetResult:
    """A memory reset that was sent, what it deleted and what became of its notifications."""

    plan: ResetPlan
    #: The profiles gone afterwards (None when the list could not be read again).
    deleted: list[es10.Profile] | None
    deliveries: list[Delivery] = field(default_factory=list)
    problem: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.problem == INTERRUPTED or any(d.error == INTERRUPTED for d in self.deliveries)

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "deleted": None if self.deleted is None else [p.iccid for p in self.deleted],
                "notifications": [d.to_json() for d in self.deliveries], "problem": self.problem}

    def summary(self) -> str:
        """What the reset did, in words: what it deleted and kept, the default SM-DP+, the notifications."""
        plan, deleted = self.plan, self.deleted
        parts = [] if not plan.profiles else [f"deleted {', '.join(p.label for p in deleted) or 'no profile'}"
                                              if deleted is not None else "reset done"]
        kept = [p.label for p in plan.profiles if deleted is not None and p not in deleted]
        if kept:
            parts.append(f"kept {', '.join(kept)} (not loaded in the field)")
        if plan.default_smdp:
            parts.append(f"default SM-DP+ {plan.default_smdp} cleared")
        parts += delivery_notes(self.deliveries)
        if self.problem:
            parts.append(f"afterwards: {self.problem}; run `lpa notifications process` later")
        return "; ".join(parts)


def plan(session: Session, options: set[str]) -> ResetPlan:
    """Read what a reset with ``options`` (resetOptions bit names) would delete."""
    if not options:
        raise InputError("say what to reset: --operational, --test and/or --default-smdp")
    ch = session.channel
    classes = {_CLASSES[o] for o in options if o in _CLASSES}
    profiles = [p for p in es10.get_profiles_info(ch, fields=TARGET_FIELDS) if p.profile_class in classes] \
        if classes else []
    address = es10.get_euicc_configured_addresses(ch).default_dp_address or "" \
        if "resetDefaultSmdpAddress" in options else None
    return ResetPlan(es10.get_eid(ch), frozenset(options), profiles, address)


def memory_reset(session: Session, chosen: ResetPlan, *, confirm: Callable[[ResetPlan], bool],
                 override_policy: bool = False, notify: bool = True) -> ResetResult:
    """Reset after ``confirm`` agreed to ``chosen``; deliver the delete notifications (``notify``)."""
    if chosen.protected and not override_policy:
        names = ", ".join(f"{p.label} ({'/'.join(r for r in p.policy_rules or () if r != 'pprUpdateControl')})"
                          for p in chosen.protected)
        raise InputError(f"the policy rules of {names} forbid deleting it; the card would delete it anyway: "
                         "add --override-policy-rules if that is what you want")
    if not confirm(chosen):
        raise Declined("nothing was reset")
    es10.euicc_memory_reset(session.channel, set(chosen.options))
    try:
        remaining = {p.label for p in es10.get_profiles_info(session.channel, fields=("iccid", "isdpAid"))}
    except KeyboardInterrupt:
        return ResetResult(chosen, None, problem=INTERRUPTED)
    except Exception as error:  # noqa: BLE001 (the card has changed: report, never raise)
        return ResetResult(chosen, None, problem=f"the profile list could not be read again ({error})")
    deleted = [p for p in chosen.profiles if p.label not in remaining]
    deliveries, problem = deliver_produced(session, [(p, "delete") for p in deleted], reset=False, notify=notify)
    return ResetResult(chosen, deleted, deliveries, problem)
