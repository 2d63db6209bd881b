"""`lpa sim` commands on the simulated eUICC's state: reset, identity, add-profile, quirks."""
from __future__ import annotations

import os
from typing import Any

import click

from .statefile import load_state, open_state_file

_OPERATIONS = ("install", "enable", "disable", "delete")

def _read_identity(euicc_cert: str, eum_cert: str, euicc_key: str) -> dict[str, str]:
    from ..pki.identity import Identity

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
    from ..pki.identity import Identity

    state.identity = texts
    state.eid = Identity.from_state(texts).eid

@click.command()
@identity_options
@click.pass_context
def reset(ctx: click.Context, euicc_cert: str | None, eum_cert: str | None, euicc_key: str | None) -> None:
    """Start afresh: the seeded profiles, no notifications.

    With --euicc-cert, --eum-cert and --euicc-key the eUICC takes that
    identity (its EID is the certificate's serialNumber) and signs with it.
    """
    from ..card.state import seeded

    state_file = open_state_file(ctx)
    state = seeded()
    _apply_identity(state, _identity_from(euicc_cert, eum_cert, euicc_key))
    state_file.save(state)
    ctx.obj.emit({"eidValue": state.eid, "profiles": len(state.profiles), "file": str(state_file.path)},
                 lambda: click.echo(f"simulated eUICC {state.eid} reset ({len(state.profiles)} profiles) "
                                    f"in {state_file.path}"))


@click.command()
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
    from ..pki.identity import Identity

    state_file, state = load_state(ctx)
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
    data = {"eidValue": current.eid, "euiccCertificate": current.euicc_cert.subject.rfc4514_string(),
            "eumCertificate": current.eum_cert.subject.rfc4514_string(), "ciKeyId": current.ci_key_id.hex(),
            "trustedCis": [_ci_key_id(pem).hex() for pem in state.trusted_cis]}

    def human() -> None:
        click.echo(f"EID:       {data['eidValue']}")
        click.echo(f"eUICC:     {data['euiccCertificate']}")
        click.echo(f"EUM:       {data['eumCertificate']}")
        click.echo(f"CI key id: {data['ciKeyId']}")
        for key_id in data["trustedCis"]:
            click.echo(f"trusts CI: {key_id}")

    ctx.obj.emit(data, human)


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

    from ..pki.certificates import key_id

    return key_id(x509.load_pem_x509_certificate(pem.encode()))


@click.command("add-profile")
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
    from ...encoding import check_iccid
    from ...errors import InputError
    from ..card.isdr import Isdr
    from ..card.state import SimProfile

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

    state_file, state = load_state(ctx)
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
    ctx.obj.emit({"iccid": iccid, "profileState": profile.state, "isdpAid": profile.isdp_aid},
                 lambda: click.echo(f"added {iccid} ({profile.state}, ISD-P {profile.isdp_aid})"))


@click.command()
@click.option("--isdr-aid", metavar="HEX", help="Answer at this ISD-R AID only (e.g. a 5ber's).")
@click.option("--second-isdr-aid", metavar="HEX", help="A second eUICC instance at this ISD-R AID (as an eSTK.me): "
              "its own EID and profiles, in the state file's sibling NAME.second.json.")
@click.option("--partial-select/--no-partial-select", default=None,
              help="Answer SELECT by a partial AID (first and next occurrence), as ISO/IEC 7816-4 allows (default).")
@click.option("--logical-channels/--no-logical-channels", default=None,
              help="Refuse MANAGE CHANNEL with 6881, like cards that only work on the basic channel.")
@click.option("--logical-select-error", metavar="SW",
              help="Answer SELECT ISD-R on a logical channel with SW (a 5ber answers 6999).")
@click.option("--first-channel", type=click.IntRange(1, 19), help="First logical channel handed out.")
@click.option("--max-segment", type=click.IntRange(1, 255), help="Refuse longer STORE DATA blocks.")
@click.option("--segment-error", metavar="SW", help="Status word for a refused block (default 6700).")
@click.option("--wrong-le-6c/--no-wrong-le-6c", default=None, help="Answer a wrong Le with 6Cxx first.")
@click.option("--chunk", type=click.IntRange(1, 256), help="Largest GET RESPONSE chunk (long 61xx chains).")
@click.option("--fault", "faults", multiple=True, metavar="NAME",
              help="Sign or certify wrongly, for trying servers (repeatable): bad-euicc-signature1, "
              "bad-euicc-signature2, bad-pir-signature, eid-outside-eum-range, foreign-cancel.")
@click.option("--clear", is_flag=True, help="Back to a well-behaved card (no quirks, no faults).")
@click.pass_context
def quirks(ctx: click.Context, clear: bool, logical_channels: bool | None, partial_select: bool | None,
           faults: tuple[str, ...], **changes: Any) -> None:
    """Make the simulated eUICC behave like particular real cards (see hardware-notes.md), or misbehave
    (--fault)."""
    from ..card.card import Quirks
    from ..card.faults import FAULTS

    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: not one of {', '.join(FAULTS)}", param_hint="--fault")
    state_file, state = load_state(ctx)
    current = {} if clear else dict(state.quirks)
    if faults:
        current["faults"] = sorted(set(current.get("faults", [])) | set(faults))
    if logical_channels is not None:
        current["no_logical_channels"] = not logical_channels
    if partial_select is not None:
        current["no_partial_select"] = not partial_select
    for name, value in changes.items():
        if value is None:
            continue
        try:
            if name in ("isdr_aid", "second_isdr_aid"):
                value = bytes.fromhex(value).hex().upper()
            elif name in ("segment_error", "logical_select_error"):
                value = int(value, 16)
        except ValueError:
            raise click.BadParameter("not hexadecimal", param_hint=f"--{name.replace('_', '-')}") from None
        current[name] = value
    Quirks.from_json(current)
    state.quirks = current
    state_file.save(state)
    ctx.obj.emit(dict(sorted(current.items())), lambda: click.echo(
        ", ".join(f"{k}={v}" for k, v in sorted(current.items())) or "no quirks: a well-behaved eUICC"))


COMMANDS = (reset, identity, add_profile, quirks)
