"""ES10a: the eUICC's configured SM-DP+ and SM-DS addresses (SGP.22 5.7.3 to 5.7.4)."""
from __future__ import annotations

from typing import NamedTuple

from .base import StoreData, call, check


class ConfiguredAddresses(NamedTuple):
    """EuiccConfiguredAddressesResponse (SGP.22 5.7.3)."""

    default_dp_address: str | None
    root_ds_address: str | None

    def to_json(self) -> dict[str, object]:
        return {"defaultDpAddress": self.default_dp_address, "rootDsAddress": self.root_ds_address}


def get_euicc_configured_addresses(ch: StoreData) -> ConfiguredAddresses:
    """ES10a.GetEuiccConfiguredAddresses (SGP.22 5.7.3)."""
    answer = call(ch, "EuiccConfiguredAddressesRequest", {}, "EuiccConfiguredAddressesResponse",
                   "GetEuiccConfiguredAddresses")
    return ConfiguredAddresses(answer.get("defaultDpAddress") or None, answer.get("rootDsAddress") or None)


def set_default_dp_address(ch: StoreData, address: str) -> None:
    """ES10a.SetDefaultDpAddress (SGP.22 5.7.4): set the default SM-DP+ address, or clear it with ""."""
    answer = call(ch, "SetDefaultDpAddressRequest", {"defaultDpAddress": address}, "SetDefaultDpAddressResponse",
                  "SetDefaultDpAddress")
    check("SetDefaultDpAddress", answer["setDefaultDpAddressResult"], {}, address or "(clear)")
