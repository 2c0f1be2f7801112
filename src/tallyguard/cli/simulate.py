"""``tallyguard simulate election``: a synthetic election with known truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tallyguard.cli.output import emit_json, stdout, steps
from tallyguard.errors import InputError
from tallyguard.io.jsonfile import load_json
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.run import STEPS

app = typer.Typer(
    help="Synthetic elections with known truth (for tests, calibration and training).",
    no_args_is_help=True,
)


def _rate(help_text: str) -> Any:
    """An optional rate option in [0, 1]."""
    return typer.Option(None, min=0.0, max=1.0, help=help_text)


def _read_config(path: Path) -> dict[str, Any]:
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError("must hold a JSON object of parameters.", file=path, line=1)
    return data


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    if value is None:
        return
    *parents, leaf = dotted.split(".")
    for key in parents:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise InputError(f"{key!r} must be an object.", field=dotted)
    target[leaf] = value


@app.command("election")
def election(
    seed: str = typer.Option(..., "--seed", help="Any text; the same seed gives the same bytes."),
    out: Path = typer.Option(..., "--out", help="Directory to create (must be new or empty)."),
    config: Path | None = typer.Option(
        None, "--config", help="JSON file of parameters (docs/simulator.md); options override it."
    ),
    units: int | None = typer.Option(
        None, min=1, help="Reporting units (precincts). [default: 120]"
    ),
    jurisdictions: int | None = typer.Option(None, min=1, help="Jurisdictions. [default: 4]"),
    regions: int | None = typer.Option(None, min=1, help="Regions (strata). [default: 4]"),
    mean_electorate: float | None = typer.Option(
        None, min=1.0, help="Mean registered voters per unit. [default: 1200]"
    ),
    batch_size: int | None = typer.Option(None, min=1, help="Cards per batch. [default: 250]"),
    overstatement_1: float | None = _rate("1-vote overstatement rate."),
    overstatement_2: float | None = _rate("2-vote overstatement rate."),
    understatement_1: float | None = _rate("1-vote understatement rate."),
    understatement_2: float | None = _rate("2-vote understatement rate."),
    wrong_outcome: bool | None = typer.Option(
        None,
        "--wrong-outcome/--right-outcome",
        help="Make the main contest's CVRs name the wrong winner.",
    ),
    stuffing: float | None = _rate("Share of units with incremental stuffing (Klimek f_i)."),
    extreme_stuffing: float | None = _rate(
        "Share of units with extreme ballot stuffing (Klimek f_e)."
    ),
    transfer: float | None = _rate("Share of units whose count moves votes to the leader."),
    transfer_fraction: float | None = _rate(
        "Share of other choices' votes moved in those units. [default: 0.1]"
    ),
    rounding: float | None = _rate(
        "Share of units whose protocol is rounded to integer percentages."
    ),
    region: list[str] | None = typer.Option(
        None, "--region", help="Restrict manipulations to this region (repeatable), e.g. R02."
    ),
    cvr_format: list[str] | None = typer.Option(
        None, "--cvr-format", help="csv and/or nist (repeatable). [default: both]"
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    stamp: bool = typer.Option(
        False,
        "--stamp",
        help="Record the wall-clock time in bundle.json (output no longer byte-identical).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Simulate an election: manifest, CVRs, unit results, reported totals and the truth.

    Output is byte-identical for the same seed and options, and sealed as an evidence
    bundle (check it with `tallyguard verify DIR`).
    """
    raw: dict[str, Any] = _read_config(config) if config else {}
    _set(raw, "seed", seed)
    for key, value in {
        "units": units,
        "jurisdictions": jurisdictions,
        "regions": regions,
        "mean_electorate": mean_electorate,
        "batch_size": batch_size,
        "discrepancies.overstatement_1": overstatement_1,
        "discrepancies.overstatement_2": overstatement_2,
        "discrepancies.understatement_1": understatement_1,
        "discrepancies.understatement_2": understatement_2,
        "discrepancies.wrong_outcome": wrong_outcome,
        "manipulation.stuffing.incremental_rate": stuffing,
        "manipulation.stuffing.extreme_rate": extreme_stuffing,
        "manipulation.transfer.unit_rate": transfer,
        "manipulation.transfer.fraction": transfer_fraction,
        "manipulation.rounding.unit_rate": rounding,
        "manipulation.regions": region or None,
        "cvr_formats": cvr_format or None,
    }.items():
        _set(raw, key, value)
    parsed = parse_config(raw, source=str(config) if config else "options")
    with steps("simulating", STEPS, enabled=not json_out) as step:
        summary = run_simulation(
            parsed,
            out,
            overwrite=force,
            stamp=stamp,
            inputs=(config,) if config else (),
            on_step=step,
        )
    if json_out:
        emit_json({"out": str(out), **summary})
        return
    show_summary(summary, out)


def show_summary(summary: dict[str, Any], out: Path) -> None:
    """Human summary of a simulated election."""
    stdout.print(
        f"[bold]Simulated election[/] -> {out}\n"
        f"  {summary['units']:,} units, {summary['batches']:,} batches, "
        f"{summary['ballot_cards']:,} ballot cards; "
        f"{summary['manipulated_units']:,} manipulated units"
    )
    table = Table("contest", "reported winners", "true winners", "outcome", "CVR≠paper")
    for entry in summary["contests"]:
        table.add_row(
            entry["contest"],
            ", ".join(entry["reported_winners"]) or "(none)",
            ", ".join(entry["true_winners"]) or "(none)",
            "[green]correct[/]" if entry["outcome_correct"] else "[bold red]WRONG[/]",
            f"{entry['discrepancies']:,}",
        )
    stdout.print(table)
