"""What `lpa info` shows, and the one setting it has: the default SM-DP+ (ES10a, ES10b, ES10c)."""
from __future__ import annotations

from typing import Any, NamedTuple

from .. import es10
from ..apdu import vendor_of
from ..errors import StatusWordError
from ..session import Session


class EuiccInfo(NamedTuple):
    """What `lpa info` shows: EID, EUICCInfo2 and the configured addresses."""

    eid: str
    info2: es10.EuiccInfo2
    addresses: es10.ConfiguredAddresses
    isdr_aid: bytes
    #: The Rules Authorisation Table; None when the card refused GetRAT (SGP.22 before v2.1).
    rat: list[es10.PolicyRule] | None = None
    #: Every ISD-R found on the card, when lpa looked for more than one (--euicc, partial SELECT).
    isdr_aids: tuple[bytes, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"eidValue": self.eid, "isdrAid": self.isdr_aid.hex().upper(), "isdrVendor": vendor_of(self.isdr_aid),
                "EuiccConfiguredAddresses": self.addresses.to_json(), "EUICCInfo2": self.info2.fields,
                "rat": None if self.rat is None else [rule.to_json() for rule in self.rat],
                "isdrAids": [aid.hex().upper() for aid in self.isdr_aids or (self.isdr_aid,)]}

    def summary(self) -> list[tuple[str, list[str]]]:
        """What `lpa info` and `lpa web` show, in words: (label, lines) for each known field."""
        info2: dict[str, Any] = dict(self.info2.fields)
        memory = info2.get("extCardResource", {})
        rows: list[tuple[str, Any]] = [
            ("EID", self.eid),
            ("ISD-R AID", f"{self.isdr_aid.hex().upper()} ({vendor_of(self.isdr_aid)})"),
            ("eUICC instances", None if len(self.isdr_aids) < 2 else
             [f"--euicc {n}: {aid.hex().upper()}{' (this one)' if aid == self.isdr_aid else ''}"
              for n, aid in enumerate(self.isdr_aids)]),
            ("SGP.22 version", info2.get("svn")),
            ("Firmware version", info2.get("euiccFirmwareVer")),
            ("Profile package version", info2.get("profileVersion")),
            ("Free memory", _size(memory["freeNonVolatileMemory"]) if "freeNonVolatileMemory" in memory else None),
            ("Installed applications", memory.get("installedApplication")),
            ("CI keys (verification)", _ci_keys(info2.get("euiccCiPKIdListForVerification", []))),
            ("CI keys (signing)", _ci_keys(info2.get("euiccCiPKIdListForSigning", []))),
            ("Certification", _certification(info2.get("certificationDataObject"))),
            ("Default SM-DP+", self.addresses.default_dp_address or "(none)"),
            ("Root SM-DS", self.addresses.root_ds_address),
            ("Policy rules allowed", None if self.rat is None else [_rule(r) for r in self.rat] or "(none)"),
        ]
        return [(label, [str(v) for v in (value if isinstance(value, list) else [value])])
                for label, value in rows if value is not None and value != []]


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


def _rule(rule: es10.PolicyRule) -> str:
    """One rule of the Rules Authorisation Table in words: "ppr1, ppr2: any operator, with consent"."""
    operators = ", ".join("any operator" if mcc_mnc == "EEEEEE" and not gid1 and not gid2
                          else f"MCC/MNC {mcc_mnc}" + (f" GID1 {gid1}" if gid1 else "") + (f" GID2 {gid2}" if gid2 else "")
                          for mcc_mnc, gid1, gid2 in rule.operators)
    return f"{', '.join(rule.ppr_ids) or '(no rule)'}: {operators or 'no operator'}" + \
        (", with the user's consent" if rule.consent_required else "")


def info(session: Session) -> EuiccInfo:
    """EID, EUICCInfo2, the configured SM-DP+ / SM-DS addresses and the Rules Authorisation Table."""
    ch = session.channel
    found = EuiccInfo(es10.get_eid(ch), es10.get_euicc_info2(ch), es10.get_euicc_configured_addresses(ch), ch.aid,
                      isdr_aids=session.isdrs)
    try:
        return found._replace(rat=es10.get_rat(ch))
    except StatusWordError as error:  # GetRAT is SGP.22 v2.1; older cards refuse it
        session.note(f"GetRAT refused with {error.sw:04X}; no rules authorisation table shown")
        return found


def set_default_smdp(session: Session, address: str) -> None:
    """Set (or, with "", clear) the default SM-DP+ address (ES10a.SetDefaultDpAddress)."""
    if address:
        from ..address import check_address

        check_address(address)
    es10.set_default_dp_address(session.channel, address)
