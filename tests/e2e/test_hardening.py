"""Hostile input, hostile environments, honest outcomes.

Bad options are refused before the card is touched; errors in the environment
are one line; what a card or server says is never printed raw; the ASN.1
cache runs no code planted in it; the simulator's state survives parallel
commands. (The parsing of addresses from cards and activation codes, in
linear time: unit/test_address_parsing.py.)
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lpa import es9p

from helpers import CONTOSO, FABRIKAM, json_data, lpa_executable
from lpa.errors import ServerError

OPERATOR = "8988247000000000001"


# -- options checked before the card is touched ------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--ca-file", "/nonexistent/ci.pem"], "cannot read --ca-file /nonexistent/ci.pem"),
    (["--ca-file", __file__], "holds no PEM certificate"),
    (["--timeout", "nan"], "nan is not a number of seconds"),
    (["--timeout", "inf"], "inf is not a number of seconds"),
    (["--timeout", "0"], "0.0 is not a number of seconds"),
])
def test_bad_options_are_refused_before_the_card_is_touched(lpa, state_path, args, message):
    before = state_path.read_bytes()
    result = lpa(*args, "delete", "--yes", CONTOSO)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert state_path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"\n", b"not a certificate\n", b"\xff\xfe"])
def test_a_ca_file_without_a_certificate_is_refused_before_the_card_is_touched(lpa, state_path, tmp_path, content):
    path = tmp_path / "ci.pem"
    path.write_bytes(content)
    before = state_path.read_bytes()
    result = lpa("--ca-file", str(path), "delete", "--yes", CONTOSO)
    assert result.exit_code == 2 and f"--ca-file {path} holds no PEM certificate" in result.output
    assert state_path.read_bytes() == before


def test_an_unreadable_ca_file_in_the_environment_is_refused_first(lpa, state_path, monkeypatch):
    monkeypatch.setenv("LPA_CA_FILE", "/nonexistent/ci.pem")
    before = state_path.read_bytes()
    result = lpa("--sim", "--sim-state", str(state_path), "delete", "--yes", CONTOSO, sim=False)
    assert result.exit_code == 2 and "cannot read --ca-file /nonexistent/ci.pem" in result.output
    assert state_path.read_bytes() == before


@pytest.mark.parametrize("args", [["--reader", "0"], ["--replay", __file__]])
def test_options_naming_two_cards_are_a_usage_error(lpa, args):
    result = lpa(*args, "list")
    assert result.exit_code == 2 and "name two different cards" in result.output


def test_usage_errors_are_json_with_json(lpa):
    result = lpa("--json", "delete")
    assert result.exit_code == 2
    payload = json.loads(result.output)
    assert payload["ok"] is False and payload["error"]["type"] == "UsageError" and payload["error"]["code"] == 2
    assert "Missing argument" in payload["error"]["message"]


def test_record_does_not_overwrite_a_file_unless_forced(lpa, tmp_path):
    path = tmp_path / "bug.apdu"
    path.write_text("keep me")
    result = lpa("--record", str(path), "list")
    assert result.exit_code == 2 and "exists" in result.output and path.read_text() == "keep me"
    assert lpa("--record", str(path), "--force", "list").exit_code == 0
    assert path.read_text().startswith("# lpa APDU recording")


def test_replay_never_contacts_an_smdp(lpa, tmp_path, smdpp, sim_state):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "P", "--name", "N", "--smdp", smdpp.address)
    recording = tmp_path / "delete.apdu"
    assert lpa("--record", str(recording), "delete", "--yes", "--no-notify", OPERATOR).exit_code == 0
    smdpp.requests.clear()
    result = lpa("--replay", str(recording), "delete", "--yes", OPERATOR, sim=False)
    assert result.exit_code == 0 and result.output.strip() == f"deleted {OPERATOR}"
    assert smdpp.requests == []
    refused = lpa("--replay", str(recording), "notifications", "process", sim=False)
    assert refused.exit_code == 2 and "holds no SM-DP+" in refused.output


# -- the environment --------------------------------------------------------------


def test_a_state_path_under_a_file_is_one_line_and_exit_4(tmp_path):
    (tmp_path / "file").write_text("")
    result = subprocess.run([lpa_executable(), "--sim", "--sim-state", str(tmp_path / "file" / "state.json"), "list"],
                            capture_output=True, text=True)
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.startswith("lpa: ") and len(result.stderr.splitlines()) == 1
    assert str(tmp_path / "file") in result.stderr


def test_a_port_in_use_is_one_line_and_exit_4(smdpp):
    result = subprocess.run([lpa_executable(), "sim", "smdpp", "--port", str(smdpp.port)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 4 and "Address already in use" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_closed_pipe_exits_quietly(state_path):
    command = f"{lpa_executable()} --sim --sim-state {state_path} list | head -c 0"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    assert result.stderr == ""


def test_a_planted_asn1_cache_runs_nothing_and_is_rebuilt(tmp_path):
    """Unpickling can run code: lpa reads its cache only from the user's private folder, and even
    then builds nothing but asn1tools' codec classes from it."""
    from lpa import codec

    genuine = Path(codec._cache_path(codec._asn_files()))
    if not genuine.exists():  # this process loaded the types before this test's cache folder was set
        codec._save(str(genuine), codec._compile(codec._asn_files()))
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    marker = tmp_path / "planted"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    planted = folder / genuine.name
    evil = pickle.dumps(Planted())
    planted.write_bytes(codec._MAGIC + len(evil).to_bytes(8, "big") + evil)
    planted.chmod(0o600)
    assert codec._read(str(planted)) is None and not marker.exists()  # the user's own folder: still refused

    class PlantedClass:  # a class, not a function, from a module other than asn1tools' codecs
        def __reduce__(self):
            return (subprocess.Popen, (["touch", str(marker)],))

    evil = pickle.dumps(PlantedClass())
    planted.write_bytes(codec._MAGIC + len(evil).to_bytes(8, "big") + evil)
    assert codec._read(str(planted)) is None
    time.sleep(0.1)
    assert not marker.exists()
    planted.write_bytes(genuine.read_bytes())
    assert codec._read(str(planted)) is not None  # the genuine cache loads
    folder.chmod(0o777)
    assert codec._read(str(planted)) is None  # a folder others can write to: not read at all
    folder.chmod(0o700)
    planted.chmod(0o666)
    assert codec._read(str(planted)) is None


# -- the terminal -------------------------------------------------------------------


def test_names_from_the_card_are_printed_with_control_characters_escaped(lpa):
    evil = "Evil\x1b]0;pwned\x07\u202egnp.exe"
    assert lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", evil, "--name", "N").exit_code == 0
    result = lpa("list")
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Evil\\x1b]0;pwned\\x07\\u202egnp.exe" in result.output
    profile = json_data(lpa("--json", "list"))[-1]
    assert profile["serviceProviderName"] == evil  # JSON keeps the value, escaped as JSON
    assert "\u202e" not in lpa("--json", "list").output


def test_nicknames_with_control_characters_are_refused(lpa, sim_state):
    result = lpa("nickname", CONTOSO, "home\x1b[2J")
    assert result.exit_code == 2 and "control character U+001B" in result.output
    assert sim_state().find(iccid=CONTOSO).nickname is None


def test_columns_are_aligned_by_display_width(lpa):
    lpa("nickname", CONTOSO, "旅行")  # two wide characters: four columns
    lpa("nickname", FABRIKAM, "cafe\u0301")  # a combining accent: four columns
    lines = lpa("list").output.splitlines()
    from lpa.cli.terminal import width

    assert len({width(line[: line.index("Contoso") if "Contoso" in line else 0]) for line in lines[2:3]}) == 1
    header, *rows = lines
    nickname_column = width(header[: header.index("NICKNAME")])
    for row in rows:
        for nickname in ("旅行", "cafe\u0301"):
            if nickname in row:
                assert width(row[: row.index(nickname)]) == nickname_column


# -- the simulated eUICC's state -----------------------------------------------------


def test_parallel_commands_lose_nothing(lpa, state_path, sim_state):
    iccids = [f"898824700000000{n:04d}" for n in range(20)]
    for iccid in iccids:
        assert lpa("sim", "add-profile", "--iccid", iccid, "--provider", "P", "--name", "N", "--smdp", "127.0.0.1:9",
                   "--notify", "delete").exit_code == 0
    before = sim_state()
    command = [lpa_executable(), "--sim", "--sim-state", str(state_path), "delete", "--yes", "--no-notify"]
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda iccid: subprocess.run([*command, iccid], capture_output=True, text=True),
                                iccids))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    after = sim_state()
    assert not {p.iccid for p in after.profiles} & set(iccids)
    deletes = [n for n in after.notifications if n.operation == "delete"]
    assert sorted(n.iccid for n in deletes) == sorted(iccids)
    assert len({n.seq_number for n in after.notifications}) == len(before.notifications) + 20


@pytest.mark.parametrize("change,message", [
    (lambda data: [p.update(state="enabled") for p in data["profiles"][:2]], "2 profiles are enabled"),
    (lambda data: data["profiles"][0].update(iccid=12), "profiles[0].iccid"),
    (lambda data: data.update(next_seq_number="x"), "next_seq_number"),
    (lambda data: data["notifications"].extend([data["notifications"][0]] * 2), "sequence number"),
    (lambda data: data["notifications"][0].update(operation="explode"), "notifications[0].operation is not one of"),
    (lambda data: data["profiles"][0].update(policy_rules=["ppr9"]), "profiles[0].policy_rules is not a list of"),
    (lambda data: data["profiles"][0].update(policy_rules=[{}]), "profiles[0].policy_rules is not a list of"),
    (lambda data: data["profiles"][0].update(notify={"reboot": "x.example"}), "profiles[0].notify is not operations"),
    (lambda data: data["profiles"][0].update(name="N" * 65), "profiles[0].name is longer than 64 bytes"),
    (lambda data: data["profiles"][0].update(profile_class="vip"), "profiles[0].profile_class is not one of"),
    (lambda data: data["profiles"][0].update(iccid="89"), "profiles[0].iccid is not an ICCID"),
    (lambda data: data.update(eid=json.loads("[" * 40 + "0" + "]" * 40)),
     "nested deeper than 32 levels"),
])
def test_a_damaged_state_file_is_refused_with_a_clear_error(lpa, state_path, change, message):
    lpa("disable", "--no-notify", "work")  # one notification
    data = json.loads(state_path.read_text())
    change(data)
    state_path.write_text(json.dumps(data))
    result = lpa("list")
    assert result.exit_code == 4 and message in result.output and "lpa sim reset" in result.output


def test_requires_python_matches_the_syntax_used():
    import ast
    import re

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    version = tuple(int(n) for n in re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject).groups())
    for path in [*Path(__file__).parents[2].glob("lpa/**/*.py"), *Path(__file__).parents[1].rglob("*.py")]:
        ast.parse(path.read_text(), str(path), feature_version=version)


def test_a_name_too_long_for_the_file_system_is_one_line_and_exit_4(tmp_path):
    result = subprocess.run([lpa_executable(), "--sim", "--sim-state", str(tmp_path / ("x" * 300)), "list"],
                            capture_output=True, text=True)
    assert result.returncode == 4 and "File name too long" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_host_name_that_does_not_resolve_is_not_retried(monkeypatch):
    import socket

    from lpa.https import HttpsClient
    from lpa.trust import anchors

    lookups = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        lookups.append(host)
        return real(host, *args, **kwargs)  # the loopback-only guard: unknown names fail

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    with HttpsClient(anchors([]), timeout=5, retries=2, backoff=0.01) as client:
        with pytest.raises(ServerError, match="host name not found"):
            es9p.handle_notification(client, "smdp.example.invalid", b"\x30\x00")
    assert lookups == ["smdp.example.invalid"]


def test_failed_deliveries_make_process_json_not_ok(lpa, smdpp):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "P", "--name", "N", "--smdp", smdpp.address)
    smdpp.stop()
    result = lpa("--json", "notifications", "process")
    payload = json.loads(result.output)
    assert result.exit_code == 5 and payload["ok"] is False
    assert payload["error"]["type"] == "ServerError" and "1 of 1 notification(s) not delivered" in \
        payload["error"]["message"]
    assert payload["data"]["failed"] == 1 and payload["data"]["notifications"][0]["error"] == "connection refused"


def _screen(monkeypatch):
    """stderr as a terminal (set in the test: pytest's capture sets sys.stderr again after fixtures)."""
    from helpers import TtyBuffer

    buffer = TtyBuffer()
    monkeypatch.setattr(sys, "stderr", buffer)
    return buffer


def test_a_status_line_shows_what_lpa_waits_for_after_a_second(monkeypatch):
    from lpa.cli.terminal import status

    screen = _screen(monkeypatch)
    with status("sending notification 12 to smdp.example.com", enabled=True, delay=0.01):
        time.sleep(0.1)
    with status("quick", enabled=True, delay=1.0):
        pass
    assert screen.getvalue() == "\rsending notification 12 to smdp.example.com ...\x1b[K\r\x1b[K"


def test_a_status_line_inside_another_gives_it_back_when_it_ends(monkeypatch):
    from lpa.cli.terminal import status

    screen = _screen(monkeypatch)
    with status("authenticating with the SM-DP+ a.example", enabled=True, delay=0.01):
        with status("waiting for the SM-DP+ a.example", enabled=True, delay=0.01):
            time.sleep(0.1)  # the outer line's second came too: the inner one is shown
        time.sleep(0.05)
    assert screen.getvalue() == ("\rwaiting for the SM-DP+ a.example ...\x1b[K"
                                 "\rauthenticating with the SM-DP+ a.example ...\x1b[K\r\x1b[K")


@pytest.mark.parametrize("exists", [True, False])
def test_the_asn1_cache_is_written_into_a_private_folder_new_or_existing(tmp_path, exists):
    from lpa import codec

    types = codec._specs()
    compiled = {"der": {"ProfileInfoListResponse": types["encoder"]._types["ProfileInfoListResponse"]},
                "ber": {"ProfileInfoListResponse": types["decoder"]._types["ProfileInfoListResponse"]}}
    folder = tmp_path / "cache" / "lpa"
    if exists:
        folder.mkdir(parents=True, mode=0o700)
    codec._save(folder / "asn1-test.cache", compiled)
    assert folder.stat().st_mode & 0o777 == 0o700
    loaded = codec._read(folder / "asn1-test.cache")
    assert loaded is not None and loaded["ber"]["ProfileInfoListResponse"].decode(bytes.fromhex("BF2D03810101")) == \
        ("profileInfoListError", 1)
