"""Recordings replay as regression tests; the replay transport refuses anything else."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from helpers import NORTHWIND

RECORDINGS = sorted((Path(__file__).parents[1] / "recordings").glob("*.apdu"))


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
    result = lpa("--replay", str(Path(__file__).parents[1] / "recordings" / "list.apdu"), "info", sim=False)
    assert result.exit_code == 4
    assert "exchange 2 differs: lpa sent 80E2910006BF3E035C015A00" in result.output


def test_unconsumed_exchanges_are_reported(lpa, tmp_path):
    recording = (Path(__file__).parents[1] / "recordings" / "list.apdu").read_text()
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


LIST = Path(__file__).parents[1] / "recordings" / "list.apdu"


def replayed(lpa, text, tmp_path, *args):
    path = tmp_path / "edited.apdu"
    path.write_text(text)
    return lpa("--replay", str(path), *(args or ("--json", "list")), sim=False), path


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("< 6121", "< 61G1"), ":10: not a recording line (invalid literal for int() with base 16"),
    (lambda t: t.replace("< 6121", "6121"), ":10: not a recording line (neither a comment, a command nor a response)"),
    (lambda t: t.replace("> 00A4", "> 0GA4"), ":9: not a recording line (non-hexadecimal number"),
])
def test_a_damaged_recording_names_its_line(lpa, tmp_path, change, message):
    result, path = replayed(lpa, change(LIST.read_text()), tmp_path)
    assert result.exit_code == 4 and f'"message": "{path}{message}' in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_recording_that_ends_early_says_before_which_command(lpa, tmp_path):
    lines = LIST.read_text().splitlines()
    first_two = [line for line in lines if line[:1] in "#"] + [line for line in lines if line[:1] in "<>"][:4]
    result, path = replayed(lpa, "\n".join(first_two) + "\n", tmp_path)
    assert result.exit_code == 4
    assert f"recording {path} ends before command 00C00000" in result.output and "(exchange 3)" in result.output
    assert "more exchange" not in result.output


def test_data_split_over_several_fields_and_blank_lines_replay(lpa, tmp_path):
    text = LIST.read_text().replace("< 6121", "\n<6121  ").replace("> 00A4", ">00A4")
    response = next(line for line in text.splitlines() if line.startswith("< BF2D"))
    data, sw = response[2:].split()
    text = text.replace(response, f"< {data[:6]} {data[6:]} {sw}")
    result, _ = replayed(lpa, text, tmp_path, "--json", "list")
    assert result.exit_code == 0 and f'"iccid": "{NORTHWIND}"' in result.output


def test_a_reset_where_the_recording_has_a_command_and_the_reverse_are_refused(lpa, tmp_path):
    recording = (Path(__file__).parents[1] / "recordings" / "disable-with-reset.apdu").read_text()
    result, _ = replayed(lpa, recording.replace("# reset\n", ""), tmp_path, "disable", "--no-notify", "work")
    assert "ends before a card reset (exchange 7)" in result.output  # the card had changed: reported, exit 0
    result, _ = replayed(lpa, recording.replace("# reset\n", "> 00A4040000\n< 9000\n" * 2), tmp_path,
                         "disable", "--no-notify", "work")
    assert "exchange 7 differs: lpa reset the card, the recording has 00A4040000" in result.output
    assert "more exchange" not in result.output  # after a difference, what is left is not counted
    second = LIST.read_text().replace("> 80E2", "# reset\n> 80E2", 1)
    result, _ = replayed(lpa, second, tmp_path)
    assert result.exit_code == 4 and "exchange 2 differs: lpa sent 80E2" in result.output
    assert result.output.endswith('the recording has a card reset"}}\n')


def test_replay_without_a_file_and_an_unreadable_one(lpa, tmp_path):
    result = lpa("--device", "replay", "list", sim=False)
    assert result.exit_code == 2 and "replay needs a recording: --device replay:FILE" in result.output
    (tmp_path / "binary.apdu").write_bytes(b"> 00A4\xff\n")
    result = lpa("--replay", str(tmp_path / "binary.apdu"), "list", sim=False)
    assert result.exit_code == 4 and f"cannot read the recording {tmp_path / 'binary.apdu'}: 'ascii' codec" \
        in result.output


def test_a_recording_that_cannot_be_written_is_refused_before_the_card_is_used(lpa, tmp_path, sim_state):
    before = sim_state()
    result = lpa("--record", str(tmp_path / "no-such-dir" / "x.apdu"), "disable", "--no-notify", "work")
    assert result.exit_code == 4 and "cannot write the recording" in result.output
    assert sim_state() == before


def test_a_recording_replays_with_the_segment_size_it_was_made_with(lpa, tmp_path):
    recording = tmp_path / "small.apdu"
    assert lpa("--mss", "32", "--record", str(recording), "nickname", NORTHWIND, "n" * 40).exit_code == 0
    assert "> 80E21100" in recording.read_text()  # several blocks
    result = lpa("--replay", str(recording), "nickname", NORTHWIND, "n" * 40, sim=False)
    assert result.exit_code == 0, result.output
