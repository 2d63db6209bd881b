"""An eUICC in a QMI or MBIM modem: every command through the simulated modems, their failures,
and qmicli/mbimcli (clients nobody here wrote) reading the simulated eUICC through them."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from helpers import CONTOSO, NORTHWIND, TEST_CI, TS48_ICCID, TS48_PROFILE, json_data, lpac_with_driver, run_lpac
from lpa.sim.bridges.mbim import SimulatedMbimModem
from lpa.sim.bridges.qmi import SimulatedQmiModem
from lpa.sim.bridges.wdm import WdmQuirks
from lpa.sim.card.state import StateFile

OPERATOR = "8988247000000000001"
MODEMS = {"qmi": SimulatedQmiModem, "mbim": SimulatedMbimModem}


def through(lpa, modem, *args, device=None):
    return lpa("--device", device or modem.device_argument, "--ca-file", TEST_CI, "--timeout", "30", *args,
               sim=False)


@pytest.fixture(params=sorted(MODEMS))
def protocol(request):
    return request.param


def start(protocol, state_path, **quirks):
    return MODEMS[protocol](StateFile(state_path), WdmQuirks(**quirks))


@pytest.mark.download
def test_every_command_through_the_modem(lpa, protocol, state_path, smdpp, sim_state):
    with start(protocol, state_path) as modem:
        assert json_data(through(lpa, modem, "--json", "info"))["eidValue"] == sim_state().eid
        assert [p["iccid"] for p in json_data(through(lpa, modem, "--json", "list"))][:2] == [NORTHWIND, CONTOSO]
        assert through(lpa, modem, "disable", "--no-notify", "work").output.startswith(f"disabled {NORTHWIND}")
        assert through(lpa, modem, "enable", "--no-notify", CONTOSO).output.startswith(f"enabled {CONTOSO}")
        assert through(lpa, modem, "nickname", CONTOSO, "travel").exit_code == 0
        assert sim_state().find(iccid=CONTOSO).nickname == "travel"
        lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address)
        assert through(lpa, modem, "notifications", "process").exit_code in (0, 5)
        result = through(lpa, modem, "delete", "--yes", OPERATOR)
        assert result.output.strip() == f"deleted {OPERATOR}; notified {smdpp.address}"
        assert ("delete", OPERATOR) in [(a.operation, a.iccid) for a in smdpp.accepted]
        assert through(lpa, modem, "--json", "notifications", "list").exit_code == 0
        result = through(lpa, modem, "download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
        assert result.exit_code == 0, result.output
        assert ("install", TS48_ICCID) in [(a.operation, a.iccid) for a in smdpp.accepted]
        assert any(p.profile_class == "test" for p in sim_state().profiles)
        result = through(lpa, modem, "memory-reset", "--test", "--yes")
        assert result.exit_code == 0, result.output
    assert not any(p.profile_class == "test" for p in sim_state().profiles)


def test_the_isdr_is_on_a_channel_the_modem_opens_and_closed_at_the_end(lpa, protocol, state_path):
    with start(protocol, state_path) as modem:
        assert through(lpa, modem, "list").exit_code == 0
        failed = through(lpa, modem, "enable", "8900000000000000000")  # refused: the channel still closes
        assert failed.exit_code != 0
    sent = [line for line in modem.log if line.startswith("> ")]
    if protocol == "qmi":
        opens = [line for line in sent if line[2:].startswith("01") and line[20:24] == "4200"]
        closes = [line for line in sent if line[20:24] == "3f00"]
    else:
        opens = [line for line in sent if "c2f6588e" in line and line[74:76] == "02"]
        closes = [line for line in sent if "c2f6588e" in line and line[74:76] == "03"]
    assert len(opens) == len(closes) == 2
    assert not modem._channels  # noqa: SLF001 - every channel closed on the modem


@pytest.mark.parametrize("quirks, message", [
    ({"no_uim": True}, {"qmi": "answered QMI error 31 (InvalidServiceType) to Allocate CID (UIM)",
                        "mbim": "answered MBIM status 0x9 (NoDeviceSupport) to Open Channel"}),
    ({"empty_slot": True}, {"qmi": "answered QMI error 52 (DeviceNotReady) to Open Logical Channel",
                            "mbim": "answered MBIM status 0x3 (SimNotInserted) to Open Channel"}),
    ({"powered_off": True}, {"qmi": "answered QMI error 52 (DeviceNotReady) to Open Logical Channel",
                             "mbim": "answered MBIM status 0xe (NotInitialized) to Open Channel"}),
    ({"refuse_channel": True}, {"qmi": "answered QMI error 68 (InsufficientResources) to Open Logical Channel",
                                "mbim": "answered MBIM status 0x87430001 (MsNoLogicalChannels) to Open Channel"}),
    ({"refuse_apdu_after": 1}, {"qmi": "answered QMI error 3 (Internal) to Send APDU 81E29100",
                                "mbim": "answered MBIM status 0x2 (Failure) to APDU 81E29100"}),
])
def test_modem_failures_are_one_line_naming_the_modems_error(lpa, protocol, state_path, quirks, message):
    with start(protocol, state_path, **quirks) as modem:
        result = through(lpa, modem, "list")
    assert result.exit_code == 4, result.output
    assert message[protocol] in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.download
def test_a_modem_vanishing_mid_download_is_one_line_and_nothing_is_installed(lpa, protocol, state_path, smdpp,
                                                                           sim_state):
    with start(protocol, state_path, vanish_after=12) as modem:
        result = through(lpa, modem, "download", f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
    assert result.exit_code == 4, result.output
    errors = [line for line in result.output.splitlines() if "went away" in line]
    assert errors == [result.output.strip().splitlines()[-1]] and errors[0].startswith("lpa: ")
    assert sim_state().find(iccid=TS48_ICCID) is None


def test_a_plain_sim_in_the_chosen_slot_is_not_an_euicc(lpa, protocol, state_path):
    with start(protocol, state_path, plain_sim_in_slot_2=True) as modem:
        result = through(lpa, modem, "list", device=modem.device_argument + ",slot=2")
        assert through(lpa, modem, "list", device=modem.device_argument + ",slot=1").exit_code == 0
    assert result.exit_code == 3, result.output
    assert "holds no ISD-R" in result.output


def test_a_channel_limit_of_one_is_enough(lpa, protocol, state_path):
    with start(protocol, state_path, max_channels=1, slow=0.01) as modem:
        assert [through(lpa, modem, "list").exit_code for _ in range(2)] == [0, 0]


def test_through_the_proxy_socket(lpa, protocol, state_path, tmp_path):
    name = f"lpa-test-{protocol}-{os.getpid()}"
    with MODEMS[protocol](StateFile(state_path), proxy=name) as modem:
        result = through(lpa, modem, "--json", "info")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("> ") for line in modem.log)


def test_a_stopped_proxy_modem_frees_its_socket_name_at_once(protocol, state_path):
    """The next modem (or the real proxy) can take the name: clients such as lpac only know 'mbim-proxy'.
    (A listener closed under the thread in accept() stayed bound: "Address already in use".)"""
    for _ in range(2):
        with MODEMS[protocol](StateFile(state_path), proxy=f"lpa-test-freed-{protocol}-{os.getpid()}"):
            pass


def test_a_proxy_that_is_not_running_is_one_line(lpa, protocol):
    result = lpa("--device", f"{protocol}:/dev/cdc-wdm0,proxy=lpa-nobody-listens", "list", sim=False)
    assert result.exit_code == 4
    assert "cannot open the lpa-nobody-listens socket" in result.output and "is the proxy running?" in result.output


@pytest.mark.parametrize("argument, message", [
    ("", "needs its control device: --device {p}:/dev/cdc-wdm0"),
    ("/dev/cdc-wdm0,slot=9", "'slot=9' in --device {p}:/dev/cdc-wdm0,slot=9: the options are slot=1..5"),
    ("/dev/cdc-wdm0,fast", "'fast' in --device {p}:/dev/cdc-wdm0,fast"),
])
def test_bad_device_arguments_are_refused_before_anything_is_opened(lpa, protocol, argument, message):
    result = lpa("--device", f"{protocol}:{argument}" if argument else protocol, "list", sim=False)
    assert result.exit_code == 2 and message.format(p=protocol) in result.output


def test_readers_lists_qmi_and_mbim_control_devices_from_sys(tmp_path, monkeypatch):
    from lpa.transport import mbim, qmi

    for name, driver in (("cdc-wdm0", "qmi_wwan"), ("cdc-wdm1", "cdc_mbim")):
        (tmp_path / "bus" / driver).mkdir(parents=True)
        device = tmp_path / "class" / "usbmisc" / name / "device"
        device.mkdir(parents=True)
        (device / "driver").symlink_to(tmp_path / "bus" / driver)
    assert qmi.describe_modems(3, str(tmp_path)) == [
        {"index": 3, "name": "/dev/cdc-wdm0", "device": "qmi:/dev/cdc-wdm0", "card": "QMI modem (qmi_wwan)"}]
    assert mbim.describe_modems(0, str(tmp_path))[0]["device"] == "mbim:/dev/cdc-wdm1"


# -- clients nobody here wrote -------------------------------------------------------------


@pytest.mark.skipif(shutil.which("qmicli") is None, reason="qmicli (libqmi-utils) not installed: sh scripts/setup")
@pytest.mark.parametrize("through_proxy", [False, True])
def test_qmicli_reads_card_and_slot_status_through_the_simulated_modem(state_path, through_proxy, tmp_path):
    import fcntl

    with open("/tmp/lpa-qmi-proxy.lock", "w") as lock:  # qmicli -p knows one socket name only
        if through_proxy:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with SimulatedQmiModem(StateFile(state_path), WdmQuirks(plain_sim_in_slot_2=True),
                               proxy="qmi-proxy" if through_proxy else None) as modem:
            device = ["-d", "/dev/null", "-p"] if through_proxy else ["-d", modem.device]
            cards = subprocess.run(["qmicli", *device, "--device-open-qmi", "--uim-get-card-status"],
                                   capture_output=True, text=True, timeout=30)
            slots = subprocess.run(["qmicli", *device, "--device-open-qmi", "--uim-get-slot-status"],
                                   capture_output=True, text=True, timeout=30)
    assert cards.returncode == 0, cards.stderr
    assert "Slot [1]:\n\tCard state: 'present'" in cards.stdout and "Slot [2]:" in cards.stdout
    assert slots.returncode == 0 and "2 physical slots found" in slots.stdout
    assert "Physical slot 1:\n     Card status: present\n     Slot status: active" in slots.stdout
    if through_proxy:
        assert modem.log[0][2:].startswith("01") and modem.log[0][18:22] == "00ff"  # Internal Proxy Open first


@pytest.mark.skipif(shutil.which("mbimcli") is None, reason="mbimcli (libmbim-utils) not installed: sh scripts/setup")
@pytest.mark.parametrize("through_proxy", [False, True])
def test_mbimcli_opens_the_isdr_sends_get_eid_and_closes_through_the_simulated_modem(state_path, through_proxy,
                                                                                   sim_state):
    import fcntl

    with open("/tmp/lpa-mbim-proxy.lock", "w") as lock:
        if through_proxy:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with SimulatedMbimModem(StateFile(state_path), proxy="mbim-proxy" if through_proxy else None) as modem:
            device = ["-d", "/dev/null", "-p"] if through_proxy else ["-d", modem.device]

            def mbimcli(*args):
                return subprocess.run(["mbimcli", *device, "--no-close", *args], capture_output=True, text=True,
                                      timeout=30)

            slot = mbimcli("--ms-query-slot-info-status=0")
            opened = mbimcli("--ms-set-uicc-open-channel=application-id=A0000005591010FFFFFFFF8900000100,"
                             "selectp2arg=0,channel-group=1")
            eid = mbimcli("--ms-set-uicc-apdu=channel=1,secure-message=none,classbyte-type=inter-industry,"
                          "command=81E2910006BF3E035C015A00")
            closed = mbimcli("--ms-set-uicc-close-channel=channel=1,channel-group=1")
            atr = mbimcli("--ms-query-uicc-atr")
    assert "Slot '0': 'state-active-esim'" in slot.stdout
    # mbimcli prints the Status field as a number: 9000 as real modems send it (SW1 first) reads 144
    assert "status: 144\n\t channel: 1" in opened.stdout
    expected = "BF3E125A10" + sim_state().eid
    assert ":".join(expected[i:i + 2] for i in range(0, len(expected), 2)) in eid.stdout.upper()
    assert "status: 144" in eid.stdout
    assert closed.returncode == 0 and "status: 144" in closed.stdout
    assert atr.returncode == 0 and "response: 3B:" in atr.stdout
    assert not modem._channels  # noqa: SLF001


@pytest.mark.parametrize("options, device_start", [(["--qmi"], "qmi:/dev/pts/"),
                                                   (["--mbim", "--proxy", "lpa-test-cli-mbim"],
                                                    "mbim:/dev/cdc-wdm0,proxy=lpa-test-cli-mbim")])
def test_lpa_sim_modem_prints_the_device_to_use_and_runs_until_interrupted(state_path, options, device_start):
    import signal

    from helpers import interruptible, lpa_executable

    process = subprocess.Popen([lpa_executable(), "--sim-state", str(state_path), "sim", "modem", *options],
                               stdout=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        line = process.stdout.readline()
        device = line.split("(lpa --device ")[1].split()[0]
        assert line.startswith(f"simulated {options[0][2:].upper()} modem on ") and device.startswith(device_start)
        listed = subprocess.run([lpa_executable(), "--device", device, "list"], capture_output=True, text=True,
                                timeout=60)
        assert listed.returncode == 0 and NORTHWIND in listed.stdout, listed.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)
    assert process.returncode == 0


def test_modem_reset_cycles_the_radio_after_a_change(lpa, protocol, state_path, sim_state):
    with start(protocol, state_path) as modem:
        result = through(lpa, modem, "--modem-reset", "disable", "--no-notify", "work")
        assert through(lpa, modem, "disable", "--no-notify", "work").exit_code != 0  # already: nothing cycled
    assert result.exit_code == 0, result.output
    assert sim_state().find(iccid=NORTHWIND).state == "disabled"
    cycled = modem.operating_modes if protocol == "qmi" else modem.radio_states
    assert cycled == ([1, 0] if protocol == "qmi" else [0, 1])  # low power / off, then online / on


@pytest.mark.skipif(shutil.which("qmicli") is None or shutil.which("mbimcli") is None,
                    reason="qmicli and mbimcli (scripts/setup) not installed")
def test_qmicli_and_mbimcli_switch_the_simulated_radios_as_modem_reset_does(state_path):
    with SimulatedQmiModem(StateFile(state_path)) as qmi_modem, SimulatedMbimModem(StateFile(state_path)) as mbim_modem:
        for mode in ("low-power", "online"):
            subprocess.run(["qmicli", "-d", qmi_modem.device, "--device-open-qmi", f"--dms-set-operating-mode={mode}"],
                           capture_output=True, timeout=30, check=True)
        for state in ("off", "on"):
            subprocess.run(["mbimcli", "-d", mbim_modem.device, f"--set-radio-state={state}"], capture_output=True,
                           timeout=30, check=True)
    assert qmi_modem.operating_modes == [1, 0] and mbim_modem.radio_states == [0, 1]


@pytest.mark.skipif(shutil.which("qmicli") is None or shutil.which("mbimcli") is None,
                    reason="qmicli and mbimcli (scripts/setup) not installed")
def test_a_powered_off_sim_is_refused_until_qmicli_or_mbimcli_powers_it(lpa, protocol, state_path):
    power = {"qmi": ["qmicli", "--device-open-qmi", "--uim-sim-power-on=1"],
             "mbim": ["mbimcli", "--ms-set-uicc-reset=disable"]}[protocol]
    with start(protocol, state_path, powered_off=True) as modem:
        refused = through(lpa, modem, "list")
        subprocess.run([power[0], "-d", modem.device, *power[1:]], capture_output=True, timeout=30, check=True)
        listed = through(lpa, modem, "list")
    assert refused.exit_code == 4 and ("DeviceNotReady" in refused.output or "NotInitialized" in refused.output)
    assert listed.exit_code == 0 and NORTHWIND in listed.output


@pytest.mark.parametrize("options, message", [
    (["--proxy", "x"], "--proxy is for QMI and MBIM modems (--qmi, --mbim)"),
    (["--qmi", "--urcs"], "--urcs is for AT modems"),
    (["--empty-slot"], "--empty-slot is for QMI and MBIM modems"),
])
def test_lpa_sim_modem_refuses_options_of_another_kind_of_modem(lpa, options, message):
    result = lpa("sim", "modem", *options)
    assert result.exit_code == 2 and message in result.output


@pytest.mark.skipif(lpac_with_driver("mbim") is None, reason="lpac with its MBIM driver not installed (built by hand)")
@pytest.mark.parametrize("through_proxy", [False, True])
def test_lpacs_mbim_driver_reads_the_simulated_modem(state_path, through_proxy, sim_state):
    """An outside LPA, run on real MBIM modems, reads the simulated one: chip info and profile list."""
    import fcntl

    with open("/tmp/lpa-mbim-proxy.lock", "w") as lock:
        if through_proxy:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with SimulatedMbimModem(StateFile(state_path), proxy="mbim-proxy" if through_proxy else None) as modem:
            env = {"LPAC_APDU": "mbim", "LPAC_APDU_MBIM_DEVICE": modem.device,
                   **({"LPAC_APDU_MBIM_USE_PROXY": "1", "LPAC_APDU_MBIM_DEVICE": "/dev/null"} if through_proxy else {})}

            info, profiles = run_lpac(env, "chip", "info"), run_lpac(env, "profile", "list")
            assert not modem._channels  # noqa: SLF001 (lpac closed its channel)
    assert info["code"] == 0 and info["data"]["eidValue"] == sim_state().eid
    assert profiles["code"] == 0 and NORTHWIND in [p["iccid"] for p in profiles["data"]]
