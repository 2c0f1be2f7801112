"""Read NIST SP 1500-103 v1 Cast Vote Record JSON (a ``CastVoteRecordReport``).

The structure (NIST SP 1500-103, §2 and the JSON schema
``NIST_V0_cast_vote_records.json``, draft-04): the report holds ``Election[]``
whose ``Contest[]`` list ``ContestSelection[]``; a ``CandidateSelection`` names
``Candidate`` objects through ``CandidateIds``, a ``BallotMeasureSelection``
carries its ``Selection`` text, a ``PartySelection`` names ``Party`` objects.
Each ``CVR`` has ``CVRSnapshot[]``; the one whose ``@id`` is the CVR's
``CurrentSnapshotId`` is the current interpretation. A snapshot lists the
contests on the card (``CVRContest[]``, a contest absent from the list is not
on the card); each ``CVRContestSelection`` has ``SelectionPosition[]``, and the
selection is marked when a position has ``HasIndication == "yes"`` and
``NumberVotes >= 1``. Overvoted marks (``IsAllocable: "no"``) are kept: an
overvote is more marks than the contest allows.

Only the parts used here are validated (pydantic models, not the schema file);
every error names the JSON path, e.g. ``CVR[12].CVRSnapshot[0].CVRContest[1]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import json_path, load_json, validation_error
from tallyguard.model import CvrRecord

_SPEC = "NIST SP 1500-103 (CastVoteRecordReport JSON)"


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _Code(_Node):
    value: str = Field(alias="Value")


class _Named(_Node):
    id: str = Field(alias="@id")
    name: str | None = Field(None, alias="Name")


class _ContestSelection(_Node):
    id: str = Field(alias="@id")
    type: Literal[
        "CVR.ContestSelection",
        "CVR.CandidateSelection",
        "CVR.BallotMeasureSelection",
        "CVR.PartySelection",
    ] = Field(alias="@type")
    candidate_ids: list[str] = Field(default_factory=list, alias="CandidateIds")
    party_ids: list[str] = Field(default_factory=list, alias="PartyIds")
    selection: str | None = Field(None, alias="Selection")
    code: list[_Code] = Field(default_factory=list, alias="Code")


class _Contest(_Node):
    id: str = Field(alias="@id")
    name: str | None = Field(None, alias="Name")
    selections: list[_ContestSelection] = Field(alias="ContestSelection", min_length=1)


class _Election(_Node):
    id: str = Field(alias="@id")
    contests: list[_Contest] = Field(alias="Contest", min_length=1)
    candidates: list[_Named] = Field(default_factory=list, alias="Candidate")


class ReportModel(_Node):
    type: Literal["CVR.CastVoteRecordReport"] = Field(alias="@type")
    elections: list[_Election] = Field(alias="Election", min_length=1)
    parties: list[_Named] = Field(default_factory=list, alias="Party")
    gp_units: list[_Named] = Field(default_factory=list, alias="GpUnit")


class _Position(_Node):
    has_indication: Literal["yes", "no", "unknown"] = Field(alias="HasIndication")
    number_votes: int = Field(alias="NumberVotes")


class _CvrSelection(_Node):
    selection_id: str | None = Field(None, alias="ContestSelectionId")
    positions: list[_Position] = Field(alias="SelectionPosition", min_length=1)

    def marked(self) -> bool:
        return any(p.has_indication == "yes" and p.number_votes >= 1 for p in self.positions)


class _CvrContest(_Node):
    contest_id: str = Field(alias="ContestId")
    selections: list[_CvrSelection] = Field(default_factory=list, alias="CVRContestSelection")


class _Snapshot(_Node):
    id: str = Field(alias="@id")
    contests: list[_CvrContest] = Field(default_factory=list, alias="CVRContest")


class _Cvr(_Node):
    snapshots: list[_Snapshot] = Field(alias="CVRSnapshot", min_length=1)
    current: str = Field(alias="CurrentSnapshotId")
    election_id: str = Field(alias="ElectionId")
    unique_id: str | None = Field(None, alias="UniqueId")
    audit_id: str | None = Field(None, alias="BallotAuditId")
    pre_printed_id: str | None = Field(None, alias="BallotPrePrintedId")
    batch_id: str | None = Field(None, alias="BatchId")
    sequence: int | None = Field(None, alias="BatchSequenceId")
    ballot_style: str | None = Field(None, alias="BallotStyleId")
    style_unit: str | None = Field(None, alias="BallotStyleUnitId")


@dataclass(frozen=True)
class _ContestKey:
    name: str
    choices: dict[str, int]  # ContestSelection @id -> index into the contest's choices


def _selection_name(
    selection: _ContestSelection,
    candidates: dict[str, str],
    parties: dict[str, str],
    file: Path,
    where: str,
) -> str:
    if selection.candidate_ids:
        unknown = [c for c in selection.candidate_ids if c not in candidates]
        if unknown:
            raise InputError(
                f"CandidateIds refers to {unknown[0]!r}, which is not a Candidate of the election.",
                file=file,
                field=f"{where}.CandidateIds",
                fix="list the candidate under Election[].Candidate.",
            )
        return " / ".join(candidates[c] for c in selection.candidate_ids)
    if selection.selection is not None:
        return selection.selection
    if selection.party_ids:
        return " / ".join(parties.get(p, p) for p in selection.party_ids)
    return selection.code[0].value if selection.code else selection.id


@dataclass(frozen=True)
class NistCvrReport:
    """A parsed CastVoteRecordReport: ``contests`` and the CVRs on demand.

    ``contests`` maps each contest's ``Name`` (its ``@id`` when unnamed) to its
    choice names in ``ContestSelection`` order.
    """

    path: Path
    contests: dict[str, tuple[str, ...]]
    _keys: dict[tuple[str, str], _ContestKey] = field(repr=False)
    _units: dict[str, str] = field(repr=False)
    _cvrs: list[Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self._cvrs)

    def records(self) -> Iterator[CvrRecord]:
        """Yield one :class:`CvrRecord` per ``CVR``, validating each as it goes.

        ``cvr_id`` is ``UniqueId``, else ``BallotAuditId``, else the CVR's
        0-based index; ``imprinted_id`` is ``BallotPrePrintedId`` else
        ``UniqueId``; ``batch_name`` is ``BatchId``; ``position`` is
        ``BatchSequenceId``; ``ballot_style`` is ``BallotStyleId``; ``unit_id``
        is the ``Name`` of the ``GpUnit`` named by ``BallotStyleUnitId``.
        Marked choices are listed in the contest's choice order.
        """
        seen: dict[str, int] = {}
        for index, raw in enumerate(self._cvrs):
            try:
                cvr = _Cvr.model_validate(raw)
            except ValidationError as error:
                raise validation_error(error, file=self.path, prefix=("CVR", index)) from None
            cvr_id = cvr.unique_id or cvr.audit_id or str(index)
            if cvr_id in seen:
                raise InputError(
                    f"CVR id {cvr_id!r} is used by CVR[{seen[cvr_id]}] and CVR[{index}].",
                    file=self.path,
                    field=json_path("CVR", index, "UniqueId"),
                    fix="give every CVR its own UniqueId.",
                )
            seen[cvr_id] = index
            yield CvrRecord(
                cvr_id=cvr_id,
                votes=self._votes(cvr, index),
                batch_name=cvr.batch_id,
                position=cvr.sequence,
                imprinted_id=cvr.pre_printed_id or cvr.unique_id,
                ballot_style=cvr.ballot_style,
                unit_id=self._units.get(cvr.style_unit, cvr.style_unit) if cvr.style_unit else None,
            )

    def _votes(self, cvr: _Cvr, index: int) -> dict[str, tuple[str, ...]]:
        current = [k for k, snap in enumerate(cvr.snapshots) if snap.id == cvr.current]
        if not current:
            raise InputError(
                f"CurrentSnapshotId {cvr.current!r} matches no CVRSnapshot @id.",
                file=self.path,
                field=json_path("CVR", index, "CurrentSnapshotId"),
                fix="point CurrentSnapshotId at one of the CVR's snapshots.",
            )
        s = current[0]
        votes: dict[str, tuple[str, ...]] = {}
        for c, contest in enumerate(cvr.snapshots[s].contests):
            where = json_path("CVR", index, "CVRSnapshot", s, "CVRContest", c)
            key = self._keys.get((cvr.election_id, contest.contest_id))
            if key is None:
                raise InputError(
                    f"ContestId {contest.contest_id!r} is not a contest of election "
                    f"{cvr.election_id!r}.",
                    file=self.path,
                    field=f"{where}.ContestId",
                    fix="define the contest under Election[].Contest[].",
                )
            if key.name in votes:
                raise InputError(
                    f"contest {key.name!r} appears twice in the snapshot.",
                    file=self.path,
                    field=where,
                    fix="list each contest once per snapshot.",
                )
            marked: set[int] = set()
            for j, selection in enumerate(contest.selections):
                if not selection.marked():
                    continue
                choice = key.choices.get(selection.selection_id or "")
                if choice is None:
                    raise InputError(
                        f"marked ContestSelectionId {selection.selection_id!r} is not a "
                        f"selection of contest {key.name!r}.",
                        file=self.path,
                        field=f"{where}.CVRContestSelection[{j}]",
                        fix="use the @id of one of the contest's ContestSelection entries.",
                    )
                marked.add(choice)
            names = self.contests[key.name]
            votes[key.name] = tuple(names[k] for k in sorted(marked))
        return votes


def report_contests(
    report: ReportModel, file: Path
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], _ContestKey]]:
    parties = {p.id: p.name or p.id for p in report.parties}
    contests: dict[str, tuple[str, ...]] = {}
    keys: dict[tuple[str, str], _ContestKey] = {}
    for e, election in enumerate(report.elections):
        candidates = {c.id: c.name or c.id for c in election.candidates}
        for c, contest in enumerate(election.contests):
            where = json_path("Election", e, "Contest", c)
            name = contest.name or contest.id
            if name in contests:
                raise InputError(
                    f"two contests are named {name!r}.",
                    file=file,
                    field=where,
                    fix="give every contest its own Name.",
                )
            choices: list[str] = []
            for s, selection in enumerate(contest.selections):
                place = f"{where}.ContestSelection[{s}]"
                choice = _selection_name(selection, candidates, parties, file, place)
                if choice in choices:
                    raise InputError(
                        f"contest {name!r} lists the choice {choice!r} twice.",
                        file=file,
                        field=place,
                        fix="each ContestSelection must name a different choice.",
                    )
                choices.append(choice)
            contests[name] = tuple(choices)
            selections = {sel.id: k for k, sel in enumerate(contest.selections)}
            keys[(election.id, contest.id)] = _ContestKey(name, selections)
    return contests, keys


def read_nist_cvr_json(path: str | Path) -> NistCvrReport:
    """Load a NIST SP 1500-103 v1 CastVoteRecordReport JSON file.

    The election definitions are checked at once; each ``CVR`` is checked when
    :meth:`NistCvrReport.records` reaches it.

    Returns:
        A :class:`NistCvrReport`; ``contests`` maps contest name to choice names.

    Raises:
        InputError: invalid JSON (line named), a document that is not a
            CastVoteRecordReport (a Dominion ``CvrExport.json`` is recognised
            and named), or a structural problem (JSON path named).
    """
    path = Path(path)
    document = load_json(path)
    if not isinstance(document, dict):
        raise InputError(f"is not a {_SPEC} document (not a JSON object).", file=path)
    if "@type" not in document and "Sessions" in document:
        raise InputError(
            f"this is a Dominion CvrExport.json, not a {_SPEC} file.",
            file=path,
            fix="export the CVRs in the NIST Common Data Format (CDF) JSON.",
        )
    head = {key: value for key, value in document.items() if key != "CVR"}
    try:
        report = ReportModel.model_validate(head)
    except ValidationError as error:
        raise validation_error(error, file=path) from None
    cvrs = document.get("CVR", [])
    if not isinstance(cvrs, list):
        raise InputError("CVR must be an array.", file=path, field="CVR", fix="see " + _SPEC)
    contests, keys = report_contests(report, path)
    units = {unit.id: unit.name or unit.id for unit in report.gp_units}
    return NistCvrReport(path, contests, keys, units, cvrs)
