"""Voter-roll deduplication: 100,000 records in at most 1.2 x the time of plain Splink.

Simulates a roll with known truth, writes and loads it once (load and cleaning timed
apart), then times, alternately and at least three times each:

(a) ``tallyguard.rolls.linkage.link(..., mode="dedupe")`` end to end: choice of the
    blocking rules, training, scoring, the exclusion rules for family look-alikes and
    clustering of the leads;
(b) the same Fellegi–Sunter model written by hand with the Splink API, as a user
    would: DuckDB, the blocking rules that (a) used, the same comparisons, the same
    training steps (λ from deterministic rules, u by seeded random sampling with the
    same ``max_pairs``, EM on the same blocking rules), prediction at the same
    threshold and connected-components clustering, with Splink's default output
    columns (no intermediate weights kept).

Both start from the loaded frame and end with the scored pairs and clusters in
memory. Prints the medians, their ratio against the 1.2 target, and the accuracy of
both against the simulated truth: precision and recall of duplicate registrations
among (a)'s leads and (b)'s raw predictions, and how many twin or Jr/Sr pairs each
flags (what the exclusions buy). Exits with status 1 when the target is missed.

Run: ``.venv/bin/python benchmarks/bench_rolls.py [--records 100000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.internals.comparison_creator import ComparisonCreator

from tallyguard.rolls.linkage import (
    LinkageResult,
    TrainingPlan,
    comparisons_for,
    link,
    prepare_roll,
)
from tallyguard.rolls.load import load_list
from tallyguard.simulate.roll import RollConfig, SimulatedRoll, simulate_roll, write_roll

TARGET_RATIO = 1.2
THRESHOLD = 0.95
SEED = 20260701


def plain_splink(
    frame: pl.DataFrame, rules: Sequence[str], plan: TrainingPlan, seed: int, threshold: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The model of ``link`` written directly with Splink: (predicted pairs, clusters)."""
    roll = prepare_roll(frame, "left")
    comparisons: list[ComparisonCreator | dict[str, Any]] = [
        creator for _, creator in comparisons_for([roll], dedupe=True)
    ]
    db_api = DuckDBAPI()
    table = db_api.register(roll.to_arrow(), dataset_display_name="roll")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="voter_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[*rules],  # type: ignore[list-item]
    )
    linker = Linker(table, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        list(plan.deterministic_rules), recall=plan.deterministic_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=plan.u_max_pairs, seed=seed)
    fix_prior = bool(getattr(plan, "em_fix_prior", False))
    for entry in plan.em_blocking:
        # an entry may list fall-back rules for rolls with an empty column; the
        # simulated roll fills every column, so the first rule is the one link uses
        rule = entry if isinstance(entry, str) else entry[0]
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, max_pairs=plan.em_max_pairs, fix_probability_two_random_records_match=fix_prior
        )
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    pairs = pl.from_arrow(predictions.as_pyarrow_table())  # type: ignore[no-untyped-call]
    clusters = pl.from_arrow(clustered.as_pyarrow_table())  # type: ignore[no-untyped-call]
    assert isinstance(pairs, pl.DataFrame)
    assert isinstance(clusters, pl.DataFrame)
    return pairs, clusters


def ordered(frame: pl.DataFrame, left: str, right: str) -> pl.DataFrame:
    """Pairs as (id_l, id_r) with id_l < id_r, the order of the truth table."""
    a, b = pl.col(left).cast(pl.String), pl.col(right).cast(pl.String)
    return frame.select(id_l=pl.min_horizontal(a, b), id_r=pl.max_horizontal(a, b)).unique()


def accuracy(flagged: pl.DataFrame, roll: SimulatedRoll) -> str:
    """Precision and recall of duplicate registrations, and look-alike pairs flagged."""
    truth = ordered(roll.pairs.filter(pl.col("kind") == "duplicate"), "id_l", "id_r")
    look_alike = ordered(roll.pairs.filter(pl.col("kind").is_in(["twin", "jr_sr"])), "id_l", "id_r")
    hits = flagged.join(truth, on=["id_l", "id_r"]).height
    look = flagged.join(look_alike, on=["id_l", "id_r"]).height
    precision = hits / flagged.height if flagged.height else float("nan")
    recall = hits / truth.height if truth.height else float("nan")
    return (
        f"{flagged.height:6,} flagged, {hits:6,} true duplicates -> precision {precision:.4f}, "
        f"recall {recall:.4f} (of {truth.height:,}); twin or Jr/Sr pairs flagged: {look:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)  # "level not observed" notes

    start = time.perf_counter()
    roll = simulate_roll(RollConfig(records=args.records, seed="bench-rolls"))
    simulated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_roll(roll, Path(tmp))
        written = time.perf_counter()
        frame = load_list(Path(tmp) / "voters.csv").frame
    loaded = time.perf_counter()
    print(f"roll: {frame.height:,} records ({roll.pairs.height:,} true pairs of all kinds)")
    print(f"simulate {simulated - start:5.1f} s, write {written - simulated:5.1f} s, ", end="")
    print(f"load and clean {loaded - written:5.1f} s (not in the times below)")

    plan = TrainingPlan()
    times: dict[str, list[float]] = {"tallyguard": [], "splink": []}
    result: LinkageResult | None = None
    plain: tuple[pl.DataFrame, pl.DataFrame] | None = None
    for run in range(args.repeats):
        clock = time.perf_counter()
        result = link(frame, None, mode="dedupe", threshold=THRESHOLD, seed=SEED, training=plan)
        times["tallyguard"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        plain = plain_splink(frame, result.blocking_rules, plan, SEED, THRESHOLD)
        times["splink"].append(time.perf_counter() - clock)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
        print(
            f"run {run + 1}: link {times['tallyguard'][-1]:6.2f} s ({stages}); "
            f"plain Splink {times['splink'][-1]:6.2f} s"
        )
    assert result is not None
    assert plain is not None
    ours, theirs = statistics.median(times["tallyguard"]), statistics.median(times["splink"])
    ratio = ours / theirs
    print(f"blocking rules: {len(result.blocking_rules)} (link's choice, used by both)")
    print(f"median: link {ours:.2f} s, plain Splink {theirs:.2f} s, ratio {ratio:.3f}")

    raw, _ = plain
    predicted = ordered(raw, "voter_id_l", "voter_id_r")
    scored = ordered(result.pairs, "id_l", "id_r")
    same = predicted.join(scored, on=["id_l", "id_r"], how="anti").height == 0
    same = same and scored.height == predicted.height
    both = result.pairs.join(
        raw.select(
            id_l=pl.col("voter_id_l").cast(pl.String),
            id_r=pl.col("voter_id_r").cast(pl.String),
            plain=pl.col("match_probability"),
        ),
        on=["id_l", "id_r"],
    )
    gap = max((both["match_probability"] - both["plain"]).abs().to_list(), default=0.0)
    print(
        f"link's scored pairs before exclusions equal plain Splink's predictions: {same} "
        f"(largest probability difference {gap:.2e})"
    )
    leads = ordered(result.leads, "id_l", "id_r")
    print(f"accuracy, link leads:             {accuracy(leads, roll)}")
    print(f"accuracy, link before exclusions: {accuracy(scored, roll)}")
    print(f"accuracy, plain Splink:           {accuracy(predicted, roll)}")
    met = ratio <= TARGET_RATIO
    print(f"target: ratio <= {TARGET_RATIO} -> {'PASS' if met else 'FAIL'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
