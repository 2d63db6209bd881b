"""Notifications reach the test SM-DP+ over verified TLS, and none is ever lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lpa import es9p

from helpers import NORTHWIND, TEST_CI, interruptible, json_data
from lpa.errors import ServerError

OPERATOR = "8988247000000000001"


@pytest.fixture
def operator(lpa, smdpp, sim_state):
    """A disabled profile whose every operation notifies the test SM-DP+ (install already delivered)."""
    result = lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Test Operator", "--name", "Test",
                 "--smdp", smdpp.address)
    assert result.exit_code == 0, result.output
    assert lpa("notifications", "process").exit_code == 0
    smdpp.accepted.clear()
    smdpp.requests.clear()
    assert sim_state().notifications == []
    return OPERATOR


def pending(sim_state):
    return [(n.operation, n.iccid) for n in sim_state().notifications]


def es9p_client(**options):
    """An ES9+ client trusting the test CI."""
    from lpa.https import HttpsClient
    from lpa.trust import anchors

    return HttpsClient(anchors([], [TEST_CI]), **options)


def test_delete_notifies_the_smdp_which_verifies_the_signature(lpa, operator, smdpp, sim_state):
    result = lpa("delete", "--yes", operator)
    assert result.exit_code == 0
    assert result.output.strip() == f"deleted {operator}; notified {smdpp.address}"
    [accepted] = smdpp.accepted
    assert (accepted.operation, accepted.iccid, accepted.eid) == ("delete", operator, sim_state().eid)
    assert pending(sim_state) == []


def test_a_profile_configured_like_an_esim_me_card_gets_its_delete_notification_delivered(lpa, smdpp, sim_state):
    # one notificationConfigurationInfo entry with enable, disable and delete for one address
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "Test", "--smdp", smdpp.address,
        "--notify", "enable,disable,delete")
    [config] = json_data(lpa("--json", "list"))[-1]["notificationConfigurationInfo"]
    assert config["profileManagementOperation"] == ["enable", "disable", "delete"]
    result = lpa("delete", "--yes", OPERATOR)
    assert result.exit_code == 0 and result.output.strip() == f"deleted {OPERATOR}; notified {smdpp.address}"
    assert [(a.operation, a.iccid) for a in smdpp.accepted] == [("delete", OPERATOR)]
    assert pending(sim_state) == [("install", OPERATOR)]  # install goes to --smdp too; not part of delete


def test_the_request_is_es9plus_handle_notification(lpa, operator, smdpp):
    lpa("delete", "--yes", operator)
    [(path, headers, body)] = smdpp.requests
    assert path == "/gsma/rsp2/es9plus/handleNotification"
    assert headers["content-type"] == "application/json;charset=UTF-8"
    assert headers["x-admin-protocol"] == "gsma/rsp/v2.2.0"
    assert headers["user-agent"] == "gsma-rsp-lpad"
    assert list(json.loads(body)) == ["pendingNotification"]


def test_enable_and_disable_deliver_their_notifications(lpa, operator, smdpp, sim_state):
    result = lpa("--json", "enable", operator)
    outcome = json_data(result)
    assert outcome["alsoDisabled"] == NORTHWIND
    # the disabled profile's notification goes to its own (unreachable) SM-DP+ and is kept
    delivered = {n["profileManagementOperation"]: n["delivered"] for n in outcome["notifications"]}
    assert delivered == {"enable": True, "disable": False}
    assert pending(sim_state) == [("disable", NORTHWIND)]
    lpa("disable", operator)
    assert [a.operation for a in smdpp.accepted] == ["enable", "disable"]


def test_no_notify_keeps_them_on_the_card(lpa, operator, smdpp, sim_state):
    assert lpa("delete", "--yes", "--no-notify", operator).exit_code == 0
    assert smdpp.requests == [] and pending(sim_state) == [("delete", operator)]


def test_server_down_delete_succeeds_and_keeps_the_notification_until_it_is_back(lpa, operator, smdpp, sim_state):
    smdpp.stop()
    result = lpa("--json", "delete", "--yes", operator)
    assert result.exit_code == 0
    [note] = json_data(result)["notifications"]
    assert note["delivered"] is False and note["removed"] is False and note["error"] == "connection refused"
    assert pending(sim_state) == [("delete", operator)]
    human = lpa("notifications", "process")
    assert human.exit_code == 5 and "connection refused" in human.output
    assert "0 delivered, 1 failed, 1 remaining on the eUICC" in human.output
    smdpp.start()
    result = lpa("notifications", "process")
    assert result.exit_code == 0 and "1 delivered, 0 failed, 0 remaining on the eUICC" in result.output
    assert [(a.operation, a.iccid) for a in smdpp.accepted] == [("delete", operator)]
    assert pending(sim_state) == []


@pytest.mark.parametrize("fault,reason", [
    ("http500", "HTTP 500 Internal Server Error"),
    ("slow", "no answer within 0.3 s"),
    ("reset", "connection reset by peer"),
    ("no-tls", "TLS handshake timed out after 0.3 s"),
    ("plain-http", "TLS failed ([SSL: WRONG_VERSION_NUMBER]"),
    ("tls-eof", "TLS failed ([SSL: UNEXPECTED_EOF_WHILE_READING]"),
    ("drop-body", "connection closed by the server before the answer was complete"),
    ("redirect", "HTTP 307 redirect to 'http://127.0.0.1:"),
    ("unknown-ci", "TLS verification failed: unable to get local issuer certificate"),
    ("wrong-host", "TLS verification failed: IP address mismatch"),
    ("expired-tls", "TLS verification failed: certificate has expired"),
    ("failed-status", "Failed: subjectCode 8.1, reasonCode 6.1, message test fault (eUICC signature invalid)"),
    ("garbage-200", "HTTP 200 with an unexpected body: '<html>maintenance</html>'"),
])
def test_a_failed_delivery_keeps_the_notification_and_a_later_process_delivers_it(
        lpa, operator, smdpp, sim_state, fault, reason):
    smdpp.fault = fault
    result = lpa("--timeout", "0.3", "delete", "--yes", operator)
    assert result.exit_code == 0
    assert f"deleted {operator}; notification" in result.output and reason in result.output
    assert "run `lpa notifications process` later" in result.output
    assert pending(sim_state) == [("delete", operator)]
    smdpp.fault = None
    smdpp.accepted.clear()
    assert lpa("notifications", "process").exit_code == 0
    [accepted] = smdpp.accepted
    assert (accepted.operation, accepted.iccid, accepted.seq_number) == ("delete", operator, 2)
    assert pending(sim_state) == []


@pytest.mark.parametrize("answer", ["accept-200-empty", "accept-200-json"])
def test_a_200_without_a_failure_is_an_acknowledgement(lpa, operator, smdpp, sim_state, answer):
    smdpp.fault = answer
    result = lpa("delete", "--yes", operator)
    assert result.output.strip() == f"deleted {operator}; notified {smdpp.address}"
    assert pending(sim_state) == []


def test_tls_failure_names_the_ci_key_ids_tried(lpa, operator, smdpp, sim_state):
    smdpp.fault = "unknown-ci"
    result = lpa("delete", "--yes", operator)
    assert "81370f5125d0b1d408d4c3b232e6d25e795bebfb" in result.output  # GSMA RSP2 Root CI1, always tried
    assert f"--ca-file {TEST_CI}" in result.output
    card_ci = json_data(lpa("--json", "info"))["EUICCInfo2"]["euiccCiPKIdListForVerification"][0]
    assert f"the card also names {card_ci}, not in certs/" in result.output


def test_server_errors_are_retried_a_bounded_number_of_times(smdpp):
    smdpp.fault = "http500"
    with es9p_client(timeout=10, retries=2, backoff=0.01) as client:
        with pytest.raises(ServerError, match="HTTP 500"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert len(smdpp.requests) == 3  # two retries, with back-off


def test_retries_stop_at_the_deadline(lpa, operator, smdpp):
    smdpp.fault = "http500"
    lpa("--timeout", "0.5", "delete", "--yes", operator)
    assert len(smdpp.requests) == 2  # the second retry's back-off would pass the 0.5 s deadline


@pytest.mark.parametrize("fault", ["no-tls", "slow"])
def test_one_deadline_bounds_connection_handshake_answer_and_retries(lpa, operator, smdpp, fault):
    smdpp.fault = fault
    started = time.monotonic()
    result = lpa("--timeout", "0.5", "delete", "--yes", operator)
    assert result.exit_code == 0 and "kept on the eUICC" in result.output
    assert time.monotonic() - started < 3  # not 3 tries x (10 s connect + answer)


def test_a_redirect_is_not_followed_and_nothing_goes_out_in_clear(lpa, operator, smdpp, sim_state):
    smdpp.fault = "redirect"
    result = json_data(lpa("--json", "delete", "--yes", operator))
    [note] = result["notifications"]
    assert note["delivered"] is False and "lpa follows no redirects" in note["error"]
    assert len(smdpp.requests) == 1  # the plain-http target was never contacted
    assert pending(sim_state) == [("delete", operator)]


def test_netrc_credentials_are_never_sent(operator, smdpp, state_path, tmp_path):
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login user password secret\n")
    (tmp_path / ".netrc").chmod(0o600)
    result = subprocess.run([sys.executable, "-m", "lpa", "--sim", "--sim-state", str(state_path), "--ca-file",
                             TEST_CI, "delete", "--yes", operator], capture_output=True, text=True,
                            env={**os.environ, "HOME": str(tmp_path), "NETRC": str(tmp_path / ".netrc")})
    assert result.returncode == 0 and "notified" in result.stdout
    [(path, headers, body)] = smdpp.requests
    assert "authorization" not in headers


def test_an_unwritable_cache_directory_does_not_stop_delivery(lpa, operator, smdpp, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file" / "cache"))  # unwritable even for root
    result = lpa("delete", "--yes", operator)
    assert result.exit_code == 0 and result.output.strip() == f"deleted {operator}; notified {smdpp.address}"


def test_ctrl_c_while_waiting_for_the_smdp_reports_the_change_and_exits_130(operator, smdpp, state_path, sim_state):
    smdpp.fault = "slow"
    smdpp.slow_seconds = 30
    process = subprocess.Popen([sys.executable, "-m", "lpa", "--sim", "--sim-state", str(state_path), "--ca-file",
                                TEST_CI, "--timeout", "60", "delete", "--yes", operator],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 20
    while not smdpp.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    assert stdout.strip() == f"deleted {operator}; notification 2 for {smdpp.address} is kept on the eUICC " \
                             "(interrupted); run `lpa notifications process` later"
    assert sim_state().find(iccid=operator) is None and pending(sim_state) == [("delete", operator)]


def test_a_card_error_after_the_change_is_reported_not_fatal(operator, smdpp, state_path, sim_state):
    from lpa import open_euicc
    from lpa.session import NotifySettings
    from lpa.transport import Transport

    class FailingListNotification(Transport):
        """The simulated card, answering 6F00 to ListNotification."""

        def __init__(self, inner: Transport) -> None:
            self.inner, self.name = inner, inner.name

        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            if apdu[1] == 0xE2 and apdu[5:7] == b"\xbf\x28":
                return b"", 0x6F00
            return self.inner.transmit(apdu)

        def close(self) -> None:
            self.inner.close()

    euicc = open_euicc(sim=True, sim_state=str(state_path), notify=NotifySettings(ca_files=(TEST_CI,)))
    euicc.transport = FailingListNotification(euicc.transport)
    with euicc:
        result = euicc.delete(operator)
    assert result.problem == "ListNotification failed with status word 6F00 (no precise diagnosis)"
    assert result.to_json()["problem"] == result.problem and not result.interrupted
    assert sim_state().find(iccid=operator) is None and pending(sim_state) == [("delete", operator)]


def test_keep_sends_without_removing(lpa, operator, smdpp, sim_state):
    lpa("delete", "--yes", "--no-notify", operator)
    result = lpa("notifications", "process", "--keep")
    assert "delivered, kept (--keep)" in result.output
    assert len(smdpp.accepted) == 1 and pending(sim_state) == [("delete", operator)]


def test_process_by_sequence_number(lpa, operator, smdpp, sim_state):
    lpa("enable", "--no-notify", operator)
    lpa("disable", "--no-notify", operator)
    assert lpa("notifications", "process", "3").exit_code == 0
    assert [a.seq_number for a in smdpp.accepted] == [3]
    assert [n.seq_number for n in sim_state().notifications] == [2, 4]


@pytest.mark.parametrize("address", ["", "bad host/x", "host:99999"])
def test_an_empty_or_malformed_address_is_reported_and_the_notification_kept(lpa, sim_state, address):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "P", "--name", "N", "--smdp", address)
    result = lpa("--json", "notifications", "process")
    assert result.exit_code == 5
    [note] = json.loads(result.output)["data"]["notifications"]
    assert "malformed SM-DP+ address" in note["error"]
    assert pending(sim_state) == [("install", OPERATOR)]


def test_install_notifications_are_delivered_and_verified(lpa, smdpp, sim_state):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "P", "--name", "N", "--smdp", smdpp.address)
    assert lpa("notifications", "process").exit_code == 0
    [accepted] = smdpp.accepted
    assert (accepted.operation, accepted.iccid, accepted.eid) == ("install", OPERATOR, sim_state().eid)


def test_a_crash_between_acknowledgement_and_removal_resends(operator, smdpp, sim_state, state_path):
    """The process is killed right after the SM-DP+'s 204, before RemoveNotificationFromList."""
    killer = (
        "import os, signal, sys\n"
        "import lpa.es10 as es10\n"
        "es10.remove_notification_from_list = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from lpa.cli import main\n"
        "main(sys.argv[1:], prog_name='lpa')\n"
    )
    args = ["--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "delete", "--yes", operator]
    crashed = subprocess.run([sys.executable, "-c", killer, *args], capture_output=True, text=True)
    assert crashed.returncode == -9
    assert len(smdpp.accepted) == 1
    assert pending(sim_state) == [("delete", operator)]  # acknowledged, but not lost
    again = subprocess.run([sys.executable, "-m", "lpa", *args[:5], "notifications", "process"],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert [(a.operation, a.seq_number) for a in smdpp.accepted] == [("delete", 2), ("delete", 2)]
    assert pending(sim_state) == []


def test_requests_ca_bundle_neither_replaces_nor_widens_the_trust(operator, smdpp, state_path, sim_state):
    """A CA bundle in the environment must not become the trust anchors for SM-DP+ TLS."""
    env = {"REQUESTS_CA_BUNDLE": TEST_CI, "CURL_CA_BUNDLE": TEST_CI, "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "lpa", "--sim", "--sim-state", str(state_path),
                             "delete", "--yes", operator], capture_output=True, text=True,
                            env={**env, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
    assert result.returncode == 0
    assert "TLS verification failed" in result.stdout
    assert smdpp.accepted == []


def test_a_simulator_with_another_identity_is_verified_against_its_own_ci(lpa, operator, smdpp, tmp_path,
                                                                           sim_state):
    from lpa.sim.pki import testpki

    ci = testpki.make_ci("Another Test CI")
    eum = testpki.make_eum(ci)
    eid = testpki.eid_with_check_digits("890490320000020000000000000000")
    euicc = testpki.make_euicc(eum, eid)
    for name, issued in (("euicc", euicc), ("eum", eum)):
        (tmp_path / f"{name}.pem").write_bytes(issued.cert_pem())
    (tmp_path / "key.pem").write_bytes(euicc.key_pem())
    result = lpa("sim", "identity", "--euicc-cert", str(tmp_path / "euicc.pem"),
                 "--eum-cert", str(tmp_path / "eum.pem"), "--euicc-key", str(tmp_path / "key.pem"))
    assert eid in result.output
    assert json_data(lpa("--json", "info"))["eidValue"] == eid
    lpa("delete", "--yes", operator)
    assert smdpp.accepted == []  # the server does not trust that CI: HTTP 400, kept
    assert pending(sim_state) == [("delete", operator)]
    smdpp.trusted_cis.append(ci.cert)
    assert lpa("notifications", "process").exit_code == 0
    assert smdpp.accepted[0].eid == eid


@pytest.mark.parametrize("status, attempts", [(500, 3), (502, 3), (503, 3), (504, 3), (501, 1), (400, 1)])
def test_only_server_errors_that_may_pass_are_retried(smdpp, status, attempts):
    smdpp.fault = f"http{status}"
    with es9p_client(timeout=10, retries=2, backoff=0.01) as client:
        with pytest.raises(ServerError, match=f"HTTP {status}"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert len(smdpp.requests) == attempts


def test_an_answer_over_4_mib_is_not_read(smdpp):
    smdpp.fault = "huge"
    with es9p_client(timeout=10) as client:
        with pytest.raises(ServerError, match="the answer is larger than 4194304 bytes"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
        smdpp.fault = "4mib"  # exactly as much as lpa reads: read, then refused for what it says
        with pytest.raises(ServerError, match="HTTP 200 with an unexpected body"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")


def test_the_default_is_two_retries_and_the_reason_is_the_last_answer(smdpp):
    smdpp.fault = "http500"
    with es9p_client(backoff=0.01) as client:
        with pytest.raises(ServerError) as caught:
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert caught.value.reason == "HTTP 500 Internal Server Error" and len(smdpp.requests) == 3


def test_a_retry_after_header_does_not_stretch_the_deadline(smdpp):
    smdpp.fault = "retry-after"  # 503, Retry-After: 30
    started = time.monotonic()
    with es9p_client(timeout=1, backoff=0.01) as client:
        with pytest.raises(ServerError, match="HTTP 503"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert time.monotonic() - started < 3 and len(smdpp.requests) == 3


@pytest.mark.parametrize("fault, reason", [
    ("http300", "HTTP 300 redirect to 'nowhere' (lpa follows no redirects)"),
    ("http399", "HTTP 399 redirect to 'nowhere' (lpa follows no redirects)"),
    ("http400", "HTTP 400 Bad Request"),
    ("status-string", "HTTP 200 with an unexpected body: "),
])
def test_each_class_of_http_answer(smdpp, fault, reason):
    smdpp.fault = fault
    with es9p_client(timeout=5) as client:
        with pytest.raises(ServerError) as caught:
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize("payload, name", [({}, "smdpSigned2"), ({"smdpSigned2": "not base64!"}, "smdpSigned2"),
                                           ({"smdpSigned2": "AQID*"}, "smdpSigned2"),
                                           ({"smdpSigned2": 5}, "smdpSigned2")])
def test_a_field_of_an_answer_that_is_missing_or_not_base64_is_refused(payload, name):
    from lpa.https import HttpsClient

    with pytest.raises(ServerError, match=f"the answer has no valid {name}"):
        HttpsClient.fields("smdp.example", payload, name)
    assert HttpsClient.fields("smdp.example", {"transactionId": "01", name: "AQ ID\n"}, name) == \
        {"transactionId": "01", name: b"\x01\x02\x03"}


def test_ctrl_c_while_sending_is_reported_with_exit_130_in_process(lpa, operator, smdpp, sim_state, monkeypatch):

    def interrupted(self, address, der):
        raise KeyboardInterrupt

    monkeypatch.setattr("lpa.es9p.handle_notification", interrupted)
    result = lpa("delete", "--yes", operator)
    assert result.exit_code == 130
    assert result.output.strip() == (f"deleted {operator}; notification 2 for {smdpp.address} is kept on the eUICC "
                                     "(interrupted); run `lpa notifications process` later")
    lpa("disable", "--no-notify", NORTHWIND)
    result = lpa("notifications", "process")
    assert result.exit_code == 130 and "failed: interrupted" in result.output
    assert len(pending(sim_state)) == 2


def test_the_cli_retries_twice_by_default(lpa, operator, smdpp):
    smdpp.fault = "http500"
    lpa("--timeout", "10", "delete", "--yes", operator)
    assert len(smdpp.requests) == 3


def test_a_card_that_records_no_notification_is_not_an_error(lpa, operator, smdpp, sim_state, monkeypatch):
    from lpa import es10

    monkeypatch.setattr(es10, "list_notification", lambda ch, *args, **kwargs: [])
    result = lpa("delete", "--yes", operator)
    assert result.exit_code == 0 and result.output.strip() == f"deleted {operator}"
    assert smdpp.requests == []


def test_the_library_removes_what_it_delivered_unless_kept(operator, smdpp, state_path, sim_state):
    from lpa import NotifySettings, open_euicc

    settings = NotifySettings(ca_files=(TEST_CI,), timeout=5)
    with open_euicc(sim=True, sim_state=str(state_path), notify=settings) as euicc:
        euicc.delete(operator, notify=False)
        assert euicc.process_notifications(keep=True).remaining == 1
        assert euicc.process_notifications().remaining == 0
    assert [a.operation for a in smdpp.accepted] == ["delete", "delete"] and sim_state().notifications == []


def test_no_trust_anchor_means_no_connection_never_the_systems_cas(smdpp, monkeypatch):
    from lpa.https import HttpsClient
    from lpa.trust import TrustAnchors

    monkeypatch.setenv("SSL_CERT_FILE", TEST_CI)  # the system store would trust the test SM-DP+
    with HttpsClient(TrustAnchors((), (), (), ""), timeout=5, retries=0) as client:
        with pytest.raises(ServerError, match="TLS verification failed: unable to get local issuer certificate"):
            es9p.handle_notification(client, smdpp.address, b"\x30\x00")
    assert smdpp.requests == []
