"""What the engine derives from an audit's inputs: the sample, the risk, the discrepancies.

Every field is re-derivable from :class:`~tallyguard.audit.workflow.inputs.AuditInputs`;
``AuditResult.to_json()`` is the ``results.json`` of an export, compared value for
value by ``tallyguard verify``, and the document the reports render.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Draw:
    """One sampled card (or batch, with ``position`` 0) in sample order.

    ``draw`` is 1-based over the whole audit; ``round`` is the round whose size
    first covered it; ``audited`` says whether every contest has a reading;
    ``readings`` shows them per contest (``"Alice"``, ``"BLANK"``, ``"NOT FOUND"``,
    or ``"Alice: 120; Bob: 80"`` for a batch).
    """

    draw: int
    round: int
    ticket: str
    jurisdiction: str
    tabulator: str
    batch_name: str
    position: int
    container: str | None
    imprinted_id: str | None
    audited: bool
    readings: dict[str, str]


@dataclass(frozen=True)
class CardDiscrepancy:
    """A sampled card whose paper disagrees with its CVR (or a batch with its tally).

    ``overstatement`` is in votes of the contest's tightest assertion (+2, +1, -1,
    -2 for a card; any integer for a batch); ``reported`` and ``audited`` are the
    readable forms (``"Alice"``, ``"BLANK"``, ``"NOT FOUND"``, ``"NO CVR"``).
    """

    draw: int
    round: int
    jurisdiction: str
    tabulator: str
    batch_name: str
    position: int
    imprinted_id: str | None
    contest: str
    reported: str
    audited: str
    overstatement: int


@dataclass(frozen=True)
class AssertionStatus:
    """One assertion after the sample so far.

    ``p_values[i]`` is the sequential p-value after ``i + 1`` audited draws (the
    plotted path of risk against ballots audited).
    """

    contest: str
    assertion: str
    winner: str
    loser: str | None
    margin: float
    p_value: float
    confirmed: bool
    p_values: tuple[float, ...]


@dataclass(frozen=True)
class ContestStatus:
    """One contest after the sample so far (its risk is its largest assertion p-value)."""

    contest: str
    targeted: bool
    winners: tuple[str, ...]
    ballots: int  # cards carrying the contest, as reported
    population: int  # cards (batches) the sample is drawn from
    totals: dict[str, int]
    risk: float
    confirmed: bool
    audited: int  # draws measured (the audited prefix of the sample)
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RoundStatus:
    """A round's size and each contest's risk at its end (or so far, for the open round)."""

    round: int
    sample_size: int  # cumulative draws
    audited: int  # draws of the sample with every reading recorded
    risks: dict[str, float]  # contest -> risk
    confirmed: dict[str, bool]


@dataclass(frozen=True)
class HandCount:
    """A contest's full hand count, which decides its outcome after an escalation."""

    contest: str
    totals: dict[str, int]
    winners: tuple[str, ...]
    reported_winners: tuple[str, ...]
    outcome_as_reported: bool


@dataclass(frozen=True)
class AuditResult:
    """Everything the inputs imply, in a form that serialises to canonical JSON."""

    name: str
    election: str
    kind: str
    method: str
    risk_limit: float
    seed: str | None
    population: int  # cards (polling, comparison) or batches (batch)
    rounds: tuple[RoundStatus, ...]
    contests: tuple[ContestStatus, ...]
    assertions: tuple[AssertionStatus, ...]
    sample: tuple[Draw, ...]
    discrepancies: tuple[CardDiscrepancy, ...]
    confirmed: bool  # every targeted contest confirmed
    next_step: str  # plain language: what the official does next
    hand_count: tuple[HandCount, ...] = ()  # after an escalation to a full hand count

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
