"""`lpa readers`, `lpa info` and `lpa default-smdp`: which reader holds the eUICC, what it is, its default SM-DP+."""
from __future__ import annotations

from typing import Any

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
        info2 = data["EUICCInfo2"]
        memory = info2.get("extCardResource", {})
        rows = [
            ("EID", data["eidValue"]),
            ("ISD-R AID", f"{data['isdrAid']} ({data['isdrVendor']})"),
            ("eUICC instances", None if len(data["isdrAids"]) < 2 else
             [f"--euicc {n}: {aid}{' (this one)' if aid == data['isdrAid'] else ''}"
              for n, aid in enumerate(data["isdrAids"])]),
            ("SGP.22 version", info2.get("svn")),
            ("Firmware version", info2.get("euiccFirmwareVer")),
            ("Profile package version", info2.get("profileVersion")),
            ("Free memory", _size(memory["freeNonVolatileMemory"]) if "freeNonVolatileMemory" in memory else None),
            ("Installed applications", memory.get("installedApplication")),
            ("CI keys (verification)", _ci_keys(info2.get("euiccCiPKIdListForVerification", []))),
            ("CI keys (signing)", _ci_keys(info2.get("euiccCiPKIdListForSigning", []))),
            ("Certification", _certification(info2.get("certificationDataObject"))),
            ("Default SM-DP+", data["EuiccConfiguredAddresses"]["defaultDpAddress"] or "(none)"),
            ("Root SM-DS", data["EuiccConfiguredAddresses"]["rootDsAddress"]),
            ("Policy rules allowed", None if result.rat is None else [_rule(r) for r in result.rat] or "(none)"),
        ]
        for label, value in rows:
            for i, line in enumerate(value if isinstance(value, list) else [] if value is None else [value]):
                click.echo(f"{label + ':' if i == 0 else '':26}{safe(line)}")

    out(ctx, data, human)


def _size(octets: int) -> str:
    """Bytes, and in KiB or MiB when that is shorter to read: "416000 bytes (406 KiB)"."""
    if octets < 1024:
        return f"{octets} bytes"
    value, unit = (octets / 1024, "KiB") if octets < 1024 * 1024 else (octets / (1024 * 1024), "MiB")
    return f"{octets} bytes ({value:.0f} {unit})" if value >= 10 else f"{octets} bytes ({value:.1f} {unit})"


def _certification(data: Any) -> str | None:
    """certificationDataObject (SGP.22 5.7.8): the GlobalPlatform DLOA platform label and registrar."""
    if not isinstance(data, dict):
        return None
    return f"{data.get('platformLabel')} (DLOA registrar {data.get('discoveryBaseURL')})"


def _ci_keys(key_ids: list[str]) -> list[str]:
    """Key identifiers, each with its CI's name where certs/ knows it."""
    from ..ci import ci_name

    return [f"{k} ({name})" if (name := ci_name(k)) else k for k in key_ids]


def _rule(rule: Any) -> str:
    """One rule of the Rules Authorisation Table in words: "ppr1, ppr2: any operator, with consent"."""
    operators = ", ".join("any operator" if mcc_mnc == "EEEEEE" and not gid1 and not gid2
                          else f"MCC/MNC {mcc_mnc}" + (f" GID1 {gid1}" if gid1 else "") + (f" GID2 {gid2}" if gid2 else "")
                          for mcc_mnc, gid1, gid2 in rule.operators)
    return f"{', '.join(rule.ppr_ids) or '(no rule)'}: {operators or 'no operator'}" + \
        (", with the user's consent" if rule.consent_required else "")


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
