"""lpa: an eSIM Local Profile Assistant (GSMA SGP.22) for eUICCs in PC/SC readers.

The library API: :func:`open_euicc` gives an :class:`Euicc` (a context
manager) whose methods are what the `lpa` command does. See README.md.

The names below are imported when first used (PEP 562), so that the `lpa`
command, which lives in this package, starts without loading the library
parts a command does not need.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

#: lpa's version, the one source (pyproject.toml reads it; CHANGELOG.md says what each brought).
__version__ = "0.2.0"
#: The SGP.22 version lpa implements (the X-Admin-Protocol it sends is gsma/rsp/v2.2.0, SGP.22 6.5.1).
SGP22_VERSION = "2.2"

_WHERE = {
    "open_euicc": "euicc", "Euicc": "euicc", "NotifySettings": "session", "EuiccInfo": "operations.info",
    "OperationResult": "operations.profiles", "ProcessResult": "operations.notifications",
    "Delivery": "operations.notifications",
    "Profile": "es10", "NotificationMetadata": "es10",
    "LpaError": "errors", "InputError": "errors", "CardError": "errors", "StatusWordError": "errors",
    "ResultError": "errors", "ProtocolError": "errors", "TransportError": "errors", "ServerError": "errors",
}

__all__ = list(_WHERE)


def lazy_attribute(namespace: dict[str, Any], where: dict[str, str], name: str) -> Any:
    """A package's ``name`` (PEP 562), imported from its module ``where[name]`` (relative to the package
    whose globals are ``namespace``) when first used, then kept there: lpa's and :mod:`lpa.es10`'s."""
    if name not in where:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(import_module(f".{where[name]}", namespace["__name__"]), name)
    namespace[name] = value
    return value


def __getattr__(name: str) -> Any:
    return lazy_attribute(globals(), _WHERE, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
