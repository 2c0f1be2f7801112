"""``tallyguard forensics``: calibrated anomaly tests on unit-level results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tallyguard.cli.output import emit_json, stderr, stdout
from tallyguard.evidence.canonical import sha256_file
from tallyguard.forensics import benford
from tallyguard.forensics.battery import Settings, stream
from tallyguard.forensics.load import load_units, parse_column_options
from tallyguard.forensics.pipeline import WORDING, document
from tallyguard.forensics.presets import PRESETS
from tallyguard.report.forensics_bundle import parameters, run_forensics

app = typer.Typer(
    help=(
        "Election forensics: tests on polling-station or precinct results for traces of "
        "manipulation, each against a stated null, calibrated by simulation and corrected "
        "for multiplicity. Findings are anomalies, never proof of fraud."
    ),
    no_args_is_help=True,
)
claim_app = typer.Typer(
    help="Show what a popular but invalid claim would say, and why it misleads.",
    no_args_is_help=True,
)
app.add_typer(claim_app, name="claim")

COLUMN_HELP = (
    "canonical=source: read a canonical column (unit_id, region, electorate, ballots_issued, "
    "ballots_cast, invalid) from another column; source may be a+b+c (counts are added, ids "
    "joined). NAME=source renames a choice. Repeatable."
)
CLAIM_WHY = (
    "Why the claim misleads: Benford's first-digit law holds for counts spread evenly over "
    "several orders of magnitude. Precinct counts are not: their first digits follow from "
    "the precinct sizes and the choice's share, so a clean election with these very units "
    "departs from Benford as much as the data do (compare the two p-values). A first-digit "
    "'rejection' here says nothing about whether votes were counted honestly (Deckert, "
    "Myagkov & Ordeshook 2011, Political Analysis 19(3):245-268; Mebane 2020)."
)
PRESET_HELP = f"Column preset for a known file layout: {', '.join(PRESETS)}."


def _columns(column: list[str], region: str | None) -> dict[str, str]:
    mapping = parse_column_options(column)
    if region is not None:
        mapping["region"] = region
    return mapping


@app.command("run")
def run(
    units: Path = typer.Argument(..., help="Unit-level results: CSV, CSV.gz or Parquet."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    leader: str | None = typer.Option(
        None, "--leader", help="The choice under study (a preset may name it)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Column of regions (strata); same as --column region=COL."
    ),
    preset: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
    prior: Path | None = typer.Option(
        None, "--prior", help="An earlier election on the same units, for the outlier test."
    ),
    prior_column: list[str] = typer.Option(
        [], "--prior-column", help="Column mapping of the --prior file (as --column)."
    ),
    prior_leader: str | None = typer.Option(
        None, "--prior-leader", help="The leader's column in --prior. [default: --leader]"
    ),
    covariate: list[str] = typer.Option(
        [],
        "--covariate",
        help="A numeric column of unit characteristics (e.g. urban share) the outlier test "
        "uses as a predictor. Repeatable.",
    ),
    replicates: int = typer.Option(1000, min=1, help="Monte-Carlo replicates of each null."),
    seed: str = typer.Option(
        "tallyguard-forensics", "--seed", help="Any text; the same seed gives the same numbers."
    ),
    alpha: float = typer.Option(
        0.05, min=0.0001, max=0.5, help="False-discovery rate of the BH correction."
    ),
    calibration_runs: int = typer.Option(
        50,
        min=0,
        help=(
            "Simulated clean elections (and each manipulation) per test; 0 skips calibration. "
            "About 6 s per run at 95,000 units."
        ),
    ),
    calibration_replicates: int = typer.Option(
        200, min=1, help="Monte-Carlo replicates per test within the calibration."
    ),
    bootstrap: int = typer.Option(
        50, min=0, help="Parametric-bootstrap refits of the Klimek model (0: the fit alone)."
    ),
    by_region: bool = typer.Option(
        True, "--by-region/--no-by-region", help="Also test each region on its own."
    ),
    min_region_units: int = typer.Option(
        200, min=1, help="Regions with fewer units are tested only within the whole table."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write report.html, CSVs and the evidence bundle here."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out directory."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON summary on stdout."),
) -> None:
    """Run the battery on UNITS and report anomalies relative to each test's stated null."""
    settings = Settings(
        seed=seed,
        replicates=replicates,
        alpha=alpha,
        by_region=by_region,
        min_region_units=min_region_units,
        calibration_runs=calibration_runs,
        calibration_replicates=calibration_replicates,
        bootstrap=bootstrap,
    )
    params = parameters(
        units,
        leader=leader,
        columns=_columns(column, region),
        preset=preset,
        settings=settings,
        prior=prior,
        prior_columns=parse_column_options(prior_column),
        prior_leader=prior_leader,
        covariates=covariate,
    )
    with _progress(enabled=not json_output) as (step, tick):
        result = run_forensics(
            units,
            out,
            params,
            prior=prior,
            overwrite=force,
            progress=step,
            calibration_progress=tick,
        )
    summary = document(result)
    if json_output:
        emit_json(summary)
        return
    _print_summary(summary)
    if out is not None:
        stdout.print(f"report: {out / 'report.html'}   bundle: {out / 'bundle.json'}")


@contextmanager
def _progress(
    *, enabled: bool
) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """(label the running test, advance the calibration) on a progress bar on stderr."""
    if not enabled or not stderr.is_terminal:
        yield (lambda _label: None), (lambda _done, _total: None)
        return
    columns = (
        TextColumn("[bold]forensics[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("loading", total=None)

        def step(label: str) -> None:
            bar.update(task, description=label)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description="calibration")

        yield step, tick


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _print_summary(summary: dict[str, Any]) -> None:
    data = summary["input"]
    stdout.print(
        f"[bold]{data['file']}[/]: {data['units_tested']} units tested of {data['rows']} rows; "
        f"leader {data['leader']!r}"
    )
    table = Table(title="Tests on all units (headline p; BH q over tests x regions)")
    table.add_column("test", no_wrap=True)
    for heading in ("p", "q", "result", "false-positive rate (calibration)"):
        table.add_column(heading)
    alpha = summary["settings"]["alpha"]
    for name, entry in summary["tests"].items():
        headline = entry[entry["headline"]]
        q = entry["q_value"]
        if headline.get("p_value") is None:
            verdict = f"skipped: {headline.get('skipped', '')}"
        elif q is not None and q <= alpha:
            verdict = "anomaly relative to the stated null"
        else:
            verdict = "no anomaly detected"
        fpr = "-"
        calibration = entry.get("calibration")
        if isinstance(calibration, dict) and isinstance(calibration.get("false_positive"), dict):
            fpr = _fmt(calibration["false_positive"].get("rate"))
        table.add_row(name, _fmt(headline.get("p_value")), _fmt(q), verdict, fpr)
    stdout.print(table)
    anomalies = summary["multiplicity"]["anomalies"]
    regional = [a for a in anomalies if a["stratum"] != "all units"]
    if regional:
        stdout.print(f"{len(regional)} region-level anomalies; see the report.")
    for name, entry in summary["negative_examples"].items():
        headline = entry[entry["headline"]]
        stdout.print(
            f"[yellow]Known-invalid method shown for comparison[/] ({name}): it would report "
            f"p = {_fmt(headline.get('p_value'))}; see the report for why its null is wrong here."
        )
    stdout.print(WORDING)


@claim_app.command("benford")
def claim_benford(
    units: Path = typer.Argument(..., help="Unit-level results: CSV, CSV.gz or Parquet."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    leader: str | None = typer.Option(
        None, "--leader", help="The choice the claim is about (a preset may name it)."
    ),
    preset: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
    all_choices: bool = typer.Option(
        False, "--all-choices", help="Show the claim for every choice, not only the leader."
    ),
    replicates: int = typer.Option(
        1000, min=1, help="Simulated clean elections for the size-matched null."
    ),
    seed: str = typer.Option("tallyguard-forensics", "--seed", help="Any text."),
    alpha: float = typer.Option(0.05, min=0.0001, max=0.5, help="The claim's significance level."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """What a first-digit Benford claim would say about UNITS, and why its null is wrong here.

    First digits of precinct counts are set by how large the precincts are and how
    evenly a choice's share is spread (Deckert, Myagkov & Ordeshook 2011; Mebane
    2020), not by honesty. The command compares the claim's fixed Benford law with
    the first digits a clean binomial election with these very units produces, and
    measures how often the claim would "detect fraud" in such clean elections.
    """
    loaded = load_units(units, leader=leader, columns=parse_column_options(column), preset=preset)
    table = loaded.table
    names = list(table.choices) if all_choices else [table.leader]
    claims = {
        name: benford.claim_explanation(
            table, name, stream(seed, "claim", name), replicates, alpha
        ).to_json()
        for name in names
    }
    result = {
        "file": units.name,
        "sha256": sha256_file(units),
        "method": "first-digit Benford's law on unit vote counts (known invalid)",
        "claims": claims,
        "why": CLAIM_WHY,
    }
    if json_output:
        emit_json(result)
        return
    table_out = Table(title=f"First-digit Benford claim on {units.name} (a known-invalid method)")
    for heading in (
        "choice",
        "counts",
        "claim's p (vs Benford)",
        "p vs a clean election with these units",
        "claim rejects clean elections",
    ):
        table_out.add_column(heading)
    for name, claim in claims.items():
        table_out.add_row(
            name,
            str(claim["n_counts"]),
            _fmt(claim["benford_p_value"]),
            _fmt(claim["size_matched_p_value"]),
            f"{claim['claim_false_positive_rate']:.0%} of {claim['replicates']}",
        )
    stdout.print(table_out)
    stdout.print(CLAIM_WHY)
