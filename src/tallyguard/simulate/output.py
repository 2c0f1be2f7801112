"""Write a simulated election to a directory in the formats users bring.

Layout (``docs/simulator.md`` describes every column)::

    manifest.csv            ballot manifest (Arlo's headers plus Jurisdiction)
    cvrs.csv                flat CVRs, one row per card, one column per choice
    cvrs.nist.json          the same CVRs as NIST SP 1500-103 JSON
    results.csv             unit-level results of the main contest (the protocols)
    contests.json           reported contest totals and winners (from the CVRs)
    truth/units.csv         per unit: manipulations and what they changed
    truth/discrepancies.csv every (card, contest) whose CVR differs from the paper
    truth/outcomes.json     per contest: CVR, paper and protocol totals and winners
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tallyguard.io.contests import ReportedContest, ReportedElection, write_contests
from tallyguard.io.cvr_csv import CVR_ID_COLUMNS, choice_column
from tallyguard.io.manifest import MANIFEST_COLUMNS
from tallyguard.io.nist_cvr_writer import CvrColumns, write_nist_cvr_json
from tallyguard.io.results import RESULTS_ID_COLUMNS
from tallyguard.simulate.election import SimulatedElection
from tallyguard.simulate.tamper import CAUSES, KINDS, overstatement, tallies
from tallyguard.simulate.units import jurisdiction_names, region_names

FILES = (
    "manifest.csv",
    "cvrs.csv",
    "cvrs.nist.json",
    "results.csv",
    "contests.json",
    "truth/units.csv",
    "truth/discrepancies.csv",
    "truth/outcomes.json",
)


def _csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, line_terminator="\n", float_precision=6)


def _json(document: Any, path: Path) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class _Names:
    """String labels of units, batches and cards, built once, vectorised."""

    def __init__(self, sim: SimulatedElection) -> None:
        cards, units, config = sim.cards, sim.units, sim.config
        jur = jurisdiction_names(config)
        self.unit_ids = pl.Series("unit_id", units.ids, dtype=pl.String)
        self.unit_jur = pl.Series(
            "jurisdiction", [jur[j] for j in units.jurisdiction], dtype=pl.String
        )
        self.unit_region = pl.Series(
            "region", [region_names(config)[r] for r in units.region], dtype=pl.String
        )
        self.styles = [
            "BS-" + "".join("1" if on else "0" for on in units.contest_in_jurisdiction[:, j])
            for j in range(config.jurisdictions)
        ]
        batches = pl.DataFrame(
            {"unit": cards.batch_unit, "number": cards.batch_number, "size": cards.batch_size}
        ).with_columns(
            unit_id=self.unit_ids.gather(cards.batch_unit),
            jurisdiction=self.unit_jur.gather(cards.batch_unit),
        )
        self.batches = batches.with_columns(
            batch_name=pl.col("unit_id") + "-B" + pl.col("number").cast(pl.String).str.zfill(2)
        )
        batch_name = self.batches["batch_name"].gather(cards.batch)
        self.card_ids = (
            pl.DataFrame({"b": batch_name, "p": cards.position})
            .select(pl.col("b") + "-" + pl.col("p").cast(pl.String).str.zfill(4))
            .to_series()
            .rename("cvr_id")
        )
        self.card_batch = batch_name.rename("batch_name")
        style_series = pl.Series(self.styles, dtype=pl.String)
        self.card_style = style_series.gather(units.jurisdiction[cards.unit]).rename("ballot_style")


def _manifest(sim: SimulatedElection, names: _Names) -> pl.DataFrame:
    b = names.batches
    return pl.DataFrame(
        {
            MANIFEST_COLUMNS[0]: b["jurisdiction"],
            MANIFEST_COLUMNS[1]: b["unit_id"],
            MANIFEST_COLUMNS[2]: b["unit_id"] + "-TAB",
            MANIFEST_COLUMNS[3]: b["batch_name"],
            MANIFEST_COLUMNS[4]: b["size"],
        }
    )


def _cvr_frame(sim: SimulatedElection, names: _Names) -> pl.DataFrame:
    cards, units = sim.cards, sim.units
    unit_number = pl.Series(np.arange(1, units.n + 1)).gather(cards.unit)
    imprinted = pl.DataFrame(
        {
            "u": unit_number,
            "b": sim.cards.batch_number[cards.batch],
            "p": cards.position,
        }
    ).select(pl.concat_str([pl.col("u"), pl.col("b"), pl.col("p")], separator="-"))
    columns: dict[str, pl.Series] = {
        "cvr_id": names.card_ids,
        "jurisdiction": names.unit_jur.gather(cards.unit),
        "unit_id": names.unit_ids.gather(cards.unit),
        "batch_name": names.card_batch,
        "position": pl.Series(cards.position),
        "imprinted_id": imprinted.to_series(),
        "ballot_style": names.card_style,
    }
    assert tuple(columns) == CVR_ID_COLUMNS
    frame = pl.DataFrame(columns)
    choice_columns = []
    for c, contest in enumerate(sim.contests):
        present = pl.Series(sim.cards.present[c])
        marks = sim.count.cvr[c]
        for j, choice in enumerate(contest.choices):
            choice_columns.append(
                pl.when(pl.lit(present))
                .then(pl.lit(pl.Series(marks[:, j])))
                .otherwise(None)
                .alias(choice_column(contest.name, choice))
            )
    return frame.with_columns(choice_columns)


def _results(sim: SimulatedElection, names: _Names) -> pl.DataFrame:
    p = sim.protocols
    columns: dict[str, Any] = {
        "unit_id": names.unit_ids,
        "region": names.unit_region,
        "jurisdiction": names.unit_jur,
        "electorate": p.electorate,
        "ballots_issued": p.issued,
        "ballots_cast": p.cast,
        "invalid": p.invalid,
    }
    assert tuple(columns) == RESULTS_ID_COLUMNS
    for j, choice in enumerate(sim.contests[0].choices):
        columns[choice] = p.votes[:, j]
    return pl.DataFrame(columns)


def _reported(sim: SimulatedElection) -> ReportedElection:
    contests = []
    for c, contest in enumerate(sim.contests):
        totals = tallies(sim.count.cvr[c], sim.cards.present[c], contest)
        contests.append(
            ReportedContest(
                contest=contest,
                ballots=int(sim.cards.present[c].sum()),
                totals=totals,
                winners=contest.winners(totals),
            )
        )
    return ReportedElection(election=sim.config.election, contests=tuple(contests))


def _optional(values: np.ndarray) -> pl.Series:
    """Integers with -1 meaning "not applicable" as a nullable column."""
    series = pl.Series(values)
    return pl.select(pl.when(series >= 0).then(series)).to_series()


def _units_truth(sim: SimulatedElection, names: _Names) -> pl.DataFrame:
    p = sim.protocols
    switched = np.bincount(sim.cards.unit[sim.cards.switched], minlength=sim.units.n)
    kinds = np.array(["none", "incremental", "extreme"])[sim.stuffing.kind]
    return pl.DataFrame(
        {
            "unit_id": names.unit_ids,
            "region": names.unit_region,
            "jurisdiction": names.unit_jur,
            "manipulated": sim.manipulated_units().astype(np.int8),
            "stuffing": kinds,
            "fraud_intensity": np.round(sim.stuffing.x, 6),
            "stuffed_ballots": sim.stuffing.stuffed,
            "switched_votes": switched.astype(np.int64),
            "transfer_target": sim.count.transfer_units.astype(np.int8),
            "transferred_votes": sim.count.transferred,
            "rounded_share_pct": _optional(p.rounded_share),
            "rounded_turnout_pct": _optional(p.rounded_turnout),
            "padded_ballots": p.padded,
            "latent_turnout": np.round(sim.units.turnout, 6),
            "genuine_ballots": sim.units.voters,
        }
    )


def _marks_text(contest_choices: tuple[str, ...], rows: np.ndarray) -> list[str]:
    return ["|".join(contest_choices[j] for j in np.flatnonzero(row)) for row in rows]


def discrepancy_table(sim: SimulatedElection, names: _Names) -> pl.DataFrame:
    """Every (card, contest) where the CVR and the paper differ, with cause and size."""
    parts = []
    for c, contest in enumerate(sim.contests):
        cvr, paper = sim.count.cvr[c], sim.count.paper[c]
        rows = np.flatnonzero(np.any(cvr != paper, axis=1))
        over = overstatement(sim.count, c, contest, rows)
        parts.append(
            pl.DataFrame(
                {
                    "cvr_id": names.card_ids.gather(rows),
                    "contest": [contest.name] * rows.size,
                    "cause": [CAUSES[k] for k in sim.count.cause[c][rows]],
                    "overstatement": over,
                    "kind": [KINDS[int(v)] for v in over],
                    "cvr": _marks_text(contest.choices, cvr[rows]),
                    "paper": _marks_text(contest.choices, paper[rows]),
                },
                schema={
                    "cvr_id": pl.String,
                    "contest": pl.String,
                    "cause": pl.String,
                    "overstatement": pl.Int64,
                    "kind": pl.String,
                    "cvr": pl.String,
                    "paper": pl.String,
                },
            )
        )
    return pl.concat(parts)


def outcomes(sim: SimulatedElection, discrepancies: pl.DataFrame) -> dict[str, Any]:
    """Per contest: totals and winners by CVR, by paper (the truth) and by protocol."""
    out: list[dict[str, Any]] = []
    for c, contest in enumerate(sim.contests):
        present = sim.cards.present[c]
        cvr = tallies(sim.count.cvr[c], present, contest)
        paper = tallies(sim.count.paper[c], present, contest)
        w, loser = sim.count.pairs[c]
        mine = discrepancies.filter(pl.col("contest") == contest.name)
        entry: dict[str, Any] = {
            "contest": contest.name,
            "ballots": int(present.sum()),
            "cvr_totals": cvr,
            "paper_totals": paper,
            "reported_winners": list(contest.winners(cvr)),
            "true_winners": list(contest.winners(paper)),
            "outcome_correct": contest.winners(cvr) == contest.winners(paper),
            "discrepancy_pair": {"winner": contest.choices[w], "loser": contest.choices[loser]},
            "discrepancies_by_kind": {
                kind: int((mine["kind"] == kind).sum()) for kind in KINDS.values()
            },
            "discrepancies_by_cause": {
                cause: int((mine["cause"] == cause).sum()) for cause in CAUSES[1:]
            },
        }
        if c == 0:
            votes = sim.protocols.votes.sum(axis=0)
            protocol = {ch: int(v) for ch, v in zip(contest.choices, votes, strict=True)}
            entry["protocol_totals"] = protocol
            entry["protocol_winners"] = list(contest.winners(protocol))
        out.append(entry)
    return {
        "election": sim.config.election,
        "leader": sim.config.leader_name,
        "manipulated_units": int(sim.manipulated_units().sum()),
        "contests": out,
    }


def write_election(
    sim: SimulatedElection, directory: Path, on_step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Write every file of ``FILES`` (those the config asks for) and return a summary."""
    step = on_step or (lambda _label: None)
    (directory / "truth").mkdir(parents=True, exist_ok=True)
    names = _Names(sim)
    step("manifest")
    _csv(_manifest(sim, names), directory / "manifest.csv")
    if "csv" in sim.config.cvr_formats:
        step("cvrs.csv")
        _csv(_cvr_frame(sim, names), directory / "cvrs.csv")
    if "nist" in sim.config.cvr_formats:
        step("cvrs.nist.json")
        units = sim.units
        gp = [(f"gp-{j}", j, "other") for j in jurisdiction_names(sim.config)]
        gp += [(f"gp-{u}", u, "precinct") for u in units.ids]
        write_nist_cvr_json(
            directory / "cvrs.nist.json",
            contests=sim.contests,
            cvrs=CvrColumns(
                cvr_id=names.card_ids,
                batch_name=names.card_batch,
                ballot_style=names.card_style,
                unit_gp_id=("gp-" + names.unit_ids).gather(sim.cards.unit),
                marks=sim.count.cvr,
                present=sim.cards.present,
            ),
            election_name=sim.config.election,
            generated=f"{sim.config.election_date.isoformat()}T20:00:00Z",
            gp_units=gp,
        )
    step("results and truth")
    _csv(_results(sim, names), directory / "results.csv")
    reported = _reported(sim)
    write_contests(directory / "contests.json", reported)
    _csv(_units_truth(sim, names), directory / "truth" / "units.csv")
    discrepancies = discrepancy_table(sim, names)
    _csv(discrepancies, directory / "truth" / "discrepancies.csv")
    truth = outcomes(sim, discrepancies)
    _json(truth, directory / "truth" / "outcomes.json")
    return {
        "units": sim.units.n,
        "batches": int(sim.cards.batch_unit.size),
        "ballot_cards": sim.cards.n,
        "contests": [
            {
                "contest": entry["contest"],
                "reported_winners": entry["reported_winners"],
                "true_winners": entry["true_winners"],
                "outcome_correct": entry["outcome_correct"],
                "discrepancies": sum(entry["discrepancies_by_cause"].values()),
            }
            for entry in truth["contests"]
        ],
        "manipulated_units": truth["manipulated_units"],
    }
