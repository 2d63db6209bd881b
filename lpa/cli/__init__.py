"""The `lpa` command: parse, call an operation of lpa.euicc, print a table or JSON.

One module per command group: :mod:`.base` (the group, global options,
errors and exit codes), :mod:`.chip` (readers, info), :mod:`.profiles`
(list, enable, disable, delete, nickname), :mod:`.reset` (memory-reset),
:mod:`.download`, :mod:`.notifications`, :mod:`.doctor`; the simulated eUICC's `lpa sim`
is a plug-in's (:mod:`lpa.plugins`). Each command imports what it needs
when it runs.
"""
from . import chip, doctor, download, notifications, profiles, reset
from .base import main

main.add_command(chip.readers)
main.add_command(chip.info)
main.add_command(chip.default_smdp)
for command in profiles.COMMANDS:
    main.add_command(command)
main.add_command(reset.memory_reset)
main.add_command(download.download)
main.add_command(download.discover)
main.add_command(notifications.notifications)
main.add_command(doctor.doctor)

__all__ = ["main", "run"]


def run() -> None:
    """The `lpa` console command: run :func:`main`, then end the process at once.

    Interpreter shutdown (freeing every module and the compiled ASN.1
    types) costs a short command a third of its CPU time; nothing lpa
    holds needs it: the card and reader are released, the recording and
    the simulator's state written and closed, before :func:`main` returns.
    Only the standard streams are flushed. Library and test use call
    :func:`main`, which ends normally.
    """
    import os
    import sys

    try:
        main(prog_name="lpa")
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or 1
    sys.stderr.flush()
    os._exit(code)
