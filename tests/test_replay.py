"""Recordings replay as regression tests; the replay transport refuses anything else."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

RECORDINGS = sorted((Path(__file__).parent / "recordings").glob("*.apdu"))


def metadata(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ") and ":" in line:
            key, value = line[2:].split(":", 1)
            fields[key] = value.strip()
    return fields


@pytest.mark.parametrize("recording", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_recording_replays(lpa, recording):
    meta = metadata(recording)
    result = lpa("--replay", str(recording), *shlex.split(meta["args"]), sim=False)
    assert result.exit_code == int(meta["expect-exit"]), result.output
    assert meta["expect"] in result.output
    assert "differs" not in result.output and "more exchange" not in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) >= 1


def test_a_command_that_differs_from_the_recording_is_refused(lpa):
    result = lpa("--replay", str(Path(__file__).parent / "recordings" / "list.apdu"), "info", sim=False)
    assert result.exit_code == 4
    assert "exchange 2 differs: lpa sent 80E2910006BF3E035C015A00" in result.output


def test_unconsumed_exchanges_are_reported(lpa, tmp_path):
    recording = (Path(__file__).parent / "recordings" / "list.apdu").read_text()
    extra = tmp_path / "extra.apdu"
    extra.write_text(recording + "> 00A4040000\n< 9000\n")
    result = lpa("--replay", str(extra), "--json", "list", sim=False)
    assert result.exit_code == 4 and "has 1 more exchange(s) than lpa sent" in result.output


def test_record_writes_a_header_and_every_exchange(lpa, tmp_path):
    path = tmp_path / "bug.apdu"
    assert lpa("--record", str(path), "info").exit_code == 0
    text = path.read_text()
    assert text.startswith("# lpa APDU recording\n# command: lpa")
    assert "# lpa: " in text and "# date: " in text
    assert text.count("\n> ") == text.count("\n< ") > 3
    assert lpa("--replay", str(path), "info", sim=False).exit_code == 0


def test_a_reset_is_recorded_and_replayed(lpa, tmp_path):
    path = tmp_path / "reset.apdu"
    assert lpa("--record", str(path), "disable", "--no-notify", "work").exit_code == 0
    assert "# reset" in path.read_text()
    assert lpa("--replay", str(path), "disable", "--no-notify", "--no-reset", "work", sim=False).exit_code == 4
