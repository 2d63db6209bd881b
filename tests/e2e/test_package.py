"""lpa installs as a package: the wheel and the sdist build, pass `twine check`, hold the data files
and no tests, and the wheel installs into a fresh virtual environment (and with pipx when it is on
PATH) where `lpa --version` and `lpa --sim list` run.

Built without build isolation (the test extra brings setuptools, wheel and build), from a copy of
the checkout, so that nothing is written into it; the fresh environment gets lpa's dependencies
from the package index pip is configured with. About 20 s.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lpa

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".hypothesis", ".mutation", ".mypy_cache",
                              ".pytest_cache", "build", "dist", ".import_linter_cache")


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and the sdist, built from a copy of the checkout."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", work / "dist", source)
    wheel, = (work / "dist").glob("*.whl")
    sdist, = (work / "dist").glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "work": work}


def test_the_wheel_and_sdist_carry_the_one_version_and_pass_twine_check(built):
    assert built["wheel"].name == f"lpa-{lpa.__version__}-py3-none-any.whl"
    assert built["sdist"].name == f"lpa-{lpa.__version__}.tar.gz"
    result = run(sys.executable, "-m", "twine", "check", "--strict", built["wheel"], built["sdist"])
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_holds_every_module_and_data_file_and_no_tests(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    expected = {f"lpa/data/asn1/{p.name}" for p in (ROOT / "asn1").glob("*.asn")}
    expected |= {f"lpa/data/certs/{p.name}" for p in (ROOT / "certs").iterdir() if p.suffix == ".pem"}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "lpa").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert len([n for n in expected if n.startswith("lpa/data/asn1/")]) >= 3
    assert "lpa/data/certs/81370f5125d0b1d408d4c3b232e6d25e795bebfb.pem" in expected
    assert "lpa/sim/pki/ci-cert.pem" in expected
    assert sorted(expected - names) == []
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n or n.endswith(".pyc")]
    metadata = zipfile.ZipFile(built["wheel"]).read(f"lpa-{lpa.__version__}.dist-info/METADATA").decode()
    assert f"Version: {lpa.__version__}" in metadata
    assert "Provides-Extra: modem" in metadata and "Provides-Extra: qr" in metadata


def test_the_sdist_holds_the_changelog_and_the_data_folders(built):
    import tarfile

    with tarfile.open(built["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"CHANGELOG.md", "README.md", "pyproject.toml", "asn1/rsp.asn", "certs/81370f5125d0b1d408d4c3b232e6d25e795bebfb.pem",
            "lpa/__init__.py"} <= names
    assert not [n for n in names if n.startswith("tests/")]


def _runs(lpa_command: Path, work: Path) -> None:
    version = run(lpa_command, "--version").stdout
    assert version.startswith(f"lpa {lpa.__version__} (GSMA SGP.22 v{lpa.SGP22_VERSION}")
    for name in ("Python", "pyscard", "asn1tools", "cryptography"):
        line, = [line for line in version.splitlines() if line.strip().startswith(f"{name}:")]
        assert "not installed" not in line, version
    listed = run(lpa_command, "--sim", "--sim-state", work / "sim.json", "list").stdout
    assert "8944476500001234567" in listed and listed.startswith("ICCID")


def test_the_wheel_installs_into_a_fresh_environment_and_runs(built):
    venv = built["work"] / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", built["wheel"], timeout=300)
    _runs(venv / "bin" / "lpa", built["work"])


@pytest.mark.skipif(shutil.which("pipx") is None, reason="pipx is not on PATH")
def test_the_wheel_installs_with_pipx(built):
    home = built["work"] / "pipx"
    env = {"PIPX_HOME": str(home), "PIPX_BIN_DIR": str(home / "bin"), "PIPX_MAN_DIR": str(home / "man")}
    run("pipx", "install", built["wheel"], env=env, timeout=300)
    _runs(home / "bin" / "lpa", built["work"])
