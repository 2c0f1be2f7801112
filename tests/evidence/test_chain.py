"""The hash chain of the event log: the byte recipe, tamper detection, the file form."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.evidence.canonical import canonical_json
from tallyguard.evidence.chain import (
    GENESIS,
    ChainRecord,
    event_hash,
    make_record,
    read_jsonl,
    verify_chain,
    write_jsonl,
)

CREATED = "2024-11-05T20:00:00+00:00"


def build(events: list[tuple[str, str, str, dict[str, Any]]]) -> list[ChainRecord]:
    chain: list[ChainRecord] = []
    for type_, actor, created, payload in events:
        chain.append(make_record(chain[-1] if chain else None, type_, actor, created, payload))
    return chain


def sample_chain() -> list[ChainRecord]:
    return build(
        [
            ("audit.created", "ann", CREATED, {"name": "E", "risk_limit": 0.05}),
            ("jurisdiction.added", "ann", CREATED, {"jurisdiction": "Ağrı"}),
            ("manifest.loaded", "bob", CREATED, {"sha256": "ab" * 32, "batches": 12}),
            ("seed.set", "bob", CREATED, {"seed": "01234567890123456789"}),
        ]
    )


# --- the byte recipe ---------------------------------------------------------------


def test_genesis_is_64_zeros() -> None:
    assert GENESIS == "0" * 64


def test_event_hash_follows_the_documented_bytes() -> None:
    # Written out by hand, as a third party would from the module docstring.
    expected_bytes = (
        b"0" * 64 + b'{"actor":"ann","created":"2024-11-05T20:00:00+00:00",'
        b'"payload":{"name":"E"},"seq":1,"type":"audit.created"}'
    )
    expected = hashlib.sha256(expected_bytes).hexdigest()
    assert event_hash(GENESIS, 1, "audit.created", "ann", CREATED, '{"name":"E"}') == expected


def test_event_hash_writes_non_ascii_as_utf8_and_floats_shortest() -> None:
    body = (
        b'{"actor":"Zo\xc3\xab","created":"c","payload":{"p":0.05,"\xc3\xa9":1},'
        b'"seq":7,"type":"seed.set"}'
    )
    expected = hashlib.sha256(b"f" * 64 + body).hexdigest()
    assert event_hash("f" * 64, 7, "seed.set", "Zoë", "c", '{"é": 1, "p": 5e-2}') == expected


def test_event_hash_depends_on_content_not_spacing() -> None:
    compact = event_hash(GENESIS, 1, "seed.set", "a", CREATED, '{"a":1,"b":[1,2]}')
    spaced = event_hash(GENESIS, 1, "seed.set", "a", CREATED, '{ "b": [1, 2],\n "a": 1 }')
    changed = event_hash(GENESIS, 1, "seed.set", "a", CREATED, '{"a":2,"b":[1,2]}')
    assert compact == spaced != changed


@pytest.mark.parametrize("text", ["[1]", '"x"', "{", '{"a":1,"a":2}', '{"a":NaN}'])
def test_event_hash_rejects_payloads_that_are_not_strict_json_objects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        event_hash(GENESIS, 1, "seed.set", "a", CREATED, text)


def test_make_record_links_to_the_previous_event() -> None:
    chain = sample_chain()
    assert [r.seq for r in chain] == [1, 2, 3, 4]
    assert chain[0].prev_hash == GENESIS
    for prev, record in pairwise(chain):
        assert record.prev_hash == prev.hash
    for record in chain:
        text = canonical_json(record.payload).decode()
        assert record.hash == event_hash(
            record.prev_hash, record.seq, record.type, record.actor, record.created, text
        )


# --- verify_chain: examples ------------------------------------------------------


def test_an_untouched_chain_verifies() -> None:
    chain = sample_chain()
    assert verify_chain(chain) == []
    assert verify_chain(chain, head=chain[-1].hash) == []
    assert verify_chain([]) == []
    assert verify_chain([], head=GENESIS) == []


def test_an_edited_payload_is_named_by_seq() -> None:
    chain = sample_chain()
    chain[2] = dataclasses.replace(chain[2], payload={"sha256": "cd" * 32, "batches": 12})
    problems = verify_chain(chain)
    assert len(problems) == 1
    assert problems[0].startswith("event seq 3: hash mismatch")


def test_a_deleted_event_is_named_by_the_seq_after_the_gap() -> None:
    chain = sample_chain()
    del chain[1]
    problems = verify_chain(chain)
    assert any("event seq 3: follows seq 1, so seq 2 is missing" in p for p in problems)
    assert any(p.startswith("event seq 3: prev_hash") for p in problems)


def test_deleting_the_first_event_breaks_the_genesis() -> None:
    chain = sample_chain()[1:]
    problems = verify_chain(chain)
    assert any("starts at seq 2" in p for p in problems)
    assert any("not the genesis value" in p for p in problems)


def test_a_truncated_log_needs_the_published_head() -> None:
    chain = sample_chain()
    head = chain[-1].hash
    assert verify_chain(chain[:-1]) == []  # a hash chain alone cannot see this
    problems = verify_chain(chain[:-1], head=head)
    assert problems == [
        f"event seq 3: the log ends with hash {chain[-2].hash[:12]}…, but the published "
        f"head is {head[:12]}…: events were cut off or appended after seq 3"
    ]


def test_swapped_events_are_out_of_order() -> None:
    chain = sample_chain()
    chain[1], chain[2] = chain[2], chain[1]
    problems = verify_chain(chain)
    assert any(p.startswith("event seq 2: comes after seq 3") for p in problems)
    assert any(p.startswith("event seq 3: prev_hash") for p in problems)


def test_a_malformed_hash_is_reported_not_raised() -> None:
    chain = sample_chain()
    chain[0] = dataclasses.replace(chain[0], hash="XYZ", prev_hash="é" * 64)
    problems = verify_chain(chain)
    assert any("event seq 1: cannot be hashed" in p for p in problems)
    assert any("not 64 lowercase hex digits" in p for p in problems)


# --- verify_chain: properties ----------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
events = st.tuples(
    st.sampled_from(["audit.created", "manifest.loaded", "seed.set", "readings.recorded"]),
    st.text(min_size=1, max_size=6),
    st.text(min_size=1, max_size=25),
    payloads,
)
chains = st.lists(events, min_size=1, max_size=8).map(build)
FIELDS = ("seq", "type", "actor", "created", "payload", "prev_hash", "hash")


def _names_seq(problems: list[str], seq: int) -> bool:
    return any(re.match(rf"event seq {seq}\b", p) for p in problems)


@given(chains)
def test_property_an_untouched_chain_verifies(chain: list[ChainRecord]) -> None:
    assert verify_chain(chain) == []
    assert verify_chain(chain, head=chain[-1].hash) == []


@given(chains, st.data())
def test_property_any_single_edit_is_detected_at_its_seq(
    chain: list[ChainRecord], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(chain) - 1), label="index")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    old = getattr(chain[index], field)
    new: Any
    if field == "seq":
        new = data.draw(st.integers(-5, 20))
    elif field == "payload":
        new = data.draw(payloads)
    elif field in ("prev_hash", "hash"):
        new = data.draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
    else:
        new = data.draw(st.text(max_size=25))
    assume(canonical_json(new) != canonical_json(old))
    edited = list(chain)
    edited[index] = dataclasses.replace(chain[index], **{field: new})
    problems = verify_chain(edited)
    assert problems
    assert _names_seq(problems, edited[index].seq)


@given(chains, st.data())
def test_property_any_single_deletion_is_detected(
    chain: list[ChainRecord], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(chain) - 1), label="index")
    shorter = chain[:index] + chain[index + 1 :]
    if index < len(chain) - 1:  # an event follows the gap: the chain itself shows it
        problems = verify_chain(shorter)
        assert _names_seq(problems, chain[index + 1].seq)
    # with the published head, even the last event's deletion shows
    assert verify_chain(shorter, head=chain[-1].hash)


@given(chains, st.data())
def test_property_any_reordering_is_detected(chain: list[ChainRecord], data: st.DataObject) -> None:
    assume(len(chain) >= 2)
    order = data.draw(st.permutations(range(len(chain))), label="order")
    assume(list(order) != sorted(order))
    problems = verify_chain([chain[i] for i in order])
    assert problems
    first_moved = next(i for i, j in enumerate(order) if i != j)
    assert _names_seq(problems, chain[order[first_moved]].seq)


@given(chains, events, st.data())
def test_property_any_single_insertion_is_detected(
    chain: list[ChainRecord], event: tuple[str, str, str, dict[str, Any]], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(chain)), label="index")
    # The strongest forger who cannot rewrite later events: a well-formed event
    # chained correctly to its predecessor, with the next seq number.
    forged = make_record(chain[index - 1] if index else None, *event)
    longer = [*chain[:index], forged, *chain[index:]]
    if index < len(chain):
        problems = verify_chain(longer)
        assert _names_seq(problems, chain[index].seq)
    assert verify_chain(longer, head=chain[-1].hash)


@given(chains)
def test_property_every_problem_names_a_seq(chain: list[ChainRecord]) -> None:
    mangled = [dataclasses.replace(r, seq=r.seq * 2, hash=r.prev_hash) for r in reversed(chain)]
    problems = verify_chain(mangled, head="0" * 64)
    assert problems
    assert all(re.match(r"event seq -?\d+: ", p) for p in problems)


# --- the file form ---------------------------------------------------------------


@given(chains)
def test_property_jsonl_round_trip(tmp_path_factory: Any, chain: list[ChainRecord]) -> None:
    path = tmp_path_factory.mktemp("chain") / "events.jsonl"
    write_jsonl(path, chain)
    assert read_jsonl(path) == chain


def test_jsonl_is_one_canonical_object_per_line(tmp_path: Path) -> None:
    chain = sample_chain()
    path = tmp_path / "events.jsonl"
    write_jsonl(path, chain)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == len(chain) + 1
    for line, record in zip(lines, chain, strict=False):
        assert line == canonical_json(dataclasses.asdict(record))
    assert "Ağrı".encode() in lines[1]


def test_empty_jsonl_is_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_jsonl(path, [])
    assert path.read_bytes() == b""
    assert read_jsonl(path) == []


def _line(record: ChainRecord, **changes: Any) -> str:
    obj = {**dataclasses.asdict(record), **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


@pytest.mark.parametrize(
    ("second_line", "expected"),
    [
        ("{not json", "line 2: not a JSON event"),
        ("[1, 2]", "line 2: not a JSON object"),
        ("", "line 2: not a JSON event"),
        ("SEQ_MISSING", "line 2, field 'seq': 'seq' is missing"),
        ("EXTRA", "line 2, field 'note': 'note' is not an event field"),
        ("SEQ_TEXT", "line 2, field 'seq': '2' is not a whole number"),
        ("SEQ_BOOL", "line 2, field 'seq': True is not a whole number"),
        ("PAYLOAD_LIST", "line 2, field 'payload': [] is not a JSON object"),
        ("ACTOR_NUMBER", "line 2, field 'actor': 5 is not text"),
        ('{"seq": 1, "seq": 2}', "line 2: not a JSON event (duplicate key 'seq')"),
    ],
)
def test_read_errors_name_file_line_and_field(
    tmp_path: Path, second_line: str, expected: str
) -> None:
    first, second = sample_chain()[:2]
    lines = {
        "SEQ_MISSING": _line(second, seq=...),
        "EXTRA": _line(second, note="x"),
        "SEQ_TEXT": _line(second, seq="2"),
        "SEQ_BOOL": _line(second, seq=True),
        "PAYLOAD_LIST": _line(second, payload=[]),
        "ACTOR_NUMBER": _line(second, actor=5),
    }
    path = tmp_path / "events.jsonl"
    path.write_text(_line(first) + "\n" + lines.get(second_line, second_line) + "\n")
    with pytest.raises(InputError) as caught:
        read_jsonl(path)
    assert str(caught.value).startswith(f"{path}, {expected}")
    assert "Fix: restore events.jsonl" in str(caught.value)


def test_read_error_for_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"seq": "\xff"}\n')
    with pytest.raises(InputError, match=r"line 1: not a JSON event \(not UTF-8"):
        read_jsonl(path)


def test_read_error_for_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.jsonl"
    with pytest.raises(InputError, match="cannot read the event log") as caught:
        read_jsonl(path)
    assert caught.value.file == str(path)
