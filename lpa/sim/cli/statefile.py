"""The state file an `lpa sim` command works on: the one ``--sim-state`` names, or the default."""
from __future__ import annotations

from typing import Any

import click


def open_state_file(ctx: click.Context, lock: bool = True) -> Any:
    """The state file, locked until the command ends (its load, change and save are one step)."""
    from ..card.state import StateFile

    state_file = StateFile(ctx.find_root().obj.sim_state)
    if lock:
        ctx.with_resource(state_file.locked())
    return state_file


def load_state(ctx: click.Context) -> tuple[Any, Any]:
    state_file = open_state_file(ctx)
    try:
        return state_file, state_file.load()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
