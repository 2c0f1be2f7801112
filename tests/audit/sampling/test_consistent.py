"""The consistent sampler: Arlo's published draws, pitfalls P1-P3, errors, and the fast kernel.

Rivest (2018), "Consistent Sampling with Replacement", arXiv:1808.10016. These
tests need no reference package: the expected values are Arlo's own snapshots.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from tallyguard.audit.sampling import (
    BallotDraw,
    Draw,
    _kernel,
    arlo_ballot_id,
    ballot_id,
    consistent_sample,
    sample_manifest,
    validate_dice_seed,
)
from tallyguard.audit.sampling import tickets as tk
from tallyguard.audit.sampling.population import PARALLEL_THRESHOLD, default_workers
from tallyguard.errors import InputError
from tallyguard.model.manifest import ManifestBatch

ARLO = json.loads(
    (Path(__file__).parent / "data" / "arlo_sampler_snapshot.json").read_text("utf-8")
)
SEED = "12345678901234567890"


def _batches(*counts: int, jurisdiction: str = "Jx 1") -> list[ManifestBatch]:
    return [ManifestBatch(jurisdiction, f"pct {i}", n) for i, n in enumerate(counts, 1)]


@pytest.mark.parametrize("case", ARLO["ballot_polling"]["cases"])
def test_arlo_ballot_polling_snapshot(case: dict[str, Any]) -> None:
    manifest = ARLO["ballot_polling"]["manifest"]
    ids = [(batch, p) for batch, n in manifest.items() for p in range(1, n + 1)]
    draws = consistent_sample(
        ids,
        ARLO["seed"],
        case["sample_size"],
        with_replacement=True,
        drop=case["num_sampled"],
    )
    got = [[d.ticket, list(cast(tuple[str, int], d.id)), d.times_sampled] for d in draws]
    assert got == case["expected"]


def test_arlo_ppeb_ticket_chains() -> None:
    # Arlo draws PPEB batches with numpy; their tickets are first/next tickets of the
    # batch key: a key's k-th appearance has the k-th ticket of its chain, where Arlo
    # (unlike the sampler) takes each next ticket of the *trimmed* previous one. P2:
    # one ticket has 19 digits because it starts with a 9.
    chains: dict[tuple[str, str], str] = {}
    for ticket, key in ARLO["ppeb_ticket_chains"]["expected"]:
        batch = (key[0], key[1])
        full = (
            tk.next_ticket(chains[batch])
            if batch in chains
            else tk.first_ticket(str(batch), ARLO["seed"])
        )
        chains[batch] = tk.trim(full, 18)
        assert chains[batch] == ticket
    assert tk.trim(tk.first_ticket(str(("Jx 1", "pct 14")), ARLO["seed"]), 18) == (
        "0.9722586520568512638"
    )


def test_ballot_draw_fields_and_order() -> None:
    draws = sample_manifest(_batches(5, 0, 7), SEED, 12)
    assert all(isinstance(d, BallotDraw) for d in draws)
    assert sorted((d.batch_name, d.position) for d in draws) == sorted(
        [("pct 1", p) for p in range(1, 6)] + [("pct 3", p) for p in range(1, 8)]
    )
    assert [d.ticket for d in draws] == sorted(d.ticket for d in draws)
    assert {d.times_sampled for d in draws} == {1}


def test_sample_manifest_equals_consistent_sample_on_ballot_ids() -> None:
    batches = _batches(30, 12, 1, 44, jurisdiction="Łódź")
    ids = [
        ballot_id(b.jurisdiction, b.batch_name, p)
        for b in batches
        for p in range(1, b.num_ballots + 1)
    ]
    for with_replacement in (False, True):
        by_manifest = sample_manifest(batches, SEED, 50, with_replacement=with_replacement)
        by_ids = consistent_sample(ids, SEED, 50, with_replacement=with_replacement)
        by_batches = consistent_sample(batches, SEED, 50, with_replacement=with_replacement)
        assert by_ids == by_batches
        assert [
            Draw(d.ticket, ((d.jurisdiction, d.batch_name), d.position), n, d.times_sampled)
            for n, d in enumerate(by_manifest, 1)
        ] == by_ids


def test_pitfall_p1_numpy_strings_are_made_plain() -> None:
    jurisdiction = np.array(["Jx 1"])[0]
    made = ballot_id(jurisdiction, np.str_("pct 8"), np.int64(3))  # type: ignore[arg-type]
    assert str(made) == "(('Jx 1', 'pct 8'), 3)"
    assert type(made[0][0]) is str
    assert type(made[1]) is int
    # inside a tuple a numpy string would print as np.str_('...'): refused, not hashed
    with pytest.raises(InputError, match="numpy"):
        consistent_sample([((jurisdiction, "pct 8"), 3)], SEED, 1)
    with pytest.raises(InputError, match="frozenset"):
        consistent_sample([("a", frozenset({"x", "y"}))], SEED, 1)


def test_pitfall_p2_tickets_keep_digits_after_leading_nines() -> None:
    assert tk.trim("0.9620595584563910427123", 18) == "0.9620595584563910427"
    assert tk.trim("0.0999", 2) == "0.09"
    assert tk.trim("0.999", 5) == "0.999"
    # string order: a ticket sorts before a longer one it is a prefix of
    assert tk.ticket_key("0.123456789000") == 123456789


def test_pitfall_p3_times_sampled_counts_every_draw() -> None:
    draws = consistent_sample(["a", "b"], SEED, 40, with_replacement=True)
    counts: dict[Hashable, int] = {}
    for d in draws:
        counts[d.id] = counts.get(d.id, 0) + 1
        assert d.times_sampled == counts[d.id]
    assert sum(counts.values()) == 40


def test_arlo_ballot_id_is_the_tabulator_triple() -> None:
    assert arlo_ballot_id("Jx 1", None, "Batch 1", 4) == (("Jx 1", None, "Batch 1"), 4)
    assert str(arlo_ballot_id("Jx", "Tab A", "B", 1)) == "(('Jx', 'Tab A', 'B'), 1)"


def test_take_zero_is_empty_and_full_population_is_a_permutation() -> None:
    assert consistent_sample(["a", "b"], SEED, 0) == []
    assert sample_manifest(_batches(3), SEED, 0, with_replacement=True) == []
    everything = sample_manifest(_batches(4, 6), SEED, 10)
    assert len({(d.batch_name, d.position) for d in everything}) == 10


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_manifest(_batches(3, 2), SEED, 6), "full hand count"),
        (lambda: sample_manifest(_batches(3, 2), SEED, 3, drop=3), "full hand count"),
        (lambda: sample_manifest(_batches(3), SEED, -1), "take must be a whole number"),
        (lambda: sample_manifest(_batches(3), SEED, 1, drop=-2), "drop must be"),
        (lambda: sample_manifest(_batches(3), SEED, 1.5), "take must be"),  # type: ignore[arg-type]
        (lambda: sample_manifest(_batches(3), SEED, True), "take must be"),
        (lambda: sample_manifest([], SEED, 1), "no ballots"),
        (lambda: sample_manifest(_batches(0, 0), SEED, 1, with_replacement=True), "no ballots"),
        (lambda: consistent_sample([], SEED, 0), "no ballots"),
        (lambda: sample_manifest(_batches(3), "", 1), "seed is empty"),
        (lambda: sample_manifest(_batches(3), "   ", 1), "seed is empty"),
        (lambda: sample_manifest(_batches(3), 1234, 1), "must be text"),  # type: ignore[arg-type]
        (lambda: consistent_sample(["a", "b", "a"], SEED, 1), "duplicates"),
        (lambda: consistent_sample([1, "1"], SEED, 2), "print the same text"),
        (lambda: consistent_sample([["unhashable"]], SEED, 1), "hashable"),  # type: ignore[list-item]
        (lambda: consistent_sample(["a"], SEED, 1, digits=-1), "digits must be"),
        (lambda: ballot_id("Jx", "B", 0), "position"),
        (lambda: ballot_id("Jx", 7, 1), "batch name must be text"),  # type: ignore[arg-type]
        (
            lambda: sample_manifest(
                [
                    ManifestBatch("J", "B", 2, tabulator="T1"),
                    ManifestBatch("J", "B", 3, tabulator="T2"),
                ],
                SEED,
                1,
            ),
            "appears twice",
        ),
        (lambda: sample_manifest([ManifestBatch("J", "B", -1)], SEED, 1), "has -1 ballots"),
    ],
)
def test_bad_input_is_a_clear_input_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError, match=message) as raised:
        call()
    assert "Fix:" in str(raised.value)


def test_too_many_draws_message_names_both_counts() -> None:
    with pytest.raises(InputError) as raised:
        sample_manifest(_batches(2_000, 1_000), SEED, 3_001)
    text = str(raised.value)
    assert "3,001" in text
    assert "3,000" in text
    assert "full hand count" in text


def test_validate_dice_seed() -> None:
    assert validate_dice_seed("38573918402847561029") == "38573918402847561029"
    assert validate_dice_seed("0" * 25) == "0" * 25
    for bad, message in [
        ("1234567890123456789", "19 digits"),
        ("", "empty"),
        ("3857 3918 4028 4756 1029", "' '"),
        ("385739184028475610291-", "'-'"),
        ("٣٨٥٧٣٩١٨٤٠٢٨٤٧٥٦١٠٢٩", "digits 0-9"),
        (" 38573918402847561029", "' '"),
    ]:
        with pytest.raises(InputError, match=message):
            validate_dice_seed(bad)
    with pytest.raises(InputError, match="text"):
        validate_dice_seed(38573918402847561029)  # type: ignore[arg-type]


def test_kernel_keys_equal_exact_ticket_prefixes() -> None:
    specials = [
        bytes(32),
        b"\xff" * 32,
        (10**9 - 1).to_bytes(32, "big"),
        (10**9).to_bytes(32, "big"),
    ]
    digests = specials + [hashlib.sha256(os.urandom(8)).digest() for _ in range(3000)]
    keys = _kernel.keys_from_digests(b"".join(digests))
    assert keys.dtype == np.uint64
    assert keys.tolist() == [tk.key_from_digest(d) for d in digests]
    assert keys.tolist() == [tk.ticket_key("0." + tk.digits_from_digest(d)) for d in digests]


def test_selection_keeps_every_tie_at_the_boundary() -> None:
    selection = _kernel.Selection(3)
    selection.add(np.array([5, 1, 5, 9, 5], dtype=np.uint64), np.arange(5, dtype=np.int64))
    assert sorted(selection.indices.tolist()) == [0, 1, 2, 4]
    selection.add(np.array([0, 7], dtype=np.uint64), np.array([10, 11], dtype=np.int64))
    assert sorted(selection.indices.tolist()) == [0, 1, 2, 4, 10]
    selection.add(np.array([2], dtype=np.uint64), np.array([12], dtype=np.int64))
    assert sorted(selection.indices.tolist()) == [1, 10, 12]


def test_split_segments_covers_every_ballot_once() -> None:
    segments = [("(('J', 'A'), ", 1, 7, 0), ("(('J', 'B'), ", 1, 1, 7), ("(('J', 'C'), ", 1, 5, 8)]
    for parts in (1, 2, 3, 5, 13, 20):
        pieces = _kernel.split_segments(segments, parts)
        assert len(pieces) <= parts
        seen = [
            (head, p, offset + p - first)
            for piece in pieces
            for head, first, last, offset in piece
            for p in range(first, last + 1)
        ]
        assert seen == [
            (head, p, offset + p - 1)
            for head, _, last, offset in segments
            for p in range(1, last + 1)
        ]


def test_workers_default_to_two_only_for_large_populations() -> None:
    assert default_workers(PARALLEL_THRESHOLD - 1) == 1
    assert default_workers(PARALLEL_THRESHOLD) == min(2, os.cpu_count() or 1)


def test_parallel_and_serial_agree() -> None:
    batches = _batches(*range(1, 80), jurisdiction="Zürich")
    for with_replacement in (False, True):
        serial = sample_manifest(batches, SEED, 400, with_replacement=with_replacement, workers=1)
        for workers in (2, 3):
            assert serial == sample_manifest(
                batches, SEED, 400, with_replacement=with_replacement, workers=workers
            )
    ids = [f"id {i}" for i in range(3000)]
    assert consistent_sample(ids, SEED, 100, workers=2) == consistent_sample(ids, SEED, 100)


def test_parallel_falls_back_to_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no processes in this sandbox")

    batches = _batches(*range(1, 40))
    serial = sample_manifest(batches, SEED, 100, workers=1)
    monkeypatch.setattr(_kernel, "ProcessPoolExecutor", no_processes)
    assert sample_manifest(batches, SEED, 100, workers=2) == serial
