"""The `lpa` command: parse, call an operation of lpa.euicc, print a table or JSON.

One module per command group: :mod:`.base` (the group, global options,
errors and exit codes), :mod:`.chip` (readers, info), :mod:`.profiles`
(list, enable, disable, delete, nickname), :mod:`.notifications`; the
simulated eUICC's `lpa sim` lives with it in :mod:`lpa.sim.cli`. Each
command imports what it needs when it runs.
"""
from . import chip, notifications, profiles
from .base import main
from ..sim.cli import sim

main.add_command(chip.readers)
main.add_command(chip.info)
for command in profiles.COMMANDS:
    main.add_command(command)
main.add_command(notifications.notifications)
main.add_command(sim)

__all__ = ["main"]
