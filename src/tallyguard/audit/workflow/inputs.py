"""Everything an audit rests on, as plain immutable data.

An :class:`AuditInputs` is what the store holds and what an export publishes:
the settings, the manifests, the CVRs (comparison) or batch tallies (batch),
the contests with their reported results, the public seed, the round sizes and
what the audit boards recorded. The sample and every risk follow from it by
:func:`tallyguard.audit.workflow.engine.evaluate`, so anyone holding the same
inputs derives the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tallyguard.io.contests import ReportedContest
from tallyguard.model.manifest import ManifestBatch

WorkflowKind = Literal["polling", "comparison", "batch"]
KINDS: tuple[WorkflowKind, ...] = ("polling", "comparison", "batch")

#: What a board can record for one contest on one card.
ReadingResult = Literal["vote", "blank", "overvote", "not_found", "not_on_card"]
RESULTS: tuple[ReadingResult, ...] = ("vote", "blank", "overvote", "not_found", "not_on_card")


@dataclass(frozen=True, order=True)
class CardKey:
    """A ballot card by its place in the manifest (``position`` 0 names a whole batch)."""

    jurisdiction: str
    tabulator: str  # "" when the manifest names none
    batch_name: str
    position: int

    @property
    def batch(self) -> tuple[str, str, str]:
        return (self.jurisdiction, self.tabulator, self.batch_name)


@dataclass(frozen=True)
class Reading:
    """An audit board's interpretation of one contest on one card, or a batch's hand tally.

    ``choices`` lists the marked choices when ``result`` is ``"vote"``; ``votes``
    is the hand count per choice of a sampled batch (batch audits).
    """

    result: ReadingResult
    choices: tuple[str, ...] = ()
    votes: Mapping[str, int] | None = None
    comment: str = ""


@dataclass(frozen=True)
class AuditContest:
    """A contest under audit: reported results, and whether it drives the sample size."""

    reported: ReportedContest
    targeted: bool


@dataclass(frozen=True)
class AuditInputs:
    """The inputs of one audit.

    Attributes:
        name: the audit's name.
        election: the election's name.
        kind: polling, comparison (ballot-level, against CVRs) or batch.
        risk_limit: the risk limit, a fraction in (0, 1).
        method: the risk function (``tallyguard.audit.risk.METHODS`` for ballot-level
            audits; ``"alpha"`` batch-assorter ALPHA for batch audits).
        seed: the public random seed (``None`` until set).
        batches: every jurisdiction's manifest rows, jurisdictions in name order and
            rows in file order (the order of the consistent sampler's population).
        cvrs: comparison audits: contest name -> marked choices, per card; a card of
            the manifest without an entry has no CVR (a phantom, worst case).
        imprinted_ids: the imprinted id of a card where its CVR has one.
        batch_tallies: batch audits: (jurisdiction, tabulator, batch) -> choice -> votes.
        contests: the contests, targeted and opportunistic.
        rounds: cumulative number of draws at the end of each round (round 1 first).
        readings: what boards recorded: card -> contest name -> reading.
        hand_count: after escalation, the full hand count's totals: contest name ->
            choice -> votes (empty while no hand count is recorded).
    """

    name: str
    election: str
    kind: WorkflowKind
    risk_limit: float
    method: str
    seed: str | None
    batches: tuple[ManifestBatch, ...]
    contests: tuple[AuditContest, ...]
    cvrs: Mapping[CardKey, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    imprinted_ids: Mapping[CardKey, str] = field(default_factory=dict)
    batch_tallies: Mapping[tuple[str, str, str], Mapping[str, int]] = field(default_factory=dict)
    rounds: tuple[int, ...] = ()
    readings: Mapping[CardKey, Mapping[str, Reading]] = field(default_factory=dict)
    hand_count: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
