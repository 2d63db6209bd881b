#!/usr/bin/env python3
"""A long fuzzing campaign against every ES10 response decoder and the APDU layer.

    .venv/bin/python scripts/fuzz.py [--inputs 100000] [--seed N] [--workers N]

Inputs are mutations of the simulated eUICC's valid answers, well-formed
answers with random contents made from the ASN.1 module (and mutations of
those), random bytes, and random card answers to STORE DATA
(tests/fuzzing.py makes them). Each
input must give a result or lpa's own error; any other exception, or an
input that takes longer than --timeout seconds, is a failure. Prints a
table of inputs tried and failed per target, writes the failing inputs to
--failures, and exits 1 if there was any. The test suite runs the same
checks briefly (tests/unit/test_fuzz.py); this is the long run, on demand.
"""
from __future__ import annotations

import argparse
import multiprocessing
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import DECODERS, Schema, check, check_apdu, mutate, valid_answers  # noqa: E402

APDU = "APDU layer"
TARGETS = sorted(DECODERS) + [APDU]
STATUS_WORDS = (0x9000, 0x6100, 0x6110, 0x61FF, 0x6C10, 0x910B, 0x6A80, 0x6700, 0x6985)


class TooSlow(BaseException):  # not caught by the checks, which catch Exception
    pass


def _too_slow(*_: object) -> None:
    raise TooSlow


def _draw(target: str, valid: dict[str, list[bytes]], schema: Schema,
          rng: random.Random) -> tuple[Callable[[], str | None], str]:
    """One input for ``target``: (a check returning a failure or None, the input as text)."""
    if target == APDU:
        answers = [(rng.randbytes(rng.randint(0, 40)),
                    rng.choice(STATUS_WORDS) if rng.random() < 0.7 else rng.randrange(0x10000))
                   for _ in range(rng.randint(0, 30))]
        payload, mss = rng.randbytes(rng.randint(1, 400)), rng.randint(6, 255)
        return (lambda: check_apdu(answers, payload, mss)), f"{answers!r} payload {payload.hex()} mss {mss}"
    source = rng.random()
    if source < 0.5:
        data = mutate(rng.choice(valid[target]), rng)
    elif source < 0.85:
        data = schema.answer(DECODERS[target][3], rng)
        if source >= 0.7:
            data = mutate(data, rng)
    else:
        data = rng.randbytes(rng.randint(0, 300))
    return (lambda: check(target, data)), data.hex().upper()


def campaign(job: tuple[int, int, float]) -> tuple[Counter, Counter, list[str]]:
    """``count`` inputs from ``seed``: (tried, failed per target, failure texts)."""
    seed, count, timeout = job
    rng = random.Random(seed)
    valid = valid_answers()
    schema = Schema()
    tried: Counter = Counter()
    failed: Counter = Counter()
    failures: list[str] = []
    signal.signal(signal.SIGALRM, _too_slow)
    for i in range(count):
        target = TARGETS[i % len(TARGETS)]
        run, text = _draw(target, valid, schema, rng)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            failure = run()
        except TooSlow:
            failure = f"{target}: took more than {timeout} s"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tried[target] += 1
        if failure:
            failed[target] += 1
            failures.append(failure if text in failure else f"{failure} on {text}")
    return tried, failed, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs in all (default 100000)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first worker (default: random)")
    parser.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds one input may take (default 5)")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures.txt"))
    args = parser.parse_args()
    seed = random.randrange(2**32) if args.seed is None else args.seed
    share, extra = divmod(args.inputs, args.workers)
    jobs = [(seed + w, share + (w < extra), args.timeout) for w in range(args.workers)]
    print(f"fuzzing {len(TARGETS)} targets with {args.inputs} inputs, {args.workers} workers, seed {seed}")
    start = time.monotonic()
    with multiprocessing.Pool(args.workers) as pool:
        results = pool.map(campaign, jobs)
    elapsed = time.monotonic() - start
    tried, failed, failures = Counter(), Counter(), []
    for t, f, texts in results:
        tried += t
        failed += f
        failures += texts
    width = max(map(len, TARGETS))
    print(f"{'target':<{width}}  {'tried':>8}  {'failed':>6}")
    for target in TARGETS:
        print(f"{target:<{width}}  {tried[target]:>8}  {failed[target]:>6}")
    total_tried, total_failed = sum(tried.values()), sum(failed.values())
    print(f"{'total':<{width}}  {total_tried:>8}  {total_failed:>6}   "
          f"({elapsed:.0f} s, {total_tried / elapsed:.0f} inputs/s)")
    if failures:
        args.failures.write_text("\n".join(failures) + "\n")
        print(f"{len(failures)} failures written to {args.failures}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
