"""End to end through the real PC/SC stack: lpa -> pyscard -> pcscd -> vpcd -> simulated eUICC.

pcscd is started here when it is not running (and stopped afterwards); the
simulated eUICC is put into vpcd's "Virtual PCD" readers by the bridge of
`lpa sim serve`. Without pcscd and vsmartcard-vpcd these tests are skipped
on a developer's machine and fail in CI (CI=true), where scripts/setup
installs them.
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from helpers import (CONTOSO, NORTHWIND, TEST_CI, TEST_PROFILE, TS48_ICCID, TS48_PROFILE, lpa_executable,
                     require_pcscd, run_lpa)
from lpa.sim.bridges.pcscd import READERS, VirtualCard, running_pcscd
from lpa.sim.card.state import StateFile

pytestmark = pytest.mark.pcsc

READER0, READER1 = READERS.values()


@pytest.fixture
def card(pcscd, state_path):
    with VirtualCard(state_path) as inserted:
        yield inserted


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_lpa("--ca-file", TEST_CI, "--timeout", "1", *args, env=env)


def data(result: subprocess.CompletedProcess):
    payload = json.loads(result.stdout)
    assert payload["ok"], payload
    return payload["data"]


def test_readers_show_the_virtual_card(card):
    result = run("readers")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(READER0 in line and line.rstrip().endswith("eUICC") for line in lines)
    assert any(READER1 in line and "no card" in line for line in lines)
    readers = {r["name"]: r for r in data(run("--json", "readers"))}
    assert readers[READER0]["isEuicc"] is True and readers[READER0]["cardPresent"] is True
    assert readers[READER0]["atr"] == "3B9F96801FC78031A073BE21136743200718000001A5"
    assert readers[READER1]["cardPresent"] is False


def test_a_card_whose_isdr_only_partial_select_finds_is_chosen_among_readers(pcscd, state_path, tmp_path):
    bank_card = tmp_path / "bank-card.json"
    assert run("--sim-state", str(bank_card), "sim", "quirks", "--isdr-aid", "A000000559101011111111",
               "--no-partial-select").returncode == 0
    assert run("--sim-state", str(state_path), "sim", "quirks", "--isdr-aid", "A0000005591010FFFFFFFF8900000200"
               ).returncode == 0
    with VirtualCard(state_path), VirtualCard(bank_card, port=35964):
        found = run("--json", "info")
    assert found.returncode == 0, found.stderr
    assert data(found)["isdrAids"] == ["A0000005591010FFFFFFFF8900000200"]


def test_readers_list_each_euicc_instance_with_its_eid(pcscd, state_path):
    from lpa.sim.card.card import SECOND_EID

    state_file = StateFile(state_path)
    state = state_file.load()
    state.quirks = {"isdr_aid": "A0000005591010FFFFFFFF8900000200",
                    "second_isdr_aid": "A0000005591010FFFFFFFF8900000300"}
    state_file.save(state)
    with VirtualCard(state_path):
        readers = {r["name"]: r for r in data(run("--json", "readers"))}
        human = run("readers").stdout
    assert readers[READER0]["isdrAids"] == ["A0000005591010FFFFFFFF8900000200", "A0000005591010FFFFFFFF8900000300"]
    assert readers[READER0]["eids"] == [state.eid, SECOND_EID]
    assert "eUICC with 2 instances (--euicc 0-1)" in human
    assert f"--euicc 1: ISD-R A0000005591010FFFFFFFF8900000300, EID {SECOND_EID}" in human


def test_info_and_list_match_the_simulator(card):
    info = data(run("--json", "info"))
    assert info["eidValue"] == card.state().eid
    profiles = data(run("--json", "list"))
    assert [p["iccid"] for p in profiles] == [p.iccid for p in card.state().profiles]
    table = run("list").stdout
    assert NORTHWIND in table and "Northwind Unlimited" in table


def test_disable_and_enable_reset_the_card(card):
    before = len(card.log)
    disabled = run("disable", "--no-notify", NORTHWIND)
    assert (disabled.returncode, disabled.stdout, disabled.stderr) == (0, f"disabled {NORTHWIND}\n", "")
    assert card.state().find(iccid=NORTHWIND).state == "disabled"
    assert [line for line in card.log[before:] if line.startswith("#")] == ["# reset"]  # one warm reset
    resets = card.log.count("# reset") + card.log.count("# power on")
    assert run("enable", "--no-notify", "--no-reset", CONTOSO).returncode == 0
    assert card.log.count("# reset") + card.log.count("# power on") == resets
    assert card.state().find(iccid=CONTOSO).state == "enabled"


def test_nickname(card):
    assert run("nickname", CONTOSO, "travel").returncode == 0
    assert card.state().find(iccid=CONTOSO).nickname == "travel"


def test_delete_delivers_its_notification_through_pcsc(card, smdpp, lpa):
    lpa("sim", "add-profile", "--iccid", "8988247000000000001", "--provider", "Op", "--name", "N",
        "--smdp", smdpp.address, "--notify", "delete")
    listed = data(run("--json", "notifications", "list"))
    assert [(n["seqNumber"], n["profileManagementOperation"]) for n in listed] == [(1, "install")]
    result = run("delete", "--yes", "8988247000000000001")
    assert result.returncode == 0
    assert result.stdout.strip() == f"deleted 8988247000000000001; notified {smdpp.address}"
    assert [(a.operation, a.iccid) for a in smdpp.accepted] == [("delete", "8988247000000000001")]
    assert run("notifications", "process").returncode == 0  # the install notification
    assert card.state().notifications == []
    assert [a.operation for a in smdpp.accepted] == ["delete", "install"]


@pytest.mark.parametrize("after_apdus", [3, 5])
def test_card_removed_in_the_middle_of_an_operation(pcscd, state_path, after_apdus):
    card = VirtualCard(state_path, latency=0.1).insert()
    before = card.state()
    process = subprocess.Popen([lpa_executable(), "delete", "--yes", "--no-notify", CONTOSO],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while card.bridge.apdus < after_apdus and time.monotonic() < deadline:
        time.sleep(0.01)
    card.remove()
    out, err = process.communicate(timeout=30)
    assert process.returncode == 4, out + err
    assert err.count("\n") == 1 and "Virtual PCD 00 00" in err, err
    after = card.state()  # a readable state: the operation happened entirely or not at all
    deleted = after.find(iccid=CONTOSO) is None
    assert len(after.profiles) == len(before.profiles) - deleted
    assert len(after.notifications) == len(before.notifications) + deleted


def test_pcscd_not_running_is_one_clear_line(pcscd, tmp_path):
    result = run("list", env={"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")})
    assert result.returncode == 4
    assert result.stderr == "lpa: pcscd is not running: start it (systemctl start pcscd, or run pcscd as root)\n"


def test_no_card_in_any_reader(pcscd):
    result = run("list")
    assert result.returncode == 4 and "no card in any reader" in result.stderr


def test_reader_held_by_another_program(card):
    from lpa.transport.pcsc import PcscTransport

    with PcscTransport(READER0):
        result = run("list")
    assert result.returncode == 4
    assert "in use by another program" in result.stderr and result.stderr.count("\n") == 1


def test_two_readers_with_a_card_each_need_reader(pcscd, state_path, tmp_path):
    second_path = tmp_path / "second.json"
    second = StateFile(second_path)
    state = second.load()
    state.eid = "89049032000001000000000000000999"
    second.save(state)
    first = VirtualCard(state_path).insert()
    other = VirtualCard(second_path, port=35964).insert()
    try:
        ambiguous = run("info")
        assert ambiguous.returncode == 2
        assert "several readers hold an eUICC; choose one with --reader" in ambiguous.stderr
        assert data(run("--json", "--reader", "00 01", "info"))["eidValue"] == state.eid
        assert data(run("--json", "--reader", "0", "info"))["eidValue"] == first.state().eid
        assert data(run("--json", "--reader", READER1, "info"))["eidValue"] == state.eid
        unknown = run("--reader", "Yubico", "info")
        assert unknown.returncode == 2 and "no reader matches 'Yubico'" in unknown.stderr
        several = run("--reader", "Virtual", "info")
        assert several.returncode == 2 and "matches 2 readers" in several.stderr
        beyond = run("--reader", "2", "info")
        assert beyond.returncode == 2 and "no reader number 2; `lpa readers` lists 2" in beyond.stderr
    finally:
        other.remove()
        first.remove()


def test_memory_reset_through_pcsc(card):
    result = run("memory-reset", "--test", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"deleted {TEST_PROFILE}"
    assert f"test profile {TEST_PROFILE}" in result.stderr
    assert [p.profile_class for p in card.state().profiles] == ["operational"] * 3


def test_notifications_export_send_remove_through_pcsc(card, smdpp, lpa, tmp_path):
    lpa("sim", "add-profile", "--iccid", "8988247000000000001", "--provider", "Op", "--name", "N",
        "--smdp", smdpp.address)
    path = tmp_path / "n.json"
    assert run("notifications", "export", str(path)).returncode == 0
    assert [n.seq_number for n in card.state().notifications] == [1]
    result = run("notifications", "send", str(path))  # no card needed: the same command without one
    assert result.returncode == 0, result.stderr
    assert [(a.seq_number, a.operation) for a in smdpp.accepted] == [(1, "install")]
    result = run("notifications", "remove", "--acknowledged", str(path))
    assert result.returncode == 0 and result.stdout.strip() == "removed 1"
    assert card.state().notifications == []


@pytest.mark.download
def test_download_through_pcscd(state_path, smdpp):
    require_pcscd()
    with running_pcscd(), VirtualCard(state_path) as card:
        result = run_lpa("--reader", card.reader, "--ca-file", TEST_CI, "download",
                         f"LPA:1${smdpp.address}${TS48_PROFILE}", "--yes")
        assert result.returncode == 0, result.stderr
        listed = run_lpa("--reader", card.reader, "list")
    assert TS48_ICCID in listed.stdout
    assert StateFile(state_path).load().find(iccid=TS48_ICCID) is not None
    assert [a.iccid for a in smdpp.accepted if a.operation == "install"] == [TS48_ICCID]


def test_discover_and_download_an_event_through_pcsc(card, smdpp):
    from lpa.sim.servers.smds import Event, TestSmds

    with TestSmds() as smds:
        smds.discovery.events = [Event("TS48V2-SAIP2-1-BERTLV-UNIQUE", smdpp.address)]
        events = data(run("--json", "discover", "--smds", smds.address))
        assert [(e["eventId"], e["rspServerAddress"]) for e in events] == [("TS48V2-SAIP2-1-BERTLV-UNIQUE",
                                                                           smdpp.address)]
        result = run("--timeout", "30", "download", "--yes", "--smds", smds.address, "--event", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("installed 8949449999999990049")
    assert card.state().find(iccid="8949449999999990049") is not None


def test_download_from_the_default_smdp_through_pcsc(card, smdpp):
    smdpp.download.default_orders["*"] = "TS48V2-SAIP2-1-NOBERTLV-UNIQUE"
    assert run("default-smdp", smdpp.address).returncode == 0
    result = run("--timeout", "30", "download", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("installed 8949449999999990007")
    assert f"asking the default SM-DP+ {smdpp.address}" in result.stderr


def test_a_card_without_an_isdr_in_the_other_reader_is_passed_over(pcscd, state_path, tmp_path):
    bank_card = tmp_path / "bank-card.json"
    assert run("--sim-state", str(bank_card), "sim", "quirks", "--isdr-aid", "A000000559101011111111",
               "--no-partial-select").returncode == 0
    first = VirtualCard(state_path).insert()
    other = VirtualCard(bank_card, port=35964).insert()
    try:
        found = run("-v", "--json", "info")
        assert found.returncode == 0, found.stderr
        assert data(found)["eidValue"] == first.state().eid
        assert f"skipping reader '{READER1}': its card has no ISD-R" in found.stderr
        first.remove()
        assert run("--sim-state", str(state_path), "sim", "quirks", "--isdr-aid", "A000000559101011111111",
                   "--no-partial-select").returncode == 0
        first = VirtualCard(state_path).insert()
        none = run("info")
        assert none.returncode == 4
        assert "no reader holds an eUICC (or all are in use): insert it, or name one with --reader" in none.stderr
    finally:
        other.remove()
        first.remove()
