"""The on-demand tools run and report: scripts/fuzz.py (fuzzing campaign), scripts/hostile.py (hostile servers and
files) and bench/run.py (benchmark)."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from helpers import require_pcscd

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, **(env or {})})


def clean_report(script: str, failures: Path, *args: str) -> list[str]:
    """The lines of a campaign's report that found nothing (exit 0, no failures written)."""
    result = run(script, *args, "--failures", str(failures))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not failures.exists()
    return result.stdout.splitlines()


def test_the_fuzz_script_reports_inputs_tried_and_failed_per_target(tmp_path):
    lines = clean_report("scripts/fuzz.py", tmp_path / "failures.txt", "--inputs", "2600", "--workers", "2",
                         "--seed", "7")
    assert lines[0] == "fuzzing 13 targets with 2600 inputs, 2 workers, seed 7"
    assert "GetProfilesInfo                   200       0" in lines
    assert lines[-1].split()[:3] == ["total", "2600", "0"]


def test_the_fuzz_script_counts_a_crashing_decoder_as_failed(monkeypatch):
    loader = SourceFileLoader("fuzz_script", str(ROOT / "scripts" / "fuzz.py"))
    fuzz = importlib.util.module_from_spec(importlib.util.spec_from_loader("fuzz_script", loader))
    loader.exec_module(fuzz)

    def crash(channel):
        raise KeyError("decoder bug")

    monkeypatch.setitem(fuzz.DECODERS, "GetEID", (crash, *fuzz.DECODERS["GetEID"][1:]))
    tried, failed, failures = fuzz.campaign((1, 130, 5.0))
    assert tried["GetEID"] == 10 and failed["GetEID"] == 10 and sum(failed.values()) == 10
    assert failures[0].startswith("GetEID: KeyError: 'decoder bug' on ")


def test_the_hostile_script_reports_tried_and_failed_per_target(tmp_path):
    lines = clean_report("scripts/hostile.py", tmp_path / "failures", "--answers", "10", "--files", "8", "--seed", "22")
    assert lines[0] == "hostile campaign: 10 server answers, 8 files, seed 22"
    assert "getBoundProfilePackage       2       0" in lines and "image                        2       0" in lines
    assert lines[-1].split()[:3] == ["total", "18", "0"]


def test_the_hostile_script_writes_each_failing_input(tmp_path):
    """A regression the campaign must see: the JSON nesting bound removed."""
    code = (f"import json, runpy, sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import lpa.https; "
            "lpa.https.parse_json = json.loads; "
            f"sys.argv = ['hostile.py', '--answers', '60', '--files', '0', '--seed', '3', '--failures', "
            f"{str(tmp_path / 'failures')!r}]; runpy.run_path({str(ROOT / 'scripts' / 'hostile.py')!r}, "
            "run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 1 and "failing inputs written to" in result.stdout
    written = [path.read_text() for path in (tmp_path / "failures").iterdir()]
    assert written and all("input: " in text and "problem: " in text for text in written)
    assert any("nest" in text and "RecursionError" in text for text in written)


FAKE_LPAC = """#!/bin/sh
# Answers like lpac when called the way bench/run.py calls lpac for the virtual reader; exchanges no APDU.
if [ "$LPAC_APDU" = pcsc ] && [ "$LPAC_APDU_PCSC_DRV_NAME" = "Virtual PCD 00 00" ]; then code=0; else code=-1; fi
echo '{"type":"lpa","payload":{"code":'$code',"message":"'"$*"'","data":{}}}'
"""


@pytest.mark.pcsc
def test_the_benchmark_prints_figures_for_lpa_and_lpac(tmp_path):
    require_pcscd()
    lpac = tmp_path / "lpac"
    lpac.write_text(FAKE_LPAC)
    lpac.chmod(0o755)
    result = run("bench/run.py", "--latency", "0", "--runs", "1", env={"LPAC": str(lpac)})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    assert "(regular install)" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[1].startswith("floor (a new process importing click and smartcard.scard): CPU")
    header, rows = lines[2], {row[0]: dict(zip(lines[2], row)) for row in lines[3:]}
    assert header[-4:] == ["lpac APDUs", "lpac CPU ms", "lpac wall ms", "lpa/lpac wall"]
    assert (rows["list"]["APDUs"], rows["list"]["to card"], rows["list"]["from card"]) == ("4", "50", "317")
    assert (rows["delete"]["APDUs"], rows["delete"]["HTTPS"]) == ("5", "0")  # --no-notify: start-up and the card
    assert rows["delete + notification"]["APDUs"] == "18"  # the EUM certificate carries its EID range (nameConstraints)
    assert rows["notifications process (20)"]["APDUs"] == "188"  # 168 (lpac: 169) before the EUM certificate grew
    assert 0 < float(rows["list"]["CPU ms"]) <= float(rows["list"]["wall ms"]) + 5
    assert 5 < float(rows["list"]["RSS MB"]) < 100
    assert rows["list"]["lpac APDUs"] == "0" and float(rows["list"]["lpa/lpac wall"]) > 0  # the fake sends none
    download = rows["download TS48V2-SAIP2-1-BERTLV-UNIQUE"]
    # 255-byte blocks; 85 before EUICCInfo1 was read once per session, the RAT only for an offer with policy
    # rules (TS.48 profiles have none) and the install notification sent as LoadBoundProfilePackage answered it
    # (no RetrieveNotificationsList): 2 APDUs each (T=0: the answer's GET RESPONSE)
    assert (download["APDUs"], download["HTTPS"], download["TLS"]) == ("79", "4", "1")
    modem = rows["download TS48V2-SAIP2-1-BERTLV-UNIQUE (modem)"]
    # 120-byte blocks, one AT+CGLA line each; the test SM-DP+'s certificates are fixed files (a fresh
    # signature's length moved the count by a block); 136 and 140 before the three functions above went (the
    # modem fetches an answer itself: one AT+CGLA each)
    assert (modem["APDUs"], modem["AT lines"]) == ("133", "137")
    assert rows["list (modem)"]["AT lines"] == "5"
    assert "failed" not in result.stdout and "skipped" not in result.stdout


def test_a_regular_install_ships_every_package():
    """pyproject.toml lists packages by hand; a package left out works in the checkout only."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).parents[2]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(root).parts) for init in (root / "lpa").rglob("__init__.py")}
    assert found <= listed, f"missing from pyproject.toml: {sorted(found - listed)}"
