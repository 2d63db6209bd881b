"""The `lpa` command: parse, call an operation of lpa.euicc, print a table or JSON."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, NoReturn

import click

from .errors import InputError, LpaError

EXIT_CODES = """\b
Exit codes:
  0  success
  1  aborted, or an unexpected error
  2  bad input: malformed argument, unknown profile, refused before the card was changed
  3  the eUICC refused the request (status word or result code)
  4  reader, pcscd or card communication failure
  5  an SM-DP+ could not be reached or refused a notification"""


class Settings:
    """The global options, shared by every command."""

    def __init__(self, **options: Any) -> None:
        self.__dict__.update(options)

    def open(self) -> Any:
        from .euicc import NotifySettings, open_euicc

        sinks: list[Callable[[str], None]] = []
        note: Callable[[str], None] = lambda message: None
        if self.verbose:
            from . import codec

            sinks.append(lambda line: click.echo(line, err=True))
            note = codec.warn = lambda message: sinks[0](f"# {message}")
        if self.record:
            import shlex
            from importlib.metadata import version

            from .transport.replay import Recorder

            recorder = Recorder(self.record, shlex.join(["lpa", *sys.argv[1:]]), version("lpa"))
            click.get_current_context().call_on_close(recorder.close)
            sinks.append(recorder)
        return open_euicc(
            self.reader, sim=self.sim, sim_state=self.sim_state, replay=self.replay, aid=self.aid, mss=self.mss,
            notify=NotifySettings(ca_files=self.ca_files, timeout=self.timeout),
            trace=_fan_out(sinks) if sinks else None, note=note, logical_channel=self.logical_channel,
        )


def _fan_out(sinks: list[Callable[[str], None]]) -> Callable[[str], None]:
    def trace(line: str) -> None:
        for sink in sinks:
            sink(line)

    return trace


def _parse_aid(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    from .encoding import parse_aid

    if value is None:
        return None
    try:
        return parse_aid(value)
    except InputError as error:
        raise click.BadParameter(str(error)) from None


def _ca_files(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    env = os.environ.get("LPA_CA_FILE")
    return value or (tuple(p for p in env.split(os.pathsep) if p) if env else ())


class LpaGroup(click.Group):
    """A click group that turns lpa's errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LpaError as error:
            _fail(ctx, error)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: one line, the traceback only on request
            if os.environ.get("LPA_DEBUG"):
                raise
            _fail(ctx, LpaError(f"internal error: {type(error).__name__}: {error} "
                                "(LPA_DEBUG=1 shows the traceback; please report it with `lpa -v` output)"))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Like click's, but every error is one line on stderr."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f"; see `{error.ctx.command_path} --help`" if error.ctx else ""
            click.echo(f"lpa: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"lpa: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("lpa: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(ctx: click.Context, error: LpaError) -> NoReturn:
    settings = ctx.find_object(Settings)
    if settings is not None and settings.json:
        kind = type(error).__name__
        body: dict[str, Any] = {"type": kind, "code": error.exit_code, "message": str(error)}
        for attr in ("sw", "reason", "address", "function"):
            if hasattr(error, attr):
                value = getattr(error, attr)
                body[attr] = f"{value:04X}" if attr == "sw" else value
        click.echo(json.dumps({"ok": False, "error": body}))
    else:
        click.echo(f"lpa: {error}", err=True)
    ctx.exit(error.exit_code)


def _out(ctx: click.Context, data: Any, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON with --json, else call ``human``."""
    if ctx.find_object(Settings).json:
        click.echo(json.dumps({"ok": True, "data": data}, ensure_ascii=False))
    else:
        human()


def _interactive() -> bool:
    """Is a person at the terminal to answer a confirmation?"""
    return sys.stdin.isatty()


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group(cls=LpaGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-r", "--reader", envvar="LPA_READER", metavar="NAME|INDEX",
              help="PC/SC reader: index, name or unique part of a name (default: the only one with an eUICC).")
@click.option("--sim", is_flag=True, envvar="LPA_SIM", help="Use the simulated eUICC instead of a reader.")
@click.option("--sim-state", envvar="LPA_SIM_STATE", metavar="PATH", type=click.Path(dir_okay=False),
              help="State file of the simulated eUICC (default ~/.local/state/lpa/sim-euicc.json).")
@click.option("--aid", envvar="LPA_AID", metavar="HEX", callback=_parse_aid,
              help="ISD-R AID (default: the standard one, then those of known removable eUICCs).")
@click.option("--mss", envvar="LPA_MSS", type=click.IntRange(6, 255), default=120, show_default=True,
              help="STORE DATA segment size in bytes.")
@click.option("--logical-channel", is_flag=True, envvar="LPA_LOGICAL_CHANNEL",
              help="Select the ISD-R on a logical channel (MANAGE CHANNEL) rather than the basic channel.")
@click.option("--ca-file", "ca_files", multiple=True, metavar="PATH", callback=_ca_files,
              type=click.Path(dir_okay=False),
              help="Extra trust anchor for SM-DP+ TLS (repeatable; env LPA_CA_FILE, ':'-separated).")
@click.option("--timeout", envvar="LPA_TIMEOUT", type=click.FloatRange(0.1, 300), default=20.0, show_default=True,
              help="Seconds to wait for an SM-DP+ answer.")
@click.option("--json", "json_", is_flag=True, help="Print machine-readable JSON on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Print every APDU exchanged (hex) on stderr, and notes on card quirks met.")
@click.option("--record", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write every APDU exchanged to FILE, for a bug report.")
@click.option("--replay", metavar="FILE", type=click.Path(dir_okay=False, exists=True),
              help="Answer from a recording instead of a card (refuses any other command).")
@click.version_option(package_name="lpa")
@click.pass_context
def main(ctx: click.Context, json_: bool, **options: Any) -> None:
    """lpa: a Local Profile Assistant for eUICCs (GSMA SGP.22).

    Lists, enables, disables, deletes and renames the eSIM profiles of an
    eUICC in a PC/SC card reader (or of a simulated one, --sim), and
    delivers the eUICC's notifications to the operators' SM-DP+ servers.
    """
    ctx.obj = Settings(json=json_, **options)


# -- readers and info ---------------------------------------------------------


@main.command()
@click.pass_context
def readers(ctx: click.Context) -> None:
    """List the PC/SC readers and what card is in each."""
    from .apdu import isdr_aids
    from .readers import describe_readers

    found = describe_readers(isdr_aids(ctx.obj.aid))

    def human() -> None:
        if not found:
            click.echo("no card reader found")
            return
        _table(["#", "READER", "CARD"], [[str(r["index"]), r["name"], r["card"]] for r in found])

    _out(ctx, found, human)


@main.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Show the eUICC: EID, versions, free memory, CI keys, default addresses."""
    with ctx.obj.open() as euicc:
        result = euicc.info()
    data = result.to_json()

    def human() -> None:
        info2 = data["EUICCInfo2"]
        memory = info2.get("extCardResource", {})
        rows = [
            ("EID", data["eidValue"]),
            ("ISD-R AID", f"{data['isdrAid']} ({data['isdrVendor']})"),
            ("SGP.22 version", info2.get("svn")),
            ("Firmware version", info2.get("euiccFirmwareVer")),
            ("Profile package version", info2.get("profileVersion")),
            ("Free memory", f"{memory['freeNonVolatileMemory']} bytes" if "freeNonVolatileMemory" in memory else None),
            ("Installed applications", memory.get("installedApplication")),
            ("CI keys (verification)", ", ".join(info2.get("euiccCiPKIdListForVerification", []))),
            ("CI keys (signing)", ", ".join(info2.get("euiccCiPKIdListForSigning", []))),
            ("Default SM-DP+", data["EuiccConfiguredAddresses"]["defaultDpAddress"] or "(none)"),
            ("Root SM-DS", data["EuiccConfiguredAddresses"]["rootDsAddress"]),
        ]
        for label, value in rows:
            if value is not None:
                click.echo(f"{label + ':':26}{value}")

    _out(ctx, data, human)


@main.command("list")
@click.option("--icons", is_flag=True, help="Also read the profile icons (slower; JSON gives them as base64).")
@click.pass_context
def list_(ctx: click.Context, icons: bool) -> None:
    """List the profiles on the eUICC."""
    with ctx.obj.open() as euicc:
        profiles = euicc.profiles(icons=icons, details=ctx.obj.json)

    def human() -> None:
        if not profiles:
            click.echo("no profiles on this eUICC")
            return
        _table(["ICCID", "STATE", "CLASS", "PROVIDER", "NAME", "NICKNAME"],
               [[p.iccid or "", p.state or "", p.profile_class or "", p.provider or "", p.name or "",
                 p.nickname or ""] for p in profiles])

    _out(ctx, [p.to_json() for p in profiles], human)


# -- profile operations -------------------------------------------------------

_notify_option = click.option("--no-notify", is_flag=True,
                              help="Keep the notifications on the eUICC instead of sending them now.")
_reset_option = click.option("--no-reset", is_flag=True,
                             help="Do not reset the card afterwards (the change takes effect at the next reset).")


def _report(ctx: click.Context, result: Any, past: str) -> None:
    def human() -> None:
        line = f"{past} {result.profile.iccid}"
        if result.also_disabled is not None:
            line += f" (disabled {result.also_disabled.iccid})"
        notes = []
        for d in result.deliveries:
            n = d.notification
            if d.delivered:
                notes.append(f"notified {n.address}")
            else:
                notes.append(f"notification {n.seq_number} for {n.address} is kept on the eUICC ({d.error}); "
                             "run `lpa notifications process` later")
        click.echo("; ".join([line, *notes]))

    _out(ctx, result.to_json(), human)


def _switch_command(operation: str, past: str, doc: str) -> None:
    """`lpa enable` and `lpa disable`: the same options, a different Euicc method."""

    @main.command(operation, help=doc)
    @click.argument("profile", metavar="ICCID|AID|NICKNAME")
    @click.option("--refresh", is_flag=True, help="Set refreshFlag (many removable eUICCs need it unset).")
    @_reset_option
    @_notify_option
    @click.pass_context
    def command(ctx: click.Context, profile: str, refresh: bool, no_reset: bool, no_notify: bool) -> None:
        with ctx.obj.open() as euicc:
            result = getattr(euicc, operation)(profile, refresh=refresh, reset=not no_reset, notify=not no_notify)
        _report(ctx, result, past)


_switch_command("enable", "enabled", "Enable a profile (the enabled one is disabled).")
_switch_command("disable", "disabled", "Disable the enabled profile.")


@main.command()
@click.argument("profile", metavar="ICCID|AID")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Disable the profile first if it is enabled.")
@_notify_option
@click.pass_context
def delete(ctx: click.Context, profile: str, yes: bool, force: bool, no_notify: bool) -> None:
    """Delete a profile for good (asks first; the operator is notified)."""

    def confirm(target: Any) -> bool:
        if yes:
            return True
        if not _interactive():
            raise InputError(f"not deleting {target.iccid} without confirmation; add --yes")
        return click.confirm(f"Delete {target.iccid} ({target.provider or '?'}, {target.name or '?'})? "
                             "This cannot be undone", default=False, err=True)

    with ctx.obj.open() as euicc:
        result = euicc.delete(profile, force=force, notify=not no_notify, confirm=confirm)
    _report(ctx, result, "deleted")


@main.command()
@click.argument("iccid")
@click.argument("nickname")
@click.pass_context
def nickname(ctx: click.Context, iccid: str, nickname: str) -> None:
    """Set a profile's nickname ("" clears it; at most 64 bytes of UTF-8)."""
    with ctx.obj.open() as euicc:
        euicc.set_nickname(iccid, nickname)
    _out(ctx, {"iccid": iccid, "profileNickname": nickname or None},
         lambda: click.echo(f"nickname of {iccid} set to {nickname!r}" if nickname else f"nickname of {iccid} cleared"))


# -- notifications ------------------------------------------------------------


@main.group(cls=LpaGroup)
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
        _table(["SEQ", "OPERATION", "ICCID", "ADDRESS"],
               [[str(n.seq_number), n.operation, n.iccid or "", n.address] for n in pending])

    _out(ctx, [n.to_json() for n in pending], human)


@notifications.command("process")
@click.argument("seq_numbers", metavar="[SEQ]...", nargs=-1, type=click.IntRange(0))
@click.option("--keep", is_flag=True, help="Send, but leave them on the eUICC.")
@click.pass_context
def notifications_process(ctx: click.Context, seq_numbers: tuple[int, ...], keep: bool) -> None:
    """Send pending notifications (default: all) and remove each one the SM-DP+ acknowledged."""
    bar: list[Any] = []

    def progress(done: int, total: int, delivery: Any) -> None:
        if total < 2 or ctx.obj.json or not sys.stderr.isatty():
            return
        if not bar:
            bar.append(click.progressbar(length=total, label="sending", file=sys.stderr).__enter__())
        bar[0].update(1)
        if done == total:
            bar[0].__exit__(None, None, None)

    with ctx.obj.open() as euicc:
        result = euicc.process_notifications(seq_numbers or None, keep=keep, progress=progress)
    data = result.to_json()

    def human() -> None:
        for d in result.deliveries:
            n = d.notification
            state = ("delivered" + (", removed" if d.removed else ", kept (--keep)")) if d.delivered \
                else f"failed: {d.error}"
            click.echo(f"{n.seq_number} {n.operation} {n.iccid or ''} -> {n.address}: {state}")
        click.echo(f"{data['delivered']} delivered, {data['failed']} failed, {data['remaining']} remaining on the eUICC")

    _out(ctx, data, human)
    if data["failed"]:
        ctx.exit(5)


@notifications.command("remove")
@click.argument("seq_numbers", metavar="SEQ...", nargs=-1, required=True, type=click.IntRange(0))
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def notifications_remove(ctx: click.Context, seq_numbers: tuple[int, ...], yes: bool) -> None:
    """Drop notifications without sending them (the operator never hears of them)."""
    if not yes:
        if not _interactive():
            raise InputError("not removing notifications without confirmation; add --yes")
        if not click.confirm(f"Remove notification(s) {', '.join(map(str, seq_numbers))} unsent? "
                             "The operator will never hear of the operation", default=False, err=True):
            ctx.exit(1)
    with ctx.obj.open() as euicc:
        removed = euicc.remove_notifications(seq_numbers)
    _out(ctx, {"removed": [n.to_json() for n in removed]},
         lambda: click.echo(f"removed {', '.join(str(n.seq_number) for n in removed)}"))


from .sim.cli import sim  # noqa: E402  (the `lpa sim` group; imports nothing heavy)

main.add_command(sim)
