"""``tallyguard audit ...``: the statistics of risk-limiting audits from the command line."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.measure import AuditKind, assertion_values, check_risk_limit, measure_risk
from tallyguard.audit.plan import (
    ErrorRates,
    bravo_asn,
    km_expected_sample_size,
    next_round_size,
    plan_contest,
)
from tallyguard.audit.plan.batch import plan_macro
from tallyguard.audit.sampling import sample_manifest
from tallyguard.cli import audit_records, audit_rounds, audit_setup
from tallyguard.cli.audit_common import AuditOption, DbOption
from tallyguard.cli.output import emit_json, stdout
from tallyguard.errors import InputError
from tallyguard.io.atomic import write_file_atomically
from tallyguard.io.audit_contest import read_audit_contest
from tallyguard.io.audited import read_audited
from tallyguard.io.batch_tallies import join_manifest, read_batch_tallies
from tallyguard.io.manifest import read_manifest

app = typer.Typer(
    help="Risk-limiting audits. A stored audit runs init, add-jurisdiction, manifest, cvrs or "
    "batch-tallies, contest, seed, plan, draw, record, status, next-round (or hand-count), "
    "finish, report and export (docs/audit-workflow.md). sample, plan --contest and risk "
    "are the same statistics without a database.",
    no_args_is_help=True,
)

KIND_HELP = "polling (no CVRs) or comparison (ballot-level, against CVRs)."
PLAN_KIND_HELP = KIND_HELP.removesuffix(".") + ", or batch (MACRO, against batch tallies)."
SHOWN = 25


def _kind(value: str) -> str:
    if value not in ("polling", "comparison"):
        raise InputError(
            f"unknown audit kind {value!r}.", field="--kind", fix="use polling or comparison."
        )
    return value


def _write_csv_atomically(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_file_atomically(path, buffer.getvalue().encode("utf-8"))


@app.command("sample")
def sample(
    manifest: Path = typer.Option(..., "--manifest", help="Ballot manifest CSV (Arlo's headers)."),
    seed: str = typer.Option(..., "--seed", help="The public random seed (e.g. 20 dice digits)."),
    size: int = typer.Option(..., "--size", min=0, help="Number of draws."),
    with_replacement: bool = typer.Option(
        False, "--with-replacement", help="Draw with replacement (a card may come up twice)."
    ),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Jurisdiction name for a manifest without that column."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the draws to this CSV."),
    json_out: bool = typer.Option(False, "--json", help="Print the draws as JSON."),
) -> None:
    """Draw ballot cards with Rivest's consistent sampler (as Arlo does), in draw order.

    Anyone with the manifest and the seed gets the same tickets: each card's id is
    ((jurisdiction, batch), position) and its ticket comes from SHA-256 of the seed and id.
    """
    batches = read_manifest(manifest, jurisdiction)
    draws = [
        asdict(d) for d in sample_manifest(batches, seed, size, with_replacement=with_replacement)
    ]
    columns = ["ticket", "jurisdiction", "batch_name", "position", "times_sampled"]
    if out is not None:
        _write_csv_atomically(out, draws, columns)
    if json_out:
        emit_json(draws)
        return
    table = Table(*columns, title=f"{len(draws):,} draws from {manifest.name}")
    for row in draws[:SHOWN]:
        table.add_row(*(escape(str(row[c])) for c in columns))
    stdout.print(table)
    if len(draws) > SHOWN:
        stdout.print(f"... {len(draws) - SHOWN:,} more; use --out FILE.csv or --json for all.")


@app.command("risk")
def risk(
    contest: Path = typer.Option(..., "--contest", help="Contest JSON (or a contests.json)."),
    name: str | None = typer.Option(None, "--name", help="Contest name within a contests.json."),
    audited: Path = typer.Option(..., "--audited", help="Audited ballots CSV, in draw order."),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    method: str | None = typer.Option(
        None,
        "--method",
        help="bravo or alpha (polling); alpha, betting or kaplan-markov (comparison). "
        "[default: alpha, which needs the fewest ballots on average at Arlo's error rates]",
    ),
    risk_limit: float = typer.Option(0.05, "--risk-limit", help="Risk limit as a fraction."),
    with_replacement: bool = typer.Option(
        False, "--with-replacement", help="The sample was drawn with replacement."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Measure the risk: the largest sequential p-value over the contest's assertions.

    The outcome is confirmed when the risk is at most the risk limit; otherwise audit more
    ballots or count them all by hand.
    """
    audit_kind: AuditKind = "polling" if _kind(kind) == "polling" else "comparison"
    reported = read_audit_contest(contest, name)
    sample = read_audited(audited, reported.contest, comparison=audit_kind == "comparison")
    report = measure_risk(
        reported,
        sample,
        kind=audit_kind,
        method=method,
        risk_limit=risk_limit,
        with_replacement=with_replacement,
    )
    if json_out:
        emit_json(report.to_json())
        return
    verdict = "[bold green]CONFIRMED[/]" if report.confirmed else "[bold yellow]not confirmed[/]"
    stdout.print(
        f"[bold]{escape(report.contest)}[/]: risk {report.risk:.4g} vs limit {report.risk_limit:g} "
        f"-> {verdict} ({report.kind}, {report.method}, {report.sample_size:,} of "
        f"{report.population:,} cards{', with replacement' if report.with_replacement else ''})"
    )
    table = Table("assertion", "margin", "p-value", "confirmed")
    for row in report.assertions:
        table.add_row(
            escape(row.assertion),
            f"{row.margin:.4%}",
            f"{row.p_value:.4g}",
            "yes" if row.confirmed else "no",
        )
    stdout.print(table)
    for note in report.notes:
        stdout.print(f"[yellow]note:[/] {escape(note)}")
    if not report.confirmed:
        stdout.print(
            "Not confirmed: audit more ballots (tallyguard audit plan) or count all by hand."
        )


@app.command("plan")
def plan(
    contest: Path | None = typer.Option(
        None,
        "--contest",
        help="Contest JSON (or a contests.json). Without it: plan the stored audit's next round.",
    ),
    name: str | None = typer.Option(None, "--name", help="Contest name within a contests.json."),
    kind: str | None = typer.Option(None, "--kind", help=PLAN_KIND_HELP),
    risk_limit: float = typer.Option(0.05, "--risk-limit", help="Risk limit as a fraction."),
    o1: float = typer.Option(
        0.001, "--o1", min=0.0, max=1.0, help="Expected 1-vote overstatement rate (comparison)."
    ),
    o2: float = typer.Option(
        0.0001, "--o2", min=0.0, max=1.0, help="Expected 2-vote overstatement rate (comparison)."
    ),
    u1: float = typer.Option(
        0.001, "--u1", min=0.0, max=1.0, help="Expected 1-vote understatement rate (comparison)."
    ),
    u2: float = typer.Option(
        0.0001, "--u2", min=0.0, max=1.0, help="Expected 2-vote understatement rate (comparison)."
    ),
    reps: int = typer.Option(1000, "--reps", min=100, help="Simulated audits per method."),
    seed: int = typer.Option(0, "--seed", help="Seed of the planning simulation."),
    with_replacement: bool = typer.Option(
        False, "--with-replacement", help="Plan for sampling with replacement."
    ),
    batch_tallies: Path | None = typer.Option(
        None, "--batch-tallies", help="Batch audits: reported totals by batch (Arlo's CSV)."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Batch audits: the ballot manifest (ballots per batch)."
    ),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Jurisdiction name for files without that column."
    ),
    audited: Path | None = typer.Option(
        None, "--audited", help="Audited ballots so far: plan the next round from them."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Sample sizes that finish in one round with probability 0.5 / 0.7 / 0.9.

    Without --contest: the options for the stored audit's next round (--db, --audit),
    the largest size over its targeted contests at each probability. With --contest:
    every method for one contest, without a database.

    Sizes come from seeded simulation (each with its Monte-Carlo standard error), beside the
    closed forms the references use (BRAVO ASN; Kaplan-Markov as Arlo). They are estimates
    for planning, not guarantees: the risk measured on the real sample decides.
    """
    if contest is None:
        audit_rounds.workflow_plan(db, audit, reps, seed, json_out)
        return
    if kind is None:
        raise InputError("--kind is needed with --contest.", field="--kind", fix=PLAN_KIND_HELP)
    if kind == "batch":
        check_risk_limit(risk_limit)
        _plan_batch(contest, name, batch_tallies, manifest, jurisdiction, risk_limit, json_out)
        return
    audit_kind: AuditKind = "polling" if _kind(kind) == "polling" else "comparison"
    check_risk_limit(risk_limit)
    reported = read_audit_contest(contest, name)
    assertions = make_assertions(reported.contest, reported.totals, reported.ballots)
    rates = ErrorRates(o1=o1, o2=o2, u1=u1, u2=u2)
    options: dict[str, Any] = {
        "kind": audit_kind,
        "totals": reported.totals,
        "rates": rates,
        "alpha": risk_limit,
        "reps": reps,
        "seed": seed,
        "replace": with_replacement,
    }
    if audited is None:
        rows = plan_contest(assertions, **options)
    else:  # the next round, continuing from what the audit boards saw so far
        sample = read_audited(audited, reported.contest, comparison=audit_kind == "comparison")
        observed = [assertion_values(a, sample, audit_kind) for a in assertions]
        rows = next_round_size(assertions, observed, **options)
    closest = min((a for a in assertions), key=lambda a: a.margin)
    closed: dict[str, float | None] = {}
    if closest.can_confirm and closest.assorter.loser is not None:
        if audit_kind == "polling":
            shares = reported.totals
            valid = shares[closest.assorter.winner] + shares[closest.assorter.loser]
            pair_margin = (shares[closest.assorter.winner] - shares[closest.assorter.loser]) / valid
            # findAsn counts ballots voting for the pair; scale to all cards.
            closed["bravo_asn"] = bravo_asn(pair_margin, risk_limit) * reported.ballots / valid
        else:
            closed["kaplan_markov_expected"] = km_expected_sample_size(
                closest.margin, risk_limit, rates
            )
    document = {
        "contest": reported.contest.name,
        "kind": audit_kind,
        "risk_limit": risk_limit,
        "ballots": reported.ballots,
        "smallest_margin": closest.margin,
        "rates": asdict(rates) if audit_kind == "comparison" else None,
        "closed_form": closed,
        "already_audited": rows[0].already_drawn,
        "methods": [{**asdict(row), "next_round": list(row.next_round)} for row in rows],
    }
    if json_out:
        emit_json(document)
        return
    stdout.print(
        f"[bold]{escape(reported.contest.name)}[/]: {audit_kind} audit, risk limit {risk_limit:g}, "
        f"{reported.ballots:,} cards, smallest margin {closest.margin:.3%}"
    )
    title = "cards to audit in round 1"
    if rows[0].already_drawn:
        title = f"cards in all, including the {rows[0].already_drawn:,} already audited"
    table = Table(
        "method", *(f"P(finish)≥{q:g}" for q in rows[0].quantiles), "expected", title=title
    )
    for row in rows:
        cells = [
            "full hand count" if full else f"{size:,} ±{se:.0f}"
            for size, se, full in zip(row.sizes, row.size_se, row.full_hand_count, strict=True)
        ]
        table.add_row(row.method, *cells, f"{row.expected:,.0f} ±{row.expected_se:.0f}")
    stdout.print(table)
    for label, value in closed.items():
        if value is not None:
            stdout.print(f"closed form {label.replace('_', ' ')}: {value:,.1f}")
    stdout.print(
        f"[dim]{rows[0].reps:,} simulated audits per method, seed {seed}; "
        "± is the Monte-Carlo SE.[/]"
    )


def _plan_batch(
    contest: Path,
    name: str | None,
    batch_tallies: Path | None,
    manifest: Path | None,
    jurisdiction: str | None,
    risk_limit: float,
    json_out: bool,
) -> None:
    """MACRO batch-comparison plan: draws, batches and ballots when the count is right."""
    if batch_tallies is None or manifest is None:
        raise InputError(
            "a batch audit plan needs the reported totals by batch and the manifest.",
            field="--kind",
            fix="pass --batch-tallies FILE.csv and --manifest FILE.csv.",
        )
    reported = read_audit_contest(contest, name)
    batches = read_manifest(manifest, jurisdiction)
    tallies = read_batch_tallies(batch_tallies, reported.contest.choices, jurisdiction)
    table, ballots, _ = join_manifest(tallies, batches, tallies_file=batch_tallies)
    totals = dict(zip(reported.contest.choices, table.sum(axis=0).tolist(), strict=True))
    if totals != {c: reported.totals[c] for c in reported.contest.choices}:
        raise InputError(
            f"the batch tallies add up to {totals}, but the contest reports {reported.totals}.",
            file=batch_tallies,
            fix="use the tallies and the contest totals of the same canvass.",
        )
    assertions = make_assertions(reported.contest, totals, int(ballots.sum()))
    result = plan_macro(assertions, table, ballots, alpha=risk_limit)
    document = {"contest": reported.contest.name, "kind": "batch", "method": "macro",
                "risk_limit": risk_limit, **asdict(result)}  # fmt: skip
    if json_out:
        emit_json(document)
        return
    if not math.isfinite(result.draws):
        stdout.print(f"[bold]{escape(reported.contest.name)}[/]: the batch tallies show no "
                     "positive margin; only a full hand count can confirm it.")  # fmt: skip
        return
    stdout.print(
        f"[bold]{escape(reported.contest.name)}[/]: batch comparison (MACRO, PPEB), risk limit "
        f"{risk_limit:g}: {result.draws:,.0f} draws; expected {result.expected_batches:,.1f} of "
        f"{result.batches:,} batches and {result.expected_ballots:,.0f} of {result.ballots:,} "
        "ballots to count by hand, if the batch tallies are right (discrepancies add draws)."
    )


for _name, _command in (
    ("init", audit_setup.init),
    ("add-jurisdiction", audit_setup.add_jurisdiction),
    ("manifest", audit_setup.manifest),
    ("cvrs", audit_setup.cvrs),
    ("batch-tallies", audit_setup.batch_tallies),
    ("contest", audit_setup.contest),
    ("seed", audit_setup.seed),
    ("draw", audit_rounds.draw),
    ("retrieval", audit_rounds.retrieval),
    ("record", audit_rounds.record),
    ("status", audit_rounds.status),
    ("next-round", audit_rounds.next_round),
    ("hand-count", audit_rounds.hand_count),
    ("finish", audit_rounds.finish),
    ("log", audit_records.log),
    ("export", audit_records.export),
    ("report", audit_records.report),
):
    app.command(_name)(_command)
