"""The verification bundle of an audit: everything an observer needs, without the database.

``tallyguard audit export DIR`` writes an evidence bundle whose ``inputs/`` hold
the audit's input files (:mod:`tallyguard.audit.workflow.files`) and its event
log (``events.jsonl``), and whose outputs are ``sample.csv`` and
``results.json``. ``tallyguard verify DIR`` re-runs :func:`rerun_audit` (entry
point ``audit.workflow``), which

1. checks the hash chain of the event log (Crosby & Wallach 2009);
2. checks that the files agree with the log: settings, the seed, the digests of
   the frozen inputs recorded when the seed was set, the round sizes, and every
   reading the boards recorded (replayed from ``readings.recorded`` events);
3. re-draws the sample from the seed and recomputes every risk, writing
   ``sample.csv`` and ``results.json`` again, which must match byte for byte.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.files import (
    AUDIT_FILE,
    frozen_digests,
    read_inputs,
    settings_json,
    write_inputs,
)
from tallyguard.audit.workflow.inputs import AuditInputs
from tallyguard.audit.workflow.result import AuditResult, Draw
from tallyguard.errors import Discrepancy, VerificationError
from tallyguard.evidence import write_bundle
from tallyguard.evidence.canonical import file_form
from tallyguard.evidence.chain import ChainRecord, read_jsonl, verify_chain, write_jsonl
from tallyguard.io.atomic import atomic_directory
from tallyguard.io.readings import interpretation_text

RERUN = "audit.workflow"
EVENTS_FILE = "events.jsonl"
SAMPLE_FILE = "sample.csv"
RESULTS_FILE = "results.json"
SAMPLE_COLUMNS = (
    "draw",
    "round",
    "ticket",
    "jurisdiction",
    "tabulator",
    "batch_name",
    "position",
    "container",
    "imprinted_id",
    "audited",
)


def sample_csv(result: AuditResult) -> str:
    return draws_csv(result.sample)


def draws_csv(draws: Iterable[Draw]) -> str:
    """Sampled cards as CSV (``SAMPLE_COLUMNS``), in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SAMPLE_COLUMNS)
    for d in draws:
        writer.writerow(
            [
                d.draw,
                d.round,
                d.ticket,
                d.jurisdiction,
                d.tabulator,
                d.batch_name,
                d.position,
                d.container or "",
                d.imprinted_id or "",
                int(d.audited),
            ]
        )
    return buffer.getvalue()


def write_outputs(result: AuditResult, directory: Path) -> None:
    (directory / SAMPLE_FILE).write_text(sample_csv(result), encoding="utf-8", newline="\n")
    (directory / RESULTS_FILE).write_bytes(file_form(result.to_json()))


def export_audit(
    inputs: AuditInputs, events: Sequence[ChainRecord], directory: Path, *, overwrite: bool
) -> dict[str, Any]:
    """Write the verification bundle of an audit into ``directory`` (all or nothing)."""
    problems = check_log(inputs, events)
    if problems:  # the database itself was altered: export nothing that would look sound
        raise VerificationError(
            "event log", [Discrepancy(EVENTS_FILE, problem) for problem in problems]
        )
    result = evaluate(inputs)
    with (
        atomic_directory(directory, overwrite=overwrite) as staging,
        tempfile.TemporaryDirectory() as temporary,
    ):
        source = Path(temporary)
        paths = write_inputs(inputs, source)
        write_jsonl(source / EVENTS_FILE, events)
        write_outputs(result, staging)
        summary = {
            "confirmed": result.confirmed,
            "risks": {c.contest: c.risk for c in result.contests},
            "sample_size": len(result.sample),
            "events": len(events),
        }
        write_bundle(
            staging,
            command="tallyguard audit export",
            parameters={"audit": inputs.name},
            seed=inputs.seed,
            results=summary,
            rerun=RERUN,
            inputs=[*paths, source / EVENTS_FILE],
        )
    return summary


def _readings_from_log(events: Sequence[ChainRecord]) -> dict[tuple[Any, ...], Any]:
    replay: dict[tuple[Any, ...], Any] = {}
    for event in events:
        if event.type == "readings.recorded":
            for row in event.payload["readings"]:
                jurisdiction, tabulator, batch, position, contest, value, comment = row
                key = (jurisdiction, tabulator, batch, int(position), contest)
                replay[key] = (value, comment)
    return replay


def _readings_of(inputs: AuditInputs) -> dict[tuple[Any, ...], Any]:
    found: dict[tuple[Any, ...], Any] = {}
    for card, readings in inputs.readings.items():
        for contest, reading in readings.items():
            key = (card.jurisdiction, card.tabulator, card.batch_name, card.position, contest)
            value: Any = (
                dict(reading.votes)
                if reading.votes is not None
                else interpretation_text(reading.result, reading.choices)
            )
            found[key] = (value, reading.comment)
    return found


def check_log(inputs: AuditInputs, events: Sequence[ChainRecord]) -> list[str]:
    """Problems with the log itself, or between the log and the inputs (empty: consistent)."""
    problems = verify_chain(events)
    if problems:
        return problems
    by_type: dict[str, list[ChainRecord]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    created = by_type.get("audit.created", [])
    settings = settings_json(inputs)
    if len(created) != 1:
        problems.append("the log does not start with exactly one audit.created event")
    else:
        for field in ("name", "election", "kind", "risk_limit", "method"):
            if created[0].payload.get(field) != settings[field]:
                problems.append(
                    f"{AUDIT_FILE} says {field} = {settings[field]!r}, the log says "
                    f"{created[0].payload.get(field)!r}"
                )
    seeds = by_type.get("seed.set", [])
    if inputs.seed is None and seeds:
        problems.append("the log sets a seed that the files do not have")
    if inputs.seed is not None:
        if len(seeds) != 1:
            problems.append("the files have a seed but the log does not set it exactly once")
        else:
            logged = seeds[0].payload
            if logged.get("seed") != inputs.seed:
                problems.append(
                    f"seed {inputs.seed!r} differs from the logged {logged.get('seed')!r}"
                )
            digests = frozen_digests(inputs)
            for name, digest in sorted(logged.get("inputs", {}).items()):
                if digests.get(name) != digest:
                    problems.append(
                        f"{name} differs from the file frozen when the seed was set "
                        f"(SHA-256 {digests.get(name)} vs logged {digest})"
                    )
    counts = by_type.get("hand_count.recorded", [])
    logged_count = counts[-1].payload["contests"] if counts else {}
    if logged_count != settings["hand_count"]:
        problems.append(f"the hand count in {AUDIT_FILE} differs from the one the log records")
    rounds = tuple(int(e.payload["sample_size"]) for e in by_type.get("round.started", []))
    if rounds != inputs.rounds:
        problems.append(f"round sizes {list(inputs.rounds)} differ from the logged {list(rounds)}")
    logged_readings = _readings_from_log(events)
    readings = _readings_of(inputs)
    if logged_readings != readings:
        differ = sorted(
            str(key[:5])
            for key in set(logged_readings) | set(readings)
            if logged_readings.get(key) != readings.get(key)
        )
        problems.append(
            f"{len(differ)} reading(s) differ from the ones the log records, first {differ[0]}"
        )
    return problems


def rerun_audit(parameters: Mapping[str, Any], out_dir: Path) -> None:
    """Re-derive an exported audit's outputs from its ``inputs/`` (``tallyguard verify``)."""
    del parameters  # everything is in the input files
    source = out_dir / "inputs"
    inputs = read_inputs(source)
    events = read_jsonl(source / EVENTS_FILE)
    problems = check_log(inputs, events)
    if problems:
        raise VerificationError(
            str(source), [Discrepancy(EVENTS_FILE, problem) for problem in problems]
        )
    write_outputs(evaluate(inputs), out_dir)
