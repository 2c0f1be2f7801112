"""The voter-roll part of ``tallyguard demo``: a simulated roll with known truth.

20,000 registrations in households, with twins, fathers and sons of one name
(JR/SR), second registrations after moves, name changes and clerical re-entry
(typos, nicknames, swapped day and month), and a death file. The dedupe run
writes its leads, report and evidence bundle; the demo then scores the leads
against the truth in ``roll/truth/``, which the tool itself never reads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from tallyguard.report.rolls_bundle import run_and_write
from tallyguard.rolls.pipeline import RollsSettings
from tallyguard.simulate.roll import RollConfig, simulate_roll, write_roll

ROLL = RollConfig(seed="tallyguard-rolls-demo-2026", records=20_000)
SETTINGS = RollsSettings(mode="dedupe", seed=1)


def _unordered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        a=pl.min_horizontal("id_l", "id_r"), b=pl.max_horizontal("id_l", "id_r")
    ).unique()


def run_rolls_demo(out: Path, step: Callable[[str], None]) -> dict[str, Any]:
    """Simulate, deduplicate, write the bundle; return the figures and the truth check."""
    step("simulate the roll")
    roll = simulate_roll(ROLL)
    folder = out / "roll"
    folder.mkdir(parents=True, exist_ok=True)
    write_roll(roll, folder)
    step("deduplicate")
    report = out / "dedupe"
    run = run_and_write(
        [folder / "voters.csv"], SETTINGS, report, command="tallyguard rolls dedupe",
        overwrite=True,
    )  # fmt: skip
    summary = run.summary()
    truth = _unordered(roll.pairs.filter(pl.col("kind") == "duplicate"))
    leads = _unordered(run.flagged)
    found = leads.join(truth, on=["a", "b"]).height
    return {
        "roll": str(folder),
        "report": str(report / "report.html"),
        "bundle": str(report),
        "records": roll.voters.height,
        "true_duplicates": truth.height,
        "leads": leads.height,
        "leads_true": found,
        "precision": found / leads.height if leads.height else None,
        "recall": found / truth.height if truth.height else None,
        "pairs_excluded": summary["pairs_excluded"],
        "expected_false_matches": summary["expected_false_matches"],
        "false_match_interval": summary["false_match_interval"],
        "naive_rule_pairs": summary["naive_rule_pairs"],
        "expected_chance_matches": summary["expected_chance_matches"],
        "chance_interval": summary["chance_interval"],
    }
