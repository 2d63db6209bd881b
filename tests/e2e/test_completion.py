"""Shell completion (click's, for bash, zsh and fish): commands, options, device kinds, and the
ICCIDs and nicknames of the card, driven as the shells drive it (COMP_WORDS, COMP_CWORD and
_LPA_COMPLETE in the environment of the `lpa` process)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers import run_lpa

ICCIDS = ["8944476500001234567", "89470000000098765432", "8901260123456789012", "89000123456789012341"]


def complete(shell: str, words: list[str], incomplete: str = "") -> list[str]:
    """What `lpa` offers after ``words`` for the word being typed, as ``shell`` asks for it."""
    line = " ".join(["lpa", *words, incomplete])
    env = {"_LPA_COMPLETE": f"{shell}_complete", "COMP_WORDS": line,
           "COMP_CWORD": incomplete if shell == "fish" else str(len(words) + 1)}
    result = run_lpa(env=env, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    if not result.stdout.strip():
        return []
    if shell == "bash":
        return [entry.partition(",")[2] for entry in result.stdout.splitlines()]
    if shell == "zsh":  # type, value, help: three lines each
        lines = result.stdout.splitlines()
        return [lines[i + 1] for i in range(0, len(lines) - 2, 3)]
    return [entry.partition(",")[2].partition("\t")[0] for entry in result.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_the_iccids_and_nicknames_of_the_simulated_card(shell, state_path):
    sim = ["--sim", "--sim-state", str(state_path)]
    assert run_lpa(*sim, "list").returncode == 0  # remembers the profiles
    assert complete(shell, [*sim, "enable"]) == [ICCIDS[0], "work", *ICCIDS[1:]]
    assert complete(shell, [*sim, "disable"], "w") == ["work"]
    assert complete(shell, [*sim, "delete"], "894") == ICCIDS[:2]  # ICCID or AID: no nicknames


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_commands_options_and_device_kinds(shell):
    assert {"doctor", "list", "enable", "notifications", "sim"} <= set(complete(shell, []))
    assert {"--device", "--sim", "--version"} <= set(complete(shell, [], "--"))
    assert complete(shell, ["--device"]) == ["pcsc:", "sim", "replay:", "at:", "qmi:", "mbim:"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_scripts_are_click_s(shell):
    result = run_lpa(env={"_LPA_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0 and "_LPA_COMPLETE" in result.stdout and f"{shell}_complete" in result.stdout


def test_without_a_remembered_list_the_card_is_asked_and_remembered(state_path):
    from lpa.completion import cache_file, profile_choices

    device = f"sim:{state_path}"
    assert not Path(cache_file(device)).exists()
    found = profile_choices(device, "89", budget=30)  # in-process: the first card answer compiles nothing slow
    assert [value for value, _ in found] == ICCIDS
    assert found[0][1] == "Northwind Unlimited (enabled), nickname work"
    assert Path(cache_file(device)).exists()
    assert complete("bash", ["--sim", "--sim-state", str(state_path), "nickname"]) == [ICCIDS[0], "work", *ICCIDS[1:]]


def test_an_old_or_damaged_cache_is_not_used(state_path):
    from lpa.completion import CACHE_SECONDS, cache_file, remembered

    device = f"sim:{state_path}"
    path = Path(cache_file(device))
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = [{"iccid": "8999999999999999999", "state": "disabled", "nickname": None, "name": "gone"}]
    path.write_text(f"lpa-profiles 1 {time.time() - CACHE_SECONDS - 5}\n8999999999999999999\tdisabled\t\tgone\n")
    assert remembered(device) is None
    path.write_text(f"lpa-profiles 1 {time.time()}\n8999999999999999999\tdisabled\t\tgone\n")
    assert remembered(device) == stale
    for damaged in ("{not json", f"lpa-profiles 1 {time.time() + 60}\n", "lpa-profiles 1 nan\n",
                    f"lpa-profiles 2 {time.time()}\n8999999999999999999\tdisabled\t\tgone\n"):
        path.write_text(damaged)
        assert remembered(device) is None, damaged
    path.write_text(f"lpa-profiles 1 {time.time()}\n8999999999999999999\tdisabled\n\xff\n")
    assert remembered(device) == []  # lines without the four fields are skipped
    assert "8999999999999999999" not in complete("bash", ["--sim", "--sim-state", str(state_path), "enable"])


def test_a_card_s_names_with_tabs_and_line_ends_stay_one_remembered_profile_each(state_path):
    from lpa.completion import remember, remembered
    from lpa.es10 import Profile

    device = f"sim:{state_path}"
    remember(device, [Profile(iccid="8999999999999999999", state="enabled", nickname="a\tb\nc", name="x\r\n"),
                      Profile(iccid="8999999999999999998", state="disabled")])
    assert remembered(device) == [
        {"iccid": "8999999999999999999", "state": "enabled", "nickname": "a b c", "name": "x  "},
        {"iccid": "8999999999999999998", "state": "disabled", "nickname": None, "name": None}]


def test_a_change_drops_the_remembered_list(lpa, state_path):
    from lpa.completion import cache_file

    device = f"sim:{state_path}"
    lpa("list")
    assert Path(cache_file(device)).exists()
    assert lpa("nickname", ICCIDS[1], "travel").exit_code == 0
    assert not Path(cache_file(device)).exists()
    lpa("list")
    assert lpa("delete", "--yes", ICCIDS[1]).exit_code == 0
    assert not Path(cache_file(device)).exists()


def test_a_card_that_cannot_be_reached_completes_nothing_and_says_nothing(tmp_path):
    words = ["--device", f"at:{tmp_path / 'ttyUSB9'}", "enable"]
    assert complete("bash", words) == []
    assert complete("bash", ["--replay", str(tmp_path / "none.apdu"), "enable"]) == []
    started = time.monotonic()
    assert complete("bash", ["--reader", "Nothing", "enable"], "89") == []  # pcscd absent or no such reader
    assert time.monotonic() - started < 5


def test_the_budget_bounds_a_silent_card():
    from lpa.completion import within

    started = time.monotonic()
    assert within(0.2, lambda: time.sleep(3)) is None
    assert time.monotonic() - started < 1
    assert within(1, lambda: 1 / 0) is None
    assert within(1, lambda: [1]) == [1]
