"""Contests and their social-choice functions (the kinds SHANGRLA audits)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ContestKind(StrEnum):
    """How a contest's winners follow from its tallies.

    * ``plurality``: the ``num_winners`` choices with most votes win; each voter
      may mark up to ``votes_allowed`` choices.
    * ``approval``: like plurality, but a voter may mark any number of choices.
    * ``supermajority``: one winner, who needs more than ``share_to_win`` of the
      valid votes (e.g. 2/3 for a constitutional measure); otherwise nobody wins.
    """

    PLURALITY = "plurality"
    APPROVAL = "approval"
    SUPERMAJORITY = "supermajority"


@dataclass(frozen=True)
class Contest:
    """A contest as defined for an election (not its results)."""

    contest_id: str
    name: str
    kind: ContestKind
    choices: tuple[str, ...]
    num_winners: int = 1
    votes_allowed: int = 1
    share_to_win: float | None = None

    def __post_init__(self) -> None:
        if len(self.choices) < 2:
            raise ValueError(f"contest {self.name!r} needs at least two choices")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"contest {self.name!r} lists a choice twice")
        if not 1 <= self.num_winners < len(self.choices):
            raise ValueError(f"contest {self.name!r}: num_winners must be in [1, choices)")
        if self.kind is ContestKind.APPROVAL:
            if self.votes_allowed != len(self.choices):
                raise ValueError(f"approval contest {self.name!r} allows a vote for every choice")
        elif not self.num_winners <= self.votes_allowed < len(self.choices) + 1:
            raise ValueError(f"contest {self.name!r}: votes_allowed must be >= num_winners")
        if self.kind is ContestKind.SUPERMAJORITY:
            if self.share_to_win is None or not 0.5 <= self.share_to_win < 1:
                raise ValueError(
                    f"supermajority contest {self.name!r} needs share_to_win in [1/2, 1)"
                )
            if self.num_winners != 1 or self.votes_allowed != 1:
                raise ValueError(
                    f"supermajority contest {self.name!r} has one winner, vote for one"
                )
        elif self.share_to_win is not None:
            raise ValueError(f"share_to_win applies only to supermajority contests ({self.name!r})")

    def winners(self, tallies: dict[str, int]) -> tuple[str, ...]:
        """The reported winners given valid-vote tallies; ties go to choice order.

        A supermajority contest returns its leading choice only if its share of
        the valid votes exceeds ``share_to_win``, and ``()`` otherwise.
        """
        order = sorted(self.choices, key=lambda c: (-tallies.get(c, 0), self.choices.index(c)))
        if self.kind is ContestKind.SUPERMAJORITY:
            total = sum(tallies.get(c, 0) for c in self.choices)
            top = order[0]
            assert self.share_to_win is not None
            return (top,) if total and tallies.get(top, 0) > self.share_to_win * total else ()
        return tuple(order[: self.num_winners])
