"""`lpa list`, `enable`, `disable`, `delete`, `nickname`: the profiles on the eUICC."""
from __future__ import annotations

from typing import Any

import click

from .. import interrupts
from ..errors import InputError, Interrupted
from . import base
from .base import INTERRUPTED, complete_profile, out
from .terminal import safe, table


@click.command("list")
@click.option("--icons", is_flag=True, help="Also read the profile icons (slower; JSON gives them as base64).")
@click.pass_context
def list_(ctx: click.Context, icons: bool) -> None:
    """List the profiles on the eUICC.

    With --json each profile also carries its notification configuration
    (every operation of each entry) and policy rules.
    """
    from ..completion import remember

    with ctx.obj.open() as euicc:
        profiles = euicc.profiles(icons=icons, details=ctx.obj.json)
    remember(ctx.obj.device, profiles)  # for shell completion

    def human() -> None:
        if not profiles:
            click.echo("no profiles on this eUICC")
            return
        table(["ICCID", "STATE", "CLASS", "PROVIDER", "NAME", "NICKNAME"],
              [[p.iccid, p.state, p.profile_class, p.provider, p.name, p.nickname] for p in profiles])

    # iconType and icon are read only with --icons: without, they are left out rather than said to be null
    out(ctx, [p.to_json() if icons else {k: v for k, v in p.to_json().items() if k not in ("iconType", "icon")}
              for p in profiles], human)


_notify_option = click.option("--no-notify", is_flag=True,
                              help="Keep the notifications on the eUICC instead of sending them now.")
_reset_option = click.option("--no-reset", is_flag=True,
                             help="Do not reset the card afterwards (the change takes effect at the next reset).")


def report(ctx: click.Context, result: Any, past: str) -> None:
    """Print what an operation did and what became of its notifications; exit 130 if interrupted.

    The card has changed: this is a success whatever happened afterwards.
    """
    out(ctx, result.to_json(), lambda: click.echo(safe(result.summary(past))),
        Interrupted(f"{past} {result.profile.label}") if result.interrupted else None, told=True)
    if result.interrupted:
        ctx.exit(INTERRUPTED)


def _switch_command(operation: str, past: str, doc: str) -> click.Command:
    """`lpa enable` and `lpa disable`: the same options, a different Euicc method."""

    @click.command(operation, help=doc)
    @click.argument("profile", metavar="ICCID|AID|NICKNAME", shell_complete=complete_profile(nicknames=True))
    @click.option("--refresh", is_flag=True, help="Set refreshFlag (many removable eUICCs need it unset).")
    @_reset_option
    @_notify_option
    @click.pass_context
    def command(ctx: click.Context, profile: str, refresh: bool, no_reset: bool, no_notify: bool) -> None:
        with ctx.obj.open() as euicc, interrupts.deferred():  # Ctrl-C: after the card answered (report)
            result = getattr(euicc, operation)(profile, refresh=refresh, reset=not no_reset,
                                               notify=ctx.obj.notify and not no_notify)
            report(ctx, result, past)

    return command


@click.command()
@click.argument("profile", metavar="ICCID|AID|NICKNAME", shell_complete=complete_profile(nicknames=True))
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Disable the profile first if it is enabled.")
@_notify_option
@click.pass_context
def delete(ctx: click.Context, profile: str, yes: bool, force: bool, no_notify: bool) -> None:
    """Delete a profile for good (asks first; the operator is notified)."""

    def confirm(target: Any) -> bool:
        if yes:
            return True
        if not base.interactive():
            raise InputError(f"not deleting {target.label} without confirmation; add --yes")
        with gate.allowed():  # nothing is changed yet: Ctrl-C at the question stops at once
            return click.confirm(safe(f"Delete {target.label} ({target.provider or '?'}, {target.name or '?'})? "
                                      "This cannot be undone"), default=False, err=True)

    from ..completion import forget

    # Ctrl-C is held back but for waits (lpa.interrupts): once the card changed, the line printed says so
    with ctx.obj.open() as euicc, interrupts.deferred() as gate:
        result = euicc.delete(profile, force=force, notify=ctx.obj.notify and not no_notify, confirm=confirm)
        forget(ctx.obj.device)
        report(ctx, result, "deleted")


@click.command()
@click.argument("profile", metavar="ICCID|AID|NICKNAME", shell_complete=complete_profile(nicknames=True))
@click.argument("nickname")
@click.pass_context
def nickname(ctx: click.Context, profile: str, nickname: str) -> None:
    """Set a profile's nickname ("" clears it; at most 64 bytes of UTF-8, no control characters)."""
    from ..completion import forget

    with ctx.obj.open() as euicc:
        iccid = euicc.set_nickname(profile, nickname).iccid
    forget(ctx.obj.device)
    out(ctx, {"iccid": iccid, "profileNickname": nickname or None},
        lambda: click.echo(safe(f"nickname of {iccid} set to {nickname!r}" if nickname
                                else f"nickname of {iccid} cleared")))


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [
    list_,
    _switch_command("enable", "enabled", "Enable a profile (the enabled one is disabled)."),
    _switch_command("disable", "disabled", "Disable a profile (it must be the enabled one)."),
    delete,
    nickname,
]
