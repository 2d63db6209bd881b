"""The simulated ISD-R's ES10a functions (SGP.22 5.7.3, 5.7.4): the eUICC's configured addresses."""
from __future__ import annotations

from .state import SimState


class Es10a:
    """GetEuiccConfiguredAddresses and SetDefaultDpAddress, a part of :class:`~lpa.sim.card.isdr.Isdr`."""

    state: SimState
    changed: bool

    def get_euicc_configured_addresses(self, request: dict) -> dict:
        answer = {"rootDsAddress": self.state.root_ds_address}
        if self.state.default_dp_address:
            answer["defaultDpAddress"] = self.state.default_dp_address
        return answer

    def set_default_dp_address(self, request: dict) -> dict:
        """Any UTF-8 text is stored, as the XeSIM capture shows a real card doing (answers.json)."""
        self.state.default_dp_address = request["defaultDpAddress"]
        self.changed = True
        return {"setDefaultDpAddressResult": 0}
