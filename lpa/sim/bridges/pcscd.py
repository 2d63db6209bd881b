"""The simulated eUICC in pcscd's virtual readers, for tests and benchmarks.

:func:`running_pcscd` makes sure pcscd is running with vsmartcard's vpcd
driver (starting it, as root, for the duration when it is not), and
:class:`VirtualCard` inserts a simulated eUICC into one of vpcd's readers
through a :class:`~lpa.sim.bridges.vpcd.VpcdBridge` thread, waiting until pcscd
sees it.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..card.state import SimState, StateFile
from .vpcd import VPCD_PORT, VpcdBridge

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
#: vpcd port -> the PC/SC name of its reader
READERS = {VPCD_PORT: "Virtual PCD 00 00", VPCD_PORT + 1: "Virtual PCD 00 01"}


class PcscdUnavailable(Exception):
    """pcscd with vpcd cannot be used here; the message says why and what to do."""


def missing() -> str | None:
    """Why pcscd with vpcd cannot run on this machine, or None."""
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not (Path(binary).exists() and VPCD_DRIVER.exists()):
        return "pcscd and vsmartcard-vpcd are not installed (scripts/setup installs them)"
    return None


def pcscd_answers() -> bool:
    """True if a pcscd is listening on its socket."""
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(PCSCD_SOCKET))
            return True
        except OSError:
            return False


@dataclass(frozen=True)
class VirtualReader:
    """A vpcd reader as pcscd shows it."""

    #: Its place among all of pcscd's readers (the index `lpa --reader` takes).
    index: int
    name: str
    card_present: bool


def virtual_readers() -> list[VirtualReader]:
    """The vpcd readers pcscd shows, asked through pyscard."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise PcscdUnavailable(f"no PC/SC context: {scard.SCardGetErrorMessage(hresult)}")
    try:
        hresult, names = scard.SCardListReaders(context, [])
        states = []
        if hresult == scard.SCARD_S_SUCCESS and names:
            hresult, states = scard.SCardGetStatusChange(context, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE):
            raise PcscdUnavailable(f"pcscd does not list its readers: {scard.SCardGetErrorMessage(hresult)}")
        return [VirtualReader(index, name, bool(event & scard.SCARD_STATE_PRESENT))
                for index, (name, event, _) in enumerate(states) if name in READERS.values()]
    finally:
        scard.SCardReleaseContext(context)


@contextmanager
def running_pcscd(timeout: float = 15.0) -> Iterator[None]:
    """pcscd with both vpcd readers, started for the duration of the block if it was not running."""
    reason = missing()
    if reason:
        raise PcscdUnavailable(reason)
    started = None
    if not pcscd_answers():
        started = subprocess.Popen([shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not pcscd_answers():
            if time.monotonic() > deadline or (started is not None and started.poll() is not None):
                raise PcscdUnavailable("pcscd did not start (starting it needs root)")
            time.sleep(0.1)
        while len(virtual_readers()) < len(READERS):
            if time.monotonic() > deadline:
                raise PcscdUnavailable("pcscd shows no 'Virtual PCD' readers: was it started before "
                                       "vsmartcard-vpcd was installed? Restart pcscd.")
            time.sleep(0.2)
        yield
    finally:
        if started is not None:
            started.terminate()
            started.wait(10)


class VirtualCard:
    """A simulated eUICC inserted into a vpcd reader by a bridge thread."""

    def __init__(self, state_path: Path, port: int = VPCD_PORT, latency: float = 0.0, protocol: str = "t0") -> None:
        self.state_path = state_path
        #: every APDU exchanged, as the bridge logs them
        self.log: list[str] = []
        self.bridge = VpcdBridge(StateFile(state_path), port=port, protocol=protocol, latency=latency,
                                 log=self.log.append)
        self.reader = READERS[port]
        self._thread: threading.Thread | None = None

    def insert(self) -> VirtualCard:
        """Connect to vpcd and wait until pcscd sees the card."""
        self.bridge.connect()
        self._thread = threading.Thread(target=self.bridge.serve, daemon=True)
        self._thread.start()
        self._wait(present=True)
        return self

    def remove(self) -> None:
        """Disconnect from vpcd and wait until pcscd sees the reader empty."""
        self.bridge.stop()
        if self._thread is not None:
            self._thread.join(10)
        self._wait(present=False)

    def state(self) -> SimState:
        """The simulated eUICC's state as now saved."""
        return StateFile(self.state_path).load()

    def _wait(self, present: bool) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.name == self.reader and r.card_present == present for r in virtual_readers()):
                return
            time.sleep(0.05)
        raise PcscdUnavailable(f"{self.reader}: card {'not inserted' if present else 'not removed'}")

    def __enter__(self) -> VirtualCard:
        return self.insert()

    def __exit__(self, *exc: object) -> None:
        self.remove()
