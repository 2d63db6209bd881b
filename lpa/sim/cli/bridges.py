"""`lpa sim` commands that put the simulated eUICC somewhere: serve (pcscd through vpcd), modem."""
from __future__ import annotations

from typing import Any

import click

from .statefile import open_state_file

@click.command()
@click.option("--port", default=35963, show_default=True, type=click.IntRange(1, 65535),
              help="vpcd port: 35963 is reader 'Virtual PCD 00 00', 35964 'Virtual PCD 00 01'.")
@click.option("--protocol", type=click.Choice(["t0", "t1"]), default="t0", show_default=True,
              help="t0: an ATR offering T=0, every answer to a command with data through 61xx and GET "
              "RESPONSE; t1: an ATR offering T=1, data directly when the command has Le.")
@click.option("--atr", metavar="HEX", help="ATR to present instead of the protocol's.")
@click.option("--latency", type=click.FloatRange(0, 5), default=0.0, show_default=True,
              help="Seconds added to each APDU, to mimic a USB reader.")
@click.option("--log", "log_apdus", is_flag=True, help="Print every APDU exchanged.")
@click.pass_context
def serve(ctx: click.Context, port: int, protocol: str, atr: str | None, latency: float, log_apdus: bool) -> None:
    """Put the simulated eUICC into pcscd's "Virtual PCD" reader until interrupted.

    Needs pcscd and vsmartcard-vpcd. Any PC/SC program then sees the card:
    lpa (without --sim), lpac, pySim-shell. Stopping removes the card.
    """
    from ..bridges.vpcd import VpcdBridge

    try:
        atr_bytes = bytes.fromhex(atr) if atr else None
    except ValueError:
        raise click.BadParameter("not hexadecimal", param_hint="--atr") from None
    bridge = VpcdBridge(open_state_file(ctx, lock=False), port=port, protocol=protocol, atr=atr_bytes, latency=latency,
                        log=click.echo if log_apdus else None)
    try:
        bridge.connect()
    except ConnectionError as error:
        raise click.ClickException(str(error)) from None
    atr_hex = bridge.card.atr.hex().upper()
    ctx.obj.emit({"protocol": protocol, "atr": atr_hex, "port": port, "file": str(bridge.card.state_file.path)},
                 lambda: click.echo(f"simulated eUICC ({protocol.upper().replace('T', 'T=')}, ATR {atr_hex}) inserted "
                                    f"in vpcd reader on port {port} ({bridge.card.state_file.path}); Ctrl-C removes "
                                    "it", err=True))
    try:
        bridge.serve()
    except KeyboardInterrupt:
        bridge.stop()
    if not ctx.obj.json:
        click.echo("card removed", err=True)


@click.command()
@click.option("--no-ccho", is_flag=True, help="No AT+CCHO/CGLA/CCHC: only AT+CSIM (Dell DW5821e).")
@click.option("--bare-session-id", is_flag=True, help='Answer AT+CCHO with a bare "1" line (Fibocom FM350-GL).')
@click.option("--long-session-id", is_flag=True, help="Session ids as 16 hex digits (Sierra MC7455).")
@click.option("--echo", is_flag=True, help="Start with echo on.")
@click.option("--urcs", is_flag=True, help="Unsolicited result codes between commands and answers.")
@click.option("--max-command", type=click.IntRange(0), default=0, help="Longest AT+CGLA/CSIM line (0: any).")
@click.option("--slow", type=click.FloatRange(0, 5), default=0.0, help="Seconds added to each answer.")
@click.option("--sim-sleep", is_flag=True, help="+CME ERROR: 3 until AT+ECSIMSLEEP=0 (MediaTek-based modems).")
@click.option("--no-isdr", is_flag=True, help="A SIM without an ISD-R: AT+CCHO answers +CME ERROR: 13.")
@click.pass_context
def modem(ctx: click.Context, **quirks: Any) -> None:
    """A simulated modem on a pseudo-terminal, in front of the simulated eUICC, until interrupted.

    Use it with `lpa --device at:PORT ...` (the port is printed).
    """
    import time

    from ..bridges.modem import ModemQuirks, SimulatedModem

    with SimulatedModem(open_state_file(ctx, lock=False), ModemQuirks(**quirks)) as running:
        ctx.obj.emit({"port": running.port}, lambda: click.echo(
            f"simulated modem on {running.port} (lpa --device at:{running.port} list); Ctrl-C stops it"))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


COMMANDS = (serve, modem)
