#!/usr/bin/env python3
"""A hostile-input campaign: a hostile SM-DP+ against `lpa download` and `lpa delete`, and hostile files.

    .venv/bin/python scripts/hostile.py [--answers 2000] [--files 300] [--seed N] [--time 1800]

Each server answer is the test SM-DP+'s answer to one ES9+ function
(initiateAuthentication, authenticateClient, getBoundProfilePackage,
cancelSession, handleNotification), mutated by tests/hostility.py:
truncated, huge, nested, wrongly typed, dropped, mis-encoded, its base64
contents or status broken. Each file is a mutated simulator state, a mutated
notification export, or a hostile image (a header declaring billions of
pixels, truncated, random), and the special files (a FIFO, a device, a
folder) where a file is expected. lpa runs in process against the
simulated eUICC, with --json; every run must end with one JSON object, ``ok``
false exactly when the exit code is not 0, an exit code lpa documents, and
no internal error or traceback; a delete must stay a success whatever the
server answers its notification. Prints tried/failed per target, writes
each failing input to --failures (a folder), exits 1 if any failed. The
test suite runs a few of the same cases (tests/e2e/test_hostile.py); this
is the long run, on demand.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from click.testing import CliRunner  # noqa: E402

from helpers import CONTOSO, TEST_CI, TS48_PROFILE  # noqa: E402
from hostility import HostileSmdpp, hostile_image, mutation  # noqa: E402
from lpa.sim.card.state import StateFile  # noqa: E402

SERVER_TARGETS = ("initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "cancelSession",
                  "handleNotification")
FILE_TARGETS = ("state file", "export file", "image", "special file")
#: The exit codes README documents (0 success ... 5 server, 130 Ctrl-C).
EXITS = {0, 1, 2, 3, 4, 5}


class TooSlow(BaseException):
    pass


def _too_slow(*_: object) -> None:
    raise TooSlow


class Campaign:
    """The servers, the simulated eUICC's seeded state, and how one run is judged."""

    def __init__(self, folder: Path, timeout: float) -> None:
        from lpa.cli import main

        self.main, self.folder, self.timeout = main, folder, timeout
        self.runner = CliRunner()
        self.server = HostileSmdpp(slow_seconds=2.0).start()
        self.state = folder / "euicc.json"
        StateFile(self.state).load()
        self.seeded = self.state.read_bytes()
        self.lpa("sim", "add-profile", "--iccid", "8949449999999990444", "--provider", "P", "--name", "N",
                 "--smdp", self.server.address)
        self.with_operator = self.state.read_bytes()
        self.lpa("delete", "--yes", "--no-notify", CONTOSO)
        self.export = folder / "export.json"
        self.lpa("notifications", "export", str(self.export))
        self.exported = self.export.read_bytes()

    def lpa(self, *args: str, state: Path | None = None) -> Any:
        prefix = ["--json", "--sim", "--sim-state", str(state or self.state), "--ca-file", TEST_CI,
                  "--timeout", str(self.timeout)]
        return self.runner.invoke(self.main, [*prefix, *args], catch_exceptions=True)

    def judge(self, result: Any, changed: bool = False) -> str | None:
        """What is wrong with a run, or None."""
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return "".join(traceback.format_exception(result.exception)).strip()
        output = result.output
        if "internal error" in output or "Traceback" in output:
            return output.strip()
        try:
            payload = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return f"not one JSON object: {output[:500]!r}"
        if payload.get("ok") is not (result.exit_code == 0):
            return f"ok {payload.get('ok')} with exit {result.exit_code}: {output[:500]}"
        if result.exit_code not in EXITS:
            return f"exit {result.exit_code}: {output[:500]}"
        if changed and result.exit_code != 0:
            return f"the card changed, yet exit {result.exit_code}: {output[:500]}"
        return None

    def server_run(self, function: str, rng: random.Random) -> tuple[str | None, str]:
        kind, mutate = mutation(rng)
        seen: list[bytes] = []

        def recorded(answer: bytes) -> bytes:
            seen.append(mutate(answer))
            return seen[-1]

        self.server.hostile = {function: recorded}
        self.server.fault = "fail-getBoundProfilePackage" if function == "cancelSession" else None
        if function == "handleNotification":
            self.state.write_bytes(self.with_operator)
            result = self.lpa("delete", "--yes", "8949449999999990444")
            problem = self.judge(result, changed=True)
        else:
            self.state.write_bytes(self.seeded)
            problem = self.judge(self.lpa("download", f"LPA:1${self.server.address}${TS48_PROFILE}", "--yes"))
        return problem, f"{function} {kind}: {seen[-1][:2000]!r}" if seen else f"{function} {kind}: (not asked)"

    def file_run(self, target: str, rng: random.Random) -> tuple[str | None, str]:
        path = self.folder / f"input-{rng.randrange(10**9)}"
        try:
            if target == "state file":
                kind, mutate = mutation(rng)
                path.write_bytes(mutate(self.seeded))
                return self.judge(self.lpa("list", state=path)), f"state {kind}: {path.read_bytes()[:2000]!r}"
            if target == "export file":
                kind, mutate = mutation(rng)
                path.write_bytes(mutate(self.exported))
                self.state.write_bytes(self.seeded)
                result = self.lpa("notifications", "remove", "--acknowledged", str(path))
                return self.judge(result), f"export {kind}: {path.read_bytes()[:2000]!r}"
            if target == "image":
                kind, data = hostile_image(rng)
                path.write_bytes(data)
                return self.judge(self.lpa("download", "--qr", str(path), "--yes")), f"image {kind}: {data[:2000]!r}"
            special = rng.choice(["fifo", "/dev/zero", "folder"])
            where = str(path)
            if special == "fifo":
                os.mkfifo(path)
            elif special == "folder":
                path.mkdir()
            else:
                where = special
            use = rng.choice(["--qr", "--sim-state", "export"])
            if use == "--qr":
                result = self.lpa("download", "--qr", where, "--yes")
            elif use == "--sim-state":
                result = self.lpa("list", state=Path(where))
            else:
                result = self.lpa("notifications", "remove", "--acknowledged", where)
            return self.judge(result), f"{special} as {use}"
        finally:
            if path.is_dir():
                path.rmdir()
            elif path.exists() or path.is_symlink():
                path.unlink()

    def close(self) -> None:
        self.server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=2000, help="hostile server answers (default 2000)")
    parser.add_argument("--files", type=int, default=300, help="hostile files (default 300)")
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    parser.add_argument("--time", type=float, default=1800, help="stop after this many seconds (default 1800)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one run may take (default 20)")
    parser.add_argument("--failures", type=Path, default=Path("hostile-failures"))
    args = parser.parse_args()
    seed = random.randrange(2**32) if args.seed is None else args.seed
    rng = random.Random(seed)
    print(f"hostile campaign: {args.answers} server answers, {args.files} files, seed {seed}", flush=True)
    tried: Counter = Counter()
    failed: Counter = Counter()
    start = time.monotonic()
    signal.signal(signal.SIGALRM, _too_slow)
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(XDG_CACHE_HOME=f"{folder}/cache", XDG_STATE_HOME=f"{folder}/state",
                          HOME=folder)  # the campaign's lpa writes nothing of the user's
        campaign = Campaign(Path(folder), timeout=5.0)
        jobs: list[tuple[str, Callable[[str, random.Random], tuple[str | None, str]]]] = \
            [(SERVER_TARGETS[i % len(SERVER_TARGETS)], campaign.server_run) for i in range(args.answers)] \
            + [(FILE_TARGETS[i % len(FILE_TARGETS)], campaign.file_run) for i in range(args.files)]
        try:
            for number, (target, run) in enumerate(jobs):
                if time.monotonic() - start > args.time:
                    print(f"time is up after {number} runs")
                    break
                signal.setitimer(signal.ITIMER_REAL, args.timeout)
                try:
                    problem, given = run(target, rng)
                except TooSlow:
                    problem, given = f"took more than {args.timeout} s", target
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                tried[target] += 1
                if problem:
                    failed[target] += 1
                    args.failures.mkdir(parents=True, exist_ok=True)
                    (args.failures / f"{target.replace(' ', '-')}-{number}.txt").write_text(
                        f"seed {seed}, run {number}\ninput: {given}\nproblem: {problem}\n", encoding="utf-8",
                        errors="backslashreplace")  # what lpa printed may hold lone surrogates
        finally:
            campaign.close()
    elapsed = time.monotonic() - start
    width = max(map(len, (*SERVER_TARGETS, *FILE_TARGETS)))
    print(f"{'target':<{width}}  {'tried':>6}  {'failed':>6}")
    for target in (*SERVER_TARGETS, *FILE_TARGETS):
        print(f"{target:<{width}}  {tried[target]:>6}  {failed[target]:>6}")
    print(f"{'total':<{width}}  {sum(tried.values()):>6}  {sum(failed.values()):>6}   ({elapsed:.0f} s)")
    if failed:
        print(f"failing inputs written to {args.failures}/")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
