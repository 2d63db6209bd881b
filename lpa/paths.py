"""Where lpa finds its data files and keeps its cache and state."""
from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder of bundled data ``name`` ("asn1" or "certs").

    In a source checkout (or an editable install) it is the top-level folder
    of the repository; in a wheel it is installed as the package lpa.data.
    """
    for candidate in (_HERE / "data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"lpa data folder {name!r} is missing from the installation")


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/lpa (default ~/.cache/lpa)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lpa"


def state_dir() -> Path:
    """$XDG_STATE_HOME/lpa (default ~/.local/state/lpa)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "lpa"
