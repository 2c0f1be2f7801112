"""Write cast vote records as NIST SP 1500-103 v1 JSON, vectorised with polars.

The document is a ``CVR.CastVoteRecordReport`` (NIST SP 1500-103, §2 and the
JSON schema ``NIST_V0_cast_vote_records.json``): one ``Election`` with its
contests and candidates, ``GpUnit`` entries for jurisdictions and reporting
units, and one ``CVR`` per card with a single ``original`` snapshot. Only marked
selections are listed; ``Undervotes`` counts votes allowed but not cast, and in
an overvoted contest every mark has ``IsAllocable: "no"`` and ``Overvotes``
equals the votes allowed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from tallyguard.model import Contest, ContestKind

CHUNK = 500_000


@dataclass(frozen=True)
class CvrColumns:
    """Columnar CVRs: one entry per card; marks are (cards x choices) per contest."""

    cvr_id: pl.Series
    batch_name: pl.Series
    ballot_style: pl.Series
    unit_gp_id: pl.Series
    marks: Sequence[NDArray[np.uint8]]
    present: Sequence[NDArray[np.bool_]]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(name: str) -> pl.Expr:
    """A string column made safe to splice into JSON (backslashes and quotes escaped)."""
    return (
        pl.col(name)
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
    )


def _selection(contest: Contest, j: int, allocable: bool) -> str:
    position = {
        "@type": "CVR.SelectionPosition",
        "HasIndication": "yes",
        "IsAllocable": "yes" if allocable else "no",
        "NumberVotes": 1,
    }
    return _dumps(
        {
            "@type": "CVR.CVRContestSelection",
            "ContestSelectionId": f"{contest.contest_id}-s{j + 1}",
            "SelectionPosition": [position],
        }
    )


def _contest_expr(contest: Contest, c: int) -> pl.Expr:
    k = len(contest.choices)
    marks = [pl.col(f"m{c}_{j}") for j in range(k)]
    n_marks = pl.sum_horizontal(marks)
    over = n_marks > contest.votes_allowed
    selections = pl.concat_str(
        [
            pl.when(m == 1)
            .then(
                pl.when(over)
                .then(pl.lit(_selection(contest, j, False)))
                .otherwise(pl.lit(_selection(contest, j, True)))
            )
            .otherwise(None)
            for j, m in enumerate(marks)
        ],
        separator=",",
        ignore_nulls=True,
    )
    overvotes = pl.when(over).then(contest.votes_allowed).otherwise(0)
    undervotes = pl.when(over).then(0).otherwise(contest.votes_allowed - n_marks)
    block = pl.concat_str(
        [
            pl.lit(f'{{"@type":"CVR.CVRContest","ContestId":"{contest.contest_id}","Overvotes":'),
            overvotes.cast(pl.String),
            pl.lit(',"Undervotes":'),
            undervotes.cast(pl.String),
            pl.lit(',"CVRContestSelection":['),
            selections.fill_null(""),
            pl.lit("]}"),
        ]
    )
    return pl.when(pl.col(f"p{c}")).then(block).otherwise(None)


def _election(contests: Sequence[Contest], election_name: str) -> dict[str, object]:
    candidates: list[dict[str, object]] = []
    blocks: list[dict[str, object]] = []
    for contest in contests:
        selections: list[dict[str, object]] = []
        for j, choice in enumerate(contest.choices):
            sid = f"{contest.contest_id}-s{j + 1}"
            if contest.kind is ContestKind.SUPERMAJORITY:
                selections.append(
                    {"@id": sid, "@type": "CVR.BallotMeasureSelection", "Selection": choice}
                )
            else:
                cid = f"{contest.contest_id}-cand{j + 1}"
                candidates.append({"@id": cid, "@type": "CVR.Candidate", "Name": choice})
                selections.append(
                    {"@id": sid, "@type": "CVR.CandidateSelection", "CandidateIds": [cid]}
                )
        if contest.kind is ContestKind.SUPERMAJORITY:
            blocks.append(
                {
                    "@id": contest.contest_id,
                    "@type": "CVR.BallotMeasureContest",
                    "Name": contest.name,
                    "VoteVariation": "super-majority",
                    "ContestSelection": selections,
                }
            )
        else:
            blocks.append(
                {
                    "@id": contest.contest_id,
                    "@type": "CVR.CandidateContest",
                    "Name": contest.name,
                    "VoteVariation": "approval"
                    if contest.kind is ContestKind.APPROVAL
                    else ("n-of-m" if contest.votes_allowed > 1 else "plurality"),
                    "VotesAllowed": contest.votes_allowed,
                    "NumberElected": contest.num_winners,
                    "ContestSelection": selections,
                }
            )
    return {
        "@id": "election",
        "@type": "CVR.Election",
        "Name": election_name,
        "ElectionScopeId": "gp-scope",
        "Candidate": candidates,
        "Contest": blocks,
    }


def write_nist_cvr_json(
    path: Path,
    *,
    contests: Sequence[Contest],
    cvrs: CvrColumns,
    election_name: str,
    generated: str,
    gp_units: Sequence[tuple[str, str, str]],
) -> None:
    """Write a CastVoteRecordReport to ``path``.

    ``gp_units`` lists ``(id, name, NIST ReportingUnitType)``; the election scope
    ``gp-scope`` is added. ``generated`` is the report's ``GeneratedDate``.
    """
    gp = [
        {
            "@id": "gp-scope",
            "@type": "CVR.GpUnit",
            "Type": "other",
            "OtherType": "election-scope",
            "Name": election_name,
        }
    ]
    gp += [
        {"@id": gid, "@type": "CVR.GpUnit", "Type": kind, "Name": name}
        for gid, name, kind in gp_units
    ]
    head = {
        "@type": "CVR.CastVoteRecordReport",
        "Version": "1.0.0",
        "GeneratedDate": generated,
        "ReportGeneratingDeviceIds": ["device-1"],
        "ReportingDevice": [
            {
                "@id": "device-1",
                "@type": "CVR.ReportingDevice",
                "Application": "tallyguard simulate",
                "Manufacturer": "tallyguard",
            }
        ],
        "GpUnit": gp,
        "Election": [_election(contests, election_name)],
    }
    prefix = _dumps(head)[:-1] + ',"CVR":[\n'
    n = len(cvrs.cvr_id)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(prefix)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            columns: dict[str, object] = {
                "id": cvrs.cvr_id[start:stop],
                "batch": cvrs.batch_name[start:stop],
                "style": cvrs.ballot_style[start:stop],
                "unit": cvrs.unit_gp_id[start:stop],
            }
            for c, (marks, present) in enumerate(zip(cvrs.marks, cvrs.present, strict=True)):
                columns[f"p{c}"] = present[start:stop]
                for j in range(marks.shape[1]):
                    columns[f"m{c}_{j}"] = marks[start:stop, j]
            frame = pl.DataFrame(columns)
            record = pl.concat_str(
                [
                    pl.lit('{"@type":"CVR.CVR","BallotStyleId":"'),
                    _text("style"),
                    pl.lit('","BallotStyleUnitId":"'),
                    _text("unit"),
                    pl.lit('","BatchId":"'),
                    _text("batch"),
                    pl.lit('","CreatingDeviceId":"device-1","CurrentSnapshotId":"'),
                    _text("id"),
                    pl.lit('-s","ElectionId":"election","UniqueId":"'),
                    _text("id"),
                    pl.lit('","CVRSnapshot":[{"@id":"'),
                    _text("id"),
                    pl.lit('-s","@type":"CVR.CVRSnapshot","Type":"original","CVRContest":['),
                    pl.concat_str(
                        [_contest_expr(contest, c) for c, contest in enumerate(contests)],
                        separator=",",
                        ignore_nulls=True,
                    ),
                    pl.lit("]}]}"),
                ]
            )
            lines = frame.select(record.alias("line"))["line"]
            text = lines.str.join(",\n")[0]
            if start:
                out.write(",\n")
            out.write(text)
        out.write("\n]}\n")
