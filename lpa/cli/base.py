"""The `lpa` group: global options, how errors and results are printed, exit codes.

Every failure is one line on stderr (or one JSON object on stdout with
--json, usage errors included) and an exit code from :data:`EXIT_CODES`;
never a traceback (``LPA_DEBUG=1`` shows it for a bug report).
"""
from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, NoReturn

import click

from ..errors import InputError, Interrupted, LpaError, TransportError
from . import INTERRUPTED
from .terminal import json_safe, safe, status

if TYPE_CHECKING:
    from ..euicc import Euicc

EXIT_CODES = """\b
Exit codes:
  0    success (also when a notification could not be sent after the change)
  1    aborted at a confirmation, or an unexpected error
  2    bad input: malformed argument, unknown profile, refused before the card was changed
  3    the eUICC refused the request (status word or result code)
  4    reader, pcscd, card communication or local file failure
  5    an SM-DP+ could not be reached or refused a notification
  130  interrupted (Ctrl-C); a change already made is reported first"""



class Settings(NamedTuple):
    """The global options, shared by every command."""

    device: str
    reader: str | None
    sim: bool
    sim_state: str | None
    aid: bytes | None
    euicc: int | None
    mss: int | None
    logical_channel: bool
    modem_reset: bool
    ca_files: tuple[str, ...]
    timeout: float
    json: bool
    verbose: bool
    record: str | None
    replay: str | None

    def open(self) -> Euicc:
        """Open the eUICC the options name, with tracing, recording and notes as asked."""
        from ..euicc import NotifySettings, open_euicc

        sinks: list[Callable[[str], None]] = []
        note: Callable[[str], None] = lambda message: None
        if self.verbose:
            sinks.append(lambda line: click.echo(safe(line), err=True))
            note = lambda message: click.echo(f"# {safe(message)}", err=True)  # noqa: E731
        if self.record:
            import shlex
            from .. import __version__
            from ..transport.replay import Recorder

            recorder = Recorder(self.record, shlex.join(["lpa", *sys.argv[1:]]), __version__)
            click.get_current_context().call_on_close(recorder.close)
            sinks.append(recorder)
        euicc = open_euicc(
            device=self.device, aid=self.aid, euicc=self.euicc, mss=self.mss,
            notify=NotifySettings(ca_files=self.ca_files, timeout=self.timeout),
            trace=_fan_out(sinks) if sinks else None, note=note, logical_channel=self.logical_channel,
        )
        euicc.waiting = lambda message: status(message, enabled=not self.json)
        if self.modem_reset:
            if not euicc.transport.can_cycle_radio:
                euicc.transport.close()
                raise InputError("--modem-reset is for modems (--device at:PORT, qmi:DEVICE or mbim:DEVICE)")
            euicc.transport.cycle_radio_on_reset()
        return euicc

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        """:func:`out` for the current command: how plug-in commands (`lpa sim ...`), which may not
        import lpa.cli, print their result as a table or JSON."""
        out(click.get_current_context(), data, human)

    @property
    def notify(self) -> bool:
        """May notifications be sent? Not when answering from a recording (it holds no SM-DP+)."""
        return not self.device.startswith("replay:")


def _fan_out(sinks: list[Callable[[str], None]]) -> Callable[[str], None]:
    def trace(line: str) -> None:
        for sink in sinks:
            sink(line)

    return trace


def _parse_aid(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    from ..encoding import parse_aid

    if value is None:
        return None
    try:
        return parse_aid(value)
    except InputError as error:
        raise click.BadParameter(str(error)) from None


def _ca_files(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--ca-file, else LPA_CA_FILE (':'-separated); each must be a readable PEM certificate, checked now."""
    env = os.environ.get("LPA_CA_FILE")
    return check_ca_files(ctx, param, value or (tuple(p for p in env.split(os.pathsep) if p) if env else ()))


def check_ca_files(ctx: click.Context, param: click.Parameter, files: tuple[str, ...]) -> tuple[str, ...]:
    """Each file must be a readable PEM certificate: checked before the card is touched."""
    if files:
        from ..trust import read_ca_files

        try:
            read_ca_files(files)
        except InputError as error:
            raise click.BadParameter(str(error)) from None
    return files


def _timeout(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (math.isfinite(value) and 0.1 <= value <= 300):
        raise click.BadParameter(f"{value} is not a number of seconds from 0.1 to 300")
    return value


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version: computed only when asked (importlib.metadata is slow to import)."""
    if not value or ctx.resilient_parsing:
        return
    from ..about import version_text

    click.echo(version_text())
    ctx.exit()


def completion_device(ctx: click.Context) -> tuple[str, bytes | None]:
    """The device and ISD-R AID the command line being completed names (its options are parsed, the
    group's callback has not run)."""
    from ..devices import device_of

    given = ctx.find_root().params
    device = given.get("device") or device_of(reader=given.get("reader"), sim=bool(given.get("sim")),
                                              sim_state=given.get("sim_state"), replay=given.get("replay"))
    aid = given.get("aid")
    return device, aid if isinstance(aid, bytes) else None


def _complete_device(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from ..completion import device_choices
    from ..devices import KINDS

    return device_choices(incomplete, KINDS)


def _complete_reader(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from ..completion import reader_names

    return reader_names(incomplete)


def complete_profile(nicknames: bool) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """shell_complete for an argument naming a profile: ICCIDs (and nicknames) of the card in reach."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from ..completion import profile_choices

        try:
            device, aid = completion_device(ctx)
            return [CompletionItem(value, help=safe(what) or None)
                    for value, what in profile_choices(device, incomplete, nicknames=nicknames, aid=aid)]
        except Exception:  # never a message on the command line
            return []

    return complete


class LpaGroup(click.Group):
    """A click group that turns every error into one line (or JSON object) and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LpaError as error:
            fail(ctx, error)
        except KeyboardInterrupt:
            quiet_finalizers()
            fail(ctx, Interrupted())
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            raise
        except OSError as error:  # a file, a directory, a port: the environment, not lpa
            where = f": {error.filename}" if error.filename else ""
            fail(ctx, TransportError(f"{error.strerror or error}{where}"))
        except Exception as error:  # a bug: one line, the traceback only on request
            if os.environ.get("LPA_DEBUG"):
                raise
            fail(ctx, LpaError(f"internal error: {type(error).__name__}: {error} "
                               "(LPA_DEBUG=1 shows the traceback; please report it with `lpa -v` output)"))

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """click's, with Ctrl-C while the options are parsed (and their files read) left to :meth:`main`
        (click would print an empty line first)."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:
            raise _Interrupted from None

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Like click's, but every error is one line on stderr, or a JSON object with --json."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f"; see `{error.ctx.command_path} --help`" if error.ctx else ""
            _print_error("--json" in argv, "UsageError", error.exit_code, error.format_message().rstrip(".") + hint)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            _print_error("--json" in argv, type(error).__name__, error.exit_code, error.format_message())
            sys.exit(error.exit_code)
        except (_Interrupted, click.Abort, EOFError, KeyboardInterrupt) as error:
            interrupted = isinstance(error, (_Interrupted, KeyboardInterrupt)) \
                or isinstance(error.__context__, KeyboardInterrupt)
            if interrupted:
                quiet_finalizers()
            _print_error("--json" in argv, "Interrupted" if interrupted else "Aborted", INTERRUPTED if interrupted
                         else 1, "interrupted" if interrupted else "aborted")
            sys.exit(INTERRUPTED if interrupted else 1)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class _Interrupted(BaseException):
    """Ctrl-C before a command ran: passed through click untouched."""


class MainGroup(LpaGroup):
    """The `lpa` group: its own commands (:data:`lpa.cli.COMMANDS`), imported only when listed or run,
    and those plug-ins add (:data:`lpa.plugins.COMMANDS`), imported only when run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from ..plugins import COMMANDS
        from . import COMMANDS as OWN

        return sorted({*self.commands, *OWN, *COMMANDS})

    #: Set while `lpa --help` lists the commands.
    _listing = False

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from ..plugins import COMMANDS, SHORT_HELP, load
        from . import COMMANDS as OWN

        if cmd_name in OWN and cmd_name not in self.commands:
            import importlib

            module = importlib.import_module(f"{__package__}.{OWN[cmd_name]}")
            for own in module.COMMANDS:  # the module's commands, registered together
                self.add_command(own)
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        if self._listing:  # its line in the listing, without importing it (and the simulator with it)
            return click.Command(cmd_name, short_help=SHORT_HELP[cmd_name])
        command: click.Command = getattr(load(COMMANDS[cmd_name]), cmd_name)
        return command


def quiet_finalizers() -> None:
    """After Ctrl-C: objects it left half-built (in an import, say) are finalized as lpa ends, and what
    their finalizers raise ("Exception ignored in ...") is not the user's to read."""
    sys.unraisablehook = lambda unraisable: None


def _quiet_stdout() -> None:
    """The reader of stdout went away (`lpa list | head -1`): drop what is left, say nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _print_error(as_json: bool, kind: str, code: int, message: str, **extra: Any) -> None:
    import json

    if as_json:
        body = {"type": kind, "code": code, "message": message, **extra}
        click.echo(json_safe(json.dumps({"ok": False, "error": body}, ensure_ascii=False)))
    else:
        click.echo(f"lpa: {safe(message)}", err=True)


def fail(ctx: click.Context, error: LpaError) -> NoReturn:
    """Print ``error`` and exit with its code."""
    settings = ctx.find_object(Settings)
    extra: dict[str, Any] = {}
    for attr in ("sw", "reason", "address", "function"):
        if hasattr(error, attr):
            value = getattr(error, attr)
            extra[attr] = f"{value:04X}" if attr == "sw" else value
    _print_error(settings is not None and settings.json, type(error).__name__, error.exit_code, str(error), **extra)
    ctx.exit(error.exit_code)


def out(ctx: click.Context, data: Any, human: Callable[[], None], error: LpaError | None = None,
        told: bool = False) -> None:
    """Print ``data`` as JSON with --json (``ok`` false and ``error`` when given: the command then exits
    with the error's code), else call ``human`` and print the error as the last line on stderr (unless
    ``human`` has ``told`` it: a report, or what Ctrl-C left)."""
    settings = ctx.find_object(Settings)
    if settings is not None and settings.json:
        import json

        payload: dict[str, Any] = {"ok": error is None, "data": data}
        if error is not None:
            payload["error"] = {"type": type(error).__name__, "code": error.exit_code, "message": str(error)}
        click.echo(json_safe(json.dumps(payload, ensure_ascii=False)))
    else:
        human()
        if error is not None and not told:
            click.echo(f"lpa: {safe(error)}", err=True)


def interactive() -> bool:
    """Is a person at the terminal to answer a confirmation?"""
    return sys.stdin.isatty()


@click.group(cls=MainGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-d", "--device", envvar="LPA_DEVICE", metavar="KIND[:ARG]", shell_complete=_complete_device,
              help="The card: pcsc[:READER], sim[:STATE FILE], replay:FILE, or a modem: at:PORT[@BAUD], "
              "qmi:/dev/cdc-wdmN[,slot=N][,proxy] or mbim:/dev/cdc-wdmN[,slot=N][,proxy] "
              "(default: pcsc, the only reader with an eUICC). --reader, --sim and --replay are short forms.")
@click.option("-r", "--reader", envvar="LPA_READER", metavar="NAME|INDEX", shell_complete=_complete_reader,
              help="PC/SC reader: index, name or unique part of a name (--device pcsc:READER).")
@click.option("--sim", is_flag=True, envvar="LPA_SIM", help="Use the simulated eUICC (--device sim).")
@click.option("--sim-state", envvar="LPA_SIM_STATE", metavar="PATH", type=click.Path(dir_okay=False),
              help="State file of the simulated eUICC (default ~/.local/state/lpa/sim-euicc.json).")
@click.option("--aid", envvar="LPA_AID", metavar="HEX", callback=_parse_aid,
              help="ISD-R AID (default: the standard one, then those of known removable eUICCs, then any "
              "the card finds by partial SELECT).")
@click.option("--euicc", envvar="LPA_EUICC", type=click.IntRange(0, 7), metavar="N",
              help="On a card holding several eUICC instances (ISD-Rs), use the Nth, counted from 0 "
              "(`lpa readers` lists them).")
@click.option("--mss", envvar="LPA_MSS", type=click.IntRange(6, 255),
              help="STORE DATA segment size in bytes (default: 255 on a PC/SC reader, 120 on a modem; "
              "smaller after a card refuses a block as too long).")
@click.option("--logical-channel", is_flag=True, envvar="LPA_LOGICAL_CHANNEL",
              help="Select the ISD-R on a logical channel (MANAGE CHANNEL) rather than the basic channel.")
@click.option("--modem-reset", is_flag=True,
              help="With a modem: after enable or disable, switch its radio off and on (AT+CFUN=0/1, QMI operating "
              "mode low power/online, MBIM radio state off/on).")
@click.option("--ca-file", "ca_files", multiple=True, metavar="PATH", callback=_ca_files,
              help="Extra trust anchor for SM-DP+ TLS (repeatable; env LPA_CA_FILE, ':'-separated).")
@click.option("--timeout", envvar="LPA_TIMEOUT", type=float, default=20.0, show_default=True, callback=_timeout,
              help="Seconds one notification may take (connection, TLS, answer and retries), 0.1-300.")
@click.option("--json", "json_", is_flag=True, help="Print machine-readable JSON on stdout.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print every APDU exchanged (hex) on stderr, and notes on card quirks met.")
@click.option("--record", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write every APDU exchanged to FILE, for a bug report (see --force).")
@click.option("--force", "force_record", is_flag=True, help="Let --record overwrite an existing FILE.")
@click.option("--replay", metavar="FILE", type=click.Path(dir_okay=False, exists=True),
              help="Answer from a recording instead of a card (refuses any other command; sends no notification).")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show lpa's version, the SGP.22 version it implements, and those of Python and its libraries.")
@click.pass_context
def main(ctx: click.Context, json_: bool, force_record: bool, **options: Any) -> None:
    """lpa: a Local Profile Assistant for eUICCs (GSMA SGP.22).

    Lists, enables, disables, deletes and renames the eSIM profiles of an
    eUICC in a PC/SC card reader (or of a simulated one, --sim), and
    delivers the eUICC's notifications to the operators' SM-DP+ servers.
    """
    from ..devices import KINDS, device_of

    sources = [name for name in ("device", "reader", "sim", "replay") if options[name]]
    if len(sources) > 1:
        raise click.UsageError(f"--{sources[0]} and --{sources[1]} name two different cards; give one")
    if options["device"] is None:
        options["device"] = device_of(reader=options["reader"], sim=options["sim"], sim_state=options["sim_state"],
                                      replay=options["replay"])
    elif options["device"].partition(":")[0] not in KINDS:
        raise click.BadParameter(f"{options['device']!r}: KIND[:ARG] with KIND one of {', '.join(KINDS)}",
                                 param_hint="--device")
    elif options["device"].startswith("sim:") and not options["sim_state"]:
        options["sim_state"] = options["device"][4:]  # `lpa sim ...` commands use the same card
    if options["record"] and os.path.exists(options["record"]) and not force_record:
        raise click.BadParameter(f"{options['record']} exists; choose another name or add --force to overwrite it",
                                 param_hint="--record")
    ctx.obj = Settings(json=json_, **options)
