"""The simulator and `lpa web`: the parts of the lpa package the CLI reaches only by name.

lpa.sim (the simulated eUICC, its bridges and the test servers) is a
plug-in: it uses only the shared core of the LPA side (codec, encoding,
errors, paths), and no LPA module imports it (import-linter's contracts in
pyproject.toml forbid it). `lpa --sim` and `lpa sim` find it by the module
names below, loaded only when used; an installation without lpa.sim says so.
`lpa web` (:mod:`lpa.web`) is a front-end beside the CLI, not below it: the
CLI finds its command here too.
"""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import InputError

#: The in-process bridge to the simulated eUICC: ``open_device(argument, aids, note)`` (the ``sim`` device).
SIMULATED_EUICC = "lpa.sim.bridges.inprocess"
#: Command groups of `lpa` that plug-ins add: name -> the module holding the click group of that name.
COMMANDS = {"sim": "lpa.sim.cli", "web": "lpa.web.command"}
#: Their line in `lpa --help`, which lists them without importing them (a test checks each against the command).
SHORT_HELP = {"sim": "The simulated eUICC (use it with `lpa --sim ...`, or `lpa sim serve` for PC/SC).",
              "web": "Serve a page in the browser to manage the eUICC (needs lpa[web])."}


def load(name: str) -> ModuleType:
    """The plug-in module ``name``; InputError when this installation lacks it."""
    try:
        return import_module(name)
    except ModuleNotFoundError as error:
        if error.name is None or not name.startswith(error.name):
            raise
        what = "the web pages" if name.startswith("lpa.web") else "simulator"
        raise InputError(f"this installation of lpa has no {what} ({name} is missing)") from None
