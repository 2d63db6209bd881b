"""What `lpa info` shows, and the one setting it has: the default SM-DP+ (ES10a, ES10b, ES10c)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .. import es10
from ..apdu import vendor_of
from ..errors import StatusWordError
from ..session import Session


@dataclass(frozen=True)
class EuiccInfo:
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


def info(session: Session) -> EuiccInfo:
    """EID, EUICCInfo2, the configured SM-DP+ / SM-DS addresses and the Rules Authorisation Table."""
    ch = session.channel
    found = EuiccInfo(es10.get_eid(ch), es10.get_euicc_info2(ch), es10.get_euicc_configured_addresses(ch), ch.aid,
                      isdr_aids=session.isdrs)
    try:
        return replace(found, rat=es10.get_rat(ch))
    except StatusWordError as error:  # GetRAT is SGP.22 v2.1; older cards refuse it
        session.note(f"GetRAT refused with {error.sw:04X}; no rules authorisation table shown")
        return found


def set_default_smdp(session: Session, address: str) -> None:
    """Set (or, with "", clear) the default SM-DP+ address (ES10a.SetDefaultDpAddress)."""
    if address:
        from ..address import check_address

        check_address(address)
    es10.set_default_dp_address(session.channel, address)
