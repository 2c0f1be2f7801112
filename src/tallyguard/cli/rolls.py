"""``tallyguard rolls``: list maintenance by record linkage, with honest error rates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tallyguard.cli.output import emit_json, stdout
from tallyguard.errors import InputError
from tallyguard.report.rolls_bundle import run_and_write
from tallyguard.rolls.linkage import Engine
from tallyguard.rolls.load import parse_column_options
from tallyguard.rolls.pipeline import NAIVE_RULE, Mode, RollsRun, RollsSettings

app = typer.Typer(
    help=(
        "Voter-roll list maintenance: duplicate registrations, links across jurisdictions, "
        "deceased registrants and third-party claims, scored by a probabilistic model with "
        "the number of false and chance matches to expect. Every pair is a lead for "
        "review: the next step is a notice, never a removal."
    ),
    no_args_is_help=True,
)

COLUMN_HELP = (
    "canonical=source: read a canonical column (voter_id, first_name, middle_name, last_name, "
    "suffix, dob, sex, address, city, zip, county, registration_date; record_id and "
    "date_of_death for deaths; claim_id for claims) from another column of the first list. "
    "Repeatable."
)
OTHER_COLUMN_HELP = "Column mapping of the second list (as --column). [default: --column]"


def _settings(
    mode: Mode,
    *,
    threshold: float,
    seed: int,
    engine: str,
    show_pii: bool,
    day_first: bool,
    election_date: str | None,
    as_of: str | None,
    columns: list[list[str]],
    review: Path | None = None,
    chance_rule: str = ",".join(NAIVE_RULE),
) -> RollsSettings:
    if engine not in ("duckdb", "spark"):
        raise InputError(f"unknown engine {engine!r}", field="--engine", fix="duckdb or spark")
    election = _date(election_date, "--election-date")
    today = _date(as_of, "--as-of") or (dt.date.today() if election is not None else None)
    mappings = [parse_column_options(items) for items in columns]
    if mode == "link" and not mappings[1]:
        mappings[1] = mappings[0]
    engine_name: Engine = "spark" if engine == "spark" else "duckdb"
    return RollsSettings(
        mode=mode,
        threshold=threshold,
        seed=seed,
        engine=engine_name,
        show_pii=show_pii,
        day_first=day_first,
        election_date=election,
        as_of=today,
        columns=tuple(mappings),
        chance_rule=tuple(part.strip() for part in chance_rule.split(",") if part.strip()),
        review=None if review is None else str(review),
    )


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date", field=option, fix="write YYYY-MM-DD") from None


def _command(mode: Mode) -> str:
    return f"tallyguard rolls {mode}"


THRESHOLD = typer.Option(
    0.95, "--threshold", min=0.5, max=0.999999, help="Match-probability cut for a lead."
)
SEED = typer.Option(1, "--seed", help="Seed of the model's random sampling of pairs.")
ENGINE = typer.Option(
    "duckdb",
    "--engine",
    help="duckdb (one machine, up to ~10 M records) or spark (needs tallyguard[spark], Java).",
)
SHOW_PII = typer.Option(
    False, "--show-pii", help="Show full dates of birth in the report and leads.csv."
)
DAY_FIRST = typer.Option(False, "--day-first", help="Read ambiguous dates as day/month/year.")
ELECTION = typer.Option(
    None,
    "--election-date",
    help="Next federal election (YYYY-MM-DD): inside the NVRA 90-day quiet period no "
    "list-maintenance export is written.",
)
AS_OF = typer.Option(None, "--as-of", help="The date the export is made. [default: today]")
OUT = typer.Option(None, "--out", help="Write leads.csv, report.html and the evidence bundle here.")
FORCE = typer.Option(False, "--force", help="Replace an existing --out directory.")
JSON = typer.Option(False, "--json", help="Print the JSON summary on stdout.")
DEFAULT_RULE = ",".join(NAIVE_RULE)
REVIEW = typer.Option(
    None,
    "--review",
    help="A clerical-review sample (CSV: id_l, id_r, is_match): the observed false matches "
    "among the reviewed leads are compared with the model's expected count.",
)
CHANCE_RULE = typer.Option(
    DEFAULT_RULE,
    "--chance-rule",
    help="The matching rule whose chance coincidences are counted: fields that must agree "
    "(first_name, last_name, middle_name, ..., dob, birth_year, birth_month_day).",
)


def _finish(run: RollsRun, out: Path | None, json_output: bool) -> None:
    summary = run.summary()
    if json_output:
        emit_json(summary)
        return
    _print(summary)
    if out is not None:
        stdout.print(
            f"leads: {out / 'leads.csv'}   report: {out / 'report.html'}   "
            f"bundle: {out / 'bundle.json'}"
        )


def _print(summary: dict[str, Any]) -> None:
    table = Table(title=f"rolls {summary['mode']}: leads for review")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("interval (95 %)", justify="right")
    low, high = summary["false_match_interval"]
    table.add_row(f"leads at p >= {summary['threshold']}", str(summary["pairs_flagged"]), "")
    table.add_row("set aside by exclusion rules", str(summary["pairs_excluded"]), "")
    table.add_row(
        "expected false matches among the leads, sum(1 - p)",
        f"{summary['expected_false_matches']:.2f}",
        f"{low}-{high}",
    )
    low, high = summary["chance_interval"]
    table.add_row("pairs the naive first+last+dob rule finds", str(summary["naive_rule_pairs"]), "")
    table.add_row(
        "  of which expected by chance (different people)",
        f"{summary['expected_chance_matches']:.2f}",
        f"{low}-{high}",
    )
    if "claims" in summary:
        claims = summary["claims"]
        lo, hi = claims["coincidence_interval"]
        table.add_row("claims", str(claims["claims"]), "")
        table.add_row("  with a naive match on the roll", str(claims["with_naive_match"]), "")
        table.add_row("  supported by the model", str(claims["supported_by_model"]), "")
        table.add_row(
            "  expected coincidences (claims naming nobody on the roll)",
            f"{claims['expected_coincidences']:.2f}",
            f"{lo}-{hi}",
        )
    stdout.print(table)
    if summary["quiet_period"]:
        stdout.print(f"[yellow]{summary['quiet_period']}[/]")
    stdout.print(
        "Every pair is a lead for review; recommended step: " + "; ".join(summary["steps"])
    )


@app.command("dedupe")
def dedupe(
    voters: Path = typer.Argument(..., help="Voter file: CSV, CSV.gz or Parquet."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    threshold: float = THRESHOLD,
    seed: int = SEED,
    engine: str = ENGINE,
    show_pii: bool = SHOW_PII,
    day_first: bool = DAY_FIRST,
    election_date: str | None = ELECTION,
    as_of: str | None = AS_OF,
    out: Path | None = OUT,
    force: bool = FORCE,
    json_output: bool = JSON,
    review: Path | None = REVIEW,
    chance_rule: str = CHANCE_RULE,
) -> None:
    """Duplicate registrations within one voter file."""
    settings = _settings(
        "dedupe",
        threshold=threshold,
        seed=seed,
        engine=engine,
        show_pii=show_pii,
        day_first=day_first,
        election_date=election_date,
        as_of=as_of,
        columns=[column],
        review=review,
        chance_rule=chance_rule,
    )
    run = run_and_write([voters], settings, out, command=_command("dedupe"), overwrite=force)
    _finish(run, out, json_output)


def _two_lists(
    mode: Mode,
    first: Path,
    second: Path,
    column: list[str],
    other_column: list[str],
    **options: Any,
) -> None:
    out, force, json_output = options.pop("out"), options.pop("force"), options.pop("json_output")
    settings = _settings(mode, columns=[column, other_column], **options)
    run = run_and_write([first, second], settings, out, command=_command(mode), overwrite=force)
    _finish(run, out, json_output)


@app.command("link")
def link_lists(
    left: Path = typer.Argument(..., help="First voter file."),
    right: Path = typer.Argument(..., help="Second voter file (another jurisdiction)."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    other_column: list[str] = typer.Option([], "--column-right", help=OTHER_COLUMN_HELP),
    threshold: float = THRESHOLD,
    seed: int = SEED,
    engine: str = ENGINE,
    show_pii: bool = SHOW_PII,
    day_first: bool = DAY_FIRST,
    election_date: str | None = ELECTION,
    as_of: str | None = AS_OF,
    out: Path | None = OUT,
    force: bool = FORCE,
    json_output: bool = JSON,
    review: Path | None = REVIEW,
    chance_rule: str = CHANCE_RULE,
) -> None:
    """Registrations in two jurisdictions' files that may be one person."""
    _two_lists(
        "link", left, right, column, other_column, threshold=threshold, seed=seed,
        engine=engine, show_pii=show_pii, day_first=day_first, election_date=election_date,
        as_of=as_of, out=out, force=force, json_output=json_output, review=review,
        chance_rule=chance_rule,
    )  # fmt: skip


@app.command("deceased")
def deceased(
    voters: Path = typer.Argument(..., help="Voter file."),
    deaths: Path = typer.Argument(..., help="Death records: record_id, names, dob, date_of_death."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    other_column: list[str] = typer.Option(
        [], "--column-deaths", help="Column mapping of the death records (as --column)."
    ),
    threshold: float = THRESHOLD,
    seed: int = SEED,
    engine: str = ENGINE,
    show_pii: bool = SHOW_PII,
    day_first: bool = DAY_FIRST,
    election_date: str | None = ELECTION,
    as_of: str | None = AS_OF,
    out: Path | None = OUT,
    force: bool = FORCE,
    json_output: bool = JSON,
    review: Path | None = REVIEW,
    chance_rule: str = CHANCE_RULE,
) -> None:
    """Registrants who may be deceased, by linking the roll to death records."""
    _two_lists(
        "deceased", voters, deaths, column, other_column, threshold=threshold, seed=seed,
        engine=engine, show_pii=show_pii, day_first=day_first, election_date=election_date,
        as_of=as_of, out=out, force=force, json_output=json_output, review=review,
        chance_rule=chance_rule,
    )  # fmt: skip


@app.command("check-claims")
def check_claims(
    claims: Path = typer.Argument(
        ..., help="A third party's list of allegedly ineligible or double voters."
    ),
    roll: Path = typer.Option(..., "--roll", help="The voter file the claims are about."),
    column: list[str] = typer.Option([], "--column", "-c", help=COLUMN_HELP),
    other_column: list[str] = typer.Option(
        [], "--column-roll", help="Column mapping of the roll (as --column)."
    ),
    threshold: float = THRESHOLD,
    seed: int = SEED,
    engine: str = ENGINE,
    show_pii: bool = SHOW_PII,
    day_first: bool = DAY_FIRST,
    out: Path | None = OUT,
    force: bool = FORCE,
    json_output: bool = JSON,
    review: Path | None = REVIEW,
    chance_rule: str = CHANCE_RULE,
) -> None:
    """Per claim, the evidence on the roll for and against it, and the coincidences to expect."""
    _two_lists(
        "check-claims", claims, roll, column, other_column, threshold=threshold, seed=seed,
        engine=engine, show_pii=show_pii, day_first=day_first, election_date=None,
        as_of=None, out=out, force=force, json_output=json_output, review=review,
        chance_rule=chance_rule,
    )  # fmt: skip
