"""The audit report as one CSV file in sections, in the shape of Arlo's audit report.

Arlo (votingworks/arlo, ``server/api/reports.py``) writes a single CSV made of
sections, each headed by a line ``######## <NAME> ########`` and followed by a
header row and data rows; officials and observers already have scripts that
split it. This report keeps that shape with tallyguard's numbers:

=====================  ====================================================
section                rows
=====================  ====================================================
ELECTION INFO          election, audit, software version
CONTESTS               one per contest: targeted?, winners, cards, population,
                       vote totals, notes
AUDIT SETTINGS         audit name, kind, risk method, risk limit, random seed,
                       population
ROUNDS                 one per round and contest: cumulative sample size, draws
                       audited, risk (p-value), risk limit met?
ASSERTIONS             one per assertion: winner, loser, margin, p-value,
                       confirmed?, draws measured
SAMPLED BALLOTS        one per draw in sample order (SAMPLED BATCHES for batch
                       audits), one column per contest with the audit reading
DISCREPANCIES          one per discrepancy, reported before audited
=====================  ====================================================

Sections are separated by a blank line; every section has its header row even
when it has no data rows. Floats are written with ``repr`` (the shortest text
that reads back as the same float), so every p-value, margin and risk limit can
be compared exactly with ``results.json`` and re-derived with ``tallyguard
verify``. Booleans are ``Yes``/``No``; a missing value is an empty cell.

:func:`write_report_files` writes this CSV with the HTML and PDF reports. Every
report is rendered in memory before any file is written, so a failure
(WeasyPrint missing, say) leaves the directory as it was; each file is then
written to a temporary name in the same directory and renamed over the final
name with :func:`os.replace`, so a reader never sees a half-written report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from tallyguard import __version__
from tallyguard.audit.workflow.result import AuditResult
from tallyguard.io.atomic import write_file_atomically
from tallyguard.report.audit_html import audit_report_html
from tallyguard.report.pdf import audit_report_pdf

__all__ = [
    "CSV_FILE",
    "HTML_FILE",
    "PDF_FILE",
    "SECTIONS",
    "audit_report_csv",
    "section_heading",
    "sections_of",
    "write_report_files",
]

CSV_FILE = "audit-report.csv"
HTML_FILE = "audit-report.html"
PDF_FILE = "audit-report.pdf"


#: The sections of a ballot-level audit's report, in order.
SECTIONS = (
    "ELECTION INFO",
    "CONTESTS",
    "AUDIT SETTINGS",
    "ROUNDS",
    "ASSERTIONS",
    "SAMPLED BALLOTS",
    "DISCREPANCIES",
)

Cell = str | int | float | bool | None
Row = Sequence[Cell]


def sections_of(kind: str) -> tuple[str, ...]:
    """The sections of an audit of ``kind`` (batch audits list SAMPLED BATCHES, as Arlo does)."""
    if kind == "batch":
        return tuple("SAMPLED BATCHES" if s == "SAMPLED BALLOTS" else s for s in SECTIONS)
    return SECTIONS


def section_heading(name: str) -> str:
    """The line that opens a section: ``######## NAME ########``."""
    return f"######## {name} ########"


def cell(value: Cell) -> str:
    """A value as the report writes it (floats in full precision)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def audit_report_csv(result: AuditResult) -> str:
    """Return the audit report of ``result`` as CSV text (``\\n`` line ends)."""
    contests = [c.contest for c in result.contests]
    sampled = sections_of(result.kind)[SECTIONS.index("SAMPLED BALLOTS")]
    sections: list[tuple[str, Row, Iterable[Row]]] = [
        (
            "ELECTION INFO",
            ("Election Name", "Audit Name", "Software"),
            [(result.election, result.name, f"tallyguard {__version__}")],
        ),
        (
            "CONTESTS",
            (
                "Contest Name",
                "Targeted?",
                "Winners",
                "Total Ballot Cards",
                "Population",
                "Vote Totals",
                "Notes",
            ),
            [
                (
                    c.contest,
                    c.targeted,
                    "; ".join(c.winners),
                    c.ballots,
                    c.population,
                    "; ".join(f"{choice}: {votes}" for choice, votes in c.totals.items()),
                    " ".join(c.notes),
                )
                for c in result.contests
            ],
        ),
        (
            "AUDIT SETTINGS",
            ("Audit Name", "Audit Type", "Risk Method", "Risk Limit", "Random Seed", "Population"),
            [
                (
                    result.name,
                    result.kind,
                    result.method,
                    result.risk_limit,
                    result.seed,
                    result.population,
                )
            ],
        ),
        (
            "ROUNDS",
            (
                "Round Number",
                "Contest Name",
                "Sample Size",
                "Audited",
                "Risk (P-Value)",
                "Risk Limit Met?",
            ),
            [
                (
                    r.round,
                    contest,
                    r.sample_size,
                    r.audited,
                    r.risks.get(contest),
                    r.confirmed.get(contest),
                )
                for r in result.rounds
                for contest in contests
            ],
        ),
        (
            "ASSERTIONS",
            (
                "Contest Name",
                "Assertion",
                "Winner",
                "Loser",
                "Margin",
                "P-Value",
                "Confirmed?",
                "Draws Measured",
            ),
            [
                (
                    a.contest,
                    a.assertion,
                    a.winner,
                    a.loser,
                    a.margin,
                    a.p_value,
                    a.confirmed,
                    len(a.p_values),
                )
                for a in result.assertions
            ],
        ),
        (
            sampled,
            (
                "Draw",
                "Round",
                "Ticket Number",
                "Jurisdiction",
                "Tabulator",
                "Batch Name",
                "Ballot Position",
                "Container",
                "Imprinted ID",
                "Audited?",
                *(f"Audit Result: {contest}" for contest in contests),
            ),
            [
                (
                    d.draw,
                    d.round,
                    d.ticket,
                    d.jurisdiction,
                    d.tabulator,
                    d.batch_name,
                    d.position,
                    d.container,
                    d.imprinted_id,
                    d.audited,
                    *(d.readings.get(contest) for contest in contests),
                )
                for d in result.sample
            ],
        ),
        (
            "DISCREPANCIES",
            (
                "Draw",
                "Round",
                "Jurisdiction",
                "Tabulator",
                "Batch Name",
                "Ballot Position",
                "Imprinted ID",
                "Contest Name",
                "Reported",
                "Audited",
                "Overstatement",
            ),
            [
                (
                    d.draw,
                    d.round,
                    d.jurisdiction,
                    d.tabulator,
                    d.batch_name,
                    d.position,
                    d.imprinted_id,
                    d.contest,
                    d.reported,
                    d.audited,
                    d.overstatement,
                )
                for d in result.discrepancies
            ],
        ),
    ]
    if result.hand_count:  # after an escalation, the count that decided the outcome
        sections.append(
            (
                "HAND COUNT",
                (
                    "Contest Name",
                    "Hand Count Totals",
                    "Winners",
                    "Reported Winners",
                    "Outcome As Reported?",
                ),
                [
                    (
                        h.contest,
                        "; ".join(f"{choice}: {votes}" for choice, votes in h.totals.items()),
                        "; ".join(h.winners),
                        "; ".join(h.reported_winners),
                        h.outcome_as_reported,
                    )
                    for h in result.hand_count
                ],
            )
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, (name, header, rows) in enumerate(sections):
        if index:
            buffer.write("\n")
        writer.writerow([section_heading(name)])
        writer.writerow(header)
        writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def write_report_files(result: AuditResult, out_dir: Path, *, pdf: bool = True) -> list[Path]:
    """Write ``audit-report.csv``, ``audit-report.html`` and ``audit-report.pdf`` into ``out_dir``.

    ``out_dir`` is created if needed; existing report files are replaced. With
    ``pdf=False`` no PDF is written (and an existing one is left alone).
    Returns the paths written, in that order.

    Raises:
        TallyguardError: the PDF was asked for and WeasyPrint cannot run; nothing
            is written then.
    """
    out_dir = Path(out_dir)
    html = audit_report_html(result)
    contents = {
        CSV_FILE: audit_report_csv(result).encode("utf-8"),
        HTML_FILE: html.encode("utf-8"),
    }
    if pdf:
        contents[PDF_FILE] = audit_report_pdf(html)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in contents.items():
        write_file_atomically(out_dir / name, data)
        written.append(out_dir / name)
    return written
