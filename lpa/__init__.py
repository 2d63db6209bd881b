"""lpa: an eSIM Local Profile Assistant (GSMA SGP.22) for eUICCs in PC/SC readers.

The library API: :func:`open_euicc` gives an :class:`Euicc` (a context
manager) whose methods are what the `lpa` command does. See README.md.
"""
from .errors import (
    CardError,
    InputError,
    LpaError,
    ProtocolError,
    ResultError,
    ServerError,
    StatusWordError,
    TransportError,
)
from .es10 import NotificationMetadata, Profile
from .euicc import Delivery, Euicc, EuiccInfo, NotifySettings, OperationResult, ProcessResult, open_euicc

__all__ = [
    "open_euicc", "Euicc", "EuiccInfo", "NotifySettings", "OperationResult", "ProcessResult", "Delivery",
    "Profile", "NotificationMetadata",
    "LpaError", "InputError", "CardError", "StatusWordError", "ResultError", "ProtocolError", "TransportError",
    "ServerError",
]
