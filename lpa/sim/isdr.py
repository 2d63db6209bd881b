"""The simulated ISD-R: ES10a/b/c functions on a :class:`~lpa.sim.state.SimState`.

:meth:`Isdr.handle` takes the DER of one ES10 request (as reassembled from
STORE DATA blocks) and returns the DER of the response, enforcing the rules
of SGP.22 3.2 and 5.7: at most one enabled profile, delete only when
disabled, profile policy rules PPR1 and PPR2, no test profile replacing an
operational one, and a pending notification for each operation the
profile's notificationConfigurationInfo lists.
"""
from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any, Callable

from .. import codec
from ..encoding import (
    ICON_TYPES,
    OPERATIONS,
    PROFILE_CLASSES,
    PPR_BITS,
    PROFILE_INFO_TAGS,
    RESET_OPTIONS,
    RSP_CAPABILITY,
    UICC_CAPABILITY,
    bits_to_names,
    iccid_from_bytes,
    iccid_to_bytes,
    names_to_bits,
    operation_bits,
    operation_name,
    operation_names,
    simple_tlv_encode,
    split_tags,
)
from ..errors import LpaError
from .download import (
    CONFIGURE_ISDP,
    LOAD_PROFILE_ELEMENTS,
    REASON_ICCID_EXISTS,
    REASON_NO_MEMORY,
    REASON_STRUCTURE,
    SIMA_OK,
    STORE_METADATA,
    BppFailure,
    DownloadState,
    authenticate_server,
    load_piece,
    prepare_download,
    start_loading,
)
from .state import SimNotification, SimProfile, SimState
from .testpki import TEST_SMDP_OID

if TYPE_CHECKING:
    from .identity import Identity

#: simaResponse of a successful install: one EUICCResponse, PEStatus ok.
_SIMA_OK = bytes.fromhex("3007A0053003800100")


#: First bytes of the LoadBoundProfilePackage pieces after the first (download-notes 2).
_BPP_PIECES = {bytes([tag]) for tag in (0xA0, 0xA1, 0xA2, 0xA3, 0x86, 0x87, 0x88)}


class CardStatus(Exception):
    """Answer the command with this status word instead of data."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


class Isdr:
    """The ISD-R of the simulated eUICC."""

    def __init__(self, state: SimState, identity: Callable[[], Identity] | None = None,
                 download: DownloadState | None = None) -> None:
        """``identity`` loads the eUICC's certificates and key (default: the one the state names);
        it is called when first needed, so that commands that sign nothing do not load cryptography.
        ``download`` is the card's download state (challenge, session), kept by the caller across
        reloads of the state file."""
        self.state = state
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
        from .identity import Identity

        return Identity.from_state(self.state.identity)

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = self._load_identity()
        return self._identity

    def handle(self, request: bytes) -> bytes:
        """Run one ES10 function; raise CardStatus for what a card answers with a status word."""
        self.refresh_pending = False
        if request[:2] == b"\xbf\x36" or request[:1] in _BPP_PIECES:
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

    # -- helpers -----------------------------------------------------------------

    def _find(self, choice: tuple[str, bytes]) -> SimProfile | None:
        kind, value = choice
        if kind == "iccid":
            return self.state.find(iccid=iccid_from_bytes(value))
        return self.state.find(isdp_aid=value.hex().upper())

    def _notify(self, profile: SimProfile, operation: str) -> None:
        notification = self.state.add_notification(profile, operation)
        if notification is not None:
            self.sign_notification(notification)
        self.changed = True

    # -- ES10c -------------------------------------------------------------------

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

    # -- ES10a -------------------------------------------------------------------

    def get_euicc_configured_addresses(self, request: dict) -> dict:
        answer = {"rootDsAddress": self.state.root_ds_address}
        if self.state.default_dp_address:
            answer["defaultDpAddress"] = self.state.default_dp_address
        return answer

    def set_default_dp_address(self, request: dict) -> dict:
        """Any UTF-8 text is stored, as the XeSIM capture shows a real card doing (answers.json)."""
        self.state.default_dp_address = request["defaultDpAddress"]
        self.changed = True
        return {"setDefaultDpAddressResult": 0}

    # -- ES10b -------------------------------------------------------------------

    def trusted_cis(self) -> list[Any]:
        """The CI certificates SM-DP+ certificates may chain to: the test CI and those the state adds."""
        from cryptography import x509

        from .testpki import PKI_DIR

        pems = [(PKI_DIR / "ci-cert.pem").read_text(), *self.state.trusted_cis]
        return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]

    def _verification_key_ids(self) -> list[bytes]:
        from cryptography import x509

        ids = [c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier
               for c in self.trusted_cis()]
        return list(dict.fromkeys([self.identity.ci_key_id, *ids]))

    def get_euicc_info1(self, request: dict) -> dict:
        return {"svn": b"\x02\x02\x00", "euiccCiPKIdListForVerification": self._verification_key_ids(),
                "euiccCiPKIdListForSigning": [self.identity.ci_key_id]}

    def get_euicc_info2(self, request: dict) -> dict:
        ci = [self.identity.ci_key_id]
        free = self.state.free_memory()
        return {
            "profileVersion": b"\x02\x03\x01",
            "svn": b"\x02\x02\x00",
            "euiccFirmwareVer": b"\x01\x00\x00",
            "extCardResource": simple_tlv_encode({
                0x81: bytes([len(self.state.profiles)]),
                0x82: free.to_bytes(4, "big"),
                0x83: (16_384).to_bytes(2, "big"),
            }),
            "uiccCapability": names_to_bits(
                ["usimSupport", "isimSupport", "akaMilenage", "javacard", "berTlvFileSupport", "getIdentity"],
                UICC_CAPABILITY,
            ),
            "ts102241Version": b"\x09\x02\x00",
            "globalplatformVersion": b"\x02\x03\x00",
            "rspCapability": names_to_bits(["additionalProfile", "testProfileSupport"], RSP_CAPABILITY),
            "euiccCiPKIdListForVerification": self._verification_key_ids(),
            "euiccCiPKIdListForSigning": ci,
            "euiccCategory": 1,
            "ppVersion": b"\x01\x00\x00",
            "sasAcreditationNumber": "LPA-SIMULATED-0001",
            # the SGP.26 test card's sample values (answers.json)
            "certificationDataObject": {"platformLabel": "1.2.840.1234567/myPlatformLabel",
                                        "discoveryBaseURL": "https://mycompany.com/myDLOARegistrar"},
        }

    def list_notification(self, request: dict) -> tuple:
        wanted = request.get("profileManagementOperation")
        items = [n for n in self.state.notifications
                 if wanted is None or operation_name(wanted) == n.operation]
        return ("notificationMetadataList", [self._metadata(n) for n in items])

    def _metadata(self, notification: SimNotification) -> dict:
        metadata = {
            "seqNumber": notification.seq_number,
            "profileManagementOperation": operation_bits(notification.operation),
            "notificationAddress": notification.address,
        }
        if notification.iccid:  # an install that failed before the metadata was read has none
            metadata["iccid"] = iccid_to_bytes(notification.iccid)
        return metadata

    def retrieve_notifications_list(self, request: dict) -> tuple:
        items = self.state.notifications
        criteria = request.get("searchCriteria")
        if criteria is not None:
            kind, value = criteria
            if kind == "seqNumber":
                items = [n for n in items if n.seq_number == value]
                if not items:
                    return ("notificationsListResultError", 1)  # noResultAvailable
            else:
                items = [n for n in items if n.operation == operation_name(value)]
        if any(not n.signed for n in items):  # recorded by an lpa before notifications were signed at once
            for notification in items:
                if not notification.signed:
                    self.sign_notification(notification)
            self.changed = True
        return ("notificationList", [base64.b64decode(n.signed) for n in items])

    def sign_notification(self, notification: SimNotification) -> None:
        """Make the PendingNotification DER, signed with the eUICC key (SGP.22 5.7.10), once."""
        notification.signed = base64.b64encode(self._signed_notification(notification)).decode()

    def _signed_notification(self, notification: SimNotification) -> bytes:
        if notification.operation == "install":
            data = codec.encode("ProfileInstallationResultData", {
                "transactionId": bytes.fromhex(notification.transaction_id or os.urandom(16).hex()),
                "notificationMetadata": self._metadata(notification),
                "smdpOid": TEST_SMDP_OID,
                "finalResult": ("successResult", {"aid": bytes.fromhex(notification.isdp_aid),
                                                  "simaResponse": _SIMA_OK}),
            })
            return codec.encode("ProfileInstallationResultView",
                                {"profileInstallationResultData": data, "euiccSignPIR": self.identity.sign(data)})
        tbs = codec.encode("NotificationMetadata", self._metadata(notification))
        return codec.encode("OtherSignedNotificationView", {
            "tbsOtherNotification": tbs,
            "euiccNotificationSignature": self.identity.sign(tbs),
            "euiccCertificate": self.identity.der("euicc"),
            "eumCertificate": self.identity.der("eum"),
        })

    def get_euicc_challenge(self, request: dict) -> dict:
        """ES10b.GetEUICCChallenge (SGP.22 5.7.7): 16 fresh random bytes; only the latest counts."""
        return {"euiccChallenge": self.download.new_challenge()}

    def authenticate_server(self, request: dict) -> tuple:
        """ES10b.AuthenticateServer (SGP.22 5.7.13), see :mod:`lpa.sim.download`."""
        return authenticate_server(self.download, request, self.trusted_cis(), self.identity.ci_key_id,
                                   codec.encode("EUICCInfo2", self.get_euicc_info2({})), self.identity)

    def get_rat(self, request: dict) -> dict:
        """ES10b.GetRAT (SGP.22 5.7.22): any operator may set PPR1 and PPR2, without consent.

        The same table the 9esim (Kigen) capture shows, and the one that
        lets this card hold the PPR-protected profiles it is seeded with.
        """
        return {"rat": [{
            "pprIds": names_to_bits(["ppr1", "ppr2"], PPR_BITS),
            "allowedOperators": [{"mccMnc": b"\xee\xee\xee", "gid1": b"", "gid2": b""}],
            "pprFlags": (b"", 0),
        }]}

    def prepare_download(self, request: dict) -> tuple:
        """ES10b.PrepareDownload (SGP.22 5.7.5), see :mod:`lpa.sim.download`."""
        return prepare_download(self.download, request, self.identity)

    def load_bound_profile_package(self, piece: bytes) -> bytes:
        """ES10b.LoadBoundProfilePackage (SGP.22 5.7.6): one piece of the BPP (download-notes 2).

        Every piece but the last answers nothing (9000); the last, or the
        first that fails, answers the signed ProfileInstallationResult, which
        is also recorded as the install notification. A piece with no BPP
        under way is answered 6A88, as a real card did.
        """
        if piece[:2] != b"\xbf\x36" and self.download.loading is None:
            raise CardStatus(0x6A88)
        try:
            if piece[:2] == b"\xbf\x36":
                start_loading(self.download, piece, bytes.fromhex(self.state.eid))
                return b""
            parts = load_piece(self.download, piece)
            if parts is None:
                return b""
            profile = self._install(parts)
        except BppFailure as failure:
            return self._installation_result(None, failure)
        except LpaError:  # a part that does not decode
            command = CONFIGURE_ISDP if self.download.loading and self.download.loading.container == 0xA0 else \
                STORE_METADATA
            return self._installation_result(None, BppFailure(command, REASON_STRUCTURE))
        return self._installation_result(profile, None)

    def _install(self, parts: dict[int, bytes]) -> SimProfile:
        """Create the profile a complete BPP describes (disabled), or raise BppFailure."""
        codec.decode("ConfigureISDPRequest", parts.get(0xA0, b""))
        metadata = codec.decode("StoreMetadataRequest", parts.get(0xA1, b""))
        iccid = iccid_from_bytes(bytes(metadata["iccid"]))
        if self.state.find(iccid=iccid):
            raise BppFailure(STORE_METADATA, REASON_ICCID_EXISTS)
        package = parts.get(0xA3, b"")
        if len(package) > self.state.free_memory():
            raise BppFailure(LOAD_PROFILE_ELEMENTS, REASON_NO_MEMORY)
        notify: dict[str, str] = {}
        for entry in metadata.get("notificationConfigurationInfo", []):
            for operation in operation_names(entry["profileManagementOperation"]):
                notify[operation] = entry["notificationAddress"]
        session = self.download.session
        assert session is not None
        profile = SimProfile(
            iccid=iccid, isdp_aid=self.state.allocate_isdp_aid(), provider=metadata["serviceProviderName"],
            name=metadata["profileName"], profile_class=_class_name(metadata.get("profileClass", "operational")),
            icon_type=ICON_TYPES[metadata["iconType"]] if "icon" in metadata else None,
            icon=base64.b64encode(bytes(metadata["icon"])).decode() if "icon" in metadata else None,
            notify=notify, smdp_address=session.server_address,
            policy_rules=bits_to_names(metadata["profilePolicyRules"], PPR_BITS) if "profilePolicyRules" in metadata
            else [], size=len(package))
        self.state.profiles.append(profile)
        return profile

    def _installation_result(self, profile: SimProfile | None, failure: BppFailure | None) -> bytes:
        """The signed ProfileInstallationResult (download-notes 6), recorded as the install notification."""
        session = self.download.session
        assert session is not None
        notification = SimNotification(self.state.next_seq_number, "install", session.server_address,
                                        profile.iccid if profile else "", profile.isdp_aid if profile else "",
                                        session.transaction_id.hex())
        self.state.next_seq_number += 1
        if profile is not None:
            result: tuple = ("successResult", {"aid": bytes.fromhex(profile.isdp_aid), "simaResponse": SIMA_OK})
        else:
            assert failure is not None
            result = ("errorResult", {"bppCommandId": failure.command, "errorReason": failure.reason})
        data = codec.encode("ProfileInstallationResultData", {
            "transactionId": session.transaction_id, "notificationMetadata": self._metadata(notification),
            "smdpOid": session.smdp_oid or TEST_SMDP_OID, "finalResult": result})
        pir = codec.encode("ProfileInstallationResultView",
                           {"profileInstallationResultData": data, "euiccSignPIR": self.identity.sign(data)})
        notification.signed = base64.b64encode(pir).decode()
        self.state.notifications.append(notification)
        self.download.session = self.download.loading = None  # the session is over, whatever the result
        self.changed = True
        return pir

    def cancel_session(self, request: dict) -> tuple:
        """ES10b.CancelSession (SGP.22 5.7.14): end the download session with that transaction ID.

        Answers the signed euiccCancelSessionSigned (transaction ID, the
        SM-DP+ OID of its CERT.DPauth, the reason); invalidTransactionId
        when no such session is open.
        """
        session = self.download.session
        if session is None or bytes(request["transactionId"]) != session.transaction_id:
            return ("cancelSessionResponseError", 5)
        signed = {"transactionId": session.transaction_id, "smdpOid": session.smdp_oid or TEST_SMDP_OID,
                  "reason": request["reason"]}
        signature = self.identity.sign(codec.encode("EuiccCancelSessionSigned", signed))
        self.download.session = self.download.loading = None
        return ("cancelSessionResponseOk", {"euiccCancelSessionSigned": signed,
                                            "euiccCancelSessionSignature": signature})

    def remove_notification_from_list(self, request: dict) -> dict:
        seq = request["seqNumber"]
        before = len(self.state.notifications)
        self.state.notifications = [n for n in self.state.notifications if n.seq_number != seq]
        if len(self.state.notifications) == before:
            return {"deleteNotificationStatus": 1}
        self.changed = True
        return {"deleteNotificationStatus": 0}


def _class_name(value: int | str) -> str:
    """profileClass as decoded: a number, or the DEFAULT's name (operational) when the SM-DP+ left it out."""
    return PROFILE_CLASSES[value] if isinstance(value, int) else value
