"""The on-demand tools run and report: scripts/fuzz.py (fuzzing campaign) and bench/run.py (benchmark)."""
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


def test_the_fuzz_script_reports_inputs_tried_and_failed_per_target(tmp_path):
    result = run("scripts/fuzz.py", "--inputs", "2600", "--workers", "2", "--seed", "7",
                 "--failures", str(tmp_path / "failures.txt"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "fuzzing 13 targets with 2600 inputs, 2 workers, seed 7"
    assert "GetProfilesInfo                   200       0" in lines
    assert lines[-1].split()[:3] == ["total", "2600", "0"]
    assert not (tmp_path / "failures.txt").exists()


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
    assert rows["delete + notification"]["APDUs"] == "17"
    assert rows["notifications process (20)"]["APDUs"] == "168"  # lpac sends 169 for the same
    assert 0 < float(rows["list"]["CPU ms"]) <= float(rows["list"]["wall ms"]) + 5
    assert 5 < float(rows["list"]["RSS MB"]) < 100
    assert rows["list"]["lpac APDUs"] == "0" and float(rows["list"]["lpa/lpac wall"]) > 0  # the fake sends none
    download = rows["download TS48V2-SAIP2-1-BERTLV-UNIQUE"]
    assert (download["APDUs"], download["HTTPS"], download["TLS"]) == ("80", "4", "1")  # 255-byte blocks
    modem = rows["download TS48V2-SAIP2-1-BERTLV-UNIQUE (modem)"]
    assert (modem["APDUs"], modem["AT lines"]) == ("134", "138")  # 120-byte blocks, one AT+CGLA line each
    assert rows["list (modem)"]["AT lines"] == "5"
    assert "failed" not in result.stdout and "skipped" not in result.stdout


def test_a_regular_install_ships_every_package():
    """pyproject.toml lists packages by hand; a package left out works in the checkout only."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).parents[2]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(root).parts) for init in (root / "lpa").rglob("__init__.py")}
    assert found <= listed, f"missing from pyproject.toml: {sorted(found - listed)}"
