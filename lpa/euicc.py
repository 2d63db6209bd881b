"""What a user asks of an eUICC: the library API of lpa, on which the CLI is built.

>>> from lpa import open_euicc
>>> with open_euicc(sim=True) as euicc:          # or reader="Virtual PCD", or no argument
...     for profile in euicc.profiles():
...         print(profile.iccid, profile.state, profile.name)

:class:`Euicc` is the session (:class:`lpa.session.Session`: the transport,
the ISD-R channel, the settings) with each operation of
:mod:`lpa.operations` as a method; the operations hold the rules.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from . import es10
from .apdu import isdr_aids
from .session import NotifySettings, Session

if TYPE_CHECKING:
    from .activation import ActivationCode
    from .es10 import NotificationMetadata, Profile
    from .https import HttpsClient
    from .operations.discovery import Event
    from .operations.download import DownloadResult, Offer
    from .operations.info import EuiccInfo
    from .operations.memory_reset import ResetPlan, ResetResult
    from .operations.notifications import Delivery, ProcessResult, Progress
    from .operations.profiles import OperationResult

__all__ = ["Euicc", "NotifySettings", "open_euicc"]


class Euicc(Session):
    """An open eUICC, and what can be done with it (each method is an operation of :mod:`lpa.operations`).

    Use :func:`open_euicc` to make one; it is a context manager that closes
    the channel and releases the reader.
    """

    # -- reading -----------------------------------------------------------------

    def eid(self) -> str:
        """The EID (ES10c.GetEID)."""
        return es10.get_eid(self.channel)

    def info(self) -> EuiccInfo:
        """EID, EUICCInfo2, the configured SM-DP+ / SM-DS addresses and the Rules Authorisation Table."""
        from .operations.info import info

        return info(self)

    def profiles(self, *, icons: bool = False, details: bool = False) -> list[Profile]:
        """The installed profiles (see :func:`lpa.operations.profiles.profiles`)."""
        from .operations.profiles import profiles

        return profiles(self, icons=icons, details=details)

    def find_profile(self, identifier: str, *, nickname: bool = True,
                     among: list[Profile] | None = None) -> Profile:
        """The profile an ICCID, ISD-P AID or nickname names (see :func:`lpa.operations.profiles.find_profile`)."""
        from .operations.profiles import find_profile

        return find_profile(self, identifier, nickname=nickname, among=among)

    def notifications(self) -> list[NotificationMetadata]:
        """The pending notifications, by sequence number (ES10b.ListNotification)."""
        return es10.list_notification(self.channel)

    # -- changes -----------------------------------------------------------------

    def enable(self, identifier: str, *, refresh: bool = False, reset: bool = False,
               notify: bool = True) -> OperationResult:
        """Enable a profile (see :func:`lpa.operations.profiles.enable`)."""
        from .operations.profiles import enable

        return enable(self, identifier, refresh=refresh, reset=reset, notify=notify)

    def disable(self, identifier: str, *, refresh: bool = False, reset: bool = False,
                notify: bool = True) -> OperationResult:
        """Disable the enabled profile (see :func:`lpa.operations.profiles.disable`)."""
        from .operations.profiles import disable

        return disable(self, identifier, refresh=refresh, reset=reset, notify=notify)

    def delete(self, identifier: str, *, force: bool = False, reset: bool = False, notify: bool = True,
               confirm: Callable[[Profile], bool] = lambda profile: True) -> OperationResult:
        """Delete a profile (see :func:`lpa.operations.profiles.delete`)."""
        from .operations.profiles import delete

        return delete(self, identifier, force=force, reset=reset, notify=notify, confirm=confirm)

    def set_nickname(self, identifier: str, nickname: str) -> Profile:
        """Set (or, with "", clear) a profile's nickname (see :func:`lpa.operations.profiles.set_nickname`)."""
        from .operations.profiles import set_nickname

        return set_nickname(self, identifier, nickname)

    def set_default_smdp(self, address: str) -> None:
        """Set (or, with "", clear) the default SM-DP+ address (see :func:`lpa.operations.info.set_default_smdp`)."""
        from .operations.info import set_default_smdp

        set_default_smdp(self, address)

    def plan_memory_reset(self, options: set[str]) -> ResetPlan:
        """What a memory reset with ``options`` would delete (see :func:`lpa.operations.memory_reset.plan`)."""
        from .operations.memory_reset import plan

        return plan(self, options)

    def memory_reset(self, plan: ResetPlan, *, confirm: Callable[[ResetPlan], bool],
                     override_policy: bool = False, notify: bool = True) -> ResetResult:
        """Reset the eUICC's memory as ``plan`` says (see :func:`lpa.operations.memory_reset.memory_reset`)."""
        from .operations.memory_reset import memory_reset

        return memory_reset(self, plan, confirm=confirm, override_policy=override_policy, notify=notify)

    def download(self, code: ActivationCode, *, consent: Callable[[Offer], bool],
                 confirmation_code: Callable[[], str], imei: str | None = None, notify: bool = True,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> DownloadResult:
        """Download the profile an activation code names (see :func:`lpa.operations.download.download`)."""
        from .operations.download import download

        return download(self, code, consent=consent, confirmation_code=confirmation_code, imei=imei,
                        notify=notify, progress=progress)

    def activation_without_code(self, *, event: str | None = None, smds: str | None = None,
                                imei: str | None = None, choose: Callable[[list[Event]], Event],
                                say: Callable[[str], None] = lambda message: None) -> ActivationCode:
        """What to download without an activation code (see
        :func:`lpa.operations.download.activation_without_code`)."""
        from .operations.download import activation_without_code

        return activation_without_code(self, event=event, smds=smds, imei=imei, choose=choose, say=say)

    def discover(self, smds: str | None = None, *, imei: str | None = None) -> list[Event]:
        """The events an SM-DS holds for this eUICC (see :func:`lpa.operations.discovery.discover`)."""
        from .operations.discovery import discover

        return discover(self, smds, imei=imei)

    # -- notifications -----------------------------------------------------------

    def process_notifications(self, seq_numbers: Iterable[int] | None = None, *, keep: bool = False,
                              progress: Progress | None = None) -> ProcessResult:
        """Send pending notifications (all, or those named) and remove the delivered ones
        (see :func:`lpa.operations.notifications.process`)."""
        from .operations.notifications import process

        return process(self, seq_numbers, keep=keep, progress=progress)

    def deliver(self, notifications: list[NotificationMetadata], *, keep: bool = False,
                progress: Progress | None = None) -> list[Delivery]:
        """Send notifications to their SM-DP+, removing each acknowledged one unless ``keep``
        (see :func:`lpa.operations.notifications.deliver`)."""
        from .operations.notifications import deliver

        return deliver(self, notifications, keep=keep, progress=progress)

    def deliver_produced(self, expected: list[tuple[Profile, str]], *, reset: bool,
                         notify: bool) -> tuple[list[Delivery], str | None]:
        """After a change, deliver its notifications (see :func:`lpa.operations.notifications.deliver_produced`)."""
        from .operations.notifications import deliver_produced

        return deliver_produced(self, expected, reset=reset, notify=notify)

    def remove_notifications(self, seq_numbers: Iterable[int]) -> list[NotificationMetadata]:
        """Drop notifications without sending them (see :func:`lpa.operations.notifications.remove`)."""
        from .operations.notifications import remove

        return remove(self, seq_numbers)

    def es9p_client(self) -> HttpsClient:
        """An ES9+ client trusting the CIs this eUICC names (and --ca-file); use it with ``with``."""
        from .operations.notifications import client_for

        return client_for(self)


def open_euicc(
    reader: str | None = None,
    *,
    device: str | None = None,
    sim: bool = False,
    sim_state: str | None = None,
    replay: str | None = None,
    aid: bytes | None = None,
    euicc: int | None = None,
    mss: int | None = None,
    notify: NotifySettings | None = None,
    trace: Callable[[str], None] | None = None,
    note: Callable[[str], None] = lambda message: None,
    logical_channel: bool = False,
) -> Euicc:
    """Open an eUICC; use it with ``with``.

    ``device`` names the transport as ``KIND[:ARGUMENT]`` (see
    :mod:`lpa.devices`): ``pcsc[:reader]``, ``sim[:state file]``,
    ``replay:FILE``, ``at:PORT[@BAUD]``. ``reader`` (a PC/SC reader's name,
    a unique part of one, or an index), ``sim`` with ``sim_state``, and
    ``replay`` are short forms. By default the only PC/SC reader holding an
    eUICC is used. ``aid`` is the ISD-R AID; by default the standard one and
    then the known vendor ones are tried. ``trace`` receives every APDU
    exchanged as a hex line. ``logical_channel`` selects the ISD-R on a
    logical channel rather than the basic one. ``euicc`` picks one of a
    card's several eUICC instances (ISD-Rs), counted from 0; when no known
    AID answers, lpa looks for ISD-Rs by partial SELECT
    (:func:`lpa.apdu.find_isdrs`).
    """
    from .devices import device_of, open_device

    transport = open_device(device or device_of(reader=reader, sim=sim, sim_state=sim_state, replay=replay),
                            isdr_aids(aid), note)
    if trace is not None:
        from .transport.traced import Traced

        transport = Traced(transport, trace)
    return Euicc(transport, aid=aid, mss=mss, notify=notify, note=note, logical_channel=logical_channel, euicc=euicc)
