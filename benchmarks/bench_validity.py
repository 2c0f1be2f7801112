"""Validity of every risk-measuring method: how often a wrong outcome is confirmed.

Runs :func:`tallyguard.audit.validity.validity_table` on the default grid (34
scenarios: plurality pairs, a supermajority measure and ballot-level comparison,
ties and losses, every method), 10,000 seeded audits each, and prints the
Markdown table used in ``docs/audit-methods.md``. Every method must confirm a
wrong outcome at most alpha = 5 % of the time, within 3 Monte-Carlo SE.
Scenarios are spread over the cores; results do not depend on how (each
scenario's seed is keyed by its name).

Run: ``.venv/bin/python benchmarks/bench_validity.py [--reps 10000] [--ballots 5000]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from tallyguard.audit.validity import (
    ValidityRow,
    default_scenarios,
    format_table,
    validity_table,
)


def _one(args: tuple[int, int, int, int, int]) -> list[ValidityRow]:
    index, ballots, reps, seed, max_n = args
    scenario = default_scenarios(ballots)[index]
    return validity_table([scenario], reps=reps, seed=seed, max_n=max_n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--ballots", type=int, default=5000)
    parser.add_argument("--max-n", type=int, default=None, help="default: every card")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    max_n = args.max_n or args.ballots
    grid = default_scenarios(args.ballots)
    start = time.perf_counter()
    work = [(i, args.ballots, args.reps, args.seed, max_n) for i in range(len(grid))]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = [row for part in pool.map(_one, work) for row in part]
    elapsed = time.perf_counter() - start
    print(
        f"{len(rows)} scenarios x {args.reps:,} audits, alpha = 5 %, N = {args.ballots:,}, "
        f"seed {args.seed}, {elapsed:.0f} s on {args.jobs} process(es)\n"
    )
    print(format_table(rows))
    invalid = [r.scenario for r in rows if not r.valid]
    worst = max(rows, key=lambda r: r.wrong_rate)
    print(
        f"\nlargest wrong-confirmation rate: {worst.wrong_rate:.4f} ± {worst.wrong_se:.4f} "
        f"({worst.scenario}); invalid: {invalid or 'none'}"
    )
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
