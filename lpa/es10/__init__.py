"""ES10a/b/c: the functions of the eUICC's ISD-R (SGP.22 5.7), one per function, split by interface.

Each function takes an open ISD-R :class:`~lpa.apdu.Channel`, sends one STORE DATA command
sequence and returns a typed result. A result code other than ok raises
:class:`~lpa.errors.ResultError` with a message that says what happened.

Each interface's module is imported when one of its names is first used (PEP 562): `lpa list`
needs ES10c only, not the result types of downloads and notifications.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .es10a import (
        ConfiguredAddresses,
        get_euicc_configured_addresses,
        set_default_dp_address,
    )
    from .es10b import (
        NotificationMetadata,
        PendingNotification,
        EuiccInfo1,
        EuiccInfo2,
        PolicyRule,
        get_euicc_info1,
        get_euicc_info2,
        get_euicc_challenge,
        get_rat,
        AUTHENTICATE_ERRORS,
        DOWNLOAD_ERRORS,
        authenticate_server,
        prepare_download,
        BPP_COMMANDS,
        BPP_ERRORS,
        InstallationResult,
        load_bound_profile_package,
        installation_result,
        CANCEL_REASONS,
        cancel_session,
        list_notification,
        metadata_from_asn1,
        retrieve_notifications_list,
        pending_metadata,
        remove_notification_from_list,
    )
    from .es10c import (
        LIST_FIELDS,
        Profile,
        get_eid,
        get_profiles_info,
        profile_from_asn1,
        enable_profile,
        disable_profile,
        delete_profile,
        set_nickname,
        RESET_OPTIONS,
        euicc_memory_reset,
    )

#: The names of each interface (a literal list for the linters), and where each lives.
__all__ = ["ConfiguredAddresses", "get_euicc_configured_addresses", "set_default_dp_address"]
_WHERE = dict.fromkeys(__all__, "es10a")
__all__ += ["NotificationMetadata", "PendingNotification", "EuiccInfo1", "EuiccInfo2", "PolicyRule", "get_euicc_info1",
            "get_euicc_info2", "get_euicc_challenge", "get_rat", "AUTHENTICATE_ERRORS", "DOWNLOAD_ERRORS",
            "authenticate_server", "prepare_download", "BPP_COMMANDS", "BPP_ERRORS", "InstallationResult",
            "load_bound_profile_package", "installation_result", "CANCEL_REASONS", "cancel_session",
            "list_notification", "metadata_from_asn1", "retrieve_notifications_list", "pending_metadata",
            "remove_notification_from_list"]
_WHERE.update(dict.fromkeys(__all__[len(_WHERE):], "es10b"))
__all__ += ["LIST_FIELDS", "Profile", "get_eid", "get_profiles_info", "profile_from_asn1", "enable_profile",
            "disable_profile", "delete_profile", "set_nickname", "RESET_OPTIONS", "euicc_memory_reset"]
_WHERE.update(dict.fromkeys(__all__[len(_WHERE):], "es10c"))


def __getattr__(name: str) -> Any:
    from .. import lazy_attribute

    return lazy_attribute(globals(), _WHERE, name)
