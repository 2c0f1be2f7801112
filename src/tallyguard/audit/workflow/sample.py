"""The audit's sample: the first draws of Rivest's consistent sampler with the public seed.

Rivest, R.L. (2018), "Consistent Sampling with Replacement", arXiv:1808.10016.
Every unit of the population gets a ticket from SHA-256 of the seed and the
text of its id; the sample is the units in increasing ticket order, without
replacement. A larger sample therefore extends a smaller one: the draws of
round k+1 begin with the draws of round k, and ``size`` is always cumulative.

The population and its ids (``str(id)`` is what is hashed, so the exact form
matters for anyone re-drawing the sample with another tool):

* **polling, comparison**: every ballot card of the manifest, batches in the
  order given. If no batch names a tabulator, card ``p`` (1-based) of a batch
  has Arlo's classic id ``((jurisdiction, batch_name), p)``
  (:func:`~tallyguard.audit.sampling.ballot_id`, drawn by
  :func:`~tallyguard.audit.sampling.sample_manifest`), bit-identical with the
  ``consistent-sampler`` package and older Arlo. If any batch names one, every
  card has current Arlo's id ``((jurisdiction, tabulator, batch_name), p)``,
  the tabulator being ``None`` for a batch without one
  (:func:`~tallyguard.audit.sampling.arlo_ballot_id`), because batch names
  repeat across tabulators;
* **batch**: every batch with at least one ballot, id
  ``(jurisdiction, tabulator, batch_name)``, a tuple of three plain ``str``,
  the tabulator ``""`` where the manifest names none; batches are sampled
  uniformly without replacement (the consistent sampler's order).

Tickets keep 18 digits after any leading 9s, as Arlo prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import index
from typing import cast

from tallyguard.audit.sampling import arlo_ballot_id, consistent_sample, sample_manifest
from tallyguard.audit.sampling.consistent import sample_arlo_manifest
from tallyguard.audit.workflow.inputs import AuditInputs, CardKey
from tallyguard.errors import InputError
from tallyguard.model.manifest import ManifestBatch

ArloId = tuple[tuple[str, str | None, str], int]


@dataclass(frozen=True)
class SampledDraw:
    """One draw of the sample: a card (or, with ``card.position`` 0, a batch).

    ``draw`` is 1-based over the whole audit; ``ticket`` is the consistent
    sampler's ticket as Arlo prints it.
    """

    draw: int
    ticket: str
    card: CardKey
    container: str | None
    imprinted_id: str | None


def batch_key(batch: ManifestBatch) -> tuple[str, str, str]:
    """``(jurisdiction, tabulator or "", batch_name)``: a batch's key in :class:`AuditInputs`."""
    return (batch.jurisdiction, batch.tabulator or "", batch.batch_name)


def names_tabulators(batches: Sequence[ManifestBatch]) -> bool:
    """Does any batch name a tabulator (then cards get current Arlo's ids)?"""
    return any(b.tabulator for b in batches)


def check_batches(batches: Sequence[ManifestBatch]) -> dict[tuple[str, str, str], ManifestBatch]:
    """The manifest by batch key; a batch listed twice is an :class:`InputError`."""
    found: dict[tuple[str, str, str], ManifestBatch] = {}
    for batch in batches:
        key = batch_key(batch)
        if key in found:
            where = f"tabulator {key[1]!r}, " if key[1] else ""
            raise InputError(
                f"batch {key[2]!r} ({where}jurisdiction {key[0]!r}) is listed twice in the "
                "manifest.",
                field="Batch Name",
                fix="give every batch of a tabulator its own name, or merge the two rows.",
            )
        if isinstance(batch.num_ballots, bool) or batch.num_ballots < 0:
            raise InputError(
                f"batch {key[2]!r} of {key[0]!r} has {batch.num_ballots!r} ballots.",
                field="Number of Ballots",
                fix="give the number of ballots as a whole number >= 0.",
            )
        found[key] = batch
    return found


def population_size(inputs: AuditInputs) -> int:
    """Units the sample is drawn from: ballot cards, or batches with ballots (batch audits)."""
    if inputs.kind == "batch":
        return sum(1 for b in inputs.batches if b.num_ballots > 0)
    return sum(b.num_ballots for b in inputs.batches)


def arlo_ids(batches: Sequence[ManifestBatch]) -> list[ArloId]:
    """Every card's id ``((jurisdiction, tabulator or None, batch_name), p)``, in manifest order.

    The same ids as :func:`~tallyguard.audit.sampling.arlo_ballot_id`, built
    batch by batch (the key tuple is shared by the batch's cards).
    """
    ids: list[ArloId] = []
    for batch in batches:
        key = arlo_ballot_id(batch.jurisdiction, batch.tabulator or None, batch.batch_name, 1)[0]
        ids.extend([(key, p) for p in range(1, batch.num_ballots + 1)])
    return ids


def _size(size: object, population: int, kind: str) -> int:
    try:
        number = index(size)  # type: ignore[arg-type]
    except TypeError:
        number = -1
    if isinstance(size, bool) or number < 0:
        raise InputError(
            f"a sample size must be a whole number >= 0, not {size!r}.", field="--size"
        )
    if number > population:
        unit = "batches" if kind == "batch" else "ballot cards"
        raise InputError(
            f"a sample of {number:,} exceeds the {population:,} {unit} of the audit.",
            field="--size",
            fix="count every ballot by hand instead (tallyguard audit hand-count).",
        )
    return number


def draw_sample(inputs: AuditInputs, size: int) -> list[SampledDraw]:
    """The first ``size`` draws (cumulative) of the audit's sample, in draw order.

    See the module docstring for the population and the ids. Cards carry their
    batch's container and, where the CVR has one, their imprinted id.

    Raises:
        InputError: no seed yet, a batch listed twice, or a size that is not a
            whole number or exceeds the population (then a full hand count is
            the way to go).
    """
    if inputs.seed is None:
        raise InputError(
            "the audit has no random seed yet.",
            field="seed",
            fix="roll the dice in public and set it: tallyguard audit seed DIGITS.",
        )
    manifest = check_batches(inputs.batches)
    take = _size(size, population_size(inputs), inputs.kind)
    if take == 0:
        return []
    if inputs.kind == "batch":
        keys = [batch_key(b) for b in inputs.batches if b.num_ballots > 0]
        drawn: list[SampledDraw] = []
        for d in consistent_sample(keys, inputs.seed, take):
            key = cast(tuple[str, str, str], d.id)
            card = CardKey(key[0], key[1], key[2], 0)
            drawn.append(SampledDraw(d.draw_index, d.ticket, card, manifest[key].container, None))
        return drawn
    if names_tabulators(inputs.batches):
        cards: list[tuple[str, CardKey]] = []
        for d in sample_arlo_manifest(inputs.batches, inputs.seed, take):
            (jurisdiction, tabulator, batch_name), position = cast(ArloId, d.id)
            cards.append((d.ticket, CardKey(jurisdiction, tabulator or "", batch_name, position)))
    else:
        cards = [
            (d.ticket, CardKey(d.jurisdiction, "", d.batch_name, d.position))
            for d in sample_manifest(inputs.batches, inputs.seed, take)
        ]
    return [
        SampledDraw(
            number,
            ticket,
            card,
            manifest[card.batch].container,
            inputs.imprinted_ids.get(card),
        )
        for number, (ticket, card) in enumerate(cards, start=1)
    ]
