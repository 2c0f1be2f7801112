"""``tallyguard audit plan | draw | retrieval | record | status | next-round | hand-count |
finish``: the rounds of a stored audit."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.plan_options import PlanOption, plan_round
from tallyguard.audit.workflow.result import AuditResult, HandCount
from tallyguard.cli.audit_common import (
    ActorOption,
    AuditOption,
    DbOption,
    JsonOption,
    actor_name,
    run_on_audit,
    say,
    write_csv,
)
from tallyguard.cli.output import emit_json, stdout
from tallyguard.errors import InputError
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.io.readings import BALLOT_COLUMNS, BATCH_COLUMNS
from tallyguard.store.models import Audit

#: Without --size, a round is sized to finish with this probability.
PROBABILITY = 0.9


def _print_plan(options: list[PlanOption]) -> None:
    table = Table("P(finish this round)", "cumulative sample size", "per targeted contest")
    for option in options:
        per = ", ".join(f"{k}: {v:,}" for k, v in option.per_contest.items())
        table.add_row(f"{option.probability:g}", f"{option.sample_size:,}", escape(per))
    stdout.print(table)
    for note in dict.fromkeys(option.note for option in options):
        stdout.print(f"[dim]{escape(note)}[/]")


def workflow_plan(db: str | None, audit: str | None, reps: int, seed: int, json_out: bool) -> None:
    """``audit plan`` without ``--contest``: options for the stored audit's next round."""
    options = run_on_audit(
        db, audit, lambda s, a: plan_round(service.load_inputs(s, a), reps=reps, seed=seed)
    )
    if json_out:
        emit_json([o.to_json() for o in options])
        return
    _print_plan(options)


def choose_size(
    session: Session,
    row: Audit,
    size: int | None,
    probability: float,
    *,
    reps: int = 1000,
) -> int:
    """``size``, or the planned cumulative size that finishes with ``probability``.

    The plan may keep the sample as it is when the draws so far could suffice; a new
    round still adds at least one draw.
    """
    if size is not None:
        return size
    inputs = service.load_inputs(session, row)
    options = plan_round(inputs, reps=reps)
    eligible = [o for o in options if o.probability >= probability]
    if not eligible:
        raise InputError(
            f"no planned option finishes with probability {probability:g}.",
            field="--probability",
            fix="give the size with --size N.",
        )
    planned = int(min(eligible, key=lambda o: o.probability).sample_size)
    return max(planned, (inputs.rounds[-1] if inputs.rounds else 0) + 1)


def write_round_files(result: AuditResult, round_number: int, out: Path) -> list[Path]:
    """Per jurisdiction: the retrieval list and a readings template for the boards."""
    out.mkdir(parents=True, exist_ok=True)
    drawn = [d for d in result.sample if d.round == round_number]
    contests = [(c.contest, c) for c in result.contests]
    batch = result.kind == "batch"
    written = []
    for jurisdiction in sorted({d.jurisdiction for d in drawn}):
        mine = sorted(
            (d for d in drawn if d.jurisdiction == jurisdiction),
            key=lambda d: (d.container or "", d.tabulator, d.batch_name, d.position),
        )
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in jurisdiction)
        retrieval = out / f"retrieval-round{round_number}-{safe}.csv"
        header = ["Container", "Tabulator", "Batch Name"]
        header += [] if batch else ["Ballot Position", "Imprinted ID"]
        header += ["Ticket Numbers", "Draw"]
        rows: list[list[Any]] = []
        for d in mine:
            row: list[Any] = [d.container or "", d.tabulator, d.batch_name]
            row += [] if batch else [d.position, d.imprinted_id or ""]
            rows.append([*row, d.ticket, d.draw])
        write_csv(retrieval, header, rows)
        template = out / f"readings-round{round_number}-{safe}.csv"
        if batch:
            choices = {c.contest: list(c.totals) for c in result.contests}
            trows = [
                [d.jurisdiction, d.tabulator, d.batch_name, name, choice, ""]
                for d in mine
                for name, _ in contests
                for choice in choices[name]
            ]
            write_csv(template, BATCH_COLUMNS, trows)
        else:
            trows = [
                [d.jurisdiction, d.tabulator, d.batch_name, str(d.position), name, "", ""]
                for d in mine
                for name, _ in contests
            ]
            write_csv(template, BALLOT_COLUMNS, trows)
        written += [retrieval, template]
    return written


def _draw_summary(result: AuditResult, number: int, files: list[Path], json_out: bool) -> None:
    drawn = [d for d in result.sample if d.round == number]
    document = {
        "round": number,
        "sample_size": result.rounds[number - 1].sample_size,
        "new_draws": len(drawn),
        "files": [str(f) for f in files],
    }
    say(
        json_out,
        document,
        f"Round {number}: {len(drawn):,} new draws (sample {document['sample_size']:,} in all). "
        f"Retrieval lists and reading templates:\n"
        + "\n".join(f"  {escape(str(f))}" for f in files),
    )


def draw(
    size: int | None = typer.Option(
        None, "--size", min=1, help="Cumulative sample size. [default: the planned size]"
    ),
    probability: float = typer.Option(
        PROBABILITY, "--probability", help="Without --size: plan to finish with this probability."
    ),
    out: Path = typer.Option(Path("."), "--out", help="Folder for retrieval lists and templates."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Draw round 1 (or the next round) and write per-jurisdiction retrieval lists."""

    def act(session: Session, row: Audit) -> tuple[AuditResult, int]:
        chosen = choose_size(session, row, size, probability)
        round_row = service.start_round(session, row, chosen, actor_name(actor))
        return service.status(session, row), round_row.number

    result, number = run_on_audit(db, audit, act)
    files = write_round_files(result, number, out)
    _draw_summary(result, number, files, json_out)


def retrieval(
    round_number: int | None = typer.Option(
        None, "--round", min=1, help="The round. [default: the latest]"
    ),
    out: Path = typer.Option(Path("."), "--out", help="Folder for retrieval lists and templates."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Write a round's retrieval lists and reading templates again (they change nothing)."""
    result = run_on_audit(db, audit, service.status)
    if not result.rounds:
        raise InputError("no round has been drawn yet.", field="--round",
                         fix="draw one: tallyguard audit draw.")  # fmt: skip
    number = round_number or len(result.rounds)
    if number > len(result.rounds):
        raise InputError(
            f"there is no round {number}; the audit has {len(result.rounds)}.",
            field="--round",
            fix=f"give a round from 1 to {len(result.rounds)}.",
        )
    files = write_round_files(result, number, out)
    _draw_summary(result, number, files, json_out)


def record(
    file: Path = typer.Argument(..., help="Readings CSV (the template draw wrote, filled in)."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Record what the audit boards saw (BLANK, OVERVOTE, NOT FOUND, NOT ON CARD allowed)."""
    summary = run_on_audit(
        db, audit, lambda s, a: service.record_readings(s, a, file, actor_name(actor))
    )
    say(
        json_out,
        summary,
        f"Recorded {summary['readings']:,} readings for round {summary['round']}.",
    )


def next_step(result: AuditResult, state: str) -> str:
    """The engine's next step, unless the stored audit is already finished."""
    if state == "finished" and not result.hand_count:
        return "The audit is finished: every targeted contest met the risk limit."
    if state == "hand_count" and not result.hand_count:
        return (
            "A full hand count is under way: count every ballot card of the audited contests, "
            "then record it (tallyguard audit hand-count --totals FILE)."
        )
    return result.next_step


def print_status(result: AuditResult, state: str) -> None:
    stdout.print(
        f"[bold]{escape(result.name)}[/] ({result.kind}, {result.method}, risk limit "
        f"{result.risk_limit:g}, {state.replace('_', ' ')}), seed {escape(str(result.seed))}"
    )
    table = Table("contest", "targeted", "risk", "confirmed", "audited draws", "notes")
    for c in result.contests:
        table.add_row(
            escape(c.contest),
            "yes" if c.targeted else "opportunistic",
            f"{c.risk:.4g}",
            "[green]yes[/]" if c.confirmed else "[yellow]no[/]",
            f"{c.audited:,}",
            escape("; ".join(c.notes)),
        )
    stdout.print(table)
    assertions = Table("contest", "assertion", "margin", "p-value", "confirmed")
    for a in result.assertions:
        assertions.add_row(escape(a.contest), escape(a.assertion), f"{a.margin:.4%}",
                           f"{a.p_value:.4g}", "yes" if a.confirmed else "no")  # fmt: skip
    stdout.print(assertions)
    if result.discrepancies:
        stdout.print(f"{len(result.discrepancies):,} discrepancies (see the report).")
    stdout.print(f"[bold]Next:[/] {escape(next_step(result, state))}")


def status(
    db: str | None = DbOption, audit: str | None = AuditOption, json_out: bool = JsonOption
) -> None:
    """Risk per contest and assertion, and what to do next."""
    result, state = run_on_audit(db, audit, lambda s, a: (service.status(s, a), a.status))
    if json_out:
        emit_json({**result.to_json(), "state": state, "next_step": next_step(result, state)})
        return
    print_status(result, state)


def next_round(
    size: int | None = typer.Option(
        None, "--size", min=1, help="Cumulative sample size. [default: the planned size]"
    ),
    probability: float = typer.Option(
        PROBABILITY, "--probability", help="Without --size: plan to finish with this probability."
    ),
    out: Path = typer.Option(Path("."), "--out", help="Folder for retrieval lists and templates."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Close the open round; if the risk limit is not met, draw the next round."""

    def act(session: Session, row: Audit) -> tuple[AuditResult, int | None]:
        result = service.finish_round(session, row, actor_name(actor))
        if result.confirmed:
            return result, None
        chosen = choose_size(session, row, size, probability)
        number = service.start_round(session, row, chosen, actor_name(actor)).number
        return service.status(session, row), number

    result, number = run_on_audit(db, audit, act)
    if number is None:
        say(json_out, result.to_json(), "Every targeted contest is confirmed; no round is "
             "needed. Finish with: tallyguard audit finish.")  # fmt: skip
        return
    files = write_round_files(result, number, out)
    _draw_summary(result, number, files, json_out)


def _read_totals(path: Path) -> dict[str, dict[str, int]]:
    table = open_csv(path)
    columns = {name: table.column(name) for name in ("Contest", "Choice", "Votes")}
    totals: dict[str, dict[str, int]] = {}
    for line, row in table.rows():
        contest_name = row[str(columns["Contest"])]
        choice = row[str(columns["Choice"])]
        votes = parse_count(row[str(columns["Votes"])], file=path, line=line, field="Votes")
        if choice in totals.setdefault(contest_name, {}):
            raise InputError(
                f"{choice!r} of {contest_name!r} appears twice.", file=path, line=line,
                field="Choice", fix="give each choice one row.",
            )  # fmt: skip
        totals[contest_name][choice] = votes
    return totals


def hand_count(
    totals: Path | None = typer.Option(
        None, "--totals", help="The full hand count's totals: Contest, Choice, Votes (CSV)."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Escalate to a full hand count, then (with --totals) record its result."""

    def act(session: Session, row: Audit) -> tuple[str, tuple[HandCount, ...]]:
        if row.status == "sampling":
            service.start_hand_count(session, row, actor_name(actor))
        if totals is None:
            return row.status, ()
        return row.status, service.record_hand_count(
            session, row, _read_totals(totals), actor_name(actor)
        )

    state, outcome = run_on_audit(db, audit, act)
    if totals is None:
        say(
            json_out,
            {"status": state},
            "Full hand count started: count every ballot card of the audited contests, "
            "then: tallyguard audit hand-count --totals FILE.",
        )
        return
    lines = [
        f"  {escape(h.contest)}: {escape(', '.join(h.winners))} "
        + ("(as reported)" if h.outcome_as_reported else "[bold red](NOT as reported)[/]")
        for h in outcome
    ]
    say(
        json_out,
        [asdict(h) for h in outcome],
        "Hand count recorded; it decides the outcome:\n" + "\n".join(lines),
    )


def finish(
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Finish the audit (every targeted contest confirmed, or the hand count recorded)."""
    payload = run_on_audit(db, audit, lambda s, a: service.finish_audit(s, a, actor_name(actor)))
    say(json_out, payload, f"Audit finished ({payload['by']}).")
