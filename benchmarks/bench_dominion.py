"""Reading a million-card Dominion CVR export: ``DominionCsv.records()`` against the 20 s target.

Issue 4 ("Speed: parse 1 million Dominion CVR rows in <= 20 s"). The script
writes a synthetic Democracy Suite CSV export (the four header rows of
``CVR_Export.csv`` - election and version, ``Contest (Vote For=N)``, choices,
column names with ``CountingGroup`` - then one row per card) with a few
contests, some of them on only part of the ballot styles, some cells guarded as
``="..."``, CRLF line ends, into a temporary folder; then it times
``read_dominion_csv(path)`` plus a full pass over ``records()``, checks the
record count and a vote total, and prints the time against the target.

Run: ``.venv/bin/python benchmarks/bench_dominion.py [--rows N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tallyguard.io.vendors import read_dominion_csv

TARGET_SECONDS = 20.0
CONTESTS = (
    ("President", 1, ("Alice Adams", "Bob Brown", "Write-in")),
    ("Governor", 1, ("Carol Chen", "Dan Diaz")),
    ("City Council", 3, ("Eve Ek", "Fay Fu", "Gus Gil", "Hal Ho", "Ida Im")),
    ("Measure A", 1, ("Yes", "No")),
)
ON_EVERY_STYLE = 2  # the first two contests are on every card; the others on style 1 only


def write_export(path: Path, rows: int, seed: int = 2024) -> int:
    """Write a ``rows``-card Dominion CSV export; return the number of marks for Alice Adams."""
    rng = random.Random(seed)
    ids = ["CvrNumber", "TabulatorNum", "BatchId", "RecordId", "ImprintedId", "CountingGroup"]
    ids += ["PrecinctPortion", "BallotType"]
    contest_row = [""] * len(ids)
    choice_row = [""] * len(ids)
    for name, vote_for, choices in CONTESTS:
        contest_row += [f"{name} (Vote For={vote_for})"] * len(choices)
        choice_row += list(choices)
    width = len(contest_row)
    party_row = ids + [""] * (width - len(ids))
    alice = 0
    blocks: list[str] = []
    for line in (["Benchmark Election", "5.10.50.85"] + [""] * (width - 2), contest_row):
        blocks.append(",".join(line))
    blocks += [",".join(choice_row), ",".join(party_row)]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\r\n".join(blocks) + "\r\n")
        batch_size = 500
        for n in range(rows):
            tabulator, batch = n // 50_000 + 1, n // batch_size + 1
            record = n % batch_size + 1
            style = 1 + n % 3
            cells = [str(n + 1), str(tabulator), str(batch), str(record)]
            cells.append(f'="{tabulator}-{batch}-{record}"' if n % 10 == 0 else "")
            cells += ["Mail" if n % 2 else "Election Day", f"P-{n % 97}", f"Style {style}"]
            for k, (_name, vote_for, choices) in enumerate(CONTESTS):
                if k >= ON_EVERY_STYLE and style != 1:
                    cells += [""] * len(choices)
                    continue
                marked = set(rng.sample(range(len(choices)), rng.randint(0, vote_for)))
                cells += ["1" if j in marked else "0" for j in range(len(choices))]
                alice += k == 0 and 0 in marked
            out.write(",".join(cells) + "\r\n")
    return alice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the export here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "CVR_Export.csv"
        start = time.perf_counter()
        alice = write_export(path, args.rows)
        size = path.stat().st_size / 1e6
        print(f"wrote {args.rows:,} cards ({size:.0f} MB) in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        export = read_dominion_csv(path)
        count = votes = 0
        for record in export.records():
            count += 1
            votes += "Alice Adams" in record.votes.get("President", ())
        seconds = time.perf_counter() - start
    assert count == args.rows, (count, args.rows)
    assert votes == alice, (votes, alice)
    verdict = "OK" if seconds <= TARGET_SECONDS else "TOO SLOW"
    rate = count / seconds if seconds else float("inf")
    print(f"records(): {count:,} cards in {seconds:.1f} s ({rate:,.0f}/s); target <= 20 s")
    print(f"{verdict}: {seconds:.1f} s against the target of {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
