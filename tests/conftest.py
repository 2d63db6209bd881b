"""Fixtures: an isolated simulated eUICC, the test SM-DP+, the lpa command."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from lpa.sim.card.state import StateFile
from lpa.sim.pki.testpki import PKI_DIR
from lpa.sim.servers.smdpp import TestSmdpp

TEST_CI = str(PKI_DIR / "ci-cert.pem")


def require_pcscd() -> None:
    """Skip the test where pcscd and vpcd are not installed; fail in CI (CI=true), where they must be."""
    from lpa.sim.bridges.pcscd import missing

    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def pcscd() -> Any:
    """A running pcscd with the vpcd driver (started here if needed), for the tests marked pcsc."""
    from lpa.sim.bridges.pcscd import PcscdUnavailable, running_pcscd

    require_pcscd()
    try:
        with running_pcscd():
            yield
    except PcscdUnavailable as error:
        pytest.fail(str(error))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory; the ASN.1 cache is shared by the session."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache(tmp_path_factory)))
    for name in ("LPA_READER", "LPA_SIM", "LPA_SIM_STATE", "LPA_AID", "LPA_MSS", "LPA_CA_FILE", "LPA_TIMEOUT",
                 "LPA_LOGICAL_CHANNEL", "LPA_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback addresses only: any other name fails as if unknown, without DNS."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not a loopback address (tests stay local)")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    """One cache for the run, shared by pytest-xdist's workers (the ASN.1 module is compiled once)."""
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / "cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """The state file of a freshly seeded simulated eUICC."""
    path = tmp_path / "euicc.json"
    StateFile(path).load()
    return path


@pytest.fixture
def sim_state(state_path: Path) -> Callable[[], Any]:
    """Read the simulated eUICC's state as it is on disk now."""
    return lambda: StateFile(state_path).load()


@pytest.fixture
def smdpp() -> Any:
    """The test SM-DP+ on 127.0.0.1 (a free port)."""
    server = TestSmdpp(slow_seconds=2.0).start()
    yield server
    server.close()


@pytest.fixture
def lpa(state_path: Path, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Run the CLI in-process against the simulated eUICC: lpa("list") -> click Result.

    ES9+ calls time out after 1 s (the slow-server tests wait that long), 30 s in tests marked
    ``download``: the first BPP compiles the profile package codec, seconds on a busy CI core.
    """
    from lpa.cli import main

    runner = CliRunner()
    timeout = "30" if request.node.get_closest_marker("download") else "1"

    def run(*args: str, input: str | None = None, sim: bool = True) -> Any:
        prefix = ["--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "--timeout", timeout] if sim else []
        return runner.invoke(main, [*prefix, *args], input=input, catch_exceptions=False)

    return run


def lpa_executable() -> str:
    """The installed `lpa` console script next to this Python."""
    found = Path(sys.executable).with_name("lpa")
    return str(found) if found.exists() else shutil.which("lpa") or "lpa"


def run_lpa(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the installed `lpa` as a subprocess, without a terminal."""
    return subprocess.run([lpa_executable(), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def lpa_process(state_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed `lpa` as a subprocess against the simulated eUICC."""

    def run(*args: str, sim: bool = True, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "--timeout", "1"] if sim else []
        return run_lpa(*prefix, *args, env=env, timeout=timeout)

    return run


def interruptible() -> None:
    """preexec_fn for a process a test sends SIGINT to: a shell running the suite in the background
    (`sh .ci/run &`) starts it with SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def json_data(result: Any) -> Any:
    """The data of a successful --json answer."""
    payload = json.loads(result.output if hasattr(result, "output") else result.stdout)
    assert payload["ok"] is True, payload
    return payload["data"]
