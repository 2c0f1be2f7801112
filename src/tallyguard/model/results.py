"""Unit-level results: what a polling station's or precinct's protocol reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UnitResult:
    """The reported results of one reporting unit for one contest.

    Counts follow the forensics convention: ``ballots_issued`` to voters,
    ``ballots_cast`` found in the box (valid + ``invalid``), ``votes`` per choice.
    ``region`` groups units for stratified analysis.
    """

    unit_id: str
    electorate: int
    ballots_issued: int
    ballots_cast: int
    votes: dict[str, int] = field(default_factory=dict)
    invalid: int | None = None
    region: str | None = None
    jurisdiction: str | None = None
