"""`lpa notifications list|process|remove`: the eUICC's pending notifications for the SM-DP+."""
from __future__ import annotations

import click

from ..errors import InputError, ServerError
from . import base
from .base import INTERRUPTED, LpaGroup, out
from .terminal import progress_bar, safe, table


@click.group(cls=LpaGroup)
def notifications() -> None:
    """The eUICC's pending notifications for the operators' SM-DP+."""


@notifications.command("list")
@click.pass_context
def notifications_list(ctx: click.Context) -> None:
    """List the pending notifications."""
    with ctx.obj.open() as euicc:
        pending = euicc.notifications()

    def human() -> None:
        if not pending:
            click.echo("no pending notifications")
            return
        table(["SEQ", "OPERATION", "ICCID", "ADDRESS"], [[n.seq_number, n.operation, n.iccid, n.address]
                                                        for n in pending])

    out(ctx, [n.to_json() for n in pending], human)


@notifications.command("process")
@click.argument("seq_numbers", metavar="[SEQ]...", nargs=-1, type=click.IntRange(0))
@click.option("--keep", is_flag=True, help="Send, but leave them on the eUICC.")
@click.pass_context
def notifications_process(ctx: click.Context, seq_numbers: tuple[int, ...], keep: bool) -> None:
    """Send pending notifications (default: all) and remove each one the SM-DP+ acknowledged.

    Exits with 5 when one could not be delivered (it stays on the eUICC).
    """
    if not ctx.obj.notify:
        raise InputError("a recording (--replay) holds no SM-DP+ to send notifications to")
    progress = progress_bar("sending", enabled=not ctx.obj.json)

    with ctx.obj.open() as euicc:
        result = euicc.process_notifications(seq_numbers or None, keep=keep, progress=progress)
    data = result.to_json()

    def human() -> None:
        for d in result.deliveries:
            n = d.notification
            state = ("delivered" + (", removed" if d.removed else f", kept ({d.error or '--keep'})")) \
                if d.delivered else f"failed: {d.error}"
            click.echo(safe(f"{n.seq_number} {n.operation} {n.iccid or ''} -> {n.address}: {state}"))
        click.echo(f"{data['delivered']} delivered, {data['failed']} failed, {data['remaining']} remaining on the eUICC")

    failed = [d for d in result.deliveries if not d.delivered]
    error = ServerError(", ".join(sorted({d.notification.address for d in failed})),
                        f"{len(failed)} of {len(result.deliveries)} notification(s) not delivered") if failed else None
    out(ctx, data, human, error)
    if result.interrupted:
        ctx.exit(INTERRUPTED)
    if failed:
        ctx.exit(5)


@notifications.command("remove")
@click.argument("seq_numbers", metavar="SEQ...", nargs=-1, required=True, type=click.IntRange(0))
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def notifications_remove(ctx: click.Context, seq_numbers: tuple[int, ...], yes: bool) -> None:
    """Drop notifications without sending them (the operator never hears of them)."""
    if not yes:
        if not base.interactive():
            raise InputError("not removing notifications without confirmation; add --yes")
        if not click.confirm(f"Remove notification(s) {', '.join(map(str, seq_numbers))} unsent? "
                             "The operator will never hear of the operation", default=False, err=True):
            ctx.exit(1)
    with ctx.obj.open() as euicc:
        removed = euicc.remove_notifications(seq_numbers)
    out(ctx, {"removed": [n.to_json() for n in removed]},
        lambda: click.echo(f"removed {', '.join(str(n.seq_number) for n in removed)}"))
