"""Fixtures: an isolated simulated eUICC, the test SM-DP+, the lpa command."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from helpers import TEST_CI, require_pcscd, run_lpa
from lpa.sim.card.state import StateFile
from lpa.sim.servers.smdpp import TestSmdpp


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


@pytest.fixture
def lpa_process(state_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed `lpa` as a subprocess against the simulated eUICC."""

    def run(*args: str, sim: bool = True, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI, "--timeout", "1"] if sim else []
        return run_lpa(*prefix, *args, env=env, timeout=timeout)

    return run
