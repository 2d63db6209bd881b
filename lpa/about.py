"""What lpa is: its version, the SGP.22 version it implements, and the versions of what it runs on.

Read only for `lpa --version` and bug reports: :mod:`importlib.metadata` is
slow to import, so nothing here is imported when a command starts.
"""
from __future__ import annotations

import platform

from . import SGP22_VERSION, __version__

#: The distributions whose versions a bug report needs (import name in brackets where it differs).
DEPENDENCIES = ("pyscard", "asn1tools", "cryptography", "click", "requests", "pyserial")


def versions() -> dict[str, str | None]:
    """lpa's version, Python's, SGP.22's, and each dependency's (None when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"lpa": __version__, "SGP.22": SGP22_VERSION,
                                    "Python": f"{platform.python_version()} ({platform.python_implementation()})"}
    for name in DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def version_text() -> str:
    """`lpa --version`: the first line as tools print it, then one line per part."""
    parts = versions()
    lines = [f"lpa {parts['lpa']} (GSMA SGP.22 v{parts['SGP.22']}, ES10, ES9+ and ES11)"]
    lines += [f"  {name}: {value or 'not installed'}" for name, value in parts.items() if name not in ("lpa", "SGP.22")]
    return "\n".join(lines)
