"""Voter-roll scale: 1,000,000 records deduplicated on one machine without running out of memory.

Simulates a roll of a million registrations with known truth, writes and loads it,
runs ``link(..., mode="dedupe")`` on DuckDB and reports the wall time of every stage
(``LinkageResult.timings``), the blocking rules link chose, the pairs each rule
blocks (exact counts from Splink's blocking analysis, run after the timed linkage),
the pairs flagged, and the peak resident memory of this process and its children
(``getrusage``). Passes when the linkage completes within ``--max-minutes`` and the
peak stays under ``--max-gb``; exits with status 1 otherwise.

Run: ``.venv/bin/python benchmarks/bench_rolls_scale.py [--records 1000000]
[--pair-budget N] [--u-max-pairs N] [--em-max-pairs N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from splink import DuckDBAPI
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from tallyguard.rolls.linkage import TrainingPlan, link, prepare_roll
from tallyguard.rolls.load import load_list
from tallyguard.simulate.roll import RollConfig, simulate_roll, write_roll

SEED = 20260701


def peak_rss_gb() -> float:
    """Peak resident set size of this process plus its largest child, in GB (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) * 1024 / 1e9


def blocked_counts(frame: pl.DataFrame, rules: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(rule, marginal pairs, cumulative pairs): exact, as Splink's predict would block them."""
    db_api = DuckDBAPI()
    table = db_api.register(prepare_roll(frame, "left").to_arrow(), dataset_display_name="roll")
    records = count_comparisons_from_blocking_rules(
        table,
        blocking_rules=list(rules),
        link_type="dedupe_only",
        unique_id_column_name="voter_id",
        record_sample_proportion=1.0,
    )
    return [
        (r["blocking_rule"], r["marginal_comparison_count"], r["cumulative_comparison_count"])
        for r in records
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pair-budget", type=int, default=None, help="link's pair_budget")
    parser.add_argument("--u-max-pairs", type=float, default=None)
    parser.add_argument("--em-max-pairs", type=float, default=None)
    parser.add_argument("--max-gb", type=float, default=16.0)
    parser.add_argument("--max-minutes", type=float, default=15.0)
    parser.add_argument("--no-blocking-counts", action="store_true")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)  # "level not observed" notes

    plan = TrainingPlan()
    if args.u_max_pairs is not None:
        plan = dataclasses.replace(plan, u_max_pairs=args.u_max_pairs)
    if args.em_max_pairs is not None:
        plan = dataclasses.replace(plan, em_max_pairs=args.em_max_pairs)

    start = time.perf_counter()
    roll = simulate_roll(RollConfig(records=args.records, seed="bench-rolls-scale"))
    simulated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_roll(roll, Path(tmp))
        written = time.perf_counter()
        frame = load_list(Path(tmp) / "voters.csv").frame
    loaded = time.perf_counter()
    print(f"roll: {frame.height:,} records; simulate {simulated - start:.1f} s, ", end="")
    print(f"write {written - simulated:.1f} s, load and clean {loaded - written:.1f} s")
    print(f"peak RSS after loading: {peak_rss_gb():.2f} GB")
    print(f"training: u_max_pairs {plan.u_max_pairs:,.0f}, em_max_pairs {plan.em_max_pairs}")

    clock = time.perf_counter()
    if args.pair_budget is None:
        result = link(frame, None, mode="dedupe", seed=SEED, training=plan)
    else:
        budget = args.pair_budget
        result = link(frame, None, mode="dedupe", seed=SEED, training=plan, pair_budget=budget)
    elapsed = time.perf_counter() - clock
    peak = peak_rss_gb()
    for stage, seconds in result.timings.items():
        print(f"  {stage:<11} {seconds:8.1f} s")
    print(f"link total: {elapsed:.1f} s ({elapsed / 60:.1f} min); peak RSS {peak:.2f} GB")
    print(
        f"pairs at p >= {result.threshold}: {result.pairs.height:,} "
        f"({result.leads.height:,} leads, {result.excluded.height:,} excluded); "
        f"clusters of 2+: {_clusters_of_two_or_more(result.clusters):,}"
    )
    truth = roll.pairs.filter(pl.col("kind") == "duplicate").height
    found = result.leads.join(
        roll.pairs.filter(pl.col("kind") == "duplicate"), on=["id_l", "id_r"]
    ).height
    print(f"true duplicate pairs among the leads: {found:,} of {truth:,}")

    if not args.no_blocking_counts:
        clock = time.perf_counter()
        counts = blocked_counts(frame, result.blocking_rules)
        print(f"blocked pairs by rule (exact count, {time.perf_counter() - clock:.1f} s):")
        for rule, marginal, cumulative in counts:
            print(f"  {marginal:>13,} new, {cumulative:>13,} in all  {rule}")
        print(f"pairs scored by predict: {counts[-1][2]:,}")

    met = elapsed <= 60 * args.max_minutes and peak <= args.max_gb
    print(
        f"target: completes in <= {args.max_minutes:.0f} min with peak RSS <= "
        f"{args.max_gb:.0f} GB -> {'PASS' if met else 'FAIL'}"
    )
    return 0 if met else 1


def _clusters_of_two_or_more(clusters: pl.DataFrame | None) -> int:
    if clusters is None:
        return 0
    sizes = clusters.group_by("cluster_id").len()
    return sizes.filter(pl.col("len") >= 2).height


if __name__ == "__main__":
    sys.exit(main())
