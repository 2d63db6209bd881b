"""Messages that say what to do: already installed, nicknames everywhere, help and usage lines, whom a
download without a code asks, and commands `lpa sim smdpp` prints that work as printed."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess

import pytest

from helpers import CONTOSO, TEST_CI, TS48_ICCID, TS48_PROFILE, interruptible, lpa_executable


@pytest.mark.download
def test_a_profile_already_on_the_card_is_refused_before_prepare_download(lpa, smdpp, sim_state):
    assert lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes").exit_code == 0
    smdpp.download.cancelled.clear()
    traced = lpa("-v", "download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert traced.exit_code == 2
    assert traced.output.splitlines()[-1] == (
        f"lpa: profile {TS48_ICCID} is already on this eUICC; nothing was downloaded and the session is cancelled "
        f"(`lpa list` shows it; `lpa delete {TS48_ICCID}` first to install it again)")
    sent = [line[12:16] for line in traced.output.splitlines() if line.startswith("> 80E2")]
    assert "BF21" not in sent and "BF36" not in sent  # neither PrepareDownload nor a BPP piece
    assert smdpp.download.cancelled and smdpp.download.cancelled[-1][1] == 127  # undefinedReason, signed


@pytest.mark.download
def test_if_the_card_refuses_an_existing_iccid_stderr_names_it_with_a_hint(lpa, smdpp, monkeypatch):
    assert lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes").exit_code == 0
    from lpa import es10

    real = es10.get_profiles_info
    monkeypatch.setattr(es10, "get_profiles_info", lambda ch, **kw: [] if kw.get("iccid") else real(ch, **kw))
    result = lpa("download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 3
    assert result.output.splitlines()[-1].startswith(
        "lpa: not installed: the eUICC answered installFailedDueToIccidAlreadyExistsOnEuicc")
    assert result.output.splitlines()[-1].endswith("the profile is already on this eUICC (`lpa list` shows it)")


def test_delete_and_nickname_accept_a_nickname(lpa, sim_state):
    assert lpa("nickname", CONTOSO, "travel").exit_code == 0
    renamed = lpa("nickname", "travel", "trips")
    assert renamed.exit_code == 0 and renamed.output.strip() == f"nickname of {CONTOSO} set to 'trips'"
    deleted = lpa("delete", "--yes", "--no-notify", "trips")
    assert deleted.exit_code == 0 and sim_state().find(iccid=CONTOSO) is None


def test_help_and_usage_lines_are_right(lpa):
    assert "Disable a profile (it must be the enabled one)." in lpa("disable", "--help").output
    assert "ICCID|AID|NICKNAME" in lpa("delete", "--help").output
    usage = lpa("delete")
    assert usage.output.strip().endswith("Missing argument 'ICCID|AID|NICKNAME'; see `main delete --help`")  # in process


def test_download_without_a_code_says_it_asks_the_root_smds(lpa, sim_state):
    result = lpa("download", "--yes")
    lines = result.output.strip().splitlines()
    assert lines[0] == "no default SM-DP+ on this eUICC: asking its root SM-DS lpa.ds.gsma.com"
    assert result.exit_code == 5 and lines[-1].endswith(
        "(the eUICC's root SM-DS, asked for a profile to download; give an activation code)")


@pytest.mark.download
def test_the_commands_lpa_sim_smdpp_prints_work_as_printed(state_path, sim_state):
    process = subprocess.Popen([lpa_executable(), "sim", "smdpp", "--port", "0"], stdout=subprocess.PIPE,
                               text=True, preexec_fn=interruptible)
    try:
        assert "with the simulated eUICC" in process.stdout.readline()
        command = shlex.split(process.stdout.readline().strip())
        assert command[:2] == ["lpa", "--sim"]
        result = subprocess.run([lpa_executable(), *command[1:], "--yes"], capture_output=True, text=True,
                                env={**os.environ, "LPA_SIM_STATE": str(state_path)}, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "installed" in result.stdout and "notified" in result.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


@pytest.mark.download
def test_every_wait_for_the_smdp_during_a_download_has_a_status_line(smdpp, state_path):
    from contextlib import contextmanager

    from lpa import NotifySettings, open_euicc
    from lpa.activation import ActivationCode

    shown = []

    @contextmanager
    def waiting(message):
        shown.append(message)
        yield

    with open_euicc(sim=True, sim_state=str(state_path), notify=NotifySettings(ca_files=(TEST_CI,), timeout=30)) \
            as euicc:
        euicc.waiting = waiting
        euicc.download(ActivationCode(smdpp.address, TS48_PROFILE), consent=lambda offer: True,
                       confirmation_code=lambda: "")
    asked = [path.rsplit("/", 1)[-1] for path, _, _ in smdpp.requests]
    assert asked == ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification"]
    waiting = f"waiting for the SM-DP+ {smdpp.address}"
    assert shown == [f"authenticating with the SM-DP+ {smdpp.address}", waiting, waiting,
                     f"preparing the download from {smdpp.address}", waiting,
                     f"sending notification 1 to {smdpp.address}"]
