"""SM-DS discovery (ES11) and downloads without an activation code: the default SM-DP+, SM-DS events,
cascades, against the test SM-DS and SM-DP+ on 127.0.0.1."""
from __future__ import annotations

import base64
import json

import pytest

from helpers import json_data
from lpa import codec
from lpa.sim.card.state import StateFile
from lpa.sim.servers.smds import Event, TestSmds

pytestmark = pytest.mark.download

PROFILE, OTHER = "TS48V2-SAIP2-1-BERTLV-UNIQUE", "TS48V2-SAIP2-1-NOBERTLV-UNIQUE"
ICCID = {PROFILE: "8949449999999990049", OTHER: "8949449999999990007"}


@pytest.fixture
def servers():
    """Start test SM-DS servers (smds(events...)); all stopped afterwards."""
    started = []

    def smds(*events: Event, fault: str | None = None) -> TestSmds:
        server = TestSmds(fault=fault).start()
        server.discovery.events = list(events)
        started.append(server)
        return server

    yield smds
    for server in started:
        server.close()


def bodies(server, function):
    return [json.loads(body) for path, _, body in server.requests if path.endswith(function)]


def installed(sim_state):
    return [p.iccid for p in sim_state().profiles[4:]]


def test_discover_lists_the_events_for_this_euicc_only(lpa, smdpp, servers, sim_state):
    smds = servers(Event(PROFILE, smdpp.address),
                   Event("NOT-MINE", smdpp.address, eid="89049032000001000000000000000999"))
    result = lpa("discover", "--smds", smds.address)
    assert result.exit_code == 0, result.output
    assert PROFILE in result.output and "NOT-MINE" not in result.output
    assert json_data(lpa("--json", "discover", "--smds", smds.address)) == [
        {"eventId": PROFILE, "rspServerAddress": smdpp.address, "smds": [smds.address]}]
    assert smds.discovery.retrieved == [sim_state().eid] * 2


def test_es11_requests_name_the_smds_and_carry_no_matching_id(lpa, smdpp, servers):
    smds = servers(Event(PROFILE, smdpp.address))
    lpa("discover", "--smds", smds.address)
    assert [path for path, _, _ in smds.requests] == ["/gsma/rsp2/es11/initiateAuthentication",
                                                      "/gsma/rsp2/es11/authenticateClient"]
    [initiate] = bodies(smds, "initiateAuthentication")
    assert initiate["smdsAddress"] == smds.address and "smdpAddress" not in initiate
    [client] = bodies(smds, "authenticateClient")
    _, ok = codec.decode("AuthenticateServerResponseView", base64.b64decode(client["authenticateServerResponse"]))
    signed1 = codec.decode("EuiccSigned1View", bytes(ok["euiccSigned1"]))
    _, context = codec.decode("CtxParams1", bytes(signed1["ctxParams1"]))
    assert "matchingId" not in context and "deviceInfo" in context


def test_an_smds_answering_only_on_the_es9plus_paths_is_asked_there(lpa, smdpp, servers):
    smds = servers(Event(PROFILE, smdpp.address), fault="es9plus-only")
    assert json_data(lpa("--json", "discover", "--smds", smds.address))[0]["eventId"] == PROFILE
    assert [path for path, _, _ in smds.requests] == ["/gsma/rsp2/es11/initiateAuthentication",
                                                      "/gsma/rsp2/es9plus/initiateAuthentication",
                                                      "/gsma/rsp2/es9plus/authenticateClient"]
    assert bodies(smds, "initiateAuthentication")[1]["smdpAddress"] == smds.address


def test_a_cascade_to_an_alternative_smds_is_followed(lpa, smdpp, servers):
    alternative = servers(Event(OTHER, smdpp.address))
    root = servers(Event(PROFILE, smdpp.address), Event("CASCADE", alternative.address))
    events = json_data(lpa("--json", "discover", "--smds", root.address))
    assert events == [{"eventId": PROFILE, "rspServerAddress": smdpp.address, "smds": [root.address]},
                      {"eventId": OTHER, "rspServerAddress": smdpp.address,
                       "smds": [root.address, alternative.address]}]
    # the SM-DP+ was asked once whether it is an SM-DS (HTTP 404 on ES11), not once per event
    assert [path for path, _, _ in smdpp.requests] == ["/gsma/rsp2/es11/initiateAuthentication"]


def test_a_cascade_loop_and_the_depth_bound_end_discovery(lpa, smdpp, servers):
    deepest = servers(Event(PROFILE, smdpp.address))
    third = servers(Event("TO-DEEPEST", deepest.address))
    second = servers(Event("TO-THIRD", third.address))
    root = servers(Event("TO-SECOND", second.address))
    root.discovery.events.append(Event("LOOP", root.address))
    events = json_data(lpa("--json", "discover", "--smds", root.address))
    # root > second > third: three SM-DS; the fourth is listed as where the event is, not asked
    assert [(e["eventId"], e["rspServerAddress"]) for e in events] == [("TO-DEEPEST", deepest.address),
                                                                      ("LOOP", root.address)]
    assert deepest.requests == [] and len(root.discovery.retrieved) == 1


def test_download_event_by_number_and_by_id(lpa, smdpp, servers, sim_state):
    smds = servers(Event(PROFILE, smdpp.address), Event(OTHER, smdpp.address))
    result = lpa("download", "--yes", "--smds", smds.address, "--event", "2")
    assert result.exit_code == 0, result.output
    assert f"installed {ICCID[OTHER]}" in result.output
    assert lpa("download", "--yes", "--smds", smds.address, "--event", PROFILE).exit_code == 0
    assert installed(sim_state) == [ICCID[OTHER], ICCID[PROFILE]]
    # the event ID is the matching ID sent to the SM-DP+
    [_, last] = bodies(smdpp, "authenticateClient")
    _, ok = codec.decode("AuthenticateServerResponseView", base64.b64decode(last["authenticateServerResponse"]))
    _, context = codec.decode("CtxParams1", bytes(codec.decode("EuiccSigned1View", bytes(ok["euiccSigned1"]))[
        "ctxParams1"]))
    assert context["matchingId"] == PROFILE


def test_an_unknown_event_is_refused_with_the_list(lpa, smdpp, servers, sim_state):
    smds = servers(Event(PROFILE, smdpp.address))
    result = lpa("download", "--yes", "--smds", smds.address, "--event", "3")
    assert result.exit_code == 2 and f"no event 3 for this eUICC (there are 1: {PROFILE}" in result.output
    assert installed(sim_state) == [] and bodies(smdpp, "authenticateClient") == []


def test_without_a_code_the_default_smdp_is_asked_without_a_matching_id(lpa, smdpp, sim_state):
    """download-notes 1.5: matchingId is absent for the default SM-DP+ (as lpac sends it), not empty."""
    smdpp.download.default_orders["*"] = PROFILE
    lpa("default-smdp", smdpp.address)
    result = lpa("download", "--yes")
    assert result.exit_code == 0, result.output
    assert f"asking the default SM-DP+ {smdpp.address}" in result.output
    assert installed(sim_state) == [ICCID[PROFILE]]
    [client] = bodies(smdpp, "authenticateClient")
    _, ok = codec.decode("AuthenticateServerResponseView", base64.b64decode(client["authenticateServerResponse"]))
    signed1 = bytes(ok["euiccSigned1"])
    _, context = codec.decode("CtxParams1", bytes(codec.decode("EuiccSigned1View", signed1)["ctxParams1"]))
    assert "matchingId" not in context


def test_a_default_smdp_without_an_order_for_this_euicc_installs_nothing(lpa, smdpp, sim_state):
    smdpp.download.default_orders["89049032000001000000000000000999"] = PROFILE
    lpa("default-smdp", smdpp.address)
    result = lpa("download", "--yes")
    assert result.exit_code == 5 and "no pending order for eUICC" in result.output
    assert installed(sim_state) == []


def _root(state_path, address):
    state = StateFile(state_path).load()
    state.root_ds_address = address
    StateFile(state_path).save(state)


def test_without_a_code_or_default_the_root_smds_event_is_downloaded(lpa, smdpp, servers, state_path, sim_state):
    smds = servers(Event(PROFILE, smdpp.address))
    _root(state_path, smds.address)
    result = lpa("download", "--yes")
    assert result.exit_code == 0, result.output
    assert f"event {PROFILE} at {smdpp.address}" in result.output
    assert installed(sim_state) == [ICCID[PROFILE]]


def test_several_events_need_a_choice(lpa, smdpp, servers, state_path, sim_state, monkeypatch):
    smds = servers(Event(PROFILE, smdpp.address), Event(OTHER, smdpp.address))
    _root(state_path, smds.address)
    result = lpa("download", "--yes")
    assert result.exit_code == 2 and "2 events" in result.output and "--event N" in result.output
    monkeypatch.setattr("lpa.cli.base.interactive", lambda: True)
    result = lpa("download", "--yes", input="2\n")
    assert result.exit_code == 0, result.output
    assert installed(sim_state) == [ICCID[OTHER]]


def test_nothing_to_download_says_so(lpa, servers, state_path, sim_state):
    _root(state_path, servers().address)
    result = lpa("download", "--yes")
    assert result.exit_code == 2 and "nothing to download" in result.output
    assert installed(sim_state) == []


@pytest.mark.parametrize("fault, code, words", [
    ("ds-bad-signature", 3, "the eUICC refused the SM-DS"),
    ("ds-unknown-ci", 3, "the eUICC refused the SM-DS"),
    ("fail-authenticateClient", 5, "Failed: subjectCode 8.1"),
    ("bad-events", 5, "eventEntries is not a list"),
    ("http500", 5, "HTTP 500"),
    ("unknown-ci", 5, "TLS verification failed"),
])
def test_smds_faults_are_one_line_and_change_nothing(lpa, servers, sim_state, fault, code, words):
    smds = servers(Event(PROFILE, "127.0.0.1:1"), fault=fault)
    before = sim_state()
    result = lpa("discover", "--smds", smds.address)
    assert result.exit_code == code and words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sim_state().profiles == before.profiles and sim_state().notifications == before.notifications


@pytest.mark.parametrize("args, words", [
    (["discover", "--smds", "smds example.com"], "malformed SM-DS address 'smds example.com'"),
    (["discover", "--imei", "12"], "IMEI"),
    (["download", "--yes", "--event", ""], "--event is an event number"),
    (["download", "--yes", "--event", "1", "LPA:1$a.example$X"], "give one of"),
    (["download", "--yes", "--smds", "a.example", "--smdp", "b.example"], "--smds is for SM-DS events"),
])
def test_bad_input_is_refused_before_the_card_is_touched(lpa, args, words):
    result = lpa("-v", *args)
    assert result.exit_code == 2 and words in result.output, result.output
    assert "80E2" not in result.output and "00A4" not in result.output


def test_an_event_address_lpa_cannot_contact_is_listed_not_asked(lpa, servers):
    smds = servers(Event(PROFILE, "not an address!"))
    assert json_data(lpa("--json", "discover", "--smds", smds.address)) == [
        {"eventId": PROFILE, "rspServerAddress": "not an address!", "smds": [smds.address]}]


def test_a_card_without_a_root_smds_needs_one_given(lpa, state_path):
    _root(state_path, "")
    result = lpa("discover")
    assert result.exit_code == 2 and "names no root SM-DS; give one with --smds" in result.output


def test_a_server_answering_es11_with_a_dpauth_is_an_smdp_not_an_smds(lpa, smdpp, servers):
    from lpa.operations.discovery import DS_AUTH_POLICY
    from lpa.sim.pki.certificates import POLICIES

    assert DS_AUTH_POLICY == POLICIES["dsauth"] == "2.23.146.1.2.1.7"
    impostor = servers(Event(OTHER, smdpp.address))
    impostor.discovery.auth = smdpp.download.auth  # answers ES11 with a CERT.DPauth
    root = servers(Event("ELSEWHERE", impostor.address))
    events = json_data(lpa("--json", "discover", "--smds", root.address))
    assert [(e["eventId"], e["rspServerAddress"]) for e in events] == [("ELSEWHERE", impostor.address)]
    assert impostor.discovery.retrieved == [] and len(impostor.requests) == 1  # asked once, not followed


def test_an_alternative_smds_that_fails_after_answering_is_an_error_not_an_event(lpa, smdpp, servers):
    alternative = servers(Event(OTHER, smdpp.address))
    answer = alternative.discovery.initiate_authentication
    alternative.discovery.initiate_authentication = lambda payload: {**answer(payload), "transactionId": "XYZ"}
    root = servers(Event("CASCADE", alternative.address))
    result = lpa("discover", "--smds", root.address)
    assert result.exit_code == 5 and "its transactionId XYZ is not 1 to 16 bytes in hex" in result.output


def test_only_a_certificate_with_the_dsauth_policy_is_an_smds(smdpp, servers):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from lpa.operations.discovery import _is_ds_auth
    from lpa.sim.pki.testpki import PKI_DIR

    assert _is_ds_auth(servers().discovery.auth.cert.public_bytes(Encoding.DER))
    assert not _is_ds_auth(smdpp.download.auth.cert.public_bytes(Encoding.DER))
    tls = x509.load_pem_x509_certificate((PKI_DIR / "smdp-tls-cert.pem").read_bytes())
    assert not _is_ds_auth(tls.public_bytes(Encoding.DER))
    assert not _is_ds_auth(b"not a certificate")
