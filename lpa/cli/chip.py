"""`lpa readers`, `lpa info` and `lpa default-smdp`: which reader holds the eUICC, what it is, its default SM-DP+."""
from __future__ import annotations

import click

from .base import out
from .terminal import safe, table


@click.command()
@click.option("--modems", is_flag=True, help="Also ask the serial ports for modems (ATI; it writes to each port) "
              "and list the QMI and MBIM control devices under /sys (nothing is sent to them).")
@click.pass_context
def readers(ctx: click.Context, modems: bool) -> None:
    """List the PC/SC readers and what card is in each, each eUICC instance with its ISD-R and EID (and, with
    --modems, the modems)."""
    from ..apdu import isdr_aids
    from ..devices import describe

    found = describe(isdr_aids(ctx.obj.aid), modems=modems)

    def human() -> None:
        if not found:
            click.echo("no card reader found")
            return
        table(["#", "READER", "CARD"], [[r["index"], r["name"], r["card"]] for r in found])
        for reader in found:
            instances: list[tuple[str, str | None]] = list(zip(reader.get("isdrAids", []), reader.get("eids", [])))  # type: ignore[call-overload]
            for number, (aid, eid) in enumerate(instances):
                click.echo(f"  {reader['index']} --euicc {number}: ISD-R {aid}, EID {eid or 'unreadable'}")

    out(ctx, found, human)


@click.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Show the eUICC: EID, versions, free memory, CI keys, certification, default addresses, allowed policy rules."""
    with ctx.obj.open() as euicc:
        result = euicc.info()
    data = result.to_json()

    def human() -> None:
        for label, values in result.summary():
            for i, line in enumerate(values):
                click.echo(f"{label + ':' if i == 0 else '':26}{safe(line)}")

    out(ctx, data, human)


@click.command("default-smdp")
@click.argument("address", required=False)
@click.option("--clear", is_flag=True, help="Remove the default SM-DP+ address.")
@click.pass_context
def default_smdp(ctx: click.Context, address: str | None, clear: bool) -> None:
    """Set the eUICC's default SM-DP+ address (lpa download uses it when given no code), or --clear it."""
    if (address is None) == (not clear):
        raise click.UsageError("give an ADDRESS, or --clear")
    if address:
        from ..address import check_address

        check_address(address)  # before the card is touched
    with ctx.obj.open() as euicc:
        euicc.set_default_smdp(address or "")
    out(ctx, {"defaultDpAddress": address}, lambda: click.echo(
        safe(f"default SM-DP+ set to {address}") if address else "default SM-DP+ cleared"))


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [readers, info, default_smdp]
