"""The simulator: the one part of the lpa package the LPA side reaches only by name.

lpa.sim (the simulated eUICC, its bridges and the test servers) is a
plug-in: it uses only the shared core of the LPA side (codec, encoding,
errors, paths), and no LPA module imports it (import-linter's contracts in
pyproject.toml forbid it). `lpa --sim` and `lpa sim` find it by the module
names below, loaded only when used; an installation without lpa.sim says so.
"""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import InputError

#: The in-process bridge to the simulated eUICC: ``open_device(argument, aids, note)`` (the ``sim`` device).
SIMULATED_EUICC = "lpa.sim.bridges.inprocess"
#: Command groups of `lpa` that plug-ins add: name -> the module holding the click group of that name.
COMMANDS = {"sim": "lpa.sim.cli"}


def load(name: str) -> ModuleType:
    """The plug-in module ``name``; InputError when this installation lacks it."""
    try:
        return import_module(name)
    except ModuleNotFoundError as error:
        if error.name is None or not name.startswith(error.name):
            raise
        raise InputError(f"this installation of lpa has no simulator ({name} is missing)") from None
