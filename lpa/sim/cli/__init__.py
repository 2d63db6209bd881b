"""`lpa sim`: manage the simulated eUICC and run its test peers.

One module per group of commands: :mod:`.card` (reset, identity,
add-profile, quirks: the card's state), :mod:`.bridges` (serve, modem:
where the card is put) and :mod:`.servers` (smdpp, smds: the test
servers), with :mod:`.statefile` for the state file they work on. Only
click is imported here; each command imports what it needs.
"""
from __future__ import annotations

import click

from . import bridges, card, servers


@click.group(short_help="The simulated eUICC (use it with `lpa --sim ...`, or `lpa sim serve` for PC/SC).")
def sim() -> None:
    """The simulated eUICC (use it with `lpa --sim ...`, or `lpa sim serve` for PC/SC)."""


for command in (*card.COMMANDS, *bridges.COMMANDS, *servers.COMMANDS):
    sim.add_command(command)
