#!/usr/bin/env python3
"""Benchmark lpa as a user runs it: a new process per command, through pcscd and vpcd, and through a modem.

    .venv/bin/python bench/run.py [--latency 0,15] [--runs 5] [--only help,list] [--no-modem]

lpa is installed for the run as a user installs it (a regular, not an
editable, install in a throw-away virtual environment that takes its
dependencies from this one), and byte-compiled as pip does. The simulated
eUICC sits in vpcd's reader "Virtual PCD 00 00" (pcscd is started for the
run when it is not running, which needs root) and waits --latency
milliseconds before each answer, as a USB reader and a real card would;
a second simulated eUICC sits behind the simulated AT modem of `lpa sim
modem`, which waits as long before each answer line. For each operation
it prints the APDUs exchanged, their bytes each way, the HTTPS requests
and TLS handshakes the test SM-DP+ saw, the AT command lines (modem rows),
the median CPU time (user + system) and wall time of --runs runs, the CPU
time above the floor, and the peak memory (RSS of the command's process);
when lpac is installed (on PATH, or $LPAC names it) the same operations
run with lpac against the same card through pcscd, with the ratios.

The floor is a new process of the same virtual environment that imports
click and the PC/SC binding (smartcard.scard) and nothing else: what any
command of a Python LPA on pyscard and click costs before it does anything.
It runs once right after each run of each lpa row, and the row's CPU above
the floor is the median, over the runs, of each run's CPU minus the floor
run that followed it: the machine's load, which varies over a benchmark of
several minutes and even between runs, then weighs on both alike.

Operations: `lpa --help`; `info`; `list`; `list --icons`; `enable` (of a
disabled profile, without notifications; alternately two profiles);
`delete` of a fresh profile without its notification (lpac: `profile
delete`), and again with its notification delivered to the test SM-DP+
on 127.0.0.1; `notifications process` of 20 pending notifications for one
SM-DP+ (lpac: `notification process -a -r`); `download` of each TS.48 test
profile from the test SM-DP+ (lpac: `profile download -s ADDRESS -m
MATCHING-ID`, which does not verify the SM-DP+'s TLS certificate), the
install notification delivered.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Callable

from lpa.sim.bridges.modem import ModemQuirks, SimulatedModem
from lpa.sim.bridges.pcscd import PcscdUnavailable, VirtualCard, running_pcscd, virtual_readers
from lpa.sim.card.state import StateFile
from lpa.sim.pki.testpki import PKI_DIR
from lpa.sim.servers import ts48
from lpa.sim.servers.smdpp import TestSmdpp

ROOT = Path(__file__).resolve().parents[1]
TEST_CI = str(Path(PKI_DIR) / "ci-cert.pem")
PENDING = 20
#: The TS.48 test profiles the test SM-DP+ serves, by matching ID (their file names).
PROFILES = sorted(path.stem for path in Path(ts48.__file__).parent.glob("*.der"))
#: Counted by :class:`Meter`, reported as the difference over one run.
COUNTERS = ("apdus", "to_card", "from_card", "https", "tls", "at_lines")


@dataclass
class Figures:
    apdus: int | None = None
    to_card: int | None = None
    from_card: int | None = None
    https: int | None = None
    tls: int | None = None
    at_lines: int | None = None
    cpu: float | None = None
    #: CPU above the floor: the median of each run's CPU minus that of the floor run right after it
    #: (see :func:`measure`).
    above: float | None = None
    wall: float | None = None
    rss_mb: float | None = None
    failure: str | None = None


@dataclass
class Command:
    """What one run of an operation does: argv lists (timed together), and what to do before."""

    argv: Callable[[int], list[list[str]]]
    before: Callable[[int], None] = field(default=lambda run: None)


def install(folder: Path) -> str:
    """A regular install of this checkout in a new virtual environment; returns its `lpa`."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "lpa-bench-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    str(ROOT)], check=True)
    return str(venv / "bin" / "lpa")


#: Runs a command and reports its exit code, CPU seconds, peak RSS (kB) and wall seconds. A
#: small process forks the command: a child's peak RSS counts what its parent had at fork
#: time, which for this benchmark's own process would be tens of megabytes.
_LAUNCHER = """
import json, os, sys, time
start = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - start
with open(sys.argv[1], "w") as f:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss, wall], f)
"""


def run_once(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float, int, float]:
    """Run ``argv``; return how it ended, its CPU seconds, peak RSS in kB and wall seconds."""
    with tempfile.NamedTemporaryFile("r") as report:
        process = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, report.name, *argv], capture_output=True,
                                 text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
        code, cpu, rss, wall = json.loads(report.read())
    return subprocess.CompletedProcess(argv, code, process.stdout, process.stderr), cpu, rss, wall


class Meter:
    """What crossed the card interface, the SM-DP+'s socket and the modem's AT port so far."""

    def __init__(self, smdpp: TestSmdpp, card: VirtualCard | None = None, modem: SimulatedModem | None = None):
        self.smdpp, self.card, self.modem = smdpp, card, modem

    def __call__(self) -> dict[str, int]:
        counts = {"https": len(self.smdpp.requests), "tls": self.smdpp.connections}
        if self.card is not None:
            bridge = self.card.bridge
            counts.update(apdus=bridge.apdus, to_card=bridge.bytes_to_card, from_card=bridge.bytes_from_card)
        if self.modem is not None:
            commands = [line[2:] for line in self.modem.log if line.startswith("> ")]
            apdus = [line.split(",")[-1].strip('"') for line in commands if line.startswith(("AT+CGLA=", "AT+CSIM="))]
            answers = [line.split(",")[-1].strip('"') for line in self.modem.log
                       if line.startswith(("< +CGLA:", "< +CSIM:"))]
            counts.update(at_lines=len(commands), apdus=len(apdus), to_card=sum(len(a) // 2 for a in apdus),
                          from_card=sum(len(a) // 2 for a in answers))
        return counts


def measure(meter: Meter | None, command: Command, runs: int, env: dict[str, str],
            succeeded: Callable[[subprocess.CompletedProcess], bool] = lambda p: p.returncode == 0,
            floor: list[str] | None = None) -> Figures:
    """Run ``command`` ``runs`` times (after one warm-up run); medians of CPU and wall time. With
    ``floor``, that command runs once after each run, so that the CPU above the floor compares runs
    made under the same load (the machine's load changes between rows)."""
    cpus, walls, floors, rss = [], [], [], 0
    figures = Figures()
    for run in range(-1, runs):
        command.before(run)
        counters = meter() if meter else {}
        cpu = wall = 0.0
        for argv in command.argv(run):
            done, seconds, peak, elapsed = run_once(argv, env)
            wall += elapsed
            cpu += seconds
            rss = max(rss, peak) if run >= 0 else rss  # the warm-up run may compile the ASN.1 module
            if not succeeded(done):
                last_line = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
                return Figures(failure=f"{Path(argv[0]).name} {' '.join(argv[1:4])}: {last_line}")
        if run < 0:
            continue
        cpus.append(cpu)
        walls.append(wall)
        if floor is not None:
            floors.append(run_once(floor, env)[1])
        if meter:
            for name, count in meter().items():
                setattr(figures, name, count - counters[name])
    figures.cpu, figures.wall, figures.rss_mb = statistics.median(cpus), statistics.median(walls), rss / 1024
    figures.above = statistics.median(c - f for c, f in zip(cpus, floors)) if floors else None
    return figures


def lpac_ok(process: subprocess.CompletedProcess) -> bool:
    """lpac prints JSON lines; the last one's payload code is 0 on success."""
    try:
        return json.loads(process.stdout.strip().splitlines()[-1])["payload"]["code"] == 0
    except (IndexError, ValueError, KeyError, TypeError):
        return False


class Bench:
    """The card, the SM-DP+ and the commands of each operation for lpa and for lpac."""

    def __init__(self, state: Path, device: list[str], smdpp: TestSmdpp, lpa: str, lpac: str | None) -> None:
        self.state, self.smdpp, self.lpa, self.lpac = state, smdpp, lpa, lpac
        self.reader = device
        self.serial = 0
        self.initial = state.read_bytes()

    def restore(self) -> None:
        """The card as it was at the start (seeded), so that every operation meets the same card."""
        state_file = StateFile(self.state)
        with state_file.locked():
            self.state.write_bytes(self.initial)

    def _edit(self, change: Callable[..., None]) -> None:
        state_file = StateFile(self.state)
        with state_file.locked():
            state = state_file.load()
            change(state)
            state_file.save(state)

    def add_profiles(self, count: int, prefix: str) -> list[str]:
        """Profiles notifying the test SM-DP+ of everything, their install notifications dropped."""
        from lpa.sim.card.state import SimProfile

        iccids = []

        def add(state: object) -> None:
            for _ in range(count):
                self.serial += 1
                iccid = f"{prefix}{self.serial:07d}"
                iccids.append(iccid)
                state.profiles.append(SimProfile(  # type: ignore[attr-defined]
                    iccid=iccid, isdp_aid=state.allocate_isdp_aid(), provider="Bench", name="Bench",  # type: ignore
                    smdp_address=self.smdpp.address,
                    notify={op: self.smdpp.address for op in ("enable", "disable", "delete")}))

        self._edit(add)
        return iccids

    def pending(self, count: int) -> None:
        """Exactly ``count`` pending notifications, all for the test SM-DP+."""
        from lpa.sim.card.isdr import Isdr

        [iccid] = self.add_profiles(1, "898824700001")

        def fill(state: object) -> None:
            state.notifications.clear()  # type: ignore[attr-defined]
            profile = state.find(iccid=iccid)  # type: ignore[attr-defined]
            isdr = Isdr(state)  # type: ignore[arg-type, attr-defined]
            for _ in range(count):
                isdr.sign_notification(state.add_notification(profile, "disable"))  # type: ignore[attr-defined]

        self._edit(fill)

    def operations(self) -> list[tuple[str, Command, Command | None]]:
        lpa, lpac, reader = self.lpa, self.lpac, self.reader
        deleted: list[str] = []
        toggles = ("89470000000098765432", "8944476500001234567")

        def fresh(run: int) -> None:
            deleted[:] = self.add_profiles(1, "898824800001")
            self._edit(lambda state: state.notifications.clear())

        def disabled(run: int) -> None:
            # the profile this run enables is disabled, the other one enabled
            def arrange(state: object) -> None:
                for profile in state.profiles:  # type: ignore[attr-defined]
                    profile.state = "enabled" if profile.iccid == toggles[(run + 1) % 2] else "disabled"
                state.notifications.clear()  # type: ignore[attr-defined]
            self._edit(arrange)

        ops = [
            ("--help", Command(lambda run: [[lpa, "--help"]]), Command(lambda run: [[lpac, "version"]])),
            ("info", Command(lambda run: [[lpa, *reader, "info"]]), Command(lambda run: [[lpac, "chip", "info"]])),
            ("list", Command(lambda run: [[lpa, *reader, "list"]]), Command(lambda run: [[lpac, "profile", "list"]])),
            ("list --icons", Command(lambda run: [[lpa, *reader, "list", "--icons"]]),
             Command(lambda run: [[lpac, "profile", "list"]])),
            ("enable", Command(lambda run: [[lpa, *reader, "enable", "--no-notify", toggles[run % 2]]], disabled),
             Command(lambda run: [[lpac, "profile", "enable", toggles[run % 2]]], disabled)),
            ("delete", Command(lambda run: [[lpa, *reader, "delete", "--yes", "--no-notify", deleted[0]]], fresh),
             Command(lambda run: [[lpac, "profile", "delete", deleted[0]]], fresh)),
            ("delete + notification",
             Command(lambda run: [[lpa, *reader, "--ca-file", TEST_CI, "delete", "--yes", deleted[0]]], fresh),
             Command(lambda run: [[lpac, "profile", "delete", deleted[0]],
                                  [lpac, "notification", "process", "-a", "-r"]], fresh)),
            (f"notifications process ({PENDING})",
             Command(lambda run: [[lpa, *reader, "--ca-file", TEST_CI, "notifications", "process"]],
                     lambda run: self.pending(PENDING)),
             Command(lambda run: [[lpac, "notification", "process", "-a", "-r"]],
                     lambda run: self.pending(PENDING))),
        ]
        for profile in PROFILES:
            code = f"LPA:1${self.smdpp.address}${profile}"
            ops.append((f"download {profile}",
                        Command(lambda run, code=code: [[lpa, *reader, "--ca-file", TEST_CI, "download", "--yes",
                                                         code]], lambda run: self.restore()),
                        Command(lambda run, profile=profile: [[lpac, "profile", "download", "-s", self.smdpp.address,
                                                               "-m", profile]], lambda run: self.restore())))
        return [(name, ours, theirs if lpac else None) for name, ours, theirs in ops]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", default="0,15", help="per-APDU latencies in ms, comma-separated (default 0,15)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure; the median is shown (default 5)")
    parser.add_argument("--only", metavar="TEXT[,TEXT...]",
                        help="only the operations whose name contains one of the TEXTs")
    parser.add_argument("--no-modem", action="store_true", help="skip the rows through the simulated modem")
    args = parser.parse_args()
    latencies = [float(ms) for ms in args.latency.split(",")]
    lpac = os.environ.get("LPAC") or shutil.which("lpac")

    with tempfile.TemporaryDirectory(prefix="lpa-bench-") as folder:
        home = Path(folder)
        lpa = install(home)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
                   XDG_CONFIG_HOME=str(home / "config"))
        python = str(Path(lpa).parent / "python")
        floor_argv = [python, "-c", "import click, smartcard.scard"]
        floor = measure(None, Command(lambda run: [floor_argv]), args.runs, env)
        rows: list[tuple[str, str, Figures, Figures | None]] = []

        def wanted(name: str) -> bool:
            return args.only is None or any(text in name for text in args.only.split(","))

        try:
            with running_pcscd(), VirtualCard(home / "card.json") as card, TestSmdpp() as smdpp:
                index = next(r.index for r in virtual_readers() if r.name == card.reader)
                lpac_env = {**env, "LPAC_APDU": "pcsc", "LPAC_APDU_PCSC_DRV_NAME": card.reader,
                            "LPAC_APDU_PCSC_DRV_IFID": str(index)}
                card.bridge.card.power_on()  # seeds the state file
                bench = Bench(home / "card.json", ["--reader", card.reader], smdpp, lpa, lpac)
                meter = Meter(smdpp, card=card)
                for ms in latencies:
                    card.bridge.latency = ms / 1000
                    for name, ours, theirs in bench.operations():
                        if not wanted(name) or name == "--help" and ms != latencies[0]:
                            continue
                        bench.restore()
                        mine = measure(meter, ours, args.runs, env, floor=floor_argv)
                        bench.restore()
                        other = measure(meter, theirs, args.runs, lpac_env, lpac_ok) if theirs else None
                        rows.append((name, "-" if name == "--help" else f"{ms:g} ms", mine, other))
                if not args.no_modem:
                    modem_state = StateFile(home / "modem-card.json")
                    for ms in latencies:
                        with SimulatedModem(modem_state, ModemQuirks(slow=ms / 1000)) as modem:
                            if ms == latencies[0]:  # the modem's card has just been seeded
                                bench = Bench(modem_state.path, [], smdpp, lpa, None)
                            bench.reader = ["--device", f"at:{modem.port}"]
                            for name, ours, _ in bench.operations():
                                if name not in ("--help", "list --icons", "delete") and wanted(name):
                                    bench.restore()
                                    rows.append((f"{name} (modem)", f"{ms:g} ms",
                                                 measure(Meter(smdpp, modem=modem), ours, args.runs, env,
                                                         floor=floor_argv), None))
        except PcscdUnavailable as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    _print(rows, floor, args.runs, lpac)
    return 0


def _print(rows: list[tuple[str, str, Figures, Figures | None]], floor: Figures, runs: int, lpac: str | None) -> None:
    def number(value: float | None, form: str = "{:.0f}") -> str:
        return "-" if value is None else form.format(value)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    header = ["operation", "latency", "APDUs", "to card", "from card", "HTTPS", "TLS", "AT lines", "CPU ms",
              "above floor", "wall ms", "RSS MB"]
    if lpac:
        header += ["lpac APDUs", "lpac CPU ms", "lpac wall ms", "lpa/lpac wall"]
    table = [header]
    for name, latency, mine, other in rows:
        if mine.failure:
            line = [name, latency, "failed"] + [""] * (len(header) - 3 - (4 if lpac else 0))
        else:
            line = [name, latency, number(mine.apdus), number(mine.to_card), number(mine.from_card),
                    number(mine.https), number(mine.tls), number(mine.at_lines), ms(mine.cpu), ms(mine.above),
                    ms(mine.wall), number(mine.rss_mb, "{:.1f}")]
        if lpac:
            if other is None or other.failure:
                line += ["failed" if other else "", "", "", ""]
            else:
                ratio = f"{mine.wall / other.wall:.2f}" if mine.wall and other.wall and not mine.failure else ""
                line += [number(other.apdus), ms(other.cpu), ms(other.wall), ratio]
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print(f"lpa {version('lpa')} (regular install) through pcscd + vpcd, simulated eUICC (T=0), "
          f"median of {runs} runs, Python {sys.version.split()[0]}")
    print(f"floor (a new process importing click and smartcard.scard): CPU {ms(floor.cpu)} ms, "
          f"wall {ms(floor.wall)} ms, RSS {number(floor.rss_mb, '{:.1f}')} MB; \"above floor\" is the median over "
          "the runs of each run's CPU minus that of a floor run right after it")
    for row in table:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    for name, _, mine, other in rows:
        for who, figures in (("lpa", mine), ("lpac", other)):
            if figures and figures.failure:
                print(f"{name}: {who} failed: {figures.failure}")
    if not lpac:
        print("lpac columns skipped: lpac is not installed (put it on PATH or set LPAC=/path/to/lpac)")


if __name__ == "__main__":
    sys.exit(main())
