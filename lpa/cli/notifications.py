"""`lpa notifications list|process|remove|export|send`: the eUICC's pending notifications for the SM-DP+."""
from __future__ import annotations

import click

from ..errors import InputError, Interrupted, ServerError
from . import base
from .base import INTERRUPTED, LpaGroup, out
from .terminal import ProgressBar, safe, table


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
    progress = ProgressBar("sending", enabled=not ctx.obj.json)

    with progress, ctx.obj.open() as euicc:
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
    out(ctx, data, human, Interrupted() if result.interrupted else
        _not_delivered([d.notification.address for d in failed], len(result.deliveries)), told=result.interrupted)
    if result.interrupted:
        ctx.exit(INTERRUPTED)
    if failed:
        ctx.exit(5)


@notifications.command("remove", short_help="Drop notifications unsent, or those a file records as acknowledged.")
@click.argument("seq_numbers", metavar="[SEQ]...", nargs=-1, type=click.IntRange(0))
@click.option("--acknowledged", "acknowledged", metavar="FILE", type=click.Path(dir_okay=False),
              help="Remove exactly those the export FILE records as acknowledged by their SM-DP+ (after `send`).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (removing SEQs unsent).")
@click.pass_context
def notifications_remove(ctx: click.Context, seq_numbers: tuple[int, ...], acknowledged: str | None,
                         yes: bool) -> None:
    """Drop notifications without sending them (the operator never hears of them), or with
    --acknowledged FILE those another machine delivered."""
    if acknowledged is not None:
        if seq_numbers:
            raise click.UsageError("give SEQ numbers or --acknowledged FILE, not both")
        _remove_acknowledged(ctx, acknowledged)
        return
    if not seq_numbers:
        raise click.UsageError("give the SEQ numbers to remove, or --acknowledged FILE")
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


def _remove_acknowledged(ctx: click.Context, path: str) -> None:
    from ..operations.notification_file import read, remove_acknowledged

    exported = read(path)  # validated before the card is touched
    with ctx.obj.open() as euicc:
        results = remove_acknowledged(euicc, exported)

    def human() -> None:
        removed = [str(r.entry.metadata.seq_number) for r in results if r.removed]
        click.echo(f"removed {', '.join(removed)}" if removed else "removed none")
        for r in results:
            if not r.removed:
                click.echo(safe(f"kept {r.entry.metadata.seq_number}: {r.reason}"))

    out(ctx, {"notifications": [r.to_json() for r in results]}, human)


@notifications.command("export", short_help="Write pending notifications to a file, for `send` elsewhere.")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.argument("seq_numbers", metavar="[SEQ]...", nargs=-1, type=click.IntRange(0))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.pass_context
def notifications_export(ctx: click.Context, path: str, seq_numbers: tuple[int, ...], force: bool) -> None:
    """Write pending notifications (default: all) to FILE for `send` on a machine with a network;
    they stay on the eUICC. The format is described in the README."""
    from pathlib import Path

    from ..operations.notification_file import export

    if Path(path).exists() and not force:
        raise InputError(f"{path} exists; choose another name or add --force to overwrite it")
    with ctx.obj.open() as euicc:
        exported = export(euicc, seq_numbers or None)
    exported.write(path, overwrite=force)
    out(ctx, {"file": path, "eid": exported.eid, "notifications": [e.metadata.to_json() for e in exported.entries]},
        lambda: click.echo(f"exported {len(exported.entries)} notification(s) to {safe(path)}; "
                           f"they stay on the eUICC until `lpa notifications remove --acknowledged {safe(path)}`"))


@notifications.command("send", short_help="Deliver an export file's notifications; no card needed.")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--again", is_flag=True, help="Also send those already acknowledged.")
@click.pass_context
def notifications_send(ctx: click.Context, path: str, again: bool) -> None:
    """Deliver the notifications of an export FILE (no card needed) and record in FILE which ones
    their SM-DP+ acknowledged. Exits with 5 when one was not delivered."""
    from ..operations.notification_file import read, send
    from ..operations.notifications import es9p_client
    from ..session import NotifySettings

    exported = read(path)
    progress = ProgressBar("sending", enabled=not ctx.obj.json)
    settings = NotifySettings(ca_files=ctx.obj.ca_files, timeout=ctx.obj.timeout)
    with progress, es9p_client(exported.ci_key_ids, settings) as client:
        results = send(path, client, again=again, progress=progress)
    failed = [r for r in results if not r.delivered]
    data = {"delivered": len(results) - len(failed), "failed": len(failed),
            "notifications": [{**r.entry.metadata.to_json(), "delivered": r.delivered, "error": r.error}
                              for r in results]}

    def human() -> None:
        for r in results:
            n = r.entry.metadata
            click.echo(safe(f"{n.seq_number} {n.operation} {n.iccid or ''} -> {n.address}: "
                            + ("acknowledged" if r.delivered else f"failed: {r.error}")))
        click.echo(safe(f"{data['delivered']} acknowledged, {len(failed)} failed; recorded in {path}"
                        + (f"; at the card: lpa notifications remove --acknowledged {path}" if data["delivered"]
                           else "")))

    out(ctx, data, human, _not_delivered([r.entry.metadata.address for r in failed], len(results)))
    if failed:
        ctx.exit(5)


def _not_delivered(addresses: list[str], total: int) -> ServerError | None:
    """The error of a run that left ``addresses`` (one per failed notification) undelivered; None if none."""
    if not addresses:
        return None
    return ServerError(", ".join(sorted(set(addresses))), f"{len(addresses)} of {total} notification(s) not delivered; "
                       "they are kept: send them again later")


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [notifications]
