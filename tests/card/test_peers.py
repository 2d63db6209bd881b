"""Other LPAs' APDU sequences get real-card answers from the simulated eUICC.

tests/peers/*.apdu hold the commands lpac and pySim-shell send (from
shared/reference/peer-apdus.txt; delete and nickname built the same way)
with what a real card answers them. They run against the simulator in
process, as a T=0 and as a T=1 card, and through pcscd with `lpa sim
serve`'s bridge, as lpac or pySim-shell would send them.
"""
from __future__ import annotations

import re
from pathlib import Path
import pytest

from helpers import CONTOSO, TEST_PROFILE, require_pcscd
from lpa import codec
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.sim.card.isdr import Isdr
from lpa.sim.card.state import SimProfile, StateFile
from lpa.transport import Transport

PEERS = sorted((Path(__file__).parents[1] / "peers").glob("*.apdu"))

#: The response type of each ES10 request the peers send, by request tag.
RESPONSES = {
    "BF3E": "GetEuiccDataResponse", "BF3C": "EuiccConfiguredAddressesResponse", "BF43": "GetRatResponse",
    "BF22": "EUICCInfo2", "BF2D": "ProfileInfoListResponse", "BF28": "ListNotificationResponse",
    "BF2B": "RetrieveNotificationsListResponse", "BF31": "EnableProfileResponse", "BF32": "DisableProfileResponse",
    "BF33": "DeleteProfileResponse", "BF29": "SetNicknameResponse", "BF30": "NotificationSentResponse",
}


def steps(path: Path) -> list[tuple[bytes, str]]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [(bytes.fromhex(command[2:]), expected[2:]) for command, expected in zip(lines[::2], lines[1::2])]


def check_es10(request: bytes, answer: bytes) -> None:
    """The answer decodes, as strict DER, as the response to ``request``, and says ok."""
    warnings: list[str] = []
    value = codec.decode(RESPONSES[request[:2].hex().upper()], answer, warnings.append)
    assert warnings == []
    if isinstance(value, tuple):
        assert "Error" not in value[0], value
    else:
        results = [v for k, v in value.items() if k.endswith(("Result", "Status"))]
        assert results in ([], [0]), value


def run_peer(transport: Transport, path: Path) -> int:
    """Send the peer's commands; check each answer against what a real card answers. Returns the APDU count."""
    sw = 0x9000
    request = answer = b""
    sent = 0
    for command, expected in steps(path):
        if command[1] == 0xC0:
            assert sw >> 8 == 0x61, f"{path.name}: a real card answers 61xx before {command.hex().upper()}"
            while sw >> 8 == 0x61:  # GET RESPONSE with the announced Le, as long as the card says 61xx
                data, sw = transport.transmit(command[:4] + bytes([sw & 0xFF]))
                answer += data
                sent += 1
        else:
            data, sw = transport.transmit(command)
            sent += 1
            answer = data
            if command[1] == 0xE2:
                request = command[5 : 5 + command[4]]
        if expected.startswith("ES10 "):
            assert re.fullmatch(expected[5:], f"{sw:04X}"), f"{path.name}: {command.hex().upper()} -> {sw:04X}"
            check_es10(request, answer)
        else:
            response = data.hex().upper() + f"{sw:04X}"
            assert re.fullmatch(expected, response), f"{path.name}: {command.hex().upper()} -> {response}"
    return sent


@pytest.fixture
def peer_state(state_path: Path) -> Path:
    """The seeded eUICC plus what the peers' commands name: profile 8988211000000000017 and
    pending notifications 1 to 8."""
    state_file = StateFile(state_path)
    state = state_file.load()
    profile = SimProfile(iccid="8988211000000000017", isdp_aid=state.allocate_isdp_aid(), provider="Peer Op",
                         name="Peer", smdp_address="smdp.peer.example",
                         notify={op: "smdp.peer.example" for op in ("install", "enable", "disable", "delete")})
    state.profiles.append(profile)
    isdr = Isdr(state)
    for operation in ("install", "enable", "disable", "enable", "disable", "enable", "disable", "delete"):
        notification = state.add_notification(profile, operation, transaction_id="00" * 16)
        isdr.sign_notification(notification)  # type: ignore[arg-type]
    state_file.save(state)
    return state_path


@pytest.mark.parametrize("protocol", ["t0", "t1"])
def test_peer_sequences_get_real_card_answers_in_process(peer_state, protocol):
    with SimulatedTransport(peer_state, protocol) as transport:
        for path in PEERS:
            transport.reset()
            assert run_peer(transport, path) > 2


@pytest.mark.pcsc
@pytest.mark.parametrize("protocol", ["t0", "t1"])
def test_peer_sequences_get_real_card_answers_through_pcscd(peer_state, protocol):
    require_pcscd()
    from lpa.sim.bridges.pcscd import VirtualCard, running_pcscd
    from lpa.transport.pcsc import PcscTransport

    with running_pcscd(), VirtualCard(peer_state, protocol=protocol) as card:
        for path in PEERS:
            with PcscTransport(card.reader) as transport:
                run_peer(transport, path)
    state = StateFile(peer_state).load()
    assert state.find(iccid="8988211000000000017").state == "enabled"  # lpac's enable
    assert state.find(iccid=TEST_PROFILE) is None  # lpac's delete
    assert state.find(iccid=CONTOSO).nickname == "travel"
    assert [n.seq_number for n in state.notifications if n.iccid == "8988211000000000017"] == [1, 2, 5, 6, 7, 10]


def test_a_peer_file_mismatch_is_caught(peer_state, tmp_path):
    wrong = tmp_path / "wrong.apdu"
    wrong.write_text("> 80AA00000AA9088100820101830107\n< 6D00\n")
    with SimulatedTransport(peer_state) as transport, pytest.raises(AssertionError, match="80AA"):
        run_peer(transport, wrong)
