"""Simulator scale: 10 million ballot cards, drawn and written, against a 60 s target.

Prints the time of each stage, cards per second, and for comparison the
extrapolated time of a straightforward per-ballot Python loop drawing only the
main contest's votes (the approach the vectorised simulator replaces).

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--cards 10000000]``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tallyguard.simulate import parse_config, simulate, write_election

TARGET_SECONDS = 60.0


def naive_seconds_per_card(sample: int = 200_000) -> float:
    """Per-ballot loop: one weighted draw per card with the stdlib, for reference."""
    rng = random.Random(1)
    choices, weights = ["A", "B", "C", "D"], [0.48, 0.44, 0.05, 0.03]
    start = time.perf_counter()
    tally = dict.fromkeys(choices, 0)
    for _ in range(sample):
        tally[rng.choices(choices, weights)[0]] += 1
    return (time.perf_counter() - start) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=10_000_000)
    args = parser.parse_args()
    mean_electorate, turnout = 1200.0, 0.62
    units = max(1, round(args.cards / (mean_electorate * turnout)))
    config = parse_config(
        {
            "seed": "benchmark",
            "units": units,
            "jurisdictions": 40,
            "regions": 8,
            "cvr_formats": ["csv"],
            "discrepancies": {"overstatement_1": 0.001, "overstatement_2": 0.0002},
            "manipulation": {
                "stuffing": {"incremental_rate": 0.05},
                "rounding": {"unit_rate": 0.02},
            },
        }
    )
    start = time.perf_counter()
    election = simulate(config)
    drawn = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_election(election, Path(tmp))
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    written = time.perf_counter()
    total = written - start
    cards = election.cards.n
    naive = naive_seconds_per_card() * cards
    print(f"cards: {cards:,} in {units:,} units, {election.cards.batch_unit.size:,} batches")
    print(f"draw:  {drawn - start:6.1f} s")
    print(f"write: {written - drawn:6.1f} s  ({size / 1e9:.2f} GB of CSV/JSON)")
    print(f"total: {total:6.1f} s  = {cards / total:,.0f} cards/s")
    print(f"target: < {TARGET_SECONDS:.0f} s  -> {'MET' if total < TARGET_SECONDS else 'MISSED'}")
    print(
        f"reference, per-ballot Python loop (main contest only, extrapolated): {naive:,.0f} s "
        f"-> tallyguard is {naive / total:,.1f}x faster while drawing 4 contests and writing files"
    )


if __name__ == "__main__":
    main()
