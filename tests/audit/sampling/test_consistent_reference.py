"""The consistent sampler against Rivest's reference package ``consistent-sampler`` (1.0.10).

Rivest (2018), "Consistent Sampling with Replacement", arXiv:1808.10016. Every
comparison is ticket for ticket, id for id and generation for generation, in order.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tallyguard.audit.sampling import (
    ballot_id,
    consistent_sample,
    sample_manifest,
)
from tallyguard.audit.sampling import tickets as tk
from tallyguard.io.manifest import read_manifest
from tallyguard.model.manifest import ManifestBatch

cs = pytest.importorskip("consistent_sampler")

JURISDICTIONS = ["Kendall Park", "Müllheim", "東京都", "São Tomé", "O'Brien County", 'Quote "Q"']
FIXED_SEEDS = ["ü-12345", "骰子", "😀", "0", "00", "12345678901234567890", "a b\tc", " lead"]


def _seeds(count: int) -> list[str]:
    """Deterministic seeds: 20 dice digits mostly, some with letters and non-ASCII text."""
    rng = random.Random(20240521)
    seeds = list(FIXED_SEEDS)
    alphabets = ["0123456789", "0123456789abcdef", "0123456789äöüß骰子€"]
    while len(seeds) < count:
        alphabet = alphabets[len(seeds) % 3]
        seeds.append("".join(rng.choice(alphabet) for _ in range(rng.choice([1, 5, 20, 24]))))
    return seeds


SEEDS = _seeds(210)


def _manifest(rng: random.Random, batches: int) -> list[ManifestBatch]:
    return [
        ManifestBatch(rng.choice(JURISDICTIONS), f"Batch {i:03d}-ü", rng.randint(0, 12))
        for i in range(batches)
    ]


def _reference(
    ids: Sequence[Hashable],
    seed: str,
    take: int,
    *,
    with_replacement: bool = False,
    digits: int = 18,
    drop: int = 0,
) -> list[tuple[str, Hashable, int]]:
    return list(
        cs.sampler(
            ids,
            seed=seed,
            take=take,
            drop=drop,
            with_replacement=with_replacement,
            output="tuple",
            digits=digits,
        )
    )


def _ours(
    ids: Sequence[Hashable], seed: str, take: int, **kwargs: Any
) -> list[tuple[str, Hashable, int]]:
    return [(d.ticket, d.id, d.times_sampled) for d in consistent_sample(ids, seed, take, **kwargs)]


@pytest.mark.parametrize("with_replacement", [False, True])
def test_many_seeds_equal_reference(with_replacement: bool) -> None:
    rng = random.Random(7 + with_replacement)
    for n, seed in enumerate(SEEDS):
        batches = _manifest(rng, rng.randint(1, 12))
        ids = [
            ballot_id(b.jurisdiction, b.batch_name, p)
            for b in batches
            for p in range(1, b.num_ballots + 1)
        ]
        if not ids:
            continue
        if with_replacement:
            take = rng.randint(1, 2 * len(ids) + 3)
        else:
            take = len(ids) if n % 4 == 0 else rng.randint(1, len(ids))
        expected = _reference(ids, seed, take, with_replacement=with_replacement)
        assert _ours(ids, seed, take, with_replacement=with_replacement) == expected, seed
        manifest = sample_manifest(batches, seed, take, with_replacement=with_replacement)
        assert [
            (d.ticket, ((d.jurisdiction, d.batch_name), d.position), d.times_sampled)
            for d in manifest
        ] == expected


@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("digits", [0, 1, 9, 18, 40, 90])
def test_digits_and_drop_equal_reference(with_replacement: bool, digits: int) -> None:
    ids = [f"card-{i}-ñ" for i in range(150)] + [("tuple", i) for i in range(50)] + list(range(30))
    for seed in SEEDS[:12]:
        for drop, take in [(0, 40), (25, 30), (170, 60), (0, 230)]:
            if not with_replacement and drop + take > len(ids):
                continue
            expected = _reference(
                ids, seed, take, with_replacement=with_replacement, digits=digits, drop=drop
            )
            draws = consistent_sample(
                ids, seed, take, with_replacement=with_replacement, digits=digits, drop=drop
            )
            assert [(d.ticket, d.id, d.times_sampled) for d in draws] == expected
            assert [d.draw_index for d in draws] == list(range(drop + 1, drop + len(draws) + 1))


def test_long_with_replacement_stream_equals_reference() -> None:
    # 12 ids, 600 draws: every id is drawn about 50 times, exercising next tickets deeply
    ids = [("Jx ü", f"pct {i}") for i in range(12)]
    assert _ours(ids, "骰子", 600, with_replacement=True) == _reference(
        ids, "骰子", 600, with_replacement=True
    )


def test_parallel_path_equals_reference() -> None:
    rng = random.Random(99)
    batches = [
        ManifestBatch(rng.choice(JURISDICTIONS), f"B{i}", rng.randint(1, 40)) for i in range(150)
    ]
    ids = [
        ballot_id(b.jurisdiction, b.batch_name, p)
        for b in batches
        for p in range(1, b.num_ballots + 1)
    ]
    for seed in SEEDS[:3]:
        for with_replacement in (False, True):
            expected = _reference(ids, seed, 300, with_replacement=with_replacement)
            got = sample_manifest(batches, seed, 300, with_replacement=with_replacement, workers=2)
            assert [
                (d.ticket, ((d.jurisdiction, d.batch_name), d.position), d.times_sampled)
                for d in got
            ] == expected
            assert _ours(ids, seed, 300, with_replacement=with_replacement, workers=2) == expected


def test_arlo_fixture_manifests_equal_reference(shared_data: Path) -> None:
    folder = shared_data / "rla" / "arlo" / "small-election"
    batches: list[ManifestBatch] = []
    for path in sorted(folder.glob("* - ballot manifest.csv")):
        batches += read_manifest(path, path.name.split(" - ")[0])
    ids = [
        ballot_id(b.jurisdiction, b.batch_name, p)
        for b in batches
        for p in range(1, b.num_ballots + 1)
    ]
    assert len(ids) > 100
    seed = "38573918402847561029"
    for with_replacement, take in [(True, 80), (False, len(ids))]:
        expected = _reference(ids, seed, take, with_replacement=with_replacement)
        got = sample_manifest(batches, seed, take, with_replacement=with_replacement)
        assert [
            (d.ticket, ((d.jurisdiction, d.batch_name), d.position), d.times_sampled) for d in got
        ] == expected


def test_ticket_helpers_equal_reference() -> None:
    rng = random.Random(3)
    for seed in SEEDS[:40]:
        for item in ["AB-130", ("Jx 1", "pct 8"), (("東京都", "B 1"), 7), 12]:
            full = cs.first_fraction(item, seed)
            assert tk.first_ticket(str(item), seed) == full
            assert tk.next_ticket(full) == cs.next_fraction(full)
            for digits in (0, 3, 18):
                assert tk.trim(full, digits) == cs.trim(full, digits)
    assert tk.uniform("abc") == cs.sha256_uniform("abc")
    assert tk.seed_hash("骰子") == cs.sha256_hex("骰子")
    # next tickets of tickets with leading 9s, and of an all-9s ticket
    for ticket in ["0.9", "0.99", "0.999999999999", "0.25471", "0.9991234", "0.0"]:
        assert tk.next_ticket(ticket) == cs.next_fraction(ticket)
        for digits in (0, 2, 18):
            assert tk.trim(ticket, digits) == cs.trim(ticket, digits)
    for _ in range(200):
        digest = hashlib.sha256(rng.randbytes(8)).digest()
        ticket = "0." + tk.digits_from_digest(digest)
        assert tk.key_from_digest(digest) == tk.ticket_key(ticket)
