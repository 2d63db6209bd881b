"""`lpa doctor`: check what lpa needs (pcscd, readers, modems, card, trust, clock, servers); say what to do."""
from __future__ import annotations

import click

from .base import out
from .terminal import safe


@click.command()
@click.option("--online", is_flag=True,
              help="Also resolve and reach the card's default SM-DP+, root SM-DS and notification addresses, and "
              "compare the clock with a server's (nothing leaves the machine without it).")
@click.pass_context
def doctor(ctx: click.Context, online: bool) -> None:
    """Check the PC/SC service, readers, modems, the card, trust anchors and the clock; say what to do.

    One line per finding: ok, warn or FAIL, what was found and what to do.
    Exits 0 when lpa can work, else with the exit code of the first FAIL.
    """
    from ..apdu import isdr_aids
    from ..doctor import diagnose
    from ..errors import LpaError

    settings = ctx.obj
    note = (lambda message: click.echo(f"# {safe(message)}", err=True)) if settings.verbose else (lambda m: None)
    report = diagnose(settings.device, isdr_aids(settings.aid), online=online, mss=settings.mss,
                      logical_channel=settings.logical_channel, ca_files=settings.ca_files, note=note)
    first = next((f for f in report.findings if f.status == "blocker"), None)
    error = None
    if first is not None:
        error = LpaError(f"{first.check}: {first.message}")
        error.exit_code = first.exit_code

    def human() -> None:
        for finding in report.findings:
            click.echo(safe(finding.line()))

    out(ctx, report.to_json(), human, error, told=True)
    ctx.exit(report.exit_code)


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [doctor]
