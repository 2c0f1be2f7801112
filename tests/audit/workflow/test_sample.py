"""The audit's sample: the reference consistent sampler's draws, cumulative across rounds."""

from __future__ import annotations

import dataclasses

import pytest

from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey
from tallyguard.audit.workflow.sample import arlo_ids, draw_sample, population_size
from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

cs = pytest.importorskip("consistent_sampler")

SEED = "12345678901234567890"
MAYOR = ReportedContest(
    Contest("c1", "Mayor", ContestKind.PLURALITY, ("Alice", "Bob")),
    ballots=40,
    totals={"Alice": 25, "Bob": 15},
    winners=("Alice",),
)
#: Three jurisdictions, no tabulators (Arlo's classic ids).
PLAIN = (
    ManifestBatch("Alameda", "A-1", 12, container="box 1"),
    ManifestBatch("Alameda", "A-2", 7, container="box 1"),
    ManifestBatch("Butte", "B-1", 0),
    ManifestBatch("Butte", "B-2", 15, container="shelf 3"),
    ManifestBatch("Colusa, the county", 'Mail "A"', 9),
)
#: The same with tabulators: batch names repeat across tabulators; one batch has none.
TABULATED = (
    ManifestBatch("Alameda", "B1", 12, container="box 1", tabulator="TAB-1"),
    ManifestBatch("Alameda", "B1", 7, container="box 2", tabulator="TAB-2"),
    ManifestBatch("Butte", "B1", 0, tabulator="TAB-1"),
    ManifestBatch("Butte", "B2", 15, tabulator="TAB-1"),
    ManifestBatch("Colusa, the county", 'Mail "A"', 9),
)


def inputs(
    batches: tuple[ManifestBatch, ...], kind: str = "polling", **extra: object
) -> AuditInputs:
    return AuditInputs(
        name="a",
        election="e",
        kind=kind,  # type: ignore[arg-type]
        risk_limit=0.05,
        method="alpha",
        seed=SEED,
        batches=batches,
        contests=(AuditContest(MAYOR, True),),
        **extra,  # type: ignore[arg-type]
    )


def reference(ids: list[object], take: int) -> list[tuple[str, object]]:
    draws = cs.sampler(ids, seed=SEED, take=take, with_replacement=False, output="tuple", digits=18)
    return [(ticket, item) for ticket, item, _ in draws]


def test_classic_ids_match_the_reference_sampler() -> None:
    ids = [((b.jurisdiction, b.batch_name), p) for b in PLAIN for p in range(1, b.num_ballots + 1)]
    drawn = draw_sample(inputs(PLAIN), 43)
    assert [
        (d.ticket, ((d.card.jurisdiction, d.card.batch_name), d.card.position)) for d in drawn
    ] == (reference(ids, 43))
    assert [d.draw for d in drawn] == list(range(1, 44))
    assert all(d.card.tabulator == "" for d in drawn)


def test_tabulator_ids_match_the_reference_sampler() -> None:
    ids = [
        ((b.jurisdiction, b.tabulator, b.batch_name), p)
        for b in TABULATED
        for p in range(1, b.num_ballots + 1)
    ]
    assert arlo_ids(TABULATED) == ids
    drawn = draw_sample(inputs(TABULATED), 43)
    got = [
        (
            d.ticket,
            ((d.card.jurisdiction, d.card.tabulator or None, d.card.batch_name), d.card.position),
        )
        for d in drawn
    ]
    assert got == reference(ids, 43)
    assert str(ids[-1]) == "(('Colusa, the county', None, 'Mail \"A\"'), 9)"
    assert {d.card.tabulator for d in drawn} == {"TAB-1", "TAB-2", ""}


def test_batch_ids_match_the_reference_sampler_and_skip_empty_batches() -> None:
    audit = inputs(TABULATED, kind="batch")
    keys = [("Alameda", "TAB-1", "B1"), ("Alameda", "TAB-2", "B1"), ("Butte", "TAB-1", "B2"),
            ("Colusa, the county", "", 'Mail "A"')]  # fmt: skip
    assert population_size(audit) == 4
    drawn = draw_sample(audit, 4)
    assert [(d.ticket, d.card.batch) for d in drawn] == reference(keys, 4)  # type: ignore[arg-type]
    assert all(d.card.position == 0 and d.imprinted_id is None for d in drawn)
    containers = {d.card.batch: d.container for d in drawn}
    assert containers[("Alameda", "TAB-2", "B1")] == "box 2"


@pytest.mark.parametrize("batches", [PLAIN, TABULATED], ids=["classic", "tabulators"])
def test_a_later_round_extends_the_earlier_one(batches: tuple[ManifestBatch, ...]) -> None:
    audit = inputs(batches)
    first, second = draw_sample(audit, 10), draw_sample(audit, 25)
    assert second[:10] == first
    assert len({d.card for d in second}) == 25  # without replacement
    assert draw_sample(audit, 0) == []


@pytest.mark.parametrize("batches", [PLAIN, TABULATED], ids=["classic", "tabulators"])
def test_the_sample_does_not_depend_on_the_order_of_the_manifest(
    batches: tuple[ManifestBatch, ...],
) -> None:
    assert draw_sample(inputs(batches), 30) == draw_sample(inputs(batches[::-1]), 30)


def test_containers_and_imprinted_ids_are_attached() -> None:
    card = CardKey("Alameda", "TAB-2", "B1", 3)
    drawn = draw_sample(inputs(TABULATED, imprinted_ids={card: "2-7-3"}), 43)
    by_card = {d.card: d for d in drawn}
    assert by_card[card].imprinted_id == "2-7-3"
    assert by_card[card].container == "box 2"
    assert by_card[CardKey("Butte", "TAB-1", "B2", 1)].container is None
    assert sum(d.imprinted_id is not None for d in drawn) == 1


def test_sizes_beyond_the_population_and_missing_seeds_are_refused() -> None:
    with pytest.raises(InputError, match="exceeds the 43 ballot cards") as error:
        draw_sample(inputs(PLAIN), 44)
    assert "hand-count" in str(error.value)
    with pytest.raises(InputError, match="exceeds the 4 batches"):
        draw_sample(inputs(PLAIN, kind="batch"), 5)
    with pytest.raises(InputError, match="no random seed"):
        draw_sample(dataclasses.replace(inputs(PLAIN), seed=None), 1)
    with pytest.raises(InputError, match="whole number"):
        draw_sample(inputs(PLAIN), -1)


def test_a_batch_listed_twice_is_refused() -> None:
    twice = (*TABULATED, ManifestBatch("Alameda", "B1", 3, tabulator="TAB-2"))
    with pytest.raises(InputError, match="listed twice"):
        draw_sample(inputs(twice), 1)
