"""The forensic battery at national scale: about 95,000 polling stations, 1,000 replicates.

Input: Russia 2011 (95,225 stations, Kobak et al.'s data, ``../shared/data/forensics``)
when present, otherwise a synthetic table of the same size. Timed:

* loading the file (``ru-cec`` preset);
* the integer-percentage test alone, as tallyguard computes it (exact per-station
  probabilities, Bernoulli replicates), against the straightforward method the
  papers describe (a per-replicate numpy loop: for each of R replicates draw every
  station's binomial leader votes and issued ballots, then count the integer
  stations), run in the same process at the same R so the two excesses can be
  compared too (they estimate the same null mean);
* every valid test on the whole table, the negative example, and the battery per
  region, at 1,000 replicates;
* calibration (100 simulated clean elections and each manipulation), on its own.

Targets (issue 5): the integer test <= 5 s, the whole battery <= 30 s on 2 cores.

Run: ``.venv/bin/python benchmarks/bench_forensics.py [--replicates 1000] [--calibration-runs 100]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tallyguard.forensics.battery import OVERALL, Settings, region_subsets, stream
from tallyguard.forensics.calibrate import calibrate
from tallyguard.forensics.integer import included, is_integer_percent
from tallyguard.forensics.integer import run as integer_run
from tallyguard.forensics.load import load_units
from tallyguard.forensics.pipeline import (
    calibration_tests,
    negative_examples,
    regional_tests,
    valid_tests,
)
from tallyguard.forensics.table import UnitTable

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "forensics"


def synthetic(units: int = 95_225, seed: int = 2011) -> UnitTable:
    rng = np.random.default_rng(seed)
    electorate = np.rint(rng.lognormal(np.log(1100), 0.6, units)).astype(np.int64) + 50
    issued = rng.binomial(electorate, rng.beta(25, 15, units))
    lead = rng.binomial(issued, rng.beta(20, 20, units))
    other = issued - lead
    second = rng.binomial(other, 0.5)
    region = np.array([f"R{k % 80:02d}" for k in range(units)])
    return UnitTable(
        unit_id=np.array([f"U{k}" for k in range(units)]),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"Leader": lead, "Second": second, "Third": other - second},
        leader="Leader",
        region=region,
    )


def straightforward_integer_excess(table: UnitTable, replicates: int, seed: int) -> float:
    """The papers' method: R replicates of binomial resampling, counting integer stations."""
    keep = included(table)
    e, g = table.electorate[keep], table.ballots_issued[keep]
    c, lead = table.ballots_cast[keep], table.leader_votes[keep]
    observed = int((is_integer_percent(g, e) | is_integer_percent(lead, c)).sum())
    rng = np.random.default_rng(seed)
    counts = np.empty(replicates)
    for r in range(replicates):
        g_r = rng.binomial(e, g / e)
        lead_r = rng.binomial(c, lead / c)
        counts[r] = (is_integer_percent(g_r, e) | is_integer_percent(lead_r, c)).sum()
    return observed - float(counts.mean())


def timed(label: str, function: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {elapsed:8.2f} s")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--calibration-runs", type=int, default=100)
    args = parser.parse_args()
    r = args.replicates
    path = SHARED / "russia_2011.csv.gz"
    if path.is_file():
        _, loaded = timed("load russia_2011.csv.gz (ru-cec preset)", load_units, path,
                          leader=None, preset="ru-cec")  # fmt: skip
        table = loaded.table  # type: ignore[attr-defined]
    else:
        print("Russia 2011 not found beside the checkout: using a synthetic table")
        table = synthetic()
    print(f"{table.n:,} stations, {len(table.choices)} choices, {len(table.regions())} regions")
    settings = Settings(seed="bench", replicates=r)

    ours, result = timed(f"integer test, tallyguard ({r} replicates)", integer_run, table,
                         rng=np.random.default_rng(1), replicates=r, band_replicates=0)  # fmt: skip
    loop, loop_excess = timed(f"integer test, per-replicate binomial loop ({r})",
                              straightforward_integer_excess, table, r, 1)  # fmt: skip
    excess = result.component("either").statistics["excess"]  # type: ignore[attr-defined]
    sd = result.component("either").statistics["null_sd"]  # type: ignore[attr-defined]
    print(f"  excess: tallyguard {excess:.1f} (exact null mean), loop {loop_excess:.1f} "
          f"(MC SE {sd / np.sqrt(r):.1f}); speed-up x{loop / ours:.1f}")  # fmt: skip

    total = 0.0
    for name, function in valid_tests(settings).items():
        elapsed, _ = timed(
            f"{name} (all units)", function, table, stream("bench", OVERALL, name), r
        )
        total += elapsed
    for name, function in negative_examples().items():
        elapsed, _ = timed(f"{name} (negative example)", function, table,
                           stream("bench", name), r)  # fmt: skip
        total += elapsed
    print(f"{'battery on all units':<52} {total:8.2f} s   (target <= 30 s)")
    start = time.perf_counter()
    subsets = region_subsets(table, settings.min_region_units)
    per_region = {**valid_tests(settings), **regional_tests()}
    for region, subset in subsets:
        for name, function in per_region.items():
            function(subset, stream("bench", region, name), r)
    regional = time.perf_counter() - start
    print(f"{'battery per region (' + str(len(subsets)) + ' regions)':<52} {regional:8.2f} s")
    print(f"{'whole battery, all units and every region':<52} {total + regional:8.2f} s")
    if args.calibration_runs > 0:
        timed(f"calibration ({args.calibration_runs} runs x 4 tables)", calibrate, table,
              calibration_tests(), runs=args.calibration_runs,
              replicates=settings.calibration_replicates, rng=stream("bench", "cal"))  # fmt: skip


if __name__ == "__main__":
    main()
