"""From what boards recorded to what the risk functions test.

**The audited prefix.** Risk is measured on the longest run of draws, in
sample order from draw 1, in which every draw is *audited*: it has a reading
for every contest of the audit, or is a card (batch) that could not be found.
A sequential test's p-value depends on the order of the draws (Stark 2020,
SHANGRLA §4; Stark 2023, ALPHA §2: the bet on draw j uses draws 1..j-1), so
skipping a draw that has not been read yet and using later ones would pick
the draws by what they show; measuring the prefix only keeps the test valid.

**Not found.** A card (batch) recorded ``not_found`` for *any* contest could
not be retrieved, so it counts as not found for every contest: the worst case
for every reported winner (Bañuelos & Stark 2012), and it is audited even if
the board recorded nothing else for it.

**Interpretations** (ballot-level) become a :class:`~tallyguard.io.audited.MarkColumn`:

==============  ==================================================================
``vote``        the marked choices (more marks than the contest allows: an
                overvote, which :meth:`Assorter.assort` treats as no valid vote)
``blank``       no marks (assorter value 1/2)
``overvote``    no valid vote: assorter value 1/2, exactly as :meth:`Assorter.assort`
                treats a card with more marks than the contest allows (the board
                records the keyword, not which choices were marked)
``not_found``   missing: assorter value 0, the worst case
``not_on_card`` off card: the card's style lacks the contest, assorter value 1/2
==============  ==================================================================

A CVR column (comparison) marks a card without a CVR as missing (``NO CVR``,
a phantom: its CVR counts as the best case for the winner, i.e. the worst
overstatement) and a CVR without the contest as off card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tallyguard.audit.workflow.inputs import CardKey, Reading
from tallyguard.audit.workflow.sample import SampledDraw
from tallyguard.errors import InputError
from tallyguard.io.audited import NO_CVR, NOT_FOUND, NOT_ON_CARD, MarkColumn
from tallyguard.io.readings import interpretation_text
from tallyguard.model import Contest

Readings = Mapping[CardKey, Mapping[str, Reading]]
Cvrs = Mapping[CardKey, Mapping[str, tuple[str, ...]]]
BLANK = "BLANK"
OVERVOTE = "OVERVOTE"


def is_lost(readings: Mapping[str, Reading] | None, contests: Sequence[str]) -> bool:
    """Was the card (batch) recorded as not found for any contest of the audit?"""
    if not readings:
        return False
    return any(r.result == "not_found" for name, r in readings.items() if name in contests)


def is_audited(readings: Mapping[str, Reading] | None, contests: Sequence[str]) -> bool:
    """Does the draw have a reading for every contest (or was it not found)?"""
    if not readings:
        return not contests
    return is_lost(readings, contests) or all(name in readings for name in contests)


def audited_prefix(flags: Sequence[bool]) -> int:
    """Length of the longest run of audited draws from draw 1 on."""
    for i, flag in enumerate(flags):
        if not flag:
            return i
    return len(flags)


def _marks(choices: tuple[str, ...], contest: Contest, card: CardKey, what: str) -> list[int]:
    lookup = {c: j for j, c in enumerate(contest.choices)}
    columns = []
    for choice in choices:
        if choice not in lookup:
            raise InputError(
                f"{what} of {_card_label(card)} marks {choice!r}, which is not a choice of "
                f"{contest.name!r}.",
                field="Interpretation" if what == "the reading" else "cvrs",
                fix=f"use one of {list(contest.choices)}.",
            )
        columns.append(lookup[choice])
    return columns


def _card_label(card: CardKey) -> str:
    batch = f"{card.tabulator} / {card.batch_name}" if card.tabulator else card.batch_name
    place = f"{card.jurisdiction}, batch {batch}"
    return f"card {card.position} of {place}" if card.position else f"batch {place}"


def paper_column(
    contest: Contest, draws: Sequence[SampledDraw], readings: Readings, lost: Sequence[bool]
) -> MarkColumn:
    """The board's interpretations of ``contest`` on the audited draws (module docstring)."""
    n = len(draws)
    marks = np.zeros((n, len(contest.choices)), dtype=np.uint8)
    missing = np.zeros(n, dtype=np.bool_)
    off_card = np.zeros(n, dtype=np.bool_)
    for i, draw in enumerate(draws):
        if lost[i]:
            missing[i] = True
            continue
        reading = readings[draw.card][contest.name]
        if reading.result == "vote":
            marks[i, _marks(reading.choices, contest, draw.card, "the reading")] = 1
        elif reading.result == "not_on_card":
            off_card[i] = True
        elif reading.result == "not_found":  # pragma: no cover - lost[i] covers it
            missing[i] = True
        # blank and overvote: no valid vote, assorter value 1/2
    return MarkColumn(marks=marks, missing=missing, off_card=off_card)


def cvr_column(contest: Contest, draws: Sequence[SampledDraw], cvrs: Cvrs) -> MarkColumn:
    """The CVRs' interpretations of ``contest`` on the audited draws (``NO CVR``: missing)."""
    n = len(draws)
    marks = np.zeros((n, len(contest.choices)), dtype=np.uint8)
    missing = np.zeros(n, dtype=np.bool_)
    off_card = np.zeros(n, dtype=np.bool_)
    for i, draw in enumerate(draws):
        record = cvrs.get(draw.card)
        if record is None:
            missing[i] = True
        elif contest.name not in record:
            off_card[i] = True
        else:
            marks[i, _marks(record[contest.name], contest, draw.card, "the CVR")] = 1
    return MarkColumn(marks=marks, missing=missing, off_card=off_card)


def _ordered(choices: tuple[str, ...], contest: Contest) -> str:
    return ";".join(c for c in contest.choices if c in choices)


def marks_text(choices: tuple[str, ...], contest: Contest) -> str:
    """A set of marks as boards write it: ``BLANK``, ``OVERVOTE`` or ``Alice;Bob``."""
    if not choices:
        return BLANK
    if len(set(choices)) > contest.votes_allowed:
        return OVERVOTE
    return _ordered(choices, contest)


def paper_text(reading: Reading | None, lost: bool, contest: Contest) -> str:
    """What the paper shows for a discrepancy listing (choices in contest order)."""
    if lost or reading is None:
        return NOT_FOUND
    if reading.result == "vote":
        return marks_text(reading.choices, contest)
    return {"blank": BLANK, "overvote": OVERVOTE, "not_on_card": NOT_ON_CARD}.get(
        reading.result, NOT_FOUND
    )


def cvr_text(record: Mapping[str, tuple[str, ...]] | None, contest: Contest) -> str:
    """What the CVR says for a discrepancy listing (``NO CVR`` when there is none)."""
    if record is None:
        return NO_CVR
    if contest.name not in record:
        return NOT_ON_CARD
    return marks_text(record[contest.name], contest)


def batch_votes_text(votes: Mapping[str, int], contest: Contest) -> str:
    """A batch tally as ``"Alice: 120; Bob: 80"`` (choices in contest order)."""
    return "; ".join(f"{c}: {int(votes.get(c, 0))}" for c in contest.choices)


def reading_text(reading: Reading, contest: Contest) -> str:
    """A reading as :class:`~tallyguard.audit.workflow.result.Draw` shows it.

    Ballot-level readings as the readings CSV writes them (``Alice``,
    ``Erin;Grace``, ``BLANK``, ``NOT FOUND``); batch hand counts as
    ``"Alice: 120; Bob: 80"``.
    """
    if reading.votes is not None and reading.result == "vote":
        return batch_votes_text(reading.votes, contest)
    return interpretation_text(reading.result, reading.choices)
