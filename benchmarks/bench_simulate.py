"""Simulator scale: 10 million ballot cards, drawn and written, against a 60 s target.

Prints the time of each stage, cards per second, and for comparison the
extrapolated time of a straightforward per-ballot Python loop that draws the
same four contests and writes each CVR row (what vectorising replaces).

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--cards 10000000]``
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import tempfile
import time
from pathlib import Path

from tallyguard.simulate import parse_config, simulate, write_election

TARGET_SECONDS = 60.0


def naive_seconds_per_card(sample: int = 100_000) -> float:
    """A per-ballot Python loop doing the same kind of work, for reference.

    Per card: a vote-for-one, a vote-for-two, a yes/no and a three-choice approval
    contest drawn with the standard library, then the CVR row written as CSV.
    """
    rng = random.Random(1)
    governor = (["A", "B", "C", "D"], [0.48, 0.44, 0.05, 0.03])
    council = ["E", "F", "G", "H", "I"]
    approval = [("J", 0.55), ("K", 0.46), ("L", 0.31)]
    out = csv.writer(io.StringIO())
    start = time.perf_counter()
    for card in range(sample):
        row: list[object] = [f"J01-U0001-B01-{card:04d}", "J01", "J01-U0001", 1]
        marked = rng.choices(*governor)[0]
        row += [int(c == marked) for c in governor[0]]
        two = rng.sample(council, 2)
        row += [int(c in two) for c in council]
        row += [1, 0] if rng.random() < 0.74 else [0, 1]
        row += [int(rng.random() < p) for _, p in approval]
        out.writerow(row)
    return (time.perf_counter() - start) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=10_000_000)
    args = parser.parse_args()
    mean_electorate, turnout = 1200.0, 0.62
    # about 3 % of units come out smaller than the nominal mean; aim slightly above
    units = max(1, round(1.03 * args.cards / (mean_electorate * turnout)))
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
        f"reference, per-ballot Python loop (4 contests + CSV row, extrapolated): {naive:,.0f} s "
        f"-> tallyguard is {naive / total:,.1f}x faster (and also writes manifest, results, truth)"
    )


if __name__ == "__main__":
    main()
