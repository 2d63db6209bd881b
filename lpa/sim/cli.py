"""`lpa sim`: manage the simulated eUICC and run its test peers.

Only click is imported here; each command imports what it needs.
"""
from __future__ import annotations

import os
from typing import Any

import click

_OPERATIONS = ("install", "enable", "disable", "delete")


def _state_file(ctx: click.Context, lock: bool = True) -> Any:
    """The state file, locked until the command ends (its load, change and save are one step)."""
    from .state import StateFile

    state_file = StateFile(ctx.find_root().obj.sim_state)
    if lock:
        ctx.with_resource(state_file.locked())
    return state_file


def _load(ctx: click.Context) -> tuple[Any, Any]:
    state_file = _state_file(ctx)
    try:
        return state_file, state_file.load()
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _read_identity(euicc_cert: str, eum_cert: str, euicc_key: str) -> dict[str, str]:
    from .identity import Identity

    texts = {}
    for name, path in (("euicc_cert", euicc_cert), ("eum_cert", eum_cert), ("euicc_key", euicc_key)):
        with open(path, "rb") as f:
            texts[name] = f.read().decode("ascii", "replace")
    try:
        Identity.from_state(texts)
    except ValueError as error:
        raise click.ClickException(f"unusable eUICC identity: {error}") from None
    return texts


_identity_options = [
    click.option("--euicc-cert", type=click.Path(exists=True, dir_okay=False), help="eUICC certificate (PEM)."),
    click.option("--eum-cert", type=click.Path(exists=True, dir_okay=False), help="EUM certificate (PEM)."),
    click.option("--euicc-key", type=click.Path(exists=True, dir_okay=False), help="eUICC private key (PEM)."),
]


def identity_options(function: Any) -> Any:
    for option in reversed(_identity_options):
        function = option(function)
    return function


def _identity_from(euicc_cert: str | None, eum_cert: str | None, euicc_key: str | None) -> dict[str, str] | None:
    given = [euicc_cert, eum_cert, euicc_key]
    if not any(given):
        return None
    if not all(given):
        raise click.UsageError("--euicc-cert, --eum-cert and --euicc-key go together")
    return _read_identity(euicc_cert, eum_cert, euicc_key)  # type: ignore[arg-type]


def _apply_identity(state: Any, texts: dict[str, str] | None) -> None:
    from .identity import Identity

    state.identity = texts
    state.eid = Identity.from_state(texts).eid


@click.group()
def sim() -> None:
    """The simulated eUICC (use it with `lpa --sim ...`, or `lpa sim serve` for PC/SC)."""


@sim.command()
@identity_options
@click.pass_context
def reset(ctx: click.Context, euicc_cert: str | None, eum_cert: str | None, euicc_key: str | None) -> None:
    """Start afresh: the seeded profiles, no notifications.

    With --euicc-cert, --eum-cert and --euicc-key the eUICC takes that
    identity (its EID is the certificate's serialNumber) and signs with it.
    """
    from .state import seeded

    state_file = _state_file(ctx)
    state = seeded()
    _apply_identity(state, _identity_from(euicc_cert, eum_cert, euicc_key))
    state_file.save(state)
    click.echo(f"simulated eUICC {state.eid} reset ({len(state.profiles)} profiles) in {state_file.path}")


@sim.command()
@identity_options
@click.option("--builtin", is_flag=True, help="Go back to the built-in test identity.")
@click.option("--trust-ci", "trust_ci", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Also accept SM-DP+ certificates under this CI certificate (PEM, e.g. the SGP.26 test CI; "
              "repeatable).")
@click.option("--forget-cis", is_flag=True, help="Accept only the built-in test CI again.")
@click.pass_context
def identity(ctx: click.Context, euicc_cert: str | None, eum_cert: str | None, euicc_key: str | None,
             builtin: bool, trust_ci: tuple[str, ...], forget_cis: bool) -> None:
    """Show or change the eUICC identity (certificates and signing key) and the CIs it trusts."""
    from .identity import Identity

    state_file, state = _load(ctx)
    texts = _identity_from(euicc_cert, eum_cert, euicc_key)
    added = [_read_ci(path) for path in trust_ci]
    if texts or builtin:
        _apply_identity(state, texts)
    if forget_cis:
        state.trusted_cis = []
    state.trusted_cis = list(dict.fromkeys([*state.trusted_cis, *added]))
    if texts or builtin or forget_cis or added:
        state_file.save(state)
    current = Identity.from_state(state.identity)
    click.echo(f"EID:       {current.eid}")
    click.echo(f"eUICC:     {current.euicc_cert.subject.rfc4514_string()}")
    click.echo(f"EUM:       {current.eum_cert.subject.rfc4514_string()}")
    click.echo(f"CI key id: {current.ci_key_id.hex()}")
    for pem in state.trusted_cis:
        click.echo(f"trusts CI: {_ci_key_id(pem).hex()}")


def _read_ci(path: str) -> str:
    """A CI certificate to trust, checked: a PEM root CA certificate with a subject key identifier."""
    from cryptography import x509

    text = open(path, "rb").read().decode("ascii", "replace")
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise click.ClickException(f"{path}: not a PEM certificate") from None
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        _ci_key_id(text)
    except x509.ExtensionNotFound as error:
        raise click.ClickException(f"{path}: not a CI certificate (no {error.oid._name})") from None
    if not ca or cert.issuer != cert.subject:
        raise click.ClickException(f"{path}: not a root CA certificate, so not a CI")
    return text


def _ci_key_id(pem: str) -> bytes:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier


@sim.command("add-profile")
@click.option("--iccid", required=True, help="ICCID, 18 to 20 digits.")
@click.option("--provider", required=True, help="Service provider name (at most 32 bytes).")
@click.option("--name", required=True, help="Profile name (at most 64 bytes).")
@click.option("--class", "profile_class", type=click.Choice(["operational", "test", "provisioning"]),
              default="operational", show_default=True)
@click.option("--enabled", is_flag=True, help="Enable it (the enabled profile is disabled, without notifications).")
@click.option("--nickname", help="Nickname.")
@click.option("--smdp", metavar="HOST[:PORT]", default="smdp.example.com", show_default=True,
              help="The SM-DP+ it came from: the install notification, and those of --notify, go there "
              "(taken as given, even malformed, for tests).")
@click.option("--notify", metavar="OPS", help="Operations that notify: install,enable,disable,delete "
              "(default: all of them with --smdp, else install).")
@click.option("--ppr1", is_flag=True, help="PPR1: disabling is not allowed.")
@click.option("--ppr2", is_flag=True, help="PPR2: deleting is not allowed.")
@click.option("--icon", type=click.File("rb"), help="Icon file, PNG or JPEG, at most 1024 bytes.")
@click.pass_context
def add_profile(ctx: click.Context, iccid: str, provider: str, name: str, profile_class: str, enabled: bool,
                nickname: str | None, smdp: str, notify: str | None, ppr1: bool, ppr2: bool, icon: Any) -> None:
    """Add a profile as if it had been downloaded (with its install notification)."""
    from ..encoding import check_iccid
    from ..errors import InputError
    from .isdr import Isdr
    from .state import SimProfile

    try:
        check_iccid(iccid)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="--iccid") from None
    for value, limit, option in ((provider, 32, "--provider"), (name, 64, "--name"), (nickname or "", 64, "--nickname")):
        if len(value.encode()) > limit:
            raise click.BadParameter(f"at most {limit} bytes of UTF-8", param_hint=option)
    smdp_given = ctx.get_parameter_source("smdp") != click.core.ParameterSource.DEFAULT
    operations = [op.strip() for op in notify.split(",") if op.strip()] if notify is not None \
        else list(_OPERATIONS if smdp_given else ("install",))
    unknown = set(operations) - set(_OPERATIONS)
    if unknown:
        raise click.BadParameter(f"unknown operation(s) {', '.join(sorted(unknown))}", param_hint="--notify")
    icon_type = icon_data = None
    if icon is not None:
        data = icon.read()
        if len(data) > 1024:
            raise click.BadParameter(f"{len(data)} bytes; an icon has at most 1024", param_hint="--icon")
        import base64

        icon_type = "png" if data.startswith(b"\x89PNG") else "jpeg" if data.startswith(b"\xff\xd8") else None
        if icon_type is None:
            raise click.BadParameter("neither PNG nor JPEG", param_hint="--icon")
        icon_data = base64.b64encode(data).decode()

    state_file, state = _load(ctx)
    if state.find(iccid=iccid):
        raise click.ClickException(f"a profile with ICCID {iccid} is already on the simulated eUICC")
    profile = SimProfile(
        iccid=iccid, isdp_aid=state.allocate_isdp_aid(), provider=provider, name=name,
        profile_class=profile_class, nickname=nickname, icon_type=icon_type, icon=icon_data,
        notify={op: smdp for op in operations}, smdp_address=smdp,
        policy_rules=[rule for rule, on in (("ppr1", ppr1), ("ppr2", ppr2)) if on],
    )
    if enabled:
        for other in state.profiles:
            other.state = "disabled"
        profile.state = "enabled"
    state.profiles.append(profile)
    notification = state.add_notification(profile, "install", transaction_id=os.urandom(16).hex())
    assert notification is not None  # install always notifies
    Isdr(state).sign_notification(notification)
    state_file.save(state)
    click.echo(f"added {iccid} ({profile.state}, ISD-P {profile.isdp_aid})")


@sim.command()
@click.option("--isdr-aid", metavar="HEX", help="Answer at this ISD-R AID only (e.g. a 5ber's).")
@click.option("--logical-channels/--no-logical-channels", default=None,
              help="Refuse MANAGE CHANNEL with 6881, like cards that only work on the basic channel.")
@click.option("--logical-select-error", metavar="SW",
              help="Answer SELECT ISD-R on a logical channel with SW (a 5ber answers 6999).")
@click.option("--first-channel", type=click.IntRange(1, 19), help="First logical channel handed out.")
@click.option("--max-segment", type=click.IntRange(1, 255), help="Refuse longer STORE DATA blocks.")
@click.option("--segment-error", metavar="SW", help="Status word for a refused block (default 6700).")
@click.option("--wrong-le-6c/--no-wrong-le-6c", default=None, help="Answer a wrong Le with 6Cxx first.")
@click.option("--chunk", type=click.IntRange(1, 256), help="Largest GET RESPONSE chunk (long 61xx chains).")
@click.option("--clear", is_flag=True, help="Back to a well-behaved card.")
@click.pass_context
def quirks(ctx: click.Context, clear: bool, logical_channels: bool | None, **changes: Any) -> None:
    """Make the simulated eUICC behave like particular real cards (see hardware-notes.md)."""
    from .card import Quirks

    state_file, state = _load(ctx)
    current = {} if clear else dict(state.quirks)
    if logical_channels is not None:
        current["no_logical_channels"] = not logical_channels
    for name, value in changes.items():
        if value is None:
            continue
        try:
            if name == "isdr_aid":
                value = bytes.fromhex(value).hex().upper()
            elif name in ("segment_error", "logical_select_error"):
                value = int(value, 16)
        except ValueError:
            raise click.BadParameter("not hexadecimal", param_hint=f"--{name.replace('_', '-')}") from None
        current[name] = value
    Quirks.from_json(current)
    state.quirks = current
    state_file.save(state)
    click.echo(", ".join(f"{k}={v}" for k, v in sorted(current.items())) or "no quirks: a well-behaved eUICC")


@sim.command()
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
    from .vpcd import VpcdBridge

    try:
        atr_bytes = bytes.fromhex(atr) if atr else None
    except ValueError:
        raise click.BadParameter("not hexadecimal", param_hint="--atr") from None
    bridge = VpcdBridge(_state_file(ctx, lock=False), port=port, protocol=protocol, atr=atr_bytes, latency=latency,
                        log=click.echo if log_apdus else None)
    try:
        bridge.connect()
    except ConnectionError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"simulated eUICC ({protocol.upper().replace('T', 'T=')}, ATR {bridge.card.atr.hex().upper()}) "
               f"inserted in vpcd reader on port {port} ({bridge.card.state_file.path}); Ctrl-C removes it", err=True)
    try:
        bridge.serve()
    except KeyboardInterrupt:
        bridge.stop()
    click.echo("card removed", err=True)


@sim.command()
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

    from .modem import ModemQuirks, SimulatedModem

    with SimulatedModem(_state_file(ctx, lock=False), ModemQuirks(**quirks)) as running:
        click.echo(f"simulated modem on {running.port} (lpa --device at:{running.port} list); Ctrl-C stops it")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option("--fault", metavar="MODE", help="Misbehave, for trying lpa's error handling: http500, slow, reset, "
              "no-tls, plain-http, tls-eof, drop-body, redirect, unknown-ci, wrong-host, failed-status, garbage-200 "
              "(and answers other servers "
              "give: accept-200-empty, accept-200-json); for downloads dp-bad-signature, "
              "dp-unknown-ci, dp-expired, fail-initiateAuthentication, fail-authenticateClient, "
              "fail-getBoundProfilePackage, fail-cancelSession, corrupt-segment, drop-bpp.")
@click.option("--confirmation-code", "codes", multiple=True, metavar="MATCHING_ID=CODE",
              help="Require this confirmation code for this matching ID's download (repeatable).")
@click.option("--ppk", is_flag=True, help="Protect profile data with Profile Protection Keys (ReplaceSessionKeys).")
@click.option("--default-order", "orders", multiple=True, metavar="EID=MATCHING_ID",
              help="Hold this profile for the eUICC EID (* for any) in the default SM-DP+ flow, where "
              "`lpa download` sends an empty matching ID (repeatable).")
def smdpp(host: str, port: int, fault: str | None, codes: tuple[str, ...], ppk: bool,
          orders: tuple[str, ...]) -> None:
    """Run the test SM-DP+ (ES9+ downloads of the TS.48 test profiles, and handleNotification,
    verifying signatures) until interrupted.

    Its TLS certificate is from the lpa test CI: give lpa
    `--ca-file lpa/sim/pki/ci-cert.pem`. Point a simulated profile at it
    with `lpa sim add-profile --smdp 127.0.0.1:PORT ...`.
    """
    import time

    from .smdpp import FAULTS, TestSmdpp
    from .testpki import PKI_DIR

    if fault is not None and fault not in FAULTS:
        raise click.BadParameter(f"one of {', '.join(FAULTS)}", param_hint="--fault")
    if any("=" not in code for code in codes):
        raise click.BadParameter("MATCHING_ID=CODE", param_hint="--confirmation-code")
    if any("=" not in order for order in orders):
        raise click.BadParameter("EID=MATCHING_ID", param_hint="--default-order")
    server = TestSmdpp(host=host, port=port, fault=fault).start()
    if server.download:
        server.download.confirmation_codes.update(code.split("=", 1) for code in codes)
        server.download.default_orders.update(order.split("=", 1) for order in orders)
        server.download.ppk_mode = ppk
        unknown = set(server.download.default_orders.values()) - set(server.download.profiles)
        if unknown:
            server.close()
            raise click.BadParameter(f"no profile {', '.join(sorted(unknown))}; one of "
                                     f"{', '.join(server.download.profiles)}", param_hint="--default-order")
    click.echo(f"test SM-DP+ on https://{server.address} (trust it with --ca-file {PKI_DIR / 'ci-cert.pem'})")
    for matching_id in server.download.profiles if server.download else ():
        required = "$$1" if matching_id in server.download.confirmation_codes else ""  # the ccRequired flag
        click.echo(f"  lpa download 'LPA:1${server.address}${matching_id}{required}'")
    for eid, matching_id in server.download.default_orders.items() if server.download else ():
        click.echo(f"  {matching_id} for {'any eUICC' if eid == '*' else eid}: lpa default-smdp {server.address}; "
                   "lpa download")
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for accepted in server.accepted[seen:]:
                click.echo(f"accepted notification {accepted.seq_number} {accepted.operation} "
                           f"{accepted.iccid} from eUICC {accepted.eid} (signature verified)")
            seen = len(server.accepted)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8444, show_default=True, type=click.IntRange(0, 65535))
@click.option("--event", "events", multiple=True, metavar="EVENT_ID=ADDRESS",
              help="An event record: the profile at SM-DP+ ADDRESS with matching ID EVENT_ID, or another SM-DS "
              "at ADDRESS (a cascade) (repeatable).")
@click.option("--eid", default="*", metavar="EID", help="Hold the events for this eUICC only (default: any).")
@click.option("--fault", metavar="MODE", help="Misbehave: ds-bad-signature, ds-unknown-ci, ds-expired, "
              "fail-initiateAuthentication, fail-authenticateClient, bad-events, and the transport faults of "
              "`lpa sim smdpp` (http500, slow, reset, no-tls, ...).")
def smds(host: str, port: int, events: tuple[str, ...], eid: str, fault: str | None) -> None:
    """Run a test SM-DS (ES11 event retrieval, on the ES11 and the ES9+ paths) until interrupted.

    Its TLS and CERT.DSauth are from the lpa test CI: give lpa
    `--ca-file lpa/sim/pki/ci-cert.pem`, and `lpa discover --smds 127.0.0.1:PORT`.
    """
    import time

    from .smdpp import FAULTS as TRANSPORT_FAULTS
    from .smdpp import TestSmdpp
    from .smds import FAULTS, Event
    from .testpki import PKI_DIR

    if fault is not None and fault not in FAULTS and fault not in TRANSPORT_FAULTS:
        raise click.BadParameter(f"one of {', '.join(FAULTS)} or a transport fault", param_hint="--fault")
    if any("=" not in e for e in events):
        raise click.BadParameter("EVENT_ID=ADDRESS", param_hint="--event")
    server = TestSmdpp(host=host, port=port, fault=fault, smds=True).start()
    assert server.discovery is not None
    server.discovery.events = [Event(*e.split("=", 1), eid=eid) for e in events]  # type: ignore[misc]
    click.echo(f"test SM-DS on https://{server.address} (trust it with --ca-file {PKI_DIR / 'ci-cert.pem'})")
    click.echo(f"  lpa discover --smds {server.address}")
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for asked in server.discovery.retrieved[seen:]:
                click.echo(f"events asked for by eUICC {asked}")
            seen = len(server.discovery.retrieved)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
