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
@click.option("--qmi", "protocol", flag_value="qmi", help="A QMI modem (UIM service) instead of AT.")
@click.option("--mbim", "protocol", flag_value="mbim", help="An MBIM modem (UICC low-level access) instead of AT.")
@click.option("--proxy", metavar="NAME", help="QMI/MBIM: serve the abstract socket NAME, as qmi-proxy or mbim-proxy "
              "do (qmicli -p and mbimcli -p connect to 'qmi-proxy' and 'mbim-proxy'), not a pseudo-terminal.")
@click.option("--no-ccho", is_flag=True, help="AT: no AT+CCHO/CGLA/CCHC, only AT+CSIM (Dell DW5821e).")
@click.option("--bare-session-id", is_flag=True, help='AT: answer AT+CCHO with a bare "1" line (Fibocom FM350-GL).')
@click.option("--long-session-id", is_flag=True, help="AT: session ids as 16 hex digits (Sierra MC7455).")
@click.option("--echo", is_flag=True, help="AT: start with echo on.")
@click.option("--urcs", is_flag=True, help="AT: unsolicited result codes between commands and answers.")
@click.option("--max-command", type=click.IntRange(0), default=0, help="AT: longest AT+CGLA/CSIM line (0: any).")
@click.option("--slow", type=click.FloatRange(0, 5), default=0.0, help="Seconds added to each answer.")
@click.option("--sim-sleep", is_flag=True, help="AT: +CME ERROR: 3 until AT+ECSIMSLEEP=0 (MediaTek-based modems).")
@click.option("--no-isdr", is_flag=True, help="AT: a SIM without an ISD-R: AT+CCHO answers +CME ERROR: 13.")
@click.option("--plain-sim-in-slot-2", is_flag=True, help="QMI/MBIM: a second slot holding a SIM without an ISD-R.")
@click.option("--powered-off", is_flag=True, help="QMI/MBIM: errors until the SIM is powered (qmicli "
              "--uim-sim-power-on=1, mbimcli --ms-set-uicc-reset).")
@click.option("--max-channels", type=click.IntRange(0), default=0, help="QMI/MBIM: logical channels at most (0: any).")
@click.option("--no-uim", is_flag=True, help="QMI/MBIM: no UIM (UICC low-level access) service.")
@click.option("--empty-slot", is_flag=True, help="QMI/MBIM: slot 1 is empty.")
@click.pass_context
def modem(ctx: click.Context, protocol: str | None, proxy: str | None, **options: Any) -> None:
    """A simulated modem in front of the simulated eUICC, until interrupted.

    AT on a pseudo-terminal by default; --qmi and --mbim serve the
    modem's control device (a pseudo-terminal standing for /dev/cdc-wdmN,
    or with --proxy the proxy's socket). What to give `lpa --device` is
    printed.
    """
    import time

    at_options = ("no_ccho", "bare_session_id", "long_session_id", "echo", "urcs", "max_command", "sim_sleep",
                  "no_isdr")
    given = [name for name, value in options.items() if value and name != "slow"] + (["proxy"] if proxy else [])
    misplaced = [name for name in given if (name in at_options) != (protocol is None)]
    if misplaced:
        raise click.UsageError(f"--{misplaced[0].replace('_', '-')} is for "
                               f"{'AT modems' if protocol else 'QMI and MBIM modems (--qmi, --mbim)'}")
    state_file = open_state_file(ctx, lock=False)
    running: Any
    if protocol is None:
        from ..bridges.modem import ModemQuirks, SimulatedModem

        running = SimulatedModem(state_file, ModemQuirks(slow=options["slow"],
                                                         **{name: options[name] for name in at_options}))
    else:
        from ..bridges.mbim import SimulatedMbimModem
        from ..bridges.qmi import SimulatedQmiModem
        from ..bridges.wdm import WdmQuirks

        quirks = WdmQuirks(**{name: value for name, value in options.items() if name not in at_options})
        running = (SimulatedQmiModem if protocol == "qmi" else SimulatedMbimModem)(state_file, quirks, proxy)
    with running as started:
        device = f"at:{started.port}" if protocol is None else started.device_argument
        where = started.port if protocol is None else started.device
        ctx.obj.emit({"port": where, "device": device}, lambda: click.echo(
            f"simulated {protocol.upper() + ' ' if protocol else ''}modem on {where} (lpa --device {device} list); "
            "Ctrl-C stops it"))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


COMMANDS = (serve, modem)
