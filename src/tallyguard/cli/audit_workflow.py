"""``tallyguard audit init | add-jurisdiction | manifest | ... | finish``: the stored audit.

Every command opens the store (``--db`` / ``TALLYGUARD_DB``, SQLite file
``tallyguard.db`` by default), runs inside one transaction and appends its event
to the audit's hash-chained log; the command either happens entirely or not at all.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.export import export_audit
from tallyguard.audit.workflow.plan_options import PlanOption, plan_round
from tallyguard.audit.workflow.result import AuditResult, HandCount
from tallyguard.cli.output import emit_json, stdout
from tallyguard.errors import Discrepancy, InputError, VerificationError
from tallyguard.evidence.chain import ChainRecord
from tallyguard.io.atomic import write_file_atomically
from tallyguard.io.csvfile import open_csv, parse_count
from tallyguard.io.readings import BALLOT_COLUMNS, BATCH_COLUMNS
from tallyguard.report.audit_csv import write_report_files
from tallyguard.store.db import Store, resolve_url
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Audit

T = TypeVar("T")

DB_HELP = (
    "Database: a SQLite file or a postgresql:// URL. [default: $TALLYGUARD_DB or tallyguard.db]"
)
AUDIT_HELP = "The audit's name (needed only when the database holds several)."
JSON_HELP = "Print the result as JSON."
PROBABILITY = 0.9

DbOption = typer.Option(None, "--db", help=DB_HELP)
AuditOption = typer.Option(None, "--audit", help=AUDIT_HELP)
JsonOption = typer.Option(False, "--json", help=JSON_HELP)
ActorOption = typer.Option(
    None, "--actor", help="Who does this, for the event log. [default: the login name]"
)


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name
        return "unknown"


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    with Store.open(resolve_url(db)) as store, store.transaction() as session:
        yield session


def _run(db: str | None, audit: str | None, action: Callable[[Session, Audit], T]) -> T:
    with _session(db) as session:
        return action(session, service.find_audit(session, audit))


def _write_csv(path: Path, header: tuple[str, ...] | list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_file_atomically(path, buffer.getvalue().encode("utf-8"))


def _say(json_out: bool, document: Any, text: str) -> None:
    if json_out:
        emit_json(document)
    else:
        stdout.print(text)


def init(
    name: str = typer.Option(..., "--name", help="A name for the audit."),
    election: str = typer.Option(..., "--election", help="The election audited."),
    kind: str = typer.Option(
        ..., "--kind", help="polling, comparison (ballot-level, against CVRs) or batch."
    ),
    risk_limit: float = typer.Option(0.05, "--risk-limit", help="Risk limit as a fraction."),
    method: str | None = typer.Option(
        None, "--method", help="Risk function. [default: alpha for every kind]"
    ),
    db: str | None = DbOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Create an audit: election, risk limit and kind."""
    with _session(db) as session:
        row = service.create_audit(
            session,
            name=name,
            election=election,
            kind=kind,
            risk_limit=risk_limit,
            method=method,
            actor=_actor(actor),
        )
        document = {"audit": row.name, "kind": row.kind, "risk_limit": row.risk_limit,
                    "method": row.method}  # fmt: skip
    _say(
        json_out,
        document,
        f"Created {kind} audit [bold]{escape(name)}[/] (risk limit {risk_limit:g}, "
        f"method {document['method']}). Next: add jurisdictions.",
    )


def add_jurisdiction(
    names: list[str] = typer.Argument(..., help="Jurisdiction names (e.g. counties)."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Add jurisdictions that hold ballots of the audited contests."""

    def act(session: Session, row: Audit) -> None:
        for name in names:
            service.add_jurisdiction(session, row, name, _actor(actor))

    _run(db, audit, act)
    _say(
        json_out,
        {"added": names},
        f"Added {len(names)} jurisdiction(s): {escape(', '.join(names))}.",
    )


def manifest(
    file: Path = typer.Argument(..., help="Ballot manifest CSV (Arlo or ColoradoRLA layout)."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file has no Jurisdiction column)."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or, before the seed, replace) ballot manifests."""
    summary = _run(
        db, audit, lambda s, a: service.load_manifest(s, a, file, jurisdiction, _actor(actor))
    )
    lines = [
        f"  {escape(n)}: {v['batches']:,} batches, {v['ballots']:,} cards"
        for n, v in summary.items()
    ]
    _say(json_out, summary, "Loaded manifest:\n" + "\n".join(lines))


def cvrs(
    file: Path = typer.Argument(..., help="CVR export (any format tallyguard inspect reads)."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file names none)."
    ),
    format: str = typer.Option("auto", "--format", help="CVR format, or auto to detect it."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or replace) cast vote records; every card must match its manifest batch."""
    summary = _run(
        db, audit, lambda s, a: service.load_cvrs(s, a, file, jurisdiction, format, _actor(actor))
    )
    lines = [f"  {escape(n)}: {v['cvrs']:,} CVRs" for n, v in summary.items()]
    _say(json_out, summary, "Loaded CVRs:\n" + "\n".join(lines))


def batch_tallies(
    file: Path = typer.Argument(
        ..., help="Reported votes per batch: Batch Name + a column per choice."
    ),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="Its jurisdiction (if the file has no Jurisdiction column)."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Load (or replace) the reported votes of every batch (batch audits)."""
    summary = _run(
        db, audit, lambda s, a: service.load_batch_tallies(s, a, file, jurisdiction, _actor(actor))
    )
    lines = [f"  {escape(n)}: {v['rows']:,} batches" for n, v in summary.items()]
    _say(json_out, summary, "Loaded batch tallies:\n" + "\n".join(lines))


def contest(
    contests: Path = typer.Option(..., "--contests", help="contests.json with reported results."),
    names: list[str] = typer.Option(..., "--name", help="Contest name (repeat for several)."),
    opportunistic: bool = typer.Option(
        False,
        "--opportunistic",
        help="Measure it from the same sample without letting it drive the sample size.",
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Add contests to audit: targeted (default) or opportunistic."""

    def act(session: Session, row: Audit) -> list[str]:
        return [
            service.add_contest(
                session, row, contests, name, targeted=not opportunistic, actor=_actor(actor)
            ).contest.name
            for name in names
        ]

    added = _run(db, audit, act)
    what = "opportunistic" if opportunistic else "targeted"
    _say(json_out, {"added": added, "targeted": not opportunistic},
         f"Added {what} contest(s): {escape(', '.join(added))}.")  # fmt: skip


def seed(
    digits: str = typer.Argument(..., help="The public random seed: 20 digits from a dice roll."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    actor: str | None = ActorOption,
    json_out: bool = JsonOption,
) -> None:
    """Set the public seed. From now on manifests, CVRs and contests cannot change."""
    payload = _run(db, audit, lambda s, a: service.set_seed(s, a, digits, _actor(actor)))
    lines = [f"  {name}: {digest}" for name, digest in payload["inputs"].items()]
    _say(
        json_out,
        payload,
        f"Seed {digits} set; the inputs are frozen. Publish these digests:\n" + "\n".join(lines),
    )


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
    options = _run(
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
        _write_csv(retrieval, header, rows)
        template = out / f"readings-round{round_number}-{safe}.csv"
        if batch:
            choices = {c.contest: list(c.totals) for c in result.contests}
            trows = [
                [d.jurisdiction, d.tabulator, d.batch_name, name, choice, ""]
                for d in mine
                for name, _ in contests
                for choice in choices[name]
            ]
            _write_csv(template, BATCH_COLUMNS, trows)
        else:
            trows = [
                [d.jurisdiction, d.tabulator, d.batch_name, str(d.position), name, "", ""]
                for d in mine
                for name, _ in contests
            ]
            _write_csv(template, BALLOT_COLUMNS, trows)
        written += [retrieval, template]
    return written


def _draw_summary(result: AuditResult, number: int, files: list[Path], json_out: bool) -> None:
    drawn = [d for d in result.sample if d.round == number]
    document = {
        "round": number,
        "sample_size": result.rounds[-1].sample_size,
        "new_draws": len(drawn),
        "files": [str(f) for f in files],
    }
    _say(
        json_out,
        document,
        f"Round {number}: {len(drawn):,} new draws (sample now {document['sample_size']:,}). "
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
        round_row = service.start_round(session, row, chosen, _actor(actor))
        return service.status(session, row), round_row.number

    result, number = _run(db, audit, act)
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
    summary = _run(db, audit, lambda s, a: service.record_readings(s, a, file, _actor(actor)))
    _say(
        json_out,
        summary,
        f"Recorded {summary['readings']:,} readings for round {summary['round']}.",
    )


def print_status(result: AuditResult) -> None:
    stdout.print(
        f"[bold]{escape(result.name)}[/] ({result.kind}, {result.method}, risk limit "
        f"{result.risk_limit:g}), seed {escape(str(result.seed))}"
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
    stdout.print(f"[bold]Next:[/] {escape(result.next_step)}")


def status(
    db: str | None = DbOption, audit: str | None = AuditOption, json_out: bool = JsonOption
) -> None:
    """Risk per contest and assertion, and what to do next."""
    result = _run(db, audit, service.status)
    if json_out:
        emit_json(result.to_json())
        return
    print_status(result)


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
        result = service.finish_round(session, row, _actor(actor))
        if result.confirmed:
            return result, None
        chosen = choose_size(session, row, size, probability)
        number = service.start_round(session, row, chosen, _actor(actor)).number
        return service.status(session, row), number

    result, number = _run(db, audit, act)
    if number is None:
        _say(json_out, result.to_json(), "Every targeted contest is confirmed; no round is "
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
            service.start_hand_count(session, row, _actor(actor))
        if totals is None:
            return row.status, ()
        return row.status, service.record_hand_count(
            session, row, _read_totals(totals), _actor(actor)
        )

    state, outcome = _run(db, audit, act)
    if totals is None:
        _say(
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
    _say(
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
    payload = _run(db, audit, lambda s, a: service.finish_audit(s, a, _actor(actor)))
    _say(json_out, payload, f"Audit finished ({payload['by']}).")


def log(
    verify: bool = typer.Option(
        False, "--verify", help="Check the hash chain: any edited, deleted or reordered event."
    ),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Show the audit's event log; with --verify, check its hash chain (exit 3 if broken)."""

    def act(session: Session, row: Audit) -> tuple[list[ChainRecord], list[str]]:
        chain = load_chain(session, row.id)
        return chain, (verify_log(session, row.id) if verify else [])

    chain, problems = _run(db, audit, act)
    if json_out:
        emit_json({"events": [asdict(e) for e in chain], "verified": verify,
                   "problems": problems})  # fmt: skip
    else:
        table = Table("seq", "type", "actor", "created", "hash")
        for e in chain:
            table.add_row(str(e.seq), e.type, escape(e.actor), e.created, e.hash[:16])
        stdout.print(table)
    if problems:
        raise VerificationError(
            "event log", [Discrepancy(f"event log of {audit or 'the audit'}", p) for p in problems]
        )
    if verify and not json_out:
        stdout.print(f"[bold green]intact:[/] {len(chain)} events, hash chain verified.")


def export(
    directory: Path = typer.Argument(..., help="Folder for the verification bundle."),
    force: bool = typer.Option(False, "--force", help="Replace an existing folder."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Write the verification bundle: inputs, seed, sample, readings, event log, results.

    Anyone can check it without the database: tallyguard verify DIRECTORY.
    """

    def act(session: Session, row: Audit) -> dict[str, Any]:
        inputs = service.load_inputs(session, row)
        return export_audit(inputs, load_chain(session, row.id), directory, overwrite=force)

    summary = _run(db, audit, act)
    _say(json_out, summary, f"Wrote the verification bundle {escape(str(directory))}; check it "
         f"with: tallyguard verify {escape(str(directory))}")  # fmt: skip


def report(
    out: Path = typer.Option(Path("."), "--out", help="Folder for the report files."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF (WeasyPrint)."),
    db: str | None = DbOption,
    audit: str | None = AuditOption,
    json_out: bool = JsonOption,
) -> None:
    """Write the audit report: CSV (Arlo's sections), self-contained HTML and PDF."""
    result = _run(db, audit, service.status)
    files = write_report_files(result, out, pdf=pdf)
    _say(json_out, {"files": [str(f) for f in files]},
         "Wrote:\n" + "\n".join(f"  {escape(str(f))}" for f in files))  # fmt: skip
