"""Consistent sampling at scale: 10,000 of 5,000,000 ballots, ours against the reference.

Rivest (2018), "Consistent Sampling with Replacement", arXiv:1808.10016; reference
implementation ``consistent_sampler.sampler`` (package ``consistent-sampler``),
which needs about 27 s here (docs: shared/references/audit-methods.md §3).

A synthetic manifest (default 20,000 batches x 250 ballots, five jurisdictions with
non-ASCII names) is sampled without and with replacement by
``tallyguard.audit.sampling.sample_manifest`` and by the reference on the same
ids ``((jurisdiction, batch_name), position)``; the script asserts identical
tickets, ids and draw counts, and prints both times and the speed-up (target >= 10x).

Run: ``.venv/bin/python benchmarks/bench_sampling.py`` (about a minute; the
reference runs twice). ``--no-reference-with-replacement`` skips the second
reference run.
"""

from __future__ import annotations

import argparse
import time

import consistent_sampler  # type: ignore[import-untyped]

from tallyguard.audit.sampling import sample_manifest
from tallyguard.model.manifest import ManifestBatch

TARGET_SPEEDUP = 10.0
SEED = "38573918402847561029"
JURISDICTIONS = ["Adams", "Łódź", "São Paulo", "東京都", "Zürich"]


def manifest(batches: int, per_batch: int) -> list[ManifestBatch]:
    """``batches`` batches of ``per_batch`` ballots, spread over five jurisdictions."""
    return [
        ManifestBatch(JURISDICTIONS[i % len(JURISDICTIONS)], f"Batch {i:06d}", per_batch)
        for i in range(batches)
    ]


def run(
    batches: list[ManifestBatch], take: int, *, with_replacement: bool, reference: bool
) -> tuple[float, float | None]:
    """Time ours and (optionally) the reference; assert they agree. Returns both times."""
    start = time.perf_counter()
    ours = sample_manifest(batches, SEED, take, with_replacement=with_replacement)
    ours_seconds = time.perf_counter() - start
    kind = "with" if with_replacement else "without"
    print(f"  ours      ({kind} replacement): {ours_seconds:7.2f} s")
    if not reference:
        return ours_seconds, None
    ids = [
        ((b.jurisdiction, b.batch_name), p) for b in batches for p in range(1, b.num_ballots + 1)
    ]
    start = time.perf_counter()
    expected = list(
        consistent_sampler.sampler(
            ids,
            seed=SEED,
            take=take,
            with_replacement=with_replacement,
            output="tuple",
            digits=18,
        )
    )
    reference_seconds = time.perf_counter() - start
    got = [(d.ticket, ((d.jurisdiction, d.batch_name), d.position), d.times_sampled) for d in ours]
    assert got == expected, "tickets differ from the reference"
    repeats = sum(d.times_sampled > 1 for d in ours)
    print(f"  reference ({kind} replacement): {reference_seconds:7.2f} s")
    print(
        f"  same {len(got):,} tickets, ids and counts ({repeats} repeat draws); "
        f"speed-up {reference_seconds / ours_seconds:.1f}x"
    )
    return ours_seconds, reference_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20_000)
    parser.add_argument("--per-batch", type=int, default=250)
    parser.add_argument("--take", type=int, default=10_000)
    parser.add_argument("--no-reference-with-replacement", action="store_true")
    args = parser.parse_args()
    batches = manifest(args.batches, args.per_batch)
    total = args.batches * args.per_batch
    print(f"sample {args.take:,} of {total:,} ballots ({args.batches:,} batches), seed {SEED}")
    ours, ref = run(batches, args.take, with_replacement=False, reference=True)
    assert ref is not None
    speedup = ref / ours
    run(
        batches,
        args.take,
        with_replacement=True,
        reference=not args.no_reference_with_replacement,
    )
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "MISSES"
    print(f"without replacement: {speedup:.1f}x faster ({verdict} the {TARGET_SPEEDUP:g}x target)")


if __name__ == "__main__":
    main()
