"""The `lpa` command: parse, call an operation of lpa.euicc, print a table or JSON.

One module per command group: :mod:`.base` (the group, global options,
errors and exit codes), :mod:`.chip` (readers, info), :mod:`.profiles`
(list, enable, disable, delete, nickname), :mod:`.reset` (memory-reset),
:mod:`.download`, :mod:`.notifications`, :mod:`.doctor`; the simulated eUICC's `lpa sim`
is a plug-in's (:mod:`lpa.plugins`). Each command imports what it needs
when it runs.

This module imports nothing itself: :func:`run` takes charge of Ctrl-C
before click and the commands are imported, ``main`` (the group) is
imported when first asked for, and each command's module when the command
is (:data:`COMMANDS`).
"""
from __future__ import annotations

from typing import Any

__all__ = ["main", "run"]

#: Exit code after Ctrl-C (128 + SIGINT), as shells use.
INTERRUPTED = 130
#: The command groups that serve until stopped (`lpa web`, `lpa sim serve`, its servers and modems): with
#: one of these words on the command line the garbage collector stays on.
SERVING = frozenset({"web", "sim"})


#: lpa's own commands -> the module of this package that defines them (imported when the command runs,
#: or for `lpa --help`'s listing): `lpa list` does not import the download's or notifications' commands.
COMMANDS = {"readers": "chip", "info": "chip", "default-smdp": "chip", "list": "profiles", "enable": "profiles",
            "disable": "profiles", "delete": "profiles", "nickname": "profiles", "memory-reset": "reset",
            "download": "download", "discover": "download", "notifications": "notifications", "doctor": "doctor"}


def __getattr__(name: str) -> Any:
    if name != "main":
        raise AttributeError(f"module 'lpa.cli' has no attribute {name!r}")
    from .base import main

    globals()["main"] = main
    return main


def run() -> None:
    """The `lpa` console command: run ``main``, then end the process at once.

    Ctrl-C is an outcome from the first line on: a SIGINT while the
    commands are still being imported ends as one line and exit 130 (the
    interpreter's own start and its console-script wrapper, a few
    milliseconds, come before any lpa code and are Python's), and
    one Python could only report as "Exception ignored" (raised inside a
    finalizer) is raised again in the main thread. Interpreter shutdown
    (freeing every module and the compiled ASN.1 types) costs a short
    command a third of its CPU time; nothing lpa holds needs it: the card
    and reader are released, the recording and the simulator's state
    written and closed, before ``main`` returns. Only the standard streams
    are flushed. Library and test use call ``main``, which ends normally.

    For the same reason the cyclic garbage collector is off for every
    command but those that serve (:data:`SERVING`): the other commands do
    one bounded piece of work and end, and the collections that start-up's
    imports trigger only walk objects that live until then (about 5 ms of
    `lpa list`'s CPU time, README, Performance).
    """
    import gc
    import os
    import signal
    import sys

    if not SERVING & set(sys.argv[1:]):
        gc.disable()
    sys.unraisablehook = _interrupt_again(sys.unraisablehook)
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job's ignored SIGINT stays so
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # one held back until now arrives here
        from . import main

        main(prog_name="lpa")
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except KeyboardInterrupt:  # before the group took charge: while importing
        sys.unraisablehook = lambda unraisable: None  # half-imported modules' finalizers: not the user's
        if "--json" in sys.argv:
            sys.stdout.write('{"ok": false, "error": {"type": "Interrupted", "code": 130, "message": "interrupted"}}\n')
        else:
            sys.stderr.write("lpa: interrupted\n")
        code = INTERRUPTED
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or 1
    except KeyboardInterrupt:
        code = INTERRUPTED
    sys.stderr.flush()
    os._exit(code)


def _interrupt_again(default: Any) -> Any:
    """An unraisable hook that raises a swallowed KeyboardInterrupt again in the main thread, silently."""
    import _thread

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _thread.interrupt_main()
        else:
            default(unraisable)

    return hook
