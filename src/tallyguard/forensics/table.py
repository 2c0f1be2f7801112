"""The unit-level table every forensic test reads: one row per polling station.

``UnitTable`` is the checked, numeric form of a results file after column
mapping and exclusion of inconsistent rows (``forensics/load.py``). Counts
follow the protocol convention of Kobak, Shpilkin & Pshenichnikov (2016):
``electorate`` registered voters, ``ballots_issued`` ballots given to voters,
``ballots_cast`` ballots found in the boxes (valid + invalid), ``votes`` per
choice. Turnout is ``ballots_issued / electorate``; a choice's share is
``votes / ballots_cast``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class UnitTable:
    """Per-unit vectors of equal length ``n``; ``votes`` keeps the file's choice order.

    ``covariates`` are numeric unit characteristics (e.g. share of urban voters)
    that the outlier test may use as predictors.
    """

    unit_id: NDArray[np.str_]
    electorate: IntArray
    ballots_issued: IntArray
    ballots_cast: IntArray
    votes: dict[str, IntArray]
    leader: str
    region: NDArray[np.str_] | None = None
    invalid: IntArray | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    covariates: dict[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.leader not in self.votes:
            raise ValueError(f"leader {self.leader!r} is not a choice")
        n = self.unit_id.shape[0]
        arrays: list[np.ndarray] = [self.electorate, self.ballots_issued, self.ballots_cast]
        arrays += [*self.votes.values(), *(a for a in (self.region, self.invalid) if a is not None)]
        arrays += list(self.covariates.values())
        if any(a.shape != (n,) for a in arrays):
            raise ValueError("every column of a UnitTable must have one value per unit")

    @property
    def n(self) -> int:
        return int(self.unit_id.shape[0])

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.votes)

    @property
    def leader_votes(self) -> IntArray:
        return self.votes[self.leader]

    @property
    def has_electorate(self) -> bool:
        """False when the file reports no registered voters (e.g. all zero)."""
        return bool(self.electorate.any())

    def turnout(self) -> FloatArray:
        """``ballots_issued / electorate``; NaN where the electorate is 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(
                self.electorate > 0, self.ballots_issued / np.maximum(self.electorate, 1), np.nan
            )
        return out

    def share(self, choice: str | None = None) -> FloatArray:
        """``votes / ballots_cast`` of ``choice`` (default the leader); NaN where none cast."""
        votes = self.votes[choice or self.leader]
        out: FloatArray = np.where(
            self.ballots_cast > 0, votes / np.maximum(self.ballots_cast, 1), np.nan
        )
        return out

    def regions(self) -> list[str]:
        """Distinct regions in order of first appearance (empty without a region column)."""
        if self.region is None:
            return []
        _, first = np.unique(self.region, return_index=True)
        return [str(self.region[i]) for i in sorted(first)]

    def subset(self, mask: BoolArray) -> UnitTable:
        """The units where ``mask`` holds, every column kept."""
        return UnitTable(
            unit_id=self.unit_id[mask],
            electorate=self.electorate[mask],
            ballots_issued=self.ballots_issued[mask],
            ballots_cast=self.ballots_cast[mask],
            votes={k: v[mask] for k, v in self.votes.items()},
            leader=self.leader,
            region=None if self.region is None else self.region[mask],
            invalid=None if self.invalid is None else self.invalid[mask],
            source=self.source,
            notes=self.notes,
            covariates={k: v[mask] for k, v in self.covariates.items()},
        )
