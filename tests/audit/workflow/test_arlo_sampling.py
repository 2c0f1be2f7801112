"""Drawing by current Arlo's ids batch by batch gives the draws of the id-by-id sampler.

:func:`~tallyguard.audit.sampling.consistent.sample_arlo_manifest` hashes a
manifest's cards as segments (as ``sample_manifest`` does for the classic ids);
it must return exactly what ``consistent_sample`` returns on the list of every
card's id ``((jurisdiction, tabulator or None, batch_name), p)``, which is what
the audit's sample used before (and what Arlo draws).
"""

from __future__ import annotations

import pytest

from tallyguard.audit.sampling import consistent_sample
from tallyguard.audit.sampling.consistent import sample_arlo_manifest
from tallyguard.audit.workflow.sample import arlo_ids
from tallyguard.errors import InputError
from tallyguard.model.manifest import ManifestBatch

SEED = "31415926535897932384"
MANIFEST = [
    ManifestBatch("Łódź", "B-1", 40, tabulator="TAB 1"),
    ManifestBatch("Łódź", "B-1", 25, tabulator="TAB 2"),
    ManifestBatch("Łódź", "mail", 30),  # no tabulator: None in the id
    ManifestBatch("O'Brien County", 'Box "7"', 0, tabulator="T"),  # empty: never drawn
    ManifestBatch("O'Brien County", 'Box "8"', 55, tabulator="T"),
    ManifestBatch("東京都", "B-1", 50, tabulator=""),  # "" counts as no tabulator
]


@pytest.mark.parametrize("take", [1, 17, 200])
@pytest.mark.parametrize("workers", [1, 2])
def test_same_draws_as_the_id_by_id_sampler(take: int, workers: int) -> None:
    expected = consistent_sample(arlo_ids(MANIFEST), SEED, take)
    assert sample_arlo_manifest(MANIFEST, SEED, take, workers=workers) == expected


def test_a_large_manifest_is_hashed_on_several_processes() -> None:
    batches = [
        ManifestBatch(f"J{j}", f"B{b}", 250, tabulator=f"T{b % 3}")
        for j in range(4)
        for b in range(210)
    ]
    expected = consistent_sample(arlo_ids(batches), SEED, 50)
    assert sample_arlo_manifest(batches, SEED, 50) == expected


def test_too_many_draws_is_refused_as_before() -> None:
    with pytest.raises(InputError, match="without replacement"):
        sample_arlo_manifest(MANIFEST, SEED, 201)
