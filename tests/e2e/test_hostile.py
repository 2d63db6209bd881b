"""A hostile SM-DP+ (tests/hostility.py): every answer, however broken, is one line naming the server and its exit
code 5, never an internal error; text from it is made safe for the terminal and for JSON."""
from __future__ import annotations

import json
import random

import pytest

from helpers import CONTOSO, TS48_ICCID, TS48_PROFILE
from hostility import FUNCTIONS, HostileSmdpp, mutation

pytestmark = pytest.mark.download


@pytest.fixture
def hostile():
    server = HostileSmdpp(slow_seconds=2.0).start()
    yield server
    server.close()


def _set_field(name, value):
    def mutate(answer):
        document = json.loads(answer)
        document[name] = value
        return json.dumps(document).encode()
    return mutate


def _download(lpa, server, *options):
    return lpa(*options, "download", f"LPA:1${server.address}${TS48_PROFILE}", "--yes")


def test_deeply_nested_json_is_the_servers_error(lpa, hostile, sim_state):
    hostile.hostile["initiateAuthentication"] = lambda answer: b"[" * 100000 + b"]" * 100000
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and f"lpa: {hostile.address}: HTTP 200 with an unexpected body" in result.output


def test_a_huge_transaction_id_is_the_servers_error_before_the_card_gets_it(lpa, hostile, sim_state):
    hostile.hostile["initiateAuthentication"] = _set_field("transactionId", "00" * 100000)
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and result.output.strip() == (
        f"lpa: {hostile.address}: its transactionId {'0' * 60}... (200000 characters) is not 1 to 16 bytes in hex")


def test_a_huge_certificate_is_the_servers_error(lpa, hostile):
    import base64

    hostile.hostile["initiateAuthentication"] = _set_field("serverCertificate", base64.b64encode(bytes(40000)).decode())
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and "its serverCertificate is 40000 bytes, more than the 6144" in result.output


@pytest.mark.parametrize("name,value,said", [
    ("smdpSigned2", "MAA=", "its smdpSigned2 is not a valid SmdpSigned2"),
    ("profileMetadata", "vyUA", "its profileMetadata is not a valid StoreMetadataRequest"),
    ("smdpCertificate", 12, "no valid smdpCertificate (a number, not base64 text)"),
])
def test_broken_smdp_data_names_the_server_not_the_card(lpa, hostile, sim_state, name, value, said):
    hostile.hostile["authenticateClient"] = _set_field(name, value)
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and result.output.startswith(f"lpa: {hostile.address}: ") and said in result.output
    assert "the card" not in result.output and sim_state().find(iccid=TS48_ICCID) is None
    assert hostile.download.cancelled  # the session is cancelled on both sides


def test_a_bpp_that_is_not_one_names_the_server(lpa, hostile, sim_state):
    hostile.hostile["getBoundProfilePackage"] = _set_field("boundProfilePackage", "vzYA")
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and f"lpa: {hostile.address}: its boundProfilePackage is not a valid BoundProfilePackage" in result.output
    assert sim_state().find(iccid=TS48_ICCID) is None


@pytest.mark.parametrize("status,said", [
    (float("nan"), "HTTP 200 with an unexpected body"),  # NaN is not JSON
    (1.5, "a functionExecutionStatus whose status is a number, not text"),
    ({"a": 1}, "a functionExecutionStatus whose status is an object, not text"),
])
def test_a_status_that_is_not_text_is_named_not_printed_raw(lpa, hostile, status, said):
    hostile.hostile["initiateAuthentication"] = lambda answer: json.dumps(
        {"header": {"functionExecutionStatus": {"status": status}}}).encode()
    result = _download(lpa, hostile)
    assert result.exit_code == 5 and said in result.output and ": nan" not in result.output


def _refusing_notification(message):
    return lambda answer: json.dumps({"header": {"functionExecutionStatus": {
        "status": "Failed", "statusCodeData": {"subjectCode": "8.1", "reasonCode": "6.1", "message": message}}}}).encode()


def test_a_lone_surrogate_from_the_server_after_a_delete_is_replaced_and_ok_stays_true(lpa, hostile, sim_state):
    lpa("sim", "add-profile", "--iccid", "8949449999999990111", "--provider", "P", "--name", "N",
        "--smdp", hostile.address)
    hostile.hostile["handleNotification"] = _refusing_notification("bad \ud800 \u001b[2J")
    result = lpa("--json", "delete", "--yes", "8949449999999990111")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["ok"] is True and sim_state().find(iccid="8949449999999990111") is None
    error = payload["data"]["notifications"][0]["error"]
    assert "bad \ufffd \u001b[2J" in error and "\\u001b" in result.output  # escaped in the JSON text
    text = lpa("delete", "--yes", CONTOSO)
    assert text.exit_code == 0 and "\x1b" not in text.output


def test_the_seeded_hostile_answers_never_give_an_internal_error(lpa, hostile):
    """A short run of the campaign (scripts/hostile.py runs thousands)."""
    rng = random.Random(22)
    for _ in range(24):
        function = rng.choice(FUNCTIONS[:3])
        kind, mutate = mutation(rng)
        hostile.hostile = {function: mutate}
        result = _download(lpa, hostile, "--json")
        payload = json.loads(result.output)
        assert "internal error" not in result.output and result.exit_code in (0, 2, 3, 5), (function, kind, result.output)
        assert payload["ok"] is (result.exit_code == 0), (function, kind, result.output)


@pytest.mark.parametrize("args,message", [
    (["LPA:1$smdp.example.com$" + "X" * 40000], "the activation code is 40023 characters"),
    (["LPA:1$smdp.example.com$" + "X" * 300], "activation code matching ID is 300 characters; an SM-DP+'s are at most 255"),
    (["--smdp", "smdp.example.com", "--matching-id", "X" * 40000], "--matching-id is 40000 characters"),
    (["--matching-id", "X"], "--matching-id goes with --smdp ADDRESS"),
])
def test_huge_or_stray_matching_ids_typed_by_the_user_are_refused_in_one_line(lpa, state_path, args, message):
    before = state_path.read_bytes()
    result = lpa("download", *args, "--yes")
    assert result.exit_code == 2 and message in result.output and len(result.output.splitlines()) == 1
    assert len(result.output) < 400 and state_path.read_bytes() == before


def test_an_unknown_ci_suggests_ca_file_and_no_c_source_location(lpa, smdpp):
    smdpp.fault = "unknown-ci"
    result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 5 and "give its certificate with --ca-file" in result.output
    assert "_ssl.c" not in result.output
