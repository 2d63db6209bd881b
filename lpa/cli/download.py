"""`lpa download` and `lpa discover`: a profile from an activation code, the default SM-DP+ or an SM-DS event."""
from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import CardError, InputError, Interrupted, LpaError
from . import base
from .base import out
from .terminal import ProgressBar, safe, table

_smds_option = click.option("--smds", metavar="ADDRESS",
                            help="Ask this SM-DS instead of the root SM-DS the eUICC names.")
_imei_option = click.option("--imei", help="The device's IMEI, for deviceInfo (default: a generic TAC, no IMEI).")


@click.command(short_help="List the profiles waiting for this eUICC at the SM-DS.")
@_smds_option
@_imei_option
@click.pass_context
def discover(ctx: click.Context, smds: str | None, imei: str | None) -> None:
    """List the profiles waiting for this eUICC at the SM-DS (ES11 event records), following an
    SM-DS cascade; `lpa download --event N` downloads one."""
    _check(smds, imei)
    with ctx.obj.open() as euicc:
        with euicc.waiting(f"asking the SM-DS {smds or '(root)'}"):
            events = euicc.discover(smds, imei=imei)

    def human() -> None:
        if not events:
            click.echo("no events for this eUICC")
            return
        table(["#", "EVENT ID", "SM-DP+", "SM-DS"], [[i, e.event_id, e.address, " > ".join(e.smds)]
                                                     for i, e in enumerate(events, 1)])

    out(ctx, [e.to_json() for e in events], human)


def _check(smds: str | None, imei: str | None) -> None:
    """Check the options before the card is touched."""
    from ..address import check_address
    from ..operations.authentication import device_info

    if smds is not None:
        check_address(smds, "SM-DS")
    device_info(imei)


@click.command(short_help="Download a profile (activation code, QR code, default SM-DP+ or SM-DS event).")
@click.argument("code", metavar="[CODE|-]", required=False)
@click.option("--qr", "qr_image", metavar="IMAGE", type=click.Path(exists=True, dir_okay=False),
              help="Read the activation code from a QR code image or screenshot (needs the qr extra: pip install '.[qr]' in lpa's checkout).")
@click.option("--smdp", metavar="ADDRESS", help="The SM-DP+ address, instead of an activation code.")
@click.option("--matching-id", metavar="ID", help="With --smdp: the matching ID (activation code token).")
@click.option("--event", metavar="N|ID", help="Download the SM-DS event numbered N by `lpa discover`, or with this ID.")
@_smds_option
@click.option("--confirmation-code", metavar="CODE", help="The confirmation code, if the SM-DP+ asks for one.")
@_imei_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for consent.")
@click.option("--no-notify", is_flag=True, help="Keep the installation result on the eUICC instead of sending it.")
@click.option("--ca-file", "ca_files", multiple=True, metavar="PATH", callback=base.check_ca_files,
              help="Extra trust anchor for the SM-DP+'s TLS, as the global --ca-file (repeatable).")
@click.pass_context
def download(ctx: click.Context, code: str | None, qr_image: str | None, smdp: str | None, matching_id: str | None,
             event: str | None, smds: str | None, confirmation_code: str | None, imei: str | None, yes: bool,
             no_notify: bool, ca_files: tuple[str, ...]) -> None:
    """Download a profile: `lpa download 'LPA:1$smdp.example.com$MATCHING-ID'` (quote it), - to read
    the code from stdin, or --qr IMAGE to read it from a QR code picture.

    Without a code: from the eUICC's default SM-DP+ if it has one, else
    what the SM-DS holds for it (--event picks one of several). Shows what
    the SM-DP+ offers and asks before anything is installed.
    """
    from ..activation import ActivationCode, check_matching_id, parse_activation_code
    from ..address import check_address

    if [code, qr_image, smdp, event].count(None) < 3:
        raise click.UsageError("give one of: an activation code (or - for stdin), --qr IMAGE, --smdp ADDRESS, "
                               "--event N")
    if matching_id is not None and smdp is None:
        raise click.UsageError("--matching-id goes with --smdp ADDRESS (an activation code holds its own)")
    if smds is not None and (code or qr_image or smdp):
        raise click.UsageError("--smds is for SM-DS events; it does not go with an activation code or --smdp")
    activation = None
    if qr_image is not None:
        from ..qr import read_activation_code
        activation = parse_activation_code(read_activation_code(qr_image))
    elif code is not None:
        activation = parse_activation_code(sys.stdin.readline(4096) if code == "-" else code)
    elif smdp is not None:
        check_address(smdp)
        activation = ActivationCode(smdp, check_matching_id(matching_id or ""))
    _check(smds, imei)
    if event is not None and not (event.isprintable() and 0 < len(event) <= 255):
        raise InputError("--event is an event number from `lpa discover` or an event ID")
    ctx.obj = ctx.obj._replace(ca_files=tuple(dict.fromkeys([*ctx.obj.ca_files, *ca_files])))
    if not yes and not base.interactive():
        raise InputError("not downloading without consent; add --yes")
    if activation is not None and activation.cc_required and confirmation_code is None and not base.interactive():
        raise InputError("this activation code needs a confirmation code: add --confirmation-code")

    def consent(offer: Any) -> bool:
        if not ctx.obj.json:
            click.echo(safe(f"{offer.provider} / {offer.name}: ICCID {offer.iccid}, {offer.profile_class} profile"
                            + (f", {offer.icon_type} icon" if offer.icon_type else "")
                            + (f", policy rules {', '.join(offer.policy_rules)}" if offer.policy_rules else "")),
                       err=True)
        return yes or click.confirm("Install it?", default=False, err=True)

    def ask_code() -> str:
        if confirmation_code is not None:
            return confirmation_code
        if not base.interactive():
            raise InputError("the SM-DP+ asks for a confirmation code: add --confirmation-code")
        return click.prompt("Confirmation code", hide_input=True, err=True)

    progress = ProgressBar("installing", enabled=not ctx.obj.json, minimum=0)

    from .. import interrupts

    # Ctrl-C is held back from here to the output but for waits (lpa.interrupts): once the card changed,
    # the line printed says so
    with progress, ctx.obj.open() as euicc, interrupts.deferred() as gate:
        if activation is None:
            with gate.allowed():
                activation = _without_code(ctx, euicc, event, smds, imei)
        result = euicc.download(activation, consent=consent, confirmation_code=ask_code, imei=imei,
                                notify=ctx.obj.notify and not no_notify, progress=progress)
        _report(ctx, result)


def _report(ctx: click.Context, result: Any) -> None:
    """Print what the download did; exit 3 when the eUICC refused to install, 130 after Ctrl-C."""
    from ..completion import forget

    forget(ctx.obj.device)  # a new profile: shell completion reads the card again
    refused = result.result.error
    problem: LpaError | None = None
    if refused is not None:
        problem = CardError(result.summary())
    elif result.interrupted:
        problem = Interrupted(f"profile {result.offer.iccid} is installed")

    def human() -> None:
        if refused is None:  # else the error says it all
            click.echo(safe(result.summary()))

    out(ctx, result.to_json(), human, error=problem, told=result.interrupted)
    if problem is not None:
        ctx.exit(problem.exit_code)


def _without_code(ctx: click.Context, euicc: Any, event: str | None, smds: str | None, imei: str | None) -> Any:
    """The activation to use without a code (the library's rule), asking the user to pick among several
    SM-DS events when there is someone to ask."""

    def say(message: str) -> None:
        if not ctx.obj.json:
            click.echo(safe(message), err=True)

    def choose(events: list[Any]) -> Any:
        if not base.interactive():
            listing = "; ".join(f"{i}: {e.event_id} at {e.address}" for i, e in enumerate(events, 1))
            raise InputError(f"the SM-DS has {len(events)} events for this eUICC ({listing}); pick one with --event N")
        for i, e in enumerate(events, 1):
            say(f"{i}: {e.event_id} at {e.address}")
        return events[click.prompt("Which one", type=click.IntRange(1, len(events)), err=True) - 1]

    return euicc.activation_without_code(event=event, smds=smds, imei=imei, choose=choose, say=say)


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [download, discover]
