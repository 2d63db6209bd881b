"""`lpa download`: a profile from an activation code, onto the eUICC."""
from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import InputError
from . import base
from .base import out
from .terminal import progress_bar, safe


@click.command()
@click.argument("code", metavar="[CODE|-]", required=False)
@click.option("--qr", "qr_image", metavar="IMAGE", type=click.Path(exists=True, dir_okay=False),
              help="Read the activation code from a QR code image or screenshot (needs lpa[qr]).")
@click.option("--smdp", metavar="ADDRESS", help="The SM-DP+ address, instead of an activation code.")
@click.option("--matching-id", metavar="ID", default="", help="With --smdp: the matching ID (activation code token).")
@click.option("--confirmation-code", metavar="CODE", help="The confirmation code, if the SM-DP+ asks for one.")
@click.option("--imei", help="The device's IMEI, for deviceInfo (default: a generic TAC, no IMEI).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for consent.")
@click.option("--no-notify", is_flag=True, help="Keep the installation result on the eUICC instead of sending it.")
@click.option("--ca-file", "ca_files", multiple=True, metavar="PATH", callback=base.check_ca_files,
              help="Extra trust anchor for the SM-DP+'s TLS, as the global --ca-file (repeatable).")
@click.pass_context
def download(ctx: click.Context, code: str | None, qr_image: str | None, smdp: str | None, matching_id: str,
             confirmation_code: str | None, imei: str | None, yes: bool, no_notify: bool,
             ca_files: tuple[str, ...]) -> None:
    """Download a profile: `lpa download 'LPA:1$smdp.example.com$MATCHING-ID'` (quote it), - to read
    the code from stdin, or --qr IMAGE to read it from a QR code picture.

    Shows what the SM-DP+ offers and asks before anything is installed.
    """
    from ..activation import ActivationCode, parse_activation_code
    from ..address import check_address
    from ..download import device_info

    if [code, qr_image, smdp].count(None) != 2:
        raise click.UsageError("give one of: an activation code (or - for stdin), --qr IMAGE, --smdp ADDRESS")
    if qr_image is not None:
        from ..qr import read_activation_code
        activation = parse_activation_code(read_activation_code(qr_image))
    elif code is not None:
        activation = parse_activation_code(sys.stdin.readline() if code == "-" else code)
    else:
        check_address(smdp or "")
        activation = ActivationCode(smdp or "", matching_id)
    device_info(imei)  # checked now, before the card is touched
    ctx.obj.ca_files = tuple(dict.fromkeys([*ctx.obj.ca_files, *ca_files]))
    if not yes and not base.interactive():
        raise InputError("not downloading without consent; add --yes")
    if activation.cc_required and confirmation_code is None and not base.interactive():
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

    progress = progress_bar("installing", enabled=not ctx.obj.json, minimum=0)

    with ctx.obj.open() as euicc:
        result = euicc.download(activation, consent=consent, confirmation_code=ask_code, imei=imei,
                                notify=ctx.obj.notify and not no_notify, progress=progress)

    def human() -> None:
        if result.result.error:
            click.echo(safe(f"not installed: the eUICC answered {result.result.error[1]} "
                            f"({result.result.error[0]})"))
            return
        line = (f"installed {result.offer.iccid} ({result.offer.provider}, {result.offer.name}) "
                f"in ISD-P {result.result.isdp_aid}")
        for d in result.deliveries:
            line += f"; notified {d.notification.address}" if d.delivered else \
                f"; the installation result for {d.notification.address} is kept on the eUICC ({d.error})"
        click.echo(safe(line))

    out(ctx, result.to_json(), human)
    if result.result.error:
        ctx.exit(3)
