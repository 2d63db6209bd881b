"""What a user asks of an eUICC: the library API of lpa, on which the CLI is built.

>>> from lpa import open_euicc
>>> with open_euicc(sim=True) as euicc:          # or reader="Virtual PCD", or no argument
...     for profile in euicc.profiles():
...         print(profile.iccid, profile.state, profile.name)

Profile operations check their target with a read-only GetProfilesInfo
first, so a request the card would refuse is refused before anything that
changes the card is sent. The notifications an operation produced are
delivered to the SM-DP+ right after it, and each one is removed from the
eUICC only after the SM-DP+ acknowledged it (SGP.22 3.5).
"""
from __future__ import annotations

import math
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ContextManager, Iterable

from . import es10
from .apdu import DEFAULT_MSS, Channel, isdr_aids, open_isdr, vendor_of
from .encoding import check_iccid, check_nickname, looks_like_aid, parse_aid
from .errors import Declined, InputError, LpaError, ProtocolError, ServerError, StatusWordError
from .es10 import NotificationMetadata, Profile
from .transport import Transport, Traced

#: ProfileInfo fields an operation needs to check its target and find its notifications.
TARGET_FIELDS = ("iccid", "isdpAid", "profileState", "profileNickname", "serviceProviderName", "profileName",
                  "profileClass", "notificationConfigurationInfo", "profilePolicyRules")


@dataclass(frozen=True)
class EuiccInfo:
    """What `lpa info` shows: EID, EUICCInfo2 and the configured addresses."""

    eid: str
    info2: es10.EuiccInfo2
    addresses: es10.ConfiguredAddresses
    isdr_aid: bytes
    #: The Rules Authorisation Table; None when the card refused GetRAT (SGP.22 before v2.1).
    rat: list[es10.PolicyRule] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"eidValue": self.eid, "isdrAid": self.isdr_aid.hex().upper(), "isdrVendor": vendor_of(self.isdr_aid),
                "EuiccConfiguredAddresses": self.addresses.to_json(), "EUICCInfo2": self.info2.fields,
                "rat": None if self.rat is None else [rule.to_json() for rule in self.rat]}


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one notification to its SM-DP+."""

    notification: NotificationMetadata
    delivered: bool
    removed: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.notification.to_json(), "delivered": self.delivered, "removed": self.removed,
                "error": self.error}


#: The reason a notification left undelivered by Ctrl-C carries.
INTERRUPTED = "interrupted"

Progress = Callable[[int, int, Delivery], None]


def _no_progress(done: int, total: int, delivery: Delivery) -> None:
    pass


@dataclass(frozen=True)
class ProcessResult:
    """What `lpa notifications process` did."""

    deliveries: list[Delivery]
    #: Notifications left on the eUICC afterwards.
    remaining: int

    @property
    def interrupted(self) -> bool:
        return any(d.error == INTERRUPTED for d in self.deliveries)

    def to_json(self) -> dict[str, Any]:
        delivered = sum(d.delivered for d in self.deliveries)
        return {"delivered": delivered, "failed": len(self.deliveries) - delivered, "remaining": self.remaining,
                "notifications": [d.to_json() for d in self.deliveries]}


@dataclass(frozen=True)
class OperationResult:
    """A profile operation that succeeded, and what became of its notifications."""

    operation: str
    profile: Profile
    deliveries: list[Delivery] = field(default_factory=list)
    #: Other profiles the operation changed (an enable disables the enabled one).
    also_disabled: Profile | None = None
    #: What went wrong after the change (the reset, reading the notifications), if anything.
    problem: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.problem == INTERRUPTED or any(d.error == INTERRUPTED for d in self.deliveries)

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "iccid": self.profile.iccid, "isdpAid": self.profile.isdp_aid,
                "alsoDisabled": self.also_disabled.iccid if self.also_disabled else None,
                "notifications": [d.to_json() for d in self.deliveries], "problem": self.problem}


@dataclass
class NotifySettings:
    """How notifications reach the SM-DP+: extra trust anchors and time-outs.

    Checked when made (CA files readable certificates, a finite positive
    time-out), so that nothing about them can fail after the card changed.
    """

    ca_files: tuple[str, ...] = ()
    #: Seconds one notification may take, connection, TLS, answer and retries together.
    timeout: float = 20.0
    retries: int = 2
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= 3600):
            raise InputError(f"time-out {self.timeout} is not a number of seconds between 0 and 3600")
        if not (math.isfinite(self.backoff) and self.backoff >= 0 and self.retries >= 0):
            raise InputError("retries and back-off must not be negative")
        if self.ca_files:
            from .trust import read_ca_files

            read_ca_files(self.ca_files)


class Euicc:
    """An open eUICC: a transport with the ISD-R selected.

    The ISD-R is selected on the basic channel, which costs no APDU to open
    or close and which lpa can use because it holds the card exclusively;
    ``logical_channel`` selects it on a logical channel of its own instead
    (SGP.22 5.7.2), for a card or reader shared with another program.

    Use :func:`open_euicc` to make one; it is a context manager that closes
    the channel and releases the reader.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        aid: bytes | None = None,
        mss: int = DEFAULT_MSS,
        notify: NotifySettings | None = None,
        note: Callable[[str], None] = lambda message: None,
        logical_channel: bool = False,
    ) -> None:
        self.transport = transport
        #: Open a logical channel for the ISD-R rather than use the basic channel (a modem needs one:
        #: it uses the basic channel itself).
        self.logical_channel = logical_channel or getattr(transport, "needs_logical_channel", False)
        #: The ISD-R AIDs to try: the one given, else the known ones (the standard first).
        self.aids = isdr_aids(aid)
        self.mss = mss
        self.notify_settings = notify or NotifySettings()
        self.note = note
        #: Wraps each wait on an SM-DP+: called with a description, returns a context manager
        #: (the CLI shows a status line on a terminal).
        self.waiting: Callable[[str], ContextManager[None]] = lambda message: nullcontext()
        self._stack = ExitStack()
        self._channel: Channel | None = None
        self._ci_key_ids: tuple[str, ...] | None = None

    # -- session -----------------------------------------------------------------

    def __enter__(self) -> "Euicc":
        try:
            self._open_channel()
        except BaseException:
            self.transport.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        finally:
            self.transport.close()

    def _open_channel(self) -> None:
        channel = self._stack.enter_context(
            open_isdr(self.transport, self.aids, self.mss, self.note, self.logical_channel))
        self.aids = (channel.aid,)  # after a reset, select what answered
        self.logical_channel = bool(channel.number)  # and on the channel that worked
        self._channel = channel

    @property
    def channel(self) -> Channel:
        """The ISD-R channel (reopened on first use after a reset)."""
        if self._channel is None:
            self._open_channel()
        assert self._channel is not None
        return self._channel

    def reset(self) -> None:
        """Reset the card so that an enable or disable takes effect.

        The ISD-R is selected again when the next function needs it.
        """
        if self._channel is not None:
            self.mss = self._channel.mss  # keep a segment size the card made lpa fall back to
        self._stack.close()
        self._channel = None
        self.transport.reset()

    # -- reading -----------------------------------------------------------------

    def eid(self) -> str:
        """The EID (ES10c.GetEID)."""
        return es10.get_eid(self.channel)

    def info(self) -> EuiccInfo:
        """EID, EUICCInfo2, the configured SM-DP+ / SM-DS addresses and the Rules Authorisation Table."""
        info = EuiccInfo(es10.get_eid(self.channel), es10.get_euicc_info2(self.channel),
                         es10.get_euicc_configured_addresses(self.channel), self.channel.aid)
        try:
            return replace(info, rat=es10.get_rat(self.channel))
        except StatusWordError as error:  # GetRAT is SGP.22 v2.1; older cards refuse it
            if self.note:
                self.note(f"GetRAT refused with {error.sw:04X}; no rules authorisation table shown")
            return info

    def profiles(self, *, icons: bool = False, details: bool = False) -> list[Profile]:
        """The installed profiles; icons, and with ``details`` notification
        configuration and policy rules, only when asked for (they cost bytes)."""
        fields = es10.LIST_FIELDS + (("iconType", "icon") if icons else ()) \
            + (("notificationConfigurationInfo", "profilePolicyRules") if details else ())
        return es10.get_profiles_info(self.channel, fields=fields)

    def find_profile(self, identifier: str, *, nickname: bool = True,
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
            among = es10.get_profiles_info(self.channel, fields=TARGET_FIELDS, **criteria)
        found = [p for p in among if match(p)]
        if len(found) > 1:
            raise InputError(f"{len(found)} profiles have the nickname {identifier!r}; use the ICCID")
        if not found:
            what = "ICCID, ISD-P AID or nickname" if nickname else "ICCID or ISD-P AID"
            raise InputError(f"no profile with {what} {identifier} on this eUICC; `lpa list` shows the profiles")
        return found[0]

    def notifications(self) -> list[NotificationMetadata]:
        """The pending notifications, by sequence number (ES10b.ListNotification)."""
        return es10.list_notification(self.channel)

    # -- profile operations ------------------------------------------------------

    def enable(self, identifier: str, *, refresh: bool = False, reset: bool = False,
               notify: bool = True) -> OperationResult:
        """Enable a profile (ES10c.EnableProfile); the enabled one is disabled by the card."""
        everything = es10.get_profiles_info(self.channel, fields=TARGET_FIELDS)
        target = self.find_profile(identifier, among=everything)
        if target.state == "enabled":
            raise InputError(f"profile {target.label} is already enabled")
        current = next((p for p in everything if p.state == "enabled"), None)
        if current is not None and "ppr1" in (current.policy_rules or ()):
            raise InputError(f"profile {current.label} is enabled and its policy (PPR1) forbids disabling it; "
                             f"{target.label} cannot be enabled")
        if current is not None and target.profile_class == "test" and current.profile_class == "operational":
            raise InputError(f"{target.label} is a test profile and operational profile {current.label} is "
                             f"enabled; disable it first (lpa disable {current.label})")
        es10.enable_profile(self.channel, _identifier(target), refresh)
        expected = [(target, "enable")] + ([(current, "disable")] if current else [])
        return self._after_change(OperationResult("enable", target, also_disabled=current), expected, reset, notify)

    def disable(self, identifier: str, *, refresh: bool = False, reset: bool = False,
                notify: bool = True) -> OperationResult:
        """Disable the enabled profile (ES10c.DisableProfile)."""
        target = self.find_profile(identifier)
        if target.state != "enabled":
            raise InputError(f"profile {target.label} is not enabled")
        if "ppr1" in (target.policy_rules or ()):
            raise InputError(f"profile {target.label} may not be disabled: its profile policy rules (PPR1) forbid it")
        es10.disable_profile(self.channel, _identifier(target), refresh)
        return self._after_change(OperationResult("disable", target), [(target, "disable")], reset, notify)

    def delete(self, identifier: str, *, force: bool = False, reset: bool = False, notify: bool = True,
               confirm: Callable[[Profile], bool] = lambda profile: True) -> OperationResult:
        """Delete a disabled profile (ES10c.DeleteProfile); ``force`` disables it first.

        ``confirm`` is asked with the profile once it is known to be
        deletable; if it answers False, Declined is raised and nothing is
        sent.
        """
        target = self.find_profile(identifier, nickname=False)
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
            es10.disable_profile(self.channel, _identifier(target), False)
            expected.insert(0, (target, "disable"))
        es10.delete_profile(self.channel, _identifier(target))
        return self._after_change(OperationResult("delete", target), expected, reset, notify)

    def plan_memory_reset(self, options: set[str]) -> Any:
        """What a memory reset with ``options`` would delete (see :func:`lpa.memory_reset.plan`)."""
        from .memory_reset import plan

        return plan(self, options)

    def memory_reset(self, plan: Any, **options: Any) -> Any:
        """Reset the eUICC's memory as ``plan`` says (see :func:`lpa.memory_reset.memory_reset`)."""
        from .memory_reset import memory_reset

        return memory_reset(self, plan, **options)

    def set_default_smdp(self, address: str) -> None:
        """Set (or, with "", clear) the default SM-DP+ address (ES10a.SetDefaultDpAddress)."""
        if address:
            from .address import check_address

            check_address(address)
        es10.set_default_dp_address(self.channel, address)

    def set_nickname(self, iccid: str, nickname: str) -> Profile:
        """Set (or, with "", clear) a profile's nickname (ES10c.SetNickname)."""
        check_iccid(iccid)
        check_nickname(nickname)
        target = self.find_profile(iccid, nickname=False)
        es10.set_nickname(self.channel, iccid, nickname)
        return target

    def _after_change(self, result: OperationResult, expected: list[tuple[Profile, str]], reset: bool,
                      notify: bool) -> OperationResult:
        """Reset if asked, then deliver the notifications the change produced."""
        deliveries, problem = self.deliver_produced(expected, reset=reset, notify=notify)
        return replace(result, deliveries=deliveries, problem=problem)

    def deliver_produced(self, expected: list[tuple[Profile, str]], *, reset: bool,
                         notify: bool) -> tuple[list[Delivery], str | None]:
        """After a change: reset if asked, then deliver the notifications of ``expected``
        (profile, operation) that the profiles' configuration asks for.

        The card has changed: whatever fails from here on (the reset, reading
        the notifications, Ctrl-C) is returned as the problem, never raised,
        so that the caller reports the operation as done.
        """
        try:
            if reset:
                self.reset()
            if not notify or not any(p.notification_address(op) for p, op in expected):
                return [], None
            pending = es10.list_notification(self.channel)
        except KeyboardInterrupt:
            return [], INTERRUPTED
        except Exception as error:  # noqa: BLE001 (the change is done; any failure is only reported)
            return [], _describe_error(error)
        produced = []
        for profile, operation in expected:
            matching = [n for n in pending if n.iccid == profile.iccid and n.operation == operation]
            if profile.notification_address(operation) and matching:
                produced.append(matching[-1])
        return self.deliver(produced), None

    # -- notifications -----------------------------------------------------------

    def process_notifications(self, seq_numbers: Iterable[int] | None = None, *, keep: bool = False,
                              progress: Progress = _no_progress) -> ProcessResult:
        """Send pending notifications (all, or those named) and remove the delivered ones."""
        everything = pending = es10.list_notification(self.channel)
        if seq_numbers is not None:
            wanted = set(seq_numbers)
            missing = wanted - {n.seq_number for n in pending}
            if missing:
                raise InputError(f"no pending notification {', '.join(map(str, sorted(missing)))} on this eUICC; "
                                 "`lpa notifications list` shows them")
            pending = [n for n in pending if n.seq_number in wanted]
        deliveries = self.deliver(pending, keep=keep, progress=progress)
        return ProcessResult(deliveries, len(everything) - sum(d.removed for d in deliveries))

    def deliver(self, notifications: list[NotificationMetadata], *, keep: bool = False,
                progress: Progress = _no_progress) -> list[Delivery]:
        """Send each notification (ES9+.HandleNotification); remove it after the SM-DP+ acknowledged it.

        Never raises: a failure of any kind (card, network, Ctrl-C) becomes
        the outcome of the notifications it concerns, which stay on the eUICC.
        """
        results: list[Delivery] = []
        try:
            if notifications:
                with self.es9p_client() as client:
                    for metadata in notifications:
                        result = self._deliver_one(client, metadata, keep)
                        results.append(result)
                        progress(len(results), len(notifications), result)
        except KeyboardInterrupt:
            reason = INTERRUPTED
        except Exception as error:  # noqa: BLE001 (one notification's failure is its outcome, not a crash)
            reason = _describe_error(error)
        else:
            return results
        return results + [Delivery(n, False, error=reason) for n in notifications[len(results):]]

    def es9p_client(self) -> Any:
        """An ES9+ client trusting the CIs this eUICC names (and --ca-file); use it with ``with``."""
        return es9p_client(self._card_ci_key_ids(), self.notify_settings)

    def _deliver_one(self, client: Any, metadata: NotificationMetadata, keep: bool) -> Delivery:
        signed = es10.retrieve_notifications_list(self.channel, metadata.seq_number)
        if not signed:
            return Delivery(metadata, False, error="the eUICC no longer has it")
        try:
            with self.waiting(f"sending notification {metadata.seq_number} to {metadata.address}"):
                client.handle_notification(metadata.address, signed[0].der)
        except ServerError as error:
            return Delivery(metadata, False, error=error.reason)
        if keep:
            return Delivery(metadata, True)
        try:
            es10.remove_notification_from_list(self.channel, metadata.seq_number)
        except KeyboardInterrupt:
            return Delivery(metadata, True, error=INTERRUPTED)  # sent again next time: a duplicate, not a loss
        return Delivery(metadata, True, removed=True)

    def _card_ci_key_ids(self) -> tuple[str, ...]:
        if self._ci_key_ids is None:
            self._ci_key_ids = es10.get_euicc_info1(self.channel).ci_pkid_verification
        return self._ci_key_ids

    def download(self, code: Any, **options: Any) -> Any:
        """Download the profile an :class:`~lpa.activation.ActivationCode` names (see :func:`lpa.download.download`)."""
        from .download import download

        return download(self, code, **options)

    def discover(self, smds: str | None = None, *, imei: str | None = None) -> list[Any]:
        """The events an SM-DS holds for this eUICC (see :func:`lpa.discovery.discover`)."""
        from .discovery import discover

        return discover(self, smds, imei=imei)

    def remove_notifications(self, seq_numbers: Iterable[int]) -> list[NotificationMetadata]:
        """Drop notifications without sending them (ES10b.RemoveNotificationFromList)."""
        pending = {n.seq_number: n for n in es10.list_notification(self.channel)}
        wanted = list(dict.fromkeys(seq_numbers))
        missing = [s for s in wanted if s not in pending]
        if missing:
            raise InputError(f"no pending notification {', '.join(map(str, missing))} on this eUICC")
        for seq in wanted:
            es10.remove_notification_from_list(self.channel, seq)
        return [pending[s] for s in wanted]


def es9p_client(ci_key_ids: Iterable[str], settings: NotifySettings) -> Any:
    """An ES9+ client trusting the CIs of ``ci_key_ids`` found in certs/ and the settings' CA files."""
    from .es9p import Es9pClient  # requests is imported only when something is sent
    from .trust import anchors

    return Es9pClient(anchors(ci_key_ids, settings.ca_files), timeout=settings.timeout,
                      retries=settings.retries, backoff=settings.backoff)


def _describe_error(error: Exception) -> str:
    """One line for an error met after the card changed."""
    return str(error) if isinstance(error, LpaError) else f"{type(error).__name__}: {error}"


def _identifier(profile: Profile) -> str | bytes:
    """ICCID when the card gave one, else the ISD-P AID; ProtocolError if it gave neither."""
    if profile.iccid:
        return profile.iccid
    if profile.isdp_aid:
        return bytes.fromhex(profile.isdp_aid)
    raise ProtocolError("the eUICC listed this profile without ICCID and ISD-P AID: lpa cannot name it to the card")


def open_euicc(
    reader: str | None = None,
    *,
    device: str | None = None,
    sim: bool = False,
    sim_state: str | None = None,
    replay: str | None = None,
    aid: bytes | None = None,
    mss: int = DEFAULT_MSS,
    notify: NotifySettings | None = None,
    trace: Callable[[str], None] | None = None,
    note: Callable[[str], None] = lambda message: None,
    logical_channel: bool = False,
) -> Euicc:
    """Open an eUICC; use it with ``with``.

    ``device`` names the transport as ``KIND[:ARGUMENT]`` (see
    :mod:`lpa.transport`): ``pcsc[:reader]``, ``sim[:state file]``,
    ``replay:FILE``. ``reader`` (a PC/SC reader's name, a unique part of
    one, or an index), ``sim`` with ``sim_state``, and ``replay`` are short
    forms. By default the only PC/SC reader holding an eUICC is used.
    ``aid`` is the ISD-R AID; by default the standard one and then the known
    vendor ones are tried. ``trace`` receives every APDU exchanged as a hex
    line. ``logical_channel`` selects the ISD-R on a logical channel rather
    than the basic one.
    """
    from .transport import device_of, open_device

    transport = open_device(device or device_of(reader=reader, sim=sim, sim_state=sim_state, replay=replay),
                            isdr_aids(aid), note)
    if trace is not None:
        transport = Traced(transport, trace)
    return Euicc(transport, aid=aid, mss=mss, notify=notify, note=note, logical_channel=logical_channel)
