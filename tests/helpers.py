"""Helpers the tests share (imported as `helpers`: pyproject's pytest `pythonpath` puts tests/ on sys.path),
and the simulated eUICC's seeded state by name."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lpa.sim.pki.testpki import PKI_DIR, TEST_EID

#: The test CI's certificate: the trust anchor for the test SM-DP+ and SM-DS.
TEST_CI = str(PKI_DIR / "ci-cert.pem")

# The simulated eUICC's default state (lpa.sim.card.state.seeded): its EID and its four profiles.
EID = TEST_EID
NORTHWIND = "8944476500001234567"  # enabled, nickname "work", an icon, notifies every operation
CONTOSO = "89470000000098765432"  # disabled, notifies install and delete
FABRIKAM = "8901260123456789012"  # disabled, PPR2 (not deletable)
TEST_PROFILE = "89000123456789012341"  # test class

# The test SM-DP+'s TS.48 test profile: its matching ID and the ICCID it installs.
TS48_PROFILE = "TS48V2-SAIP2-1-BERTLV-UNIQUE"
TS48_ICCID = "8949449999999990049"


class Answer:
    """A channel whose every STORE DATA sequence is answered with ``data``, whatever is sent."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        return self.data


def require_pcscd() -> None:
    """Skip the test where pcscd and vpcd are not installed; fail in CI (CI=true), where they must be."""
    from lpa.sim.bridges.pcscd import missing

    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


def lpa_executable() -> str:
    """The installed `lpa` console script next to this Python."""
    found = Path(sys.executable).with_name("lpa")
    return str(found) if found.exists() else shutil.which("lpa") or "lpa"


def run_lpa(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the installed `lpa` as a subprocess, without a terminal."""
    return subprocess.run([lpa_executable(), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)


class TtyBuffer(io.StringIO):
    """A text buffer that says it is a terminal: what lpa draws on stderr for one (status lines, bars)."""

    def isatty(self) -> bool:
        return True


class Terminal:
    """The installed `lpa` run with stdin, stdout and stderr on a pseudo-terminal (where lpa shows status
    lines and progress bars): what it wrote, each chunk with the seconds since the start it arrived at."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        import pty
        import time

        master, slave = pty.openpty()
        self.master, self.started = master, time.monotonic()
        self.process = subprocess.Popen([lpa_executable(), *args], stdin=slave, stdout=slave, stderr=slave,
                                        env={**os.environ, **(env or {})}, preexec_fn=interruptible)
        os.close(slave)
        self.chunks: list[tuple[float, str]] = []

    @property
    def text(self) -> str:
        return "".join(chunk for _, chunk in self.chunks)

    def read_until(self, wanted: str, timeout: float = 30) -> None:
        """Read until ``wanted`` was written or the process ended (then ``wanted`` is missed)."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while wanted not in self.text and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the process ended and closed the terminal
                return
            if not data:
                return
            self.chunks.append((time.monotonic() - self.started, data.decode(errors="replace")))

    def finish(self, timeout: float = 60) -> int:
        """Read everything until the process ends; its exit code."""
        self.read_until("\0never written\0", timeout)
        code = self.process.wait(timeout=5)
        os.close(self.master)
        return code

    def first(self, text: str) -> float:
        """When ``text`` was first seen whole (the seconds of the chunk that completed it)."""
        seen = ""
        for at, chunk in self.chunks:
            seen += chunk
            if text in seen:
                return at
        raise AssertionError(f"{text!r} never shown in {self.text!r}")


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


def lpac_with_driver(name: str) -> str | None:
    """lpac, when it is installed with the APDU driver ``name`` (built by hand: README, "Performance")."""
    lpac = shutil.which("lpac")
    if lpac is None:
        return None
    drivers = Path(lpac).resolve().parents[1] / "lib" / "lpac" / "driver"
    return lpac if (drivers / f"driver_apdu_{name}.so").exists() else None


def run_lpac(env: dict[str, str], *args: str) -> Any:
    """The payload of lpac's last JSON line for ``args``, run with ``env`` (LPAC_APDU and its settings)."""
    lpac = shutil.which("lpac")
    assert lpac is not None
    done = subprocess.run([lpac, *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **env})
    return json.loads(done.stdout.strip().splitlines()[-1])["payload"]


def offer_with(smdpp: Any, monkeypatch: Any, **fields: Any) -> None:
    """Make the test SM-DP+ offer (and put in its BPP) its profiles' metadata with ``fields`` changed."""
    from lpa import codec

    plain = smdpp.download.metadata

    def changed(matching_id: str) -> bytes:
        value = codec.decode("StoreMetadataRequest", plain(matching_id))
        value.update(fields)
        return codec.encode("StoreMetadataRequest", value)

    monkeypatch.setattr(smdpp.download, "metadata", changed)
