"""Parameters of a synthetic election, validated at the boundary (pydantic).

Every parameter has a default, so ``SimulationConfig(seed="1")`` is a complete,
realistic election. ``docs/simulator.md`` explains the generative model that
these parameters drive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import validation_error
from tallyguard.model import Contest, ContestKind

Rate = Field(default=0.0, ge=0.0, le=1.0)
CvrFormat = Literal["csv", "nist"]
CVR_FORMATS: tuple[CvrFormat, ...] = ("csv", "nist")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChoiceSpec(_Spec):
    """A choice and its national mean vote share (or approval probability)."""

    name: str = Field(min_length=1, pattern=r"^[^\n\r|]+$")
    share: float = Field(gt=0.0, allow_inf_nan=False)


class ContestSpec(_Spec):
    """One contest: its social-choice rule and the electorate's average preference.

    ``choices`` lists each choice with its national mean vote share (plurality
    and supermajority: shares are normalised to sum to one) or, for approval
    contests, the probability that a voter approves of it. Input may also be
    an object ``{name: share}``; it is kept as an ordered list because the
    order of choices is part of the election (canonical JSON sorts keys).
    """

    name: str = Field(min_length=1, pattern=r"^[^:\n\r]+$")
    kind: ContestKind = ContestKind.PLURALITY
    choices: list[ChoiceSpec] = Field(min_length=2)
    num_winners: int = Field(default=1, ge=1)
    votes_allowed: int | None = Field(default=None, ge=1)
    share_to_win: float | None = None
    coverage: float = Field(default=1.0, gt=0.0, le=1.0)
    blank_rate: float = Field(default=0.01, ge=0.0, lt=1.0)
    overvote_rate: float = Field(default=0.002, ge=0.0, lt=1.0)

    @field_validator("choices", mode="before")
    @classmethod
    def _from_mapping(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return [{"name": name, "share": share} for name, share in value.items()]
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """Choice names in ballot order."""
        return tuple(choice.name for choice in self.choices)

    @property
    def shares(self) -> tuple[float, ...]:
        """National mean shares (or approval probabilities) in ballot order."""
        return tuple(choice.share for choice in self.choices)

    @model_validator(mode="after")
    def _check(self) -> ContestSpec:
        if self.kind is ContestKind.APPROVAL and any(v >= 1 for v in self.shares):
            raise ValueError("approval probabilities must be below 1")
        if self.blank_rate + self.overvote_rate >= 1:
            raise ValueError("blank_rate + overvote_rate must be below 1")
        self.contest("check")  # the domain type enforces the social-choice rules
        return self

    def contest(self, contest_id: str) -> Contest:
        """The domain :class:`Contest` this spec describes."""
        choices = self.names
        if self.votes_allowed is not None:
            allowed = self.votes_allowed
        elif self.kind is ContestKind.APPROVAL:
            allowed = len(choices)
        else:
            allowed = self.num_winners
        try:
            return Contest(
                contest_id=contest_id,
                name=self.name,
                kind=self.kind,
                choices=choices,
                num_winners=self.num_winners,
                votes_allowed=allowed,
                share_to_win=self.share_to_win,
            )
        except ValueError as error:
            raise ValueError(str(error)) from None


def default_contests() -> list[ContestSpec]:
    """Four contests covering every kind, two of them on only some ballot styles."""
    return [
        ContestSpec(
            name="Governor",
            choices={
                "Alice Avery": 0.48,
                "Bob Brooks": 0.44,
                "Carmen Cruz": 0.05,
                "Dev Desai": 0.03,
            },
        ),
        ContestSpec(
            name="City Council",
            num_winners=2,
            coverage=0.5,
            choices={
                "Erin Ellis": 0.28,
                "Farid Fahmy": 0.25,
                "Grace Gill": 0.22,
                "Hugo Hale": 0.15,
                "Iris Ito": 0.10,
            },
        ),
        ContestSpec(
            name="Measure A",
            kind=ContestKind.SUPERMAJORITY,
            share_to_win=2 / 3,
            choices={"Yes": 0.74, "No": 0.26},
        ),
        ContestSpec(
            name="Parks Board",
            kind=ContestKind.APPROVAL,
            coverage=0.75,
            blank_rate=0.02,
            overvote_rate=0.0,
            choices={"Jun Jansen": 0.55, "Kofi Kumar": 0.46, "Lena Lund": 0.31},
        ),
    ]


class StuffingSpec(_Spec):
    """Ballot stuffing as in the fraud model of Klimek et al. (2012, PNAS), eq. in §Model.

    In an affected unit a fraction ``x`` of the non-voters' ballots is stuffed
    for the leader and a fraction ``x**alpha`` of the other choices' votes is
    replaced by leader votes. Incremental fraud draws ``x ~ |N(0, theta)|``
    with probability ``incremental_rate``; extreme fraud draws
    ``x ~ 1 - |N(0, 0.075)|`` with probability ``extreme_rate``.
    """

    incremental_rate: float = Rate
    extreme_rate: float = Rate
    theta: float = Field(default=0.15, gt=0.0, le=1.0)
    alpha: float = Field(default=2.0, gt=0.0, le=10.0)

    @model_validator(mode="after")
    def _check(self) -> StuffingSpec:
        if self.incremental_rate + self.extreme_rate > 1:
            raise ValueError("incremental_rate + extreme_rate must not exceed 1")
        return self


class TransferSpec(_Spec):
    """Votes re-attributed to the leader in the count (CVRs and protocol), not on paper."""

    unit_rate: float = Rate
    fraction: float = Field(default=0.1, gt=0.0, le=1.0)
    source: str | None = None  # a choice of the main contest; None = every other choice


class RoundingSpec(_Spec):
    """Protocols falsified to show integer percentages (Kobak et al. 2016, AOAS)."""

    unit_rate: float = Rate
    target: Literal["share", "turnout", "both"] = "both"


class ManipulationSpec(_Spec):
    """Manipulations with ground truth, applied in ``regions`` (all when empty)."""

    regions: list[str] = Field(default_factory=list)
    stuffing: StuffingSpec = StuffingSpec()
    transfer: TransferSpec = TransferSpec()
    rounding: RoundingSpec = RoundingSpec()


class DiscrepancySpec(_Spec):
    """Differences between CVRs and paper, per card and contest (SHANGRLA's taxonomy).

    Rates are relative to the reported winner with the fewest votes and the
    reported loser with the most: a 2-vote overstatement is a card whose CVR
    shows that winner while the paper shows that loser, and so on.
    """

    overstatement_1: float = Rate
    overstatement_2: float = Rate
    understatement_1: float = Rate
    understatement_2: float = Rate
    wrong_outcome: bool = False

    @model_validator(mode="after")
    def _check(self) -> DiscrepancySpec:
        total = (
            self.overstatement_1
            + self.overstatement_2
            + self.understatement_1
            + self.understatement_2
        )
        if total > 1:
            raise ValueError("discrepancy rates must sum to at most 1")
        return self


class SimulationConfig(_Spec):
    """Every parameter of a synthetic election; the seed makes it reproducible."""

    seed: str = Field(min_length=1)
    election: str = Field(default="Simulated General Election", min_length=1)
    election_date: date = date(2026, 11, 3)
    regions: int = Field(default=4, ge=1, le=999)
    jurisdictions: int = Field(default=4, ge=1, le=999)
    units: int = Field(default=120, ge=1, le=10_000_000)
    mean_electorate: float = Field(default=1200.0, ge=1.0)
    electorate_sigma: float = Field(default=0.6, ge=0.0, le=3.0)
    min_electorate: int = Field(default=20, ge=1)
    turnout: float = Field(default=0.62, gt=0.0, lt=1.0)
    turnout_region_sd: float = Field(default=0.3, ge=0.0)
    turnout_concentration: float = Field(default=40.0, gt=0.0)
    region_concentration: float = Field(default=150.0, gt=0.0)
    unit_concentration: float = Field(default=60.0, gt=0.0)
    spoiled_rate: float = Field(default=0.002, ge=0.0, lt=1.0)
    batch_size: int = Field(default=250, ge=1, le=100_000)
    contests: list[ContestSpec] = Field(default_factory=default_contests, min_length=1)
    leader: str | None = None
    discrepancies: DiscrepancySpec = DiscrepancySpec()
    manipulation: ManipulationSpec = ManipulationSpec()
    cvr_formats: list[CvrFormat] = Field(default_factory=lambda: list(CVR_FORMATS))

    @model_validator(mode="after")
    def _check(self) -> SimulationConfig:
        if self.jurisdictions < self.regions:
            raise ValueError("need at least as many jurisdictions as regions")
        if self.units < self.jurisdictions:
            raise ValueError("need at least one unit per jurisdiction")
        names = [c.name for c in self.contests]
        if len(set(names)) != len(names):
            raise ValueError("contest names must be unique")
        main = self.contests[0]
        if main.coverage != 1.0 or main.contest("c1").votes_allowed != 1:
            raise ValueError(
                "the first (main) contest must be on every ballot and allow one vote, "
                "because unit-level results report it"
            )
        if self.leader is not None and self.leader not in main.names:
            raise ValueError(f"leader {self.leader!r} is not a choice of {main.name!r}")
        source = self.manipulation.transfer.source
        if source is not None and source not in main.names:
            raise ValueError(f"transfer source {source!r} is not a choice of {main.name!r}")
        regions = {region_name(i) for i in range(self.regions)}
        unknown = sorted(set(self.manipulation.regions) - regions)
        if unknown:
            raise ValueError(f"unknown region(s) {unknown}; regions are {sorted(regions)}")
        return self

    @property
    def leader_name(self) -> str:
        """The main contest's choice that manipulations favour."""
        if self.leader is not None:
            return self.leader
        main = self.contests[0]
        return main.names[main.shares.index(max(main.shares))]

    def domain_contests(self) -> list[Contest]:
        """The contests as domain objects, with ids ``c1``, ``c2``, ..."""
        return [spec.contest(f"c{i + 1}") for i, spec in enumerate(self.contests)]


def region_name(index: int) -> str:
    """Name of region ``index`` (0-based): R01, R02, ..."""
    return f"R{index + 1:02d}"


def jurisdiction_name(index: int) -> str:
    """Name of jurisdiction ``index`` (0-based): J01, J02, ..."""
    return f"J{index + 1:02d}"


def parse_config(data: Mapping[str, Any], *, source: str = "options") -> SimulationConfig:
    """Validate raw parameters, turning pydantic's report into an :class:`InputError`."""
    try:
        return SimulationConfig.model_validate(data)
    except ValidationError as error:
        problem = validation_error(error, file=source)
        raise InputError(
            problem.message,
            file=source,
            field=problem.field,
            fix="see `tallyguard simulate election --help` and docs/simulator.md.",
        ) from None
