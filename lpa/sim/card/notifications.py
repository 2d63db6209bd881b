"""The simulated ISD-R's notifications: recorded and signed once when the operation happens (SGP.22
5.7.10), then listed, retrieved and removed by the ES10b functions ListNotification,
RetrieveNotificationsList and RemoveNotificationFromList (5.7.9-5.7.11)."""
from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from ... import codec
from ...encoding import iccid_to_bytes, operation_bits, operation_name
from ..pki.testpki import TEST_SMDP_OID
from .profile_elements import SIMA_OK
from .state import SimNotification, SimProfile, SimState

if TYPE_CHECKING:
    from ..pki.identity import Identity


class Notifications:
    """The pending notifications, a part of :class:`~lpa.sim.card.isdr.Isdr`."""

    state: SimState
    changed: bool

    if TYPE_CHECKING:
        @property
        def identity(self) -> Identity:
            """The eUICC's identity (read-only: :attr:`.Isdr.identity` loads it when first used)."""

    def _notify(self, profile: SimProfile, operation: str) -> None:
        notification = self.state.add_notification(profile, operation)
        if notification is not None:
            self.sign_notification(notification)
        self.changed = True

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
                                                  "simaResponse": SIMA_OK}),
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

    def remove_notification_from_list(self, request: dict) -> dict:
        seq = request["seqNumber"]
        before = len(self.state.notifications)
        self.state.notifications = [n for n in self.state.notifications if n.seq_number != seq]
        if len(self.state.notifications) == before:
            return {"deleteNotificationStatus": 1}
        self.changed = True
        return {"deleteNotificationStatus": 0}
