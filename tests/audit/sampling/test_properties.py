"""Invariants of consistent sampling (Rivest 2018, arXiv:1808.10016, §3-4), by hypothesis."""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyguard.audit.sampling import consistent_sample, sample_manifest
from tallyguard.model.manifest import ManifestBatch

seeds = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
names = st.text(min_size=1, max_size=6)
id_lists = st.lists(
    st.one_of(names, st.integers(-50, 10**6)), min_size=1, max_size=60, unique_by=str
)
manifests = st.lists(
    st.builds(
        ManifestBatch, st.sampled_from(["Jx 1", "Zürich", "東京"]), names, st.integers(0, 15)
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda b: (b.jurisdiction, b.batch_name),
).filter(lambda batches: sum(b.num_ballots for b in batches) > 0)

FAST = settings(max_examples=60)


@FAST
@given(ids=id_lists, seed=seeds, data=st.data(), with_replacement=st.booleans())
def test_prefix_property(
    ids: list[Hashable], seed: str, data: st.DataObject, with_replacement: bool
) -> None:
    limit = 3 * len(ids) if with_replacement else len(ids)
    n = data.draw(st.integers(0, limit))
    k = data.draw(st.integers(0, n))
    long = consistent_sample(ids, seed, n, with_replacement=with_replacement)
    assert consistent_sample(ids, seed, k, with_replacement=with_replacement) == long[:k]
    assert len(long) == n


@FAST
@given(ids=id_lists, seed=seeds, data=st.data(), with_replacement=st.booleans())
def test_drop_continues_the_same_stream(
    ids: list[Hashable], seed: str, data: st.DataObject, with_replacement: bool
) -> None:
    limit = 2 * len(ids) if with_replacement else len(ids)
    drop = data.draw(st.integers(0, limit))
    take = data.draw(st.integers(0, limit - drop))
    whole = consistent_sample(ids, seed, drop + take, with_replacement=with_replacement)
    later = consistent_sample(ids, seed, take, with_replacement=with_replacement, drop=drop)
    assert later == whole[drop:]
    assert [d.draw_index for d in later] == list(range(drop + 1, drop + take + 1))


@FAST
@given(batches=manifests, seed=seeds, data=st.data())
def test_without_replacement_never_repeats(
    batches: list[ManifestBatch], seed: str, data: st.DataObject
) -> None:
    total = sum(b.num_ballots for b in batches)
    take = data.draw(st.integers(0, total))
    draws = sample_manifest(batches, seed, take)
    cards = [(d.jurisdiction, d.batch_name, d.position) for d in draws]
    assert len(set(cards)) == len(cards) == take
    assert all(d.times_sampled == 1 for d in draws)
    assert [d.ticket for d in draws] == sorted(d.ticket for d in draws)
    sizes = {(b.jurisdiction, b.batch_name): b.num_ballots for b in batches}
    assert all(1 <= d.position <= sizes[(d.jurisdiction, d.batch_name)] for d in draws)


@FAST
@given(batches=manifests, seed=seeds, take=st.integers(0, 80))
def test_with_replacement_counts_each_draw(
    batches: list[ManifestBatch], seed: str, take: int
) -> None:
    draws = sample_manifest(batches, seed, take, with_replacement=True)
    seen: dict[tuple[str, str, int], int] = {}
    for d in draws:
        card = (d.jurisdiction, d.batch_name, d.position)
        seen[card] = seen.get(card, 0) + 1
        assert d.times_sampled == seen[card]
    assert sum(seen.values()) == take


@FAST
@given(ids=id_lists, seed=seeds, data=st.data())
def test_sampling_a_subset_filters_the_full_stream(
    ids: list[Hashable], seed: str, data: st.DataObject
) -> None:
    # Rivest 2018 §4: sampling a sub-collection equals filtering the full sample
    subset = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique_by=str))
    full = [d.id for d in consistent_sample(ids, seed, len(ids))]
    wanted = {str(i) for i in subset}
    part = [d.id for d in consistent_sample(subset, seed, len(subset))]
    assert [str(i) for i in part] == [str(i) for i in full if str(i) in wanted]
