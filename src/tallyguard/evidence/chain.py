"""The hash-chained event log of an audit: compute, check, write and read it.

Every event of an audit is linked to the one before it by a SHA-256 hash, so
editing, deleting, inserting or reordering any event after the fact breaks the
chain at a place :func:`verify_chain` names. This is the hash chain of Crosby
and Wallach (2009), "Efficient Data Structures for Tamper-Evident Logging",
USENIX Security Symposium, section 3 (the linear hash chain they improve on;
it is enough here because an audit log holds hundreds, not millions, of
events and is always verified in full).

The byte recipe, so anyone can re-implement it
----------------------------------------------

An event has ``seq`` (1, 2, 3, ... without gaps), ``type``, ``actor``,
``created`` (an ISO 8601 UTC timestamp string), ``payload`` (a JSON object),
``prev_hash`` and ``hash``. For each event::

    body  = {"actor": actor, "created": created, "payload": payload,
             "seq": seq, "type": type}
    bytes = ASCII(prev_hash) || canonical_json(body)
    hash  = lowercase hex SHA-256 of bytes

where ``prev_hash`` is the ``hash`` of the event before, or :data:`GENESIS`
(64 ASCII zeros) for the first event, and ``canonical_json`` is the project's
canonical JSON (:func:`tallyguard.evidence.canonical.canonical_json`): keys of
every object sorted by code point, no whitespace at all (separators ``,`` and
``:``), non-ASCII characters written as raw UTF-8 rather than ``\\u`` escapes,
integers as plain digits, floats in Python's shortest round-trip form (``0.05``,
``1e-07``, ``1.0``) and no NaN or infinity. ``prev_hash`` itself is *not* part
of ``body``: it enters the digest as the 64-character prefix.

Example: the first event ``seq=1, type="audit.created", actor="ann",
created="2024-11-05T20:00:00+00:00", payload={"name": "E"}`` hashes the bytes
``000...000{"actor":"ann","created":"2024-11-05T20:00:00+00:00","payload":{"name":"E"},"seq":1,"type":"audit.created"}``.

File form (``events.jsonl``): one event per line, each the canonical JSON of
all seven fields, lines ending in ``\\n``.

What a hash chain cannot show on its own: that events were cut off *after* the
last one, or that valid events were appended, because the shortened or longer
chain is still a valid chain. Pass the last hash published elsewhere (``head``)
to :func:`verify_chain` to catch that too. Likewise, someone able to rewrite
every later event can re-compute every later hash; publishing the head hash
(e.g. in a report) is what pins the log down.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tallyguard.errors import InputError
from tallyguard.evidence.canonical import canonical_json, parse_strict

#: The ``prev_hash`` of the first event: 64 zeros.
GENESIS = "0" * 64

#: The fields of an event in the file form, in the order a reader sees them.
FIELDS = ("seq", "type", "actor", "created", "payload", "prev_hash", "hash")

_HEX = frozenset("0123456789abcdef")


def _digest(prev_hash: str, seq: int, type: str, actor: str, created: str, payload: Any) -> str:
    body = {"seq": seq, "type": type, "actor": actor, "created": created, "payload": payload}
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


def event_hash(
    prev_hash: str, seq: int, type: str, actor: str, created: str, payload_text: str
) -> str:
    """Return the hash of one event (the recipe in the module docstring).

    Args:
        prev_hash: The previous event's hash, or :data:`GENESIS` for the first.
        seq: The event's sequence number (1 for the first event).
        type: The event type, e.g. ``"manifest.loaded"``.
        actor: Who caused the event.
        created: When, as an ISO 8601 string.
        payload_text: The payload as JSON text; it is parsed and re-serialised
            canonically, so only its content counts, not its spacing.

    Returns:
        64 lowercase hexadecimal digits.

    Raises:
        ValueError: ``payload_text`` is not a strict JSON object, or
            ``prev_hash`` is not ASCII.
    """
    payload = parse_strict(payload_text.encode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("an event payload must be a JSON object")
    return _digest(prev_hash, seq, type, actor, created, payload)


@dataclass(frozen=True)
class ChainRecord:
    """One event of the log as exported and verified (no database needed)."""

    seq: int
    type: str
    actor: str
    created: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash this event's own fields and ``prev_hash`` give (may differ from ``hash``)."""
        return _digest(self.prev_hash, self.seq, self.type, self.actor, self.created, self.payload)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object with the seven :data:`FIELDS`."""
        return {name: getattr(self, name) for name in FIELDS}


def make_record(
    prev: ChainRecord | None,
    type: str,
    actor: str,
    created: str,
    payload: Mapping[str, Any],
) -> ChainRecord:
    """Return the event that follows ``prev`` (or the first event when ``prev`` is None).

    Args:
        prev: The last event so far, or ``None`` for an empty log.
        type: The event type.
        actor: Who caused it.
        created: When (ISO 8601).
        payload: A JSON object; it is stored as it reads back from canonical JSON.

    Returns:
        A record with the next ``seq`` and a correct ``prev_hash`` and ``hash``.
    """
    text = canonical_json(dict(payload)).decode("utf-8")
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    parsed = parse_strict(text.encode("utf-8"))
    digest = _digest(prev_hash, seq, type, actor, created, parsed)
    return ChainRecord(seq, type, actor, created, parsed, prev_hash, digest)


def _short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest


def verify_chain(records: Sequence[ChainRecord], *, head: str | None = None) -> list[str]:
    """Check a log's hash chain and return every problem found (empty: intact).

    Each event must have the next ``seq`` (1, 2, ...), a ``prev_hash`` equal to
    the previous event's ``hash`` (:data:`GENESIS` for the first) and a
    ``hash`` equal to what its fields give. An edited field shows as a hash
    mismatch at that event; a deleted, inserted or moved event as a broken link
    (and a ``seq`` out of step) at the event after the gap.

    Args:
        records: The events in log order.
        head: The last event's hash as published elsewhere, if known; then an
            event cut off the end, or appended, is detected too.

    Returns:
        Human-readable problems, each naming the ``seq`` it concerns.
    """
    problems: list[str] = []
    prev: ChainRecord | None = None
    for record in records:
        expected_seq = 1 if prev is None else prev.seq + 1
        where = f"event seq {record.seq}"
        if record.seq != expected_seq:
            if prev is None:
                problems.append(f"{where}: the log starts at seq {record.seq}, expected seq 1")
            elif record.seq <= prev.seq:
                problems.append(
                    f"{where}: comes after seq {prev.seq} (events out of order or duplicated)"
                )
            else:
                missing = f"seq {expected_seq}" + (
                    f" to {record.seq - 1}" if record.seq - 1 > expected_seq else ""
                )
                problems.append(f"{where}: follows seq {prev.seq}, so {missing} is missing")
        if prev is None:
            if record.prev_hash != GENESIS:
                problems.append(
                    f"{where}: the first event's prev_hash is {_short(record.prev_hash)}, "
                    "not the genesis value (64 zeros): events before it were removed"
                )
        elif record.prev_hash != prev.hash:
            problems.append(
                f"{where}: prev_hash {_short(record.prev_hash)} does not match the hash "
                f"{_short(prev.hash)} of the event before it (seq {prev.seq}): an event was "
                "deleted, inserted or moved here"
            )
        if not _is_hash(record.hash) or not _is_hash(record.prev_hash):
            problems.append(f"{where}: hash or prev_hash is not 64 lowercase hex digits")
        try:
            computed = record.computed_hash()
        except (TypeError, ValueError, UnicodeError) as error:
            problems.append(f"{where}: cannot be hashed ({error})")
        else:
            if computed != record.hash:
                problems.append(
                    f"{where}: hash mismatch (recorded {_short(record.hash)}, computed "
                    f"{_short(computed)}): a field of this event was edited"
                )
        prev = record
    if head is not None:
        last = records[-1].hash if records else GENESIS
        if last != head:
            seq = records[-1].seq if records else 0
            problems.append(
                f"event seq {seq}: the log ends with hash {_short(last)}, but the published "
                f"head is {_short(head)}: events were cut off or appended after seq {seq}"
            )
    return problems


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def write_jsonl(path: Path, records: Iterable[ChainRecord]) -> None:
    """Write events to ``path``, one canonical JSON object per line.

    Args:
        path: The file to (over)write.
        records: The events in log order.
    """
    lines = [canonical_json(record.to_json()) + b"\n" for record in records]
    path.write_bytes(b"".join(lines))


def _field(
    path: Path, line: int, obj: dict[str, Any], name: str, kind: type | tuple[type, ...]
) -> Any:
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = "a whole number" if kind is int else "a JSON object" if kind is dict else "text"
        raise InputError(
            f"{value!r} is not {wanted}",
            file=path,
            line=line,
            field=name,
            fix="restore events.jsonl from the original export",
        )
    return value


def read_jsonl(path: Path) -> list[ChainRecord]:
    """Read events written by :func:`write_jsonl` (the chain is not checked here).

    Args:
        path: An ``events.jsonl`` file.

    Returns:
        The events in file order.

    Raises:
        InputError: The file cannot be read, or a line is not an event object;
            the error names the file, the line and the field.
    """
    fix = "restore events.jsonl from the original export"
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(
            f"cannot read the event log ({error.strerror or error})", file=path, fix=fix
        ) from None
    records: list[ChainRecord] = []
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            obj = parse_strict(line)
        except ValueError as error:
            raise InputError(
                f"not a JSON event ({error})", file=path, line=number, fix=fix
            ) from None
        if not isinstance(obj, dict):
            raise InputError("not a JSON object", file=path, line=number, fix=fix)
        missing = [name for name in FIELDS if name not in obj]
        extra = sorted(set(obj) - set(FIELDS))
        if missing or extra:
            name = (missing or extra)[0]
            problem = "is missing" if missing else "is not an event field"
            raise InputError(f"{name!r} {problem}", file=path, line=number, field=name, fix=fix)
        records.append(
            ChainRecord(
                seq=_field(path, number, obj, "seq", int),
                type=_field(path, number, obj, "type", str),
                actor=_field(path, number, obj, "actor", str),
                created=_field(path, number, obj, "created", str),
                payload=_field(path, number, obj, "payload", dict),
                prev_hash=_field(path, number, obj, "prev_hash", str),
                hash=_field(path, number, obj, "hash", str),
            )
        )
    return records
