"""The session with one eUICC: its transport, the ISD-R channel, and how servers are reached.

Every operation (:mod:`lpa.operations`) takes a :class:`Session`;
:class:`lpa.euicc.Euicc` is one, with the operations as methods.
"""
from __future__ import annotations

import math
from contextlib import ExitStack, nullcontext
from typing import Callable, ContextManager

from . import es10
from .apdu import Channel, NoIsdrError, find_isdrs, isdr_aids, list_isdrs, open_isdr
from .errors import InputError
from .transport import Transport


class NotifySettings:
    """How notifications reach the SM-DP+: extra trust anchors and time-outs.

    Checked when made (CA files readable certificates, a finite positive
    time-out), so that nothing about them can fail after the card changed.
    """

    def __init__(self, ca_files: tuple[str, ...] = (), timeout: float = 20.0, retries: int = 2,
                 backoff: float = 0.5) -> None:
        self.ca_files = ca_files
        #: Seconds one notification may take, connection, TLS, answer and retries together.
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= 3600):
            raise InputError(f"time-out {self.timeout} is not a number of seconds between 0 and 3600")
        if not (math.isfinite(self.backoff) and self.backoff >= 0 and self.retries >= 0):
            raise InputError("retries and back-off must not be negative")
        if self.ca_files:
            from .trust import read_ca_files

            read_ca_files(self.ca_files)


class Session:
    """An open eUICC: a transport with the ISD-R selected.

    The ISD-R is selected on the basic channel, which costs no APDU to open
    or close and which lpa can use because it holds the card exclusively;
    ``logical_channel`` selects it on a logical channel of its own instead
    (SGP.22 5.7.2), for a card or reader shared with another program. A
    context manager: it closes the channel and releases the transport.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        aid: bytes | None = None,
        mss: int | None = None,
        notify: NotifySettings | None = None,
        note: Callable[[str], None] = lambda message: None,
        logical_channel: bool = False,
        euicc: int | None = None,
    ) -> None:
        self.transport = transport
        #: Open a logical channel for the ISD-R rather than use the basic channel (a modem needs one:
        #: it uses the basic channel itself).
        self.logical_channel = logical_channel or transport.needs_logical_channel
        #: The ISD-R AIDs to try: the one given, else the known ones (the standard first).
        self.aids = isdr_aids(aid)
        self._aid_given = aid is not None
        #: Which of the card's eUICC instances (ISD-Rs) to use, counted from 0 (``--euicc``).
        self.euicc = euicc
        #: The ISD-Rs found on the card when more than the one in use was looked for (``--euicc``, or
        #: partial SELECT when no known AID answered).
        self.isdrs: tuple[bytes, ...] = ()
        #: The STORE DATA segment size: the one given, else the transport's (SGP.22 5.7.2).
        self.mss = mss or transport.segment_size
        self.notify_settings = notify or NotifySettings()
        self.note = note
        #: Wraps each wait on a server: called with a description, returns a context manager
        #: (the CLI shows a status line on a terminal).
        self.waiting: Callable[[str], ContextManager[None]] = lambda message: nullcontext()
        self._stack = ExitStack()
        self._channel: Channel | None = None
        self._info1: es10.EuiccInfo1 | None = None

    def __enter__(self) -> Session:
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
        if self.euicc is not None and not self.isdrs:
            self.isdrs = tuple(list_isdrs(self.transport, self.aids, self.note))
            if self.euicc >= len(self.isdrs):
                listed = f": {', '.join(aid.hex().upper() for aid in self.isdrs)}" if self.isdrs else ""
                raise InputError(f"--euicc {self.euicc}: {self.transport.name} holds {len(self.isdrs)} eUICC "
                                 f"instance{'' if len(self.isdrs) == 1 else 's'}{listed} (counted from 0)")
            self.aids = (self.isdrs[self.euicc],)
        try:
            channel = self._stack.enter_context(
                open_isdr(self.transport, self.aids, self.mss, self.note, self.logical_channel))
        except NoIsdrError:
            if self._aid_given or self.transport.needs_logical_channel:
                raise
            found = find_isdrs(self.transport)  # SGP.22 2.2.3 prefix, ISO/IEC 7816-4 next occurrence
            if not found:
                raise
            self.isdrs = tuple(found)
            self.note(f"no known ISD-R AID answered; partial SELECT found {', '.join(a.hex().upper() for a in found)}"
                      + ("; the first is used (--euicc N picks another)" if len(found) > 1 else ""))
            channel = self._stack.enter_context(
                open_isdr(self.transport, found[:1], self.mss, self.note, self.logical_channel))
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

    def euicc_info1(self) -> es10.EuiccInfo1:
        """EUICCInfo1 (ES10b.GetEUICCInfo), read once per session: what the eUICC verifies and signs with
        does not change while lpa holds the card (SGP.22 5.7.8)."""
        if self._info1 is None:
            self._info1 = es10.get_euicc_info1(self.channel)
        return self._info1

    def ci_key_ids(self) -> tuple[str, ...]:
        """The key identifiers of the CIs the eUICC verifies with (EUICCInfo1)."""
        return self.euicc_info1().ci_pkid_verification
