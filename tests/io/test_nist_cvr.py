"""NIST SP 1500-103 CVR JSON: a hand-built, schema-valid report and its errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tallyguard.errors import InputError
from tallyguard.io.nist_cvr import read_nist_cvr_json
from tallyguard.model import CvrRecord


def position(indication: str = "yes", votes: int = 1, allocable: str = "yes") -> dict[str, Any]:
    return {
        "@type": "CVR.SelectionPosition",
        "HasIndication": indication,
        "IsAllocable": allocable,
        "NumberVotes": votes,
    }


def selection(selection_id: str, *positions: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "CVR.CVRContestSelection",
        "ContestSelectionId": selection_id,
        "SelectionPosition": list(positions) or [position()],
    }


def contest(contest_id: str, *selections: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "CVR.CVRContest",
        "ContestId": contest_id,
        "CVRContestSelection": list(selections),
    }


def snapshot(snapshot_id: str, kind: str, *contests: dict[str, Any]) -> dict[str, Any]:
    return {
        "@id": snapshot_id,
        "@type": "CVR.CVRSnapshot",
        "Type": kind,
        "CVRContest": list(contests),
    }


def cvr(current: str, *snapshots: dict[str, Any], **ids: str) -> dict[str, Any]:
    return {
        "@type": "CVR.CVR",
        "CurrentSnapshotId": current,
        "ElectionId": "e1",
        "CVRSnapshot": list(snapshots),
        **ids,
    }


def report() -> dict[str, Any]:
    return {
        "@type": "CVR.CastVoteRecordReport",
        "Version": "1.0.0",
        "GeneratedDate": "2026-11-03T20:00:00Z",
        "ReportGeneratingDeviceIds": ["dev"],
        "ReportingDevice": [{"@id": "dev", "@type": "CVR.ReportingDevice"}],
        "GpUnit": [
            {"@id": "gp-county", "@type": "CVR.GpUnit", "Type": "other", "Name": "County"},
            {"@id": "gp-p1", "@type": "CVR.GpUnit", "Type": "precinct", "Name": "Precinct 1"},
        ],
        "Party": [{"@id": "pty-g", "@type": "CVR.Party", "Name": "Green"}],
        "Election": [
            {
                "@id": "e1",
                "@type": "CVR.Election",
                "ElectionScopeId": "gp-county",
                "Candidate": [
                    {"@id": "cand-a", "@type": "CVR.Candidate", "Name": "Ana Peña"},
                    {"@id": "cand-b", "@type": "CVR.Candidate", "Name": "Bo"},
                    {"@id": "cand-c", "@type": "CVR.Candidate"},
                ],
                "Contest": [
                    {
                        "@id": "c-mayor",
                        "@type": "CVR.CandidateContest",
                        "Name": "Mayor",
                        "VotesAllowed": 1,
                        "ContestSelection": [
                            {
                                "@id": "s-a",
                                "@type": "CVR.CandidateSelection",
                                "CandidateIds": ["cand-a"],
                            },
                            {
                                "@id": "s-b",
                                "@type": "CVR.CandidateSelection",
                                "CandidateIds": ["cand-b"],
                            },
                            {
                                "@id": "s-c",
                                "@type": "CVR.CandidateSelection",
                                "CandidateIds": ["cand-c"],
                            },
                            {
                                "@id": "s-wi",
                                "@type": "CVR.CandidateSelection",
                                "IsWriteIn": True,
                                "Code": [
                                    {"@type": "CVR.Code", "Type": "other", "Value": "Write-in"}
                                ],
                            },
                        ],
                    },
                    {
                        "@id": "c-levy",
                        "@type": "CVR.BallotMeasureContest",
                        "ContestSelection": [
                            {
                                "@id": "m-yes",
                                "@type": "CVR.BallotMeasureSelection",
                                "Selection": "Yes",
                            },
                            {
                                "@id": "m-no",
                                "@type": "CVR.BallotMeasureSelection",
                                "Selection": "No",
                            },
                        ],
                    },
                    {
                        "@id": "c-party",
                        "@type": "CVR.PartyContest",
                        "Name": "Party list",
                        "ContestSelection": [
                            {"@id": "p-g", "@type": "CVR.PartySelection", "PartyIds": ["pty-g"]},
                            {"@id": "p-other", "@type": "CVR.ContestSelection"},
                        ],
                    },
                ],
            }
        ],
        "CVR": [
            cvr(
                "u1-mod",
                snapshot(
                    "u1-orig", "original", contest("c-mayor", selection("s-a"), selection("s-b"))
                ),
                snapshot(
                    "u1-mod",
                    "modified",
                    contest("c-mayor", selection("s-b")),
                    contest("c-levy", selection("m-no")),
                ),
                UniqueId="u1",
                BatchId="B1",
                BatchSequenceId="7",
                BallotStyleId="S1",
                BallotStyleUnitId="gp-p1",
            ),
            cvr(
                "s",
                snapshot(
                    "s",
                    "original",
                    contest(
                        "c-mayor",
                        selection("s-wi", position(allocable="no")),
                        selection("s-a", position(allocable="no")),
                    ),
                    contest("c-party", selection("p-g"), selection("p-other", position("no"))),
                ),
                UniqueId="u2",
                BallotPrePrintedId="PP-2",
                BatchId="B1",
            ),
            cvr(
                "s",
                snapshot(
                    "s",
                    "original",
                    contest(
                        "c-mayor",
                        selection("s-a", position("no")),
                        selection("s-b", position("yes", 0)),
                        selection("s-c", position("unknown")),
                    ),
                    contest("c-levy"),
                ),
                BallotAuditId="audit-3",
            ),
            cvr("s", snapshot("s", "interpreted")),
        ],
    }


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "cvrs.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def fix_sequence(document: dict[str, Any]) -> dict[str, Any]:
    document["CVR"][0]["BatchSequenceId"] = 7
    return document


def test_the_fixture_is_valid_against_the_published_schema(shared_data: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = shared_data / "formats/nist-cvr-1500-103/NIST_V0_cast_vote_records.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    validator.validate(fix_sequence(report()))
    assert not validator.is_valid(report())  # BatchSequenceId "7" is not an integer


def test_contests_and_records(tmp_path: Path) -> None:
    parsed = read_nist_cvr_json(write(tmp_path, fix_sequence(report())))
    assert parsed.contests == {
        "Mayor": ("Ana Peña", "Bo", "cand-c", "Write-in"),
        "c-levy": ("Yes", "No"),
        "Party list": ("Green", "p-other"),
    }
    assert len(parsed) == 4
    assert list(parsed.records()) == [
        CvrRecord(
            "u1",
            {"Mayor": ("Bo",), "c-levy": ("No",)},
            batch_name="B1",
            position=7,
            imprinted_id="u1",
            ballot_style="S1",
            unit_id="Precinct 1",
        ),
        CvrRecord(
            "u2",
            {"Mayor": ("Ana Peña", "Write-in"), "Party list": ("Green",)},
            batch_name="B1",
            imprinted_id="PP-2",
        ),
        CvrRecord("audit-3", {"Mayor": (), "c-levy": ()}),
        CvrRecord("3", {}),
    ]


def error_of(tmp_path: Path, document: Any) -> InputError:
    path = write(tmp_path, document)
    with pytest.raises(InputError) as caught:
        list(read_nist_cvr_json(path).records())
    assert caught.value.file == str(path)
    return caught.value


def test_wrong_type_names_the_json_path(tmp_path: Path) -> None:
    error = error_of(tmp_path, report())
    assert (error.field, error.message) == (
        "CVR[0].BatchSequenceId",
        'Input should be a valid integer (found "7").',
    )


def test_missing_field_names_the_json_path(tmp_path: Path) -> None:
    document = fix_sequence(report())
    del document["CVR"][1]["CVRSnapshot"][0]["CVRContest"][1]["ContestId"]
    error = error_of(tmp_path, document)
    assert str(error) == (
        f"{tmp_path / 'cvrs.json'}, field 'CVR[1].CVRSnapshot[0].CVRContest[1].ContestId': "
        "the required field 'ContestId' is missing. Fix: add 'ContestId'."
    )


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda d: d["CVR"][2]["CVRSnapshot"][0]["CVRContest"][1].update(ContestId="nope"),
            "CVR[2].CVRSnapshot[0].CVRContest[1].ContestId",
            "ContestId 'nope' is not a contest of election 'e1'.",
        ),
        (
            lambda d: d["CVR"][1].update(CurrentSnapshotId="x"),
            "CVR[1].CurrentSnapshotId",
            "CurrentSnapshotId 'x' matches no CVRSnapshot @id.",
        ),
        (
            lambda d: d["CVR"][0]["CVRSnapshot"][1]["CVRContest"][1]["CVRContestSelection"][
                0
            ].update(ContestSelectionId="s-a"),
            "CVR[0].CVRSnapshot[1].CVRContest[1].CVRContestSelection[0]",
            "marked ContestSelectionId 's-a' is not a selection of contest 'c-levy'.",
        ),
        (
            lambda d: d["CVR"][2].update(UniqueId="u1"),
            "CVR[2].UniqueId",
            "CVR id 'u1' is used by CVR[0] and CVR[2].",
        ),
        (
            lambda d: d["CVR"][1]["CVRSnapshot"][0]["CVRContest"].append(contest("c-mayor")),
            "CVR[1].CVRSnapshot[0].CVRContest[2]",
            "contest 'Mayor' appears twice in the snapshot.",
        ),
        (
            lambda d: d["CVR"][3]["CVRSnapshot"][0].update(
                CVRContest=[contest("c-levy", selection("m-yes", position("perhaps")))]
            ),
            "CVR[3].CVRSnapshot[0].CVRContest[0].CVRContestSelection[0].SelectionPosition[0].HasIndication",
            "Input should be 'yes', 'no' or 'unknown' (found \"perhaps\").",
        ),
    ],
)
def test_record_errors(tmp_path: Path, edit: Any, field: str, message: str) -> None:
    document = fix_sequence(report())
    edit(document)
    error = error_of(tmp_path, document)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda d: d["Election"][0]["Contest"][0]["ContestSelection"][1].update(
                CandidateIds=["ghost"]
            ),
            "Election[0].Contest[0].ContestSelection[1].CandidateIds",
            "CandidateIds refers to 'ghost', which is not a Candidate of the election.",
        ),
        (
            lambda d: d["Election"][0]["Contest"][1].update(Name="Mayor"),
            "Election[0].Contest[1]",
            "two contests are named 'Mayor'.",
        ),
        (
            lambda d: d["Election"][0]["Contest"][1]["ContestSelection"][1].update(Selection="Yes"),
            "Election[0].Contest[1].ContestSelection[1]",
            "contest 'c-levy' lists the choice 'Yes' twice.",
        ),
        (lambda d: d.pop("Election"), "Election", "the required field 'Election' is missing."),
        (
            lambda d: d["Election"][0]["Contest"][2]["ContestSelection"][0].update(
                {"@type": "CVR.Bogus"}
            ),
            "Election[0].Contest[2].ContestSelection[0].@type",
            "Input should be 'CVR.ContestSelection', 'CVR.CandidateSelection', "
            "'CVR.BallotMeasureSelection' or 'CVR.PartySelection' (found \"CVR.Bogus\").",
        ),
    ],
)
def test_election_errors_are_raised_on_open(
    tmp_path: Path, edit: Any, field: str, message: str
) -> None:
    document = fix_sequence(report())
    edit(document)
    with pytest.raises(InputError) as caught:
        read_nist_cvr_json(write(tmp_path, document))
    assert (caught.value.field, caught.value.message) == (field, message)


def test_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"CVR": [\n  {"a": 1,}\n]}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_nist_cvr_json(path)
    assert caught.value.line == 2
    assert caught.value.message.startswith("is not valid JSON")
    with pytest.raises(InputError, match=r"Dominion CvrExport\.json"):
        read_nist_cvr_json(write(tmp_path, {"Version": "5.10.50.85", "Sessions": []}))
    with pytest.raises(InputError, match="not a JSON object"):
        read_nist_cvr_json(write(tmp_path, []))
    bad = copy.deepcopy(fix_sequence(report()))
    bad["CVR"] = {}
    with pytest.raises(InputError, match="CVR must be an array"):
        read_nist_cvr_json(write(tmp_path, bad))


def test_dominion_exports_are_recognised(shared_data: Path) -> None:
    folder = shared_data / "formats/shangrla-vendor-cvr-examples"
    for name in ("CvrExport_0.json", "test_5.10.50.85.Dominion.json"):
        with pytest.raises(InputError) as caught:
            read_nist_cvr_json(folder / name)
        assert caught.value.message == (
            "this is a Dominion CvrExport.json, not a NIST SP 1500-103 "
            "(CastVoteRecordReport JSON) file."
        )
