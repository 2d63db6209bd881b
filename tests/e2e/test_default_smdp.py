"""`lpa default-smdp` and ES10a.SetDefaultDpAddress, pinned to a real card's exchange (XeSIM capture)."""
from __future__ import annotations

import pytest

from helpers import json_data


def test_the_simulator_answers_set_default_dp_address_as_the_xesim_card_did(state_path):
    from lpa.sim.card.isdr import Isdr
    from lpa.sim.card.state import StateFile

    state = StateFile(state_path).load()
    # answers.json: BF3F 15 80 13 "some random address" -> BF3F 03 80 01 00 (the card does not check the FQDN)
    answer = Isdr(state).handle(bytes.fromhex("BF3F158013") + b"some random address")
    assert answer == bytes.fromhex("BF3F03800100")
    assert state.default_dp_address == "some random address"


def test_default_smdp_sets_shows_and_clears_the_address(lpa):
    assert lpa("default-smdp", "smdp.example.com:8443").output == "default SM-DP+ set to smdp.example.com:8443\n"
    assert json_data(lpa("--json", "info"))["EuiccConfiguredAddresses"]["defaultDpAddress"] == "smdp.example.com:8443"
    assert json_data(lpa("--json", "default-smdp", "--clear")) == {"defaultDpAddress": None}
    assert json_data(lpa("--json", "info"))["EuiccConfiguredAddresses"]["defaultDpAddress"] is None
    assert "Default SM-DP+:           (none)" in lpa("info").output


@pytest.mark.parametrize("args,message", [
    ([], "give an ADDRESS, or --clear"),
    (["smdp.example.com", "--clear"], "give an ADDRESS, or --clear"),
    (["bad host!"], "malformed SM-DP+ address"),
    (["smdp.example.com:99999"], "SM-DP+ address"),
])
def test_bad_default_smdp_requests_are_refused_before_the_card_is_touched(lpa, state_path, args, message):
    lpa("list")  # the state file exists
    before = state_path.read_bytes()
    result = lpa("default-smdp", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert state_path.read_bytes() == before


def test_lpa_sends_the_request_the_xesim_card_accepted():
    from lpa import es10

    class Card:
        sent: list[bytes] = []

        def store_data(self, payload: bytes, name: str = "") -> bytes:
            self.sent.append(payload)
            return bytes.fromhex("BF3F03800100")

    card = Card()
    es10.set_default_dp_address(card, "some random address")
    assert card.sent == [bytes.fromhex("BF3F158013") + b"some random address"]


@pytest.mark.parametrize("address,what", [("smdp.example.com", "smdp.example.com"), ("", "(clear)")])
def test_an_undefined_error_from_the_card_is_reported_with_its_code(address, what):
    from lpa import es10
    from lpa.errors import ResultError

    class Card:
        def store_data(self, payload: bytes, name: str = "") -> bytes:
            return bytes.fromhex("BF3F0380017F")

    with pytest.raises(ResultError) as error:
        es10.set_default_dp_address(Card(), address)
    assert str(error.value) == (f"SetDefaultDpAddress {what}: the eUICC reported an undefined error "
                                "(result 127, undefinedError)")
