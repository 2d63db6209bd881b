"""Delivering the eUICC's notifications to their SM-DP+ (SGP.22 3.5; ES9+.HandleNotification).

Each notification is removed from the eUICC only after its SM-DP+
acknowledged it; a failure of any kind (card, network, Ctrl-C) is the
outcome of the notifications it concerns, which stay on the eUICC.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, Sequence

from .. import es10, interrupts
from ..errors import InputError, LpaError, ServerError
from ..es10 import NotificationMetadata, PendingNotification, Profile
from ..session import NotifySettings, Session

if TYPE_CHECKING:
    from ..https import HttpsClient

#: The reason a notification left undelivered by Ctrl-C carries.
INTERRUPTED = "interrupted"


class Delivery(NamedTuple):
    """The outcome of sending one notification to its SM-DP+."""

    notification: NotificationMetadata
    delivered: bool
    removed: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.notification.to_json(), "delivered": self.delivered, "removed": self.removed,
                "error": self.error}


def delivery_notes(deliveries: Sequence[Delivery]) -> list[str]:
    """What became of each notification an operation produced, one phrase each."""
    notes = []
    for d in deliveries:
        n = d.notification
        if d.delivered:
            notes.append(f"notified {n.address}" + ("" if d.removed or d.error is None else
                                                    f"; notification {n.seq_number} stays on the eUICC ({d.error})"))
        else:
            notes.append(f"notification {n.seq_number} for {n.address} is kept on the eUICC ({d.error}); "
                         "run `lpa notifications process` later")
    return notes


#: Told (done, total, outcome) after each notification.
Progress = Callable[[int, int, Delivery], None]


class ProcessResult(NamedTuple):
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


def es9p_client(ci_key_ids: Iterable[str], settings: NotifySettings) -> HttpsClient:
    """An ES9+ client trusting the CIs of ``ci_key_ids`` found in certs/ and the settings' CA files."""
    from ..https import HttpsClient  # requests is imported only when something is sent
    from ..trust import anchors

    return HttpsClient(anchors(ci_key_ids, settings.ca_files), timeout=settings.timeout,
                       retries=settings.retries, backoff=settings.backoff)


def client_for(session: Session) -> HttpsClient:
    """An ES9+/ES11 client trusting the CIs this eUICC names (and --ca-file); use it with ``with``."""
    return es9p_client(session.ci_key_ids(), session.notify_settings)


def process(session: Session, seq_numbers: Iterable[int] | None = None, *, keep: bool = False,
            progress: Progress | None = None) -> ProcessResult:
    """Send pending notifications (all, or those named) and remove the delivered ones."""
    everything = pending = es10.list_notification(session.channel)
    if seq_numbers is not None:
        wanted = set(seq_numbers)
        missing = wanted - {n.seq_number for n in pending}
        if missing:
            raise InputError(f"no pending notification {', '.join(map(str, sorted(missing)))} on this eUICC; "
                             "`lpa notifications list` shows them")
        pending = [n for n in pending if n.seq_number in wanted]
    deliveries = deliver(session, pending, keep=keep, progress=progress)
    return ProcessResult(deliveries, len(everything) - sum(d.removed for d in deliveries))


def deliver(session: Session, notifications: list[NotificationMetadata] | list[PendingNotification], *,
            keep: bool = False, progress: Progress | None = None, client: HttpsClient | None = None) -> list[Delivery]:
    """Send each notification (ES9+.HandleNotification); remove it after the SM-DP+ acknowledged it.

    A notification named by its metadata is read from the eUICC first
    (RetrieveNotificationsList); a signed one is sent as it is (a
    download's ProfileInstallationResult, which the eUICC keeps as the
    same bytes: SGP.22 3.1.3.3, 5.7.6). ``client`` is an open ES9+ client
    to use (a download's, whose TLS connection the install notification
    reuses); else one is opened. Never raises: a failure of any kind
    (card, network, Ctrl-C) becomes the outcome of the notifications it
    concerns, which stay on the eUICC.
    """
    results: list[Delivery] = []
    try:
        if notifications:
            with nullcontext(client) if client is not None else client_for(session) as client, \
                    interrupts.deferred() as gate:
                for metadata in notifications:
                    gate.check()  # Ctrl-C stops between notifications, or while waiting for an SM-DP+
                    result = _deliver_one(session, client, metadata, keep, gate)
                    results.append(result)
                    if progress is not None:
                        progress(len(results), len(notifications), result)
    except KeyboardInterrupt:
        reason = INTERRUPTED
    except Exception as error:  # noqa: BLE001 (one notification's failure is its outcome, not a crash)
        reason = describe_error(error)
    else:
        return results
    return results + [Delivery(_metadata(n), False, error=reason) for n in notifications[len(results):]]


def _metadata(notification: NotificationMetadata | PendingNotification) -> NotificationMetadata:
    return notification.metadata if isinstance(notification, PendingNotification) else notification


def _deliver_one(session: Session, client: HttpsClient, notification: NotificationMetadata | PendingNotification,
                 keep: bool, gate: interrupts.Gate) -> Delivery:
    from .. import es9p

    metadata = _metadata(notification)
    if isinstance(notification, PendingNotification):
        der = notification.der
    else:
        signed = es10.retrieve_notifications_list(session.channel, metadata.seq_number)
        if not signed:
            return Delivery(metadata, False, error="the eUICC no longer has it")
        der = signed[0].der
    try:
        with gate.allowed(), session.waiting(f"sending notification {metadata.seq_number} to {metadata.address}"):
            es9p.handle_notification(client, metadata.address, der)
    except ServerError as error:
        return Delivery(metadata, False, error=error.reason)
    if keep:
        return Delivery(metadata, True)
    es10.remove_notification_from_list(session.channel, metadata.seq_number)  # Ctrl-C waits for it (the gate)
    return Delivery(metadata, True, removed=True)


def deliver_produced(session: Session, expected: list[tuple[Profile, str]], *, reset: bool,
                     notify: bool) -> tuple[list[Delivery], str | None]:
    """After a change: reset if asked, then deliver the notifications of ``expected``
    (profile, operation) that the profiles' configuration asks for.

    The card has changed: whatever fails from here on (the reset, reading
    the notifications, Ctrl-C) is returned as the problem, never raised,
    so that the caller reports the operation as done.
    """
    try:
        if reset:
            session.reset()
        if not notify or not any(p.notification_address(op) for p, op in expected):
            return [], None
        pending = es10.list_notification(session.channel)
    except KeyboardInterrupt:
        return [], INTERRUPTED
    except Exception as error:  # noqa: BLE001 (the change is done; any failure is only reported)
        return [], describe_error(error)
    produced = []
    for profile, operation in expected:
        matching = [n for n in pending if n.iccid == profile.iccid and n.operation == operation]
        if profile.notification_address(operation) and matching:
            produced.append(matching[-1])
    return deliver(session, produced), None


def remove(session: Session, seq_numbers: Iterable[int]) -> list[NotificationMetadata]:
    """Drop notifications without sending them (ES10b.RemoveNotificationFromList)."""
    pending = {n.seq_number: n for n in es10.list_notification(session.channel)}
    wanted = list(dict.fromkeys(seq_numbers))
    missing = [s for s in wanted if s not in pending]
    if missing:
        raise InputError(f"no pending notification {', '.join(map(str, missing))} on this eUICC")
    for seq in wanted:
        es10.remove_notification_from_list(session.channel, seq)
    return [pending[s] for s in wanted]


def describe_error(error: Exception) -> str:
    """One line for an error met after the card changed."""
    return str(error) if isinstance(error, LpaError) else f"{type(error).__name__}: {error}"
