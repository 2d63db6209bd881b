"""One JSON contract (README, JSON output): every command, `lpa sim` ones included, prints one JSON object
with --json, and `ok` is false exactly when the exit code is not 0."""
from __future__ import annotations

import json
import signal
import subprocess

import pytest

from helpers import CONTOSO, FABRIKAM, NORTHWIND, interruptible, lpa_executable

COMMANDS = [
    ["list"], ["list", "--icons"], ["info"], ["default-smdp"], ["notifications", "list"],
    ["nickname", CONTOSO, "trips"], ["disable", "--no-notify", NORTHWIND], ["enable", "--no-notify", NORTHWIND],
    ["delete", "--yes", FABRIKAM], ["delete", "--yes", "no-such-nickname"], ["enable", NORTHWIND],
    ["notifications", "remove", "--yes", "99"], ["download", "--matching-id", "X"], ["delete"],
    ["sim", "identity"], ["sim", "quirks"], ["sim", "add-profile", "--iccid", "8949449999999990222",
                                            "--provider", "P", "--name", "N"],
    ["sim", "add-profile", "--iccid", "8949449999999990222", "--provider", "P", "--name", "N"],
    ["sim", "reset"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_prints_one_json_object_ok_exactly_when_exit_0(lpa, args):
    result = lpa("--json", *args)
    payload = json.loads(result.output)
    assert payload["ok"] is (result.exit_code == 0), result.output
    assert ("data" in payload) if payload["ok"] else payload["error"]["code"] == result.exit_code


def test_sim_commands_give_their_data(lpa):
    identity = json.loads(lpa("--json", "sim", "identity").output)["data"]
    assert len(identity["eidValue"]) == 32 and identity["trustedCis"] == []
    added = json.loads(lpa("--json", "sim", "add-profile", "--iccid", "8949449999999990333", "--provider", "P",
                           "--name", "N").output)["data"]
    assert added["iccid"] == "8949449999999990333" and added["profileState"] == "disabled"
    assert json.loads(lpa("--json", "sim", "reset").output)["data"]["profiles"] == 4


def test_lpa_sim_smdpp_json_names_the_commands(state_path):
    process = subprocess.Popen([lpa_executable(), "--json", "sim", "smdpp", "--port", "0"], stdout=subprocess.PIPE,
                               text=True, preexec_fn=interruptible)
    try:
        payload = json.loads(process.stdout.readline())
        assert payload["ok"] is True and payload["data"]["downloads"]
        assert payload["data"]["downloads"][0]["command"].startswith("lpa --sim --ca-file ")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
