"""`lpa sim` commands that run the test servers: smdpp, smds."""
from __future__ import annotations

import click


def _pair(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (checked to hold a "=") as (NAME, VALUE), split at the first "="."""
    name, _, value = text.partition("=")
    return name, value


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option("--fault", metavar="MODE", help="Misbehave, for trying lpa's error handling: http500, slow, reset, "
              "no-tls, plain-http, tls-eof, drop-body, redirect, unknown-ci, wrong-host, expired-tls, failed-status, garbage-200 "
              "(and answers other servers "
              "give: accept-200-empty, accept-200-json); for downloads dp-bad-signature, "
              "dp-unknown-ci, dp-expired, fail-initiateAuthentication, fail-authenticateClient, "
              "fail-getBoundProfilePackage, fail-cancelSession, corrupt-segment, drop-bpp; and what a card or lpa "
              "must refuse: forged-dpauth, forged-dppb, bad-smdp-sign, bpp-wrong-transaction, bad-padding, "
              "metadata-mismatch, header-iccid-mismatch. Each session step is logged.")
@click.option("--confirmation-code", "codes", multiple=True, metavar="MATCHING_ID=CODE",
              help="Require this confirmation code for this matching ID's download (repeatable).")
@click.option("--ppk", is_flag=True, help="Protect profile data with Profile Protection Keys (ReplaceSessionKeys).")
@click.option("--default-order", "orders", multiple=True, metavar="EID=MATCHING_ID",
              help="Hold this profile for the eUICC EID (* for any) in the default SM-DP+ flow, where "
              "`lpa download` sends no matching ID (repeatable).")
@click.pass_context
def smdpp(ctx: click.Context, host: str, port: int, fault: str | None, codes: tuple[str, ...], ppk: bool,
          orders: tuple[str, ...]) -> None:
    """Run the test SM-DP+ (ES9+ downloads of the TS.48 test profiles, and handleNotification,
    verifying signatures) until interrupted.

    Its TLS certificate is from the lpa test CI: give lpa
    `--ca-file lpa/sim/pki/ci-cert.pem`. Point a simulated profile at it
    with `lpa sim add-profile --smdp 127.0.0.1:PORT ...`.
    """
    import time

    from ..pki.testpki import PKI_DIR
    from ..servers.smdpp import FAULTS, TestSmdpp

    if fault is not None and fault not in FAULTS:
        raise click.BadParameter(f"one of {', '.join(FAULTS)}", param_hint="--fault")
    if any("=" not in code for code in codes):
        raise click.BadParameter("MATCHING_ID=CODE", param_hint="--confirmation-code")
    if any("=" not in order for order in orders):
        raise click.BadParameter("EID=MATCHING_ID", param_hint="--default-order")
    server = TestSmdpp(host=host, port=port, fault=fault).start()
    if server.download:
        server.download.confirmation_codes.update(_pair(code) for code in codes)
        server.download.default_orders.update(_pair(order) for order in orders)
        server.download.ppk_mode = ppk
        server.download.log = lambda line: click.echo(f"session {line}")
        unknown = set(server.download.default_orders.values()) - set(server.download.profiles)
        if unknown:
            server.close()
            raise click.BadParameter(f"no profile {', '.join(sorted(unknown))}; one of "
                                     f"{', '.join(server.download.profiles)}", param_hint="--default-order")
    commands = [(matching_id, _lpa("download", f"LPA:1${server.address}${matching_id}"
                                   + ("$$1" if matching_id in server.download.confirmation_codes else "")))
                for matching_id in server.download.profiles] if server.download else []  # $$1: ccRequired
    held = [(matching_id, eid, f"{_lpa('default-smdp', server.address)}; {_lpa('download')}")
              for eid, matching_id in (server.download.default_orders.items() if server.download else ())]

    def human() -> None:
        click.echo(f"test SM-DP+ on https://{server.address} (trusted with --ca-file {PKI_DIR / 'ci-cert.pem'}); "
                   "with the simulated eUICC:")
        for _, command in commands:
            click.echo(f"  {command}")
        for matching_id, eid, command in held:
            click.echo(f"  {matching_id} for {'any eUICC' if eid == '*' else eid}: {command}")

    ctx.obj.emit({"address": server.address, "caFile": str(PKI_DIR / "ci-cert.pem"),
                  "downloads": [{"matchingId": m, "command": c} for m, c in commands],
                  "defaultOrders": [{"matchingId": m, "eid": e, "command": c} for m, e, c in held]}, human)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for accepted in server.accepted[seen:] if not ctx.obj.json else ():
                click.echo(f"accepted notification {accepted.seq_number} {accepted.operation} "
                           f"{accepted.iccid} from eUICC {accepted.eid} (signature verified)")
            seen = len(server.accepted)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8444, show_default=True, type=click.IntRange(0, 65535))
@click.option("--event", "events", multiple=True, metavar="EVENT_ID=ADDRESS",
              help="An event record: the profile at SM-DP+ ADDRESS with matching ID EVENT_ID, or another SM-DS "
              "at ADDRESS (a cascade) (repeatable).")
@click.option("--eid", default="*", metavar="EID", help="Hold the events for this eUICC only (default: any).")
@click.option("--fault", metavar="MODE", help="Misbehave: ds-bad-signature, ds-unknown-ci, ds-expired, "
              "fail-initiateAuthentication, fail-authenticateClient, bad-events, and the transport faults of "
              "`lpa sim smdpp` (http500, slow, reset, no-tls, ...).")
@click.pass_context
def smds(ctx: click.Context, host: str, port: int, events: tuple[str, ...], eid: str, fault: str | None) -> None:
    """Run a test SM-DS (ES11 event retrieval, on the ES11 and the ES9+ paths) until interrupted.

    Its TLS and CERT.DSauth are from the lpa test CI: give lpa
    `--ca-file lpa/sim/pki/ci-cert.pem`, and `lpa discover --smds 127.0.0.1:PORT`.
    """
    import time

    from ..pki.testpki import PKI_DIR
    from ..servers.https import FAULTS as TRANSPORT_FAULTS
    from ..servers.smds import FAULTS, Event, TestSmds

    if fault is not None and fault not in FAULTS and fault not in TRANSPORT_FAULTS:
        raise click.BadParameter(f"one of {', '.join(FAULTS)} or a transport fault", param_hint="--fault")
    if any("=" not in e for e in events):
        raise click.BadParameter("EVENT_ID=ADDRESS", param_hint="--event")
    server = TestSmds(host=host, port=port, fault=fault).start()
    assert server.discovery is not None
    server.discovery.events = [Event(*_pair(e), eid=eid) for e in events]
    command = _lpa("discover", "--smds", server.address)
    ctx.obj.emit({"address": server.address, "caFile": str(PKI_DIR / "ci-cert.pem"), "command": command},
                 lambda: click.echo(f"test SM-DS on https://{server.address} (trusted with --ca-file "
                                    f"{PKI_DIR / 'ci-cert.pem'}); with the simulated eUICC:\n  {command}"))
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for asked in server.discovery.retrieved[seen:] if not ctx.obj.json else ():
                click.echo(f"events asked for by eUICC {asked}")
            seen = len(server.discovery.retrieved)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _lpa(*args: str) -> str:
    """A command line that works as printed: the simulated eUICC, trusting the test CI."""
    import shlex

    from ..pki.testpki import PKI_DIR

    return shlex.join(["lpa", "--sim", "--ca-file", str(PKI_DIR / "ci-cert.pem"), *args])


COMMANDS = (smdpp, smds)
