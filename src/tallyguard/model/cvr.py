"""Cast vote records: a tabulator's interpretation of one ballot card."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CvrRecord:
    """One card's cast vote record.

    ``votes`` maps each contest on the card (by contest name) to the choices
    marked there: an empty tuple is a blank contest, more marks than the contest
    allows is an overvote. A contest absent from ``votes`` is not on the card's
    ballot style, which matters for diluted margins.
    """

    cvr_id: str
    votes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    jurisdiction: str | None = None
    batch_name: str | None = None
    position: int | None = None
    imprinted_id: str | None = None
    ballot_style: str | None = None
    unit_id: str | None = None
