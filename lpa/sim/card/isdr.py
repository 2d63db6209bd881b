"""The simulated ISD-R: ES10a/b/c functions on a :class:`~lpa.sim.card.state.SimState`.

:meth:`Isdr.handle` takes the DER of one ES10 request (as reassembled from
STORE DATA blocks) and returns the DER of the response. The functions are
those of :mod:`.es10a`, :mod:`.es10b` (with :mod:`.authentication`),
:mod:`.es10c`, :mod:`.notifications` and :mod:`.install`, each a part
(mixin) of :class:`Isdr` working on its state, download state and
identity.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ... import codec
from ...errors import LpaError
from .download_state import DownloadState
from .es10a import Es10a
from .es10b import Es10b
from .es10c import Es10c
from .install import Installation
from .notifications import Notifications
from .state import SimState

if TYPE_CHECKING:
    from ..pki.identity import Identity

#: First bytes of the LoadBoundProfilePackage pieces after the first (SGP.22 2.5.5).
_BPP_PIECES = {bytes([tag]) for tag in (0xA0, 0xA1, 0xA2, 0xA3, 0x86, 0x87, 0x88)}


class CardStatus(Exception):
    """Answer the command with this status word instead of data."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


class Isdr(Es10a, Es10b, Es10c, Notifications, Installation):
    """The ISD-R of the simulated eUICC."""

    def __init__(self, state: SimState, identity: Callable[[], Identity] | None = None,
                 download: DownloadState | None = None) -> None:
        """``identity`` loads the eUICC's certificates and key (default: the one the state names);
        it is called when first needed, so that commands that sign nothing do not load cryptography.
        ``download`` is the card's download state (challenge, session), kept by the caller across
        reloads of the state file."""
        self.state = state
        #: The card's faults (:mod:`.faults`), set as quirks.
        self.faults: list[str] = list(state.quirks.get("faults", []))
        self.download = download or DownloadState()
        self._load_identity = identity or self._state_identity
        self._identity: Identity | None = None
        #: True once a request changed the state (the caller saves it).
        self.changed = False
        #: True when the last function asked for a REFRESH (answered with SW 91xx).
        self.refresh_pending = False
        self._functions: dict[bytes, tuple[str, str, Callable[[Any], Any]]] = {
            b"\xbf\x3e": ("GetEuiccDataRequest", "GetEuiccDataResponse", self.get_eid),
            b"\xbf\x20": ("GetEuiccInfo1Request", "EUICCInfo1", self.get_euicc_info1),
            b"\xbf\x22": ("GetEuiccInfo2Request", "EUICCInfo2", self.get_euicc_info2),
            b"\xbf\x3c": ("EuiccConfiguredAddressesRequest", "EuiccConfiguredAddressesResponse",
                          self.get_euicc_configured_addresses),
            b"\xbf\x3f": ("SetDefaultDpAddressRequest", "SetDefaultDpAddressResponse", self.set_default_dp_address),
            b"\xbf\x2d": ("ProfileInfoListRequest", "ProfileInfoListResponse", self.get_profiles_info),
            b"\xbf\x31": ("EnableProfileRequest", "EnableProfileResponse", self.enable_profile),
            b"\xbf\x32": ("DisableProfileRequest", "DisableProfileResponse", self.disable_profile),
            b"\xbf\x33": ("DeleteProfileRequest", "DeleteProfileResponse", self.delete_profile),
            b"\xbf\x29": ("SetNicknameRequest", "SetNicknameResponse", self.set_nickname),
            b"\xbf\x34": ("EuiccMemoryResetRequest", "EuiccMemoryResetResponse", self.euicc_memory_reset),
            b"\xbf\x28": ("ListNotificationRequest", "ListNotificationResponse", self.list_notification),
            b"\xbf\x2b": ("RetrieveNotificationsListRequest", "RetrieveNotificationsListResponseView",
                          self.retrieve_notifications_list),
            b"\xbf\x30": ("NotificationSentRequest", "NotificationSentResponse",
                          self.remove_notification_from_list),
            b"\xbf\x2e": ("GetEuiccChallengeRequest", "GetEuiccChallengeResponse", self.get_euicc_challenge),
            b"\xbf\x43": ("GetRatRequest", "GetRatResponse", self.get_rat),
            b"\xbf\x41": ("CancelSessionRequest", "CancelSessionResponse", self.cancel_session),
            b"\xbf\x38": ("AuthenticateServerRequestView", "AuthenticateServerResponseView",
                          self.authenticate_server),
            b"\xbf\x21": ("PrepareDownloadRequestView", "PrepareDownloadResponse", self.prepare_download),
        }

    def _state_identity(self) -> Identity:
        from ..pki.identity import Identity

        if "eid-outside-eum-range" in self.faults:
            from .faults import outside_identity

            return outside_identity()
        return Identity.from_state(self.state.identity)

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = self._load_identity()
        return self._identity

    def handle(self, request: bytes) -> bytes:
        """Run one ES10 function; raise CardStatus for what a card answers with a status word.

        A LoadBoundProfilePackage piece other than the first, with no BPP
        under way, is answered 6A88, as a real card did; so is a first piece
        with no download session to answer a ProfileInstallationResult for.
        """
        self.refresh_pending = False
        if request[:2] == b"\xbf\x36" or request[:1] in _BPP_PIECES:
            if self.download.session is None if request[:2] == b"\xbf\x36" else self.download.loading is None:
                raise CardStatus(0x6A88)
            return self.load_bound_profile_package(request)
        try:
            request_type, response_type, function = self._functions[request[:2]]
        except KeyError:
            raise CardStatus(0x6A81) from None  # function not supported
        try:
            value = codec.decode(request_type, request)
        except LpaError:
            raise CardStatus(0x6A80) from None
        return codec.encode(response_type, function(value))
