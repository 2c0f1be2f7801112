"""Rounds: drawing, recording what boards saw, closing, escalating, finishing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from tallyguard.audit.workflow.inputs import (
    CardKey,
)
from tallyguard.audit.workflow.result import AuditResult, HandCount
from tallyguard.audit.workflow.state import (
    close_hint,
    load_inputs,
    require_status,
    rounds_of,
    status,
)
from tallyguard.errors import InputError
from tallyguard.evidence.canonical import sha256_file
from tallyguard.io.readings import (
    interpretation_text,
    read_ballot_readings,
    read_batch_readings,
)
from tallyguard.store.events import append_event, lock_audit
from tallyguard.store.models import (
    Audit,
    Batch,
    Contest,
    Interpretation,
    Jurisdiction,
    Round,
)
from tallyguard.store.models import Event as EventRow

#: Readings per DELETE when a file replaces earlier ones.
READINGS_CHUNK = 500

# --- rounds ---------------------------------------------------------------------------


def start_round(session: Session, audit: Audit, size: int, actor: str) -> Round:
    """Open the next round: the sample grows to ``size`` draws (cumulative)."""
    require_status(audit, "sampling", doing="start a round")
    rounds = rounds_of(session, audit)
    if rounds and not rounds[-1].finished:
        raise InputError(
            f"round {rounds[-1].number} is still open.",
            field="round",
            fix="record its readings, then: tallyguard audit next-round.",
        )
    before = rounds[-1].sample_size if rounds else 0
    if size <= before:
        raise InputError(
            f"the sample already has {before:,} draws; a round must add some.",
            field="--size",
            fix=f"give a cumulative size above {before:,}.",
        )
    inputs = load_inputs(session, audit)
    population = (
        sum(1 for b in inputs.batches if b.num_ballots)
        if audit.kind == "batch"
        else sum(b.num_ballots for b in inputs.batches)
    )
    if size > population:
        raise InputError(
            f"a sample of {size:,} exceeds the {population:,} "
            f"{'batches' if audit.kind == 'batch' else 'cards'} of the audit.",
            field="--size",
            fix="count every ballot by hand instead: tallyguard audit hand-count.",
        )
    row = Round(audit_id=audit.id, number=len(rounds) + 1, sample_size=size)
    row.finished = False
    session.add(row)
    session.flush()
    append_event(
        session, audit.id, "round.started", {"round": row.number, "sample_size": size}, actor
    )
    return row


def _sampled(result: AuditResult) -> dict[CardKey, int]:
    """Sampled card (or batch) -> the round that drew it."""
    return {
        CardKey(d.jurisdiction, d.tabulator, d.batch_name, d.position): d.round
        for d in result.sample
    }


def record_readings(session: Session, audit: Audit, path: Path, actor: str) -> dict[str, Any]:
    """Store what boards recorded for cards of the open round (a re-recording corrects)."""
    lock_audit(session, audit.id)  # before the inserts: see lock_audit
    require_status(audit, "sampling", doing="record readings")
    rounds = rounds_of(session, audit)
    if not rounds or rounds[-1].finished:
        raise InputError(
            "no round is open.", field="round", fix="start one: tallyguard audit draw --size N."
        )
    current = rounds[-1].number
    contests = {
        c.name: c for c in session.scalars(select(Contest).where(Contest.audit_id == audit.id))
    }
    choices = {name: tuple(c.choices) for name, c in contests.items()}
    sampled = _sampled(status(session, audit))
    jurisdictions = {
        j.name: j.id
        for j in session.scalars(select(Jurisdiction).where(Jurisdiction.audit_id == audit.id))
    }
    batch_ids = {
        (jurisdictions_name, b.tabulator, b.batch_name): b.id
        for jurisdictions_name, jid in jurisdictions.items()
        for b in session.execute(
            select(Batch.id, Batch.tabulator, Batch.batch_name).where(Batch.jurisdiction_id == jid)
        )
    }
    entries: list[tuple[int, CardKey, str, dict[str, Any]]] = []
    value: dict[str, Any]
    if audit.kind == "batch":
        tallies: dict[tuple[CardKey, str], dict[str, int]] = defaultdict(dict)
        lines: dict[tuple[CardKey, str], int] = {}
        for item in read_batch_readings(path, choices):
            key = CardKey(item.jurisdiction, item.tabulator, item.batch_name, 0)
            tallies[(key, item.contest)][item.choice] = item.votes
            lines.setdefault((key, item.contest), item.line)
        for (key, contest), votes in tallies.items():
            full = {c: votes.get(c, 0) for c in choices[contest]}
            value = {"result": "vote", "choices": [], "votes": full, "comment": ""}
            entries.append((lines[(key, contest)], key, contest, value))
    else:
        for reading in read_ballot_readings(path, choices):
            key = CardKey(
                reading.jurisdiction, reading.tabulator, reading.batch_name, reading.position
            )
            value = {
                "result": reading.result,
                "choices": list(reading.choices),
                "votes": None,
                "comment": reading.comment,
            }
            entries.append((reading.line, key, reading.contest, value))
    if not entries:
        raise InputError(
            "holds no reading (every Interpretation cell is empty).",
            file=path,
            fix="fill in what the audit boards saw.",
        )
    logged = []
    stored: dict[tuple[int, int, int], dict[str, Any]] = {}
    for line, key, contest, value in entries:
        drawn = sampled.get(key)
        if drawn is None:
            raise InputError(
                f"{_label(key)} is not in the sample.",
                file=path,
                line=line,
                fix="record only the cards (batches) of the retrieval list.",
            )
        if drawn != current:
            raise InputError(
                f"{_label(key)} was drawn in round {drawn}, which is finished.",
                file=path,
                line=line,
                fix="readings of a finished round cannot change.",
            )
        # A card recorded again in this file or the round corrects it: the last one stays.
        stored[(batch_ids[key.batch], key.position, contests[contest].id)] = value
        text = (
            interpretation_text(value["result"], value["choices"])
            if value["votes"] is None
            else value["votes"]
        )
        logged.append(
            [
                key.jurisdiction,
                key.tabulator,
                key.batch_name,
                key.position,
                contest,
                text,
                value["comment"],
            ]
        )
    _store_readings(session, audit, stored, actor)
    append_event(
        session,
        audit.id,
        "readings.recorded",
        {"round": current, "file": path.name, "sha256": sha256_file(path), "readings": logged},
        actor,
    )
    return {"round": current, "readings": len(logged)}


def _store_readings(
    session: Session,
    audit: Audit,
    stored: Mapping[tuple[int, int, int], dict[str, Any]],
    actor: str,
) -> None:
    """Replace the readings of these (batch, position, contest) keys, in bulk."""
    keys = list(stored)
    for start in range(0, len(keys), READINGS_CHUNK):
        chunk = keys[start : start + READINGS_CHUNK]
        session.execute(
            delete(Interpretation)
            .where(
                Interpretation.audit_id == audit.id,
                tuple_(
                    Interpretation.batch_id, Interpretation.position, Interpretation.contest_id
                ).in_(chunk),
            )
            .execution_options(synchronize_session=False)
        )
    if keys:
        session.execute(
            insert(Interpretation),
            [
                {
                    "audit_id": audit.id,
                    "batch_id": batch_id,
                    "position": position,
                    "contest_id": contest_id,
                    "result": value["result"],
                    "choices": value["choices"],
                    "votes": value["votes"],
                    "comment": value["comment"],
                    "board": actor,
                }
                for (batch_id, position, contest_id), value in stored.items()
            ],
        )
    session.flush()


def _label(key: CardKey) -> str:
    batch = f"{key.tabulator} / {key.batch_name}" if key.tabulator else key.batch_name
    where = f"{key.jurisdiction}, batch {batch}"
    return f"{where}, position {key.position}" if key.position else where


def finish_round(session: Session, audit: Audit, actor: str) -> AuditResult:
    """Close the open round once every draw has its readings; returns the risk."""
    lock_audit(session, audit.id)  # no card changes between the risk and its event
    require_status(audit, "sampling", doing="finish a round")
    rounds = rounds_of(session, audit)
    if not rounds or rounds[-1].finished:
        raise InputError("no round is open.", field="round", fix="tallyguard audit draw --size N.")
    result = status(session, audit)
    last = result.rounds[-1]
    if last.audited < last.sample_size:
        raise InputError(
            f"round {last.round}: {last.sample_size - last.audited:,} of {last.sample_size:,} "
            "sampled cards (batches) still need readings, in sample order.",
            field="round",
            fix="record them (tallyguard audit record FILE); a card that cannot be found is "
            "recorded as NOT FOUND.",
        )
    rounds[-1].finished = True
    append_event(
        session,
        audit.id,
        "round.finished",
        {
            "round": last.round,
            "sample_size": last.sample_size,
            "risks": last.risks,
            "confirmed": last.confirmed,
        },
        actor,
    )
    return result


def start_hand_count(session: Session, audit: Audit, actor: str) -> None:
    """Give up sampling: every ballot is counted by hand and the count decides."""
    require_status(audit, "sampling", doing="start a full hand count")
    audit.status = "hand_count"
    append_event(session, audit.id, "hand_count.started", {"reason": "risk limit not met"}, actor)


def record_hand_count(
    session: Session, audit: Audit, totals: Mapping[str, Mapping[str, int]], actor: str
) -> tuple[HandCount, ...]:
    """The full hand count's totals per contest: they determine the outcome."""
    require_status(audit, "hand_count", doing="record a hand count")
    contests = {
        c.name: c for c in session.scalars(select(Contest).where(Contest.audit_id == audit.id))
    }
    counted: dict[str, dict[str, int]] = {}
    for name, votes in totals.items():
        row = contests.get(name)
        if row is None:
            raise InputError(
                f"{name!r} is not a contest of this audit.",
                field="Contest",
                fix=close_hint(name, contests),
            )
        unknown = sorted(set(votes) - set(row.choices))
        if unknown:
            raise InputError(
                f"{unknown[0]!r} is not a choice of {name!r}.",
                field="Choice",
                fix=close_hint(unknown[0], row.choices),
            )
        counted[name] = {c: int(votes.get(c, 0)) for c in row.choices}
    missing = sorted(set(contests) - set(counted))
    if missing:
        raise InputError(
            f"the hand count has no totals for {missing[0]!r}.",
            field="Contest",
            fix="give every contest's totals.",
        )
    append_event(session, audit.id, "hand_count.recorded", {"contests": counted}, actor)
    return status(session, audit).hand_count


def finish_audit(session: Session, audit: Audit, actor: str) -> dict[str, Any]:
    """End the audit: every targeted contest confirmed, or the hand count recorded."""
    require_status(audit, "sampling", "hand_count", doing="finish the audit")
    if audit.status == "hand_count":
        counted = session.scalars(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.audit_id == audit.id, EventRow.type == "hand_count.recorded")
        ).one()
        if not counted:
            raise InputError(
                "the full hand count's totals are not recorded.",
                field="hand-count",
                fix="tallyguard audit hand-count --totals FILE.",
            )
        payload: dict[str, Any] = {"by": "full hand count"}
    else:
        rounds = rounds_of(session, audit)
        if rounds and not rounds[-1].finished:
            finish_round(session, audit, actor)
        result = status(session, audit)
        if not result.confirmed:
            raise InputError(
                "the risk limit is not met for every targeted contest.",
                field="audit",
                fix=result.next_step,
            )
        payload = {
            "by": "risk limit met",
            "risks": {c.contest: c.risk for c in result.contests},
            "sample_size": result.rounds[-1].sample_size if result.rounds else 0,
        }
    audit.status = "finished"
    append_event(session, audit.id, "audit.finished", payload, actor)
    return payload
