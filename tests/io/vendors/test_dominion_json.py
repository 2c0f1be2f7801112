"""Dominion CvrExport*.json: SHANGRLA's examples (5.2.18.2 and 5.10.50.85), manifests, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import VendorCvrRecord, read_dominion_json
from tests.io.vendors.helpers import data_file, make_zip, tally

SHANGRLA = ("formats", "shangrla-vendor-cvr-examples")


def test_version_5_2_contests_directly_under_original(shared_data: Path) -> None:
    export = read_dominion_json(data_file(shared_data, *SHANGRLA, "test_5.2.18.2.Dominion.json"))
    assert export.versions == ("5.2.18.2",)
    assert export.contests == {"111": ("1", "6"), "122": ("9", "48")}
    records = list(export.records())
    assert records == [
        VendorCvrRecord(
            cvr_id="60001-1-1",
            votes={"111": ("6",)},  # candidate 1 is marked but IsVote is false
            batch_name="1",
            position=1,
            ballot_style="2",
            unit_id="123",
            tabulator="60001",
            counting_group="1",
        ),
        VendorCvrRecord(
            cvr_id="60009-3-21",
            votes={"111": ("6",), "122": ("9",)},  # the Modified version is current
            batch_name="3",
            position=21,
            ballot_style="2",
            unit_id="456",
            tabulator="60009",
            counting_group="2",
        ),
    ]


def test_version_5_10_cards_ranks_and_obfuscated_record_ids(shared_data: Path) -> None:
    path = data_file(shared_data, *SHANGRLA, "test_5.10.50.85.Dominion.json")
    export = read_dominion_json(path)
    assert export.versions == ("5.10.50.85",)
    assert export.contests == {
        "1": ("5", "6"),
        "12": ("17",),
        "13": ("18",),
        "19": ("26", "27"),
        "20": ("192",),
    }
    records = list(export.records())
    assert [r.cvr_id for r in records] == ["1-2-13", "1-5-119", "1-17-123456789"]
    assert records[1].votes == {"1": ()}  # adjudicated to an undervote (Modified, current)
    assert (records[1].unit_id, records[1].ballot_style) == ("214", "102")
    assert records[2].votes == {"12": ("17",), "13": ("18",), "19": ("27", "26"), "20": ("192",)}
    assert "2 RecordId(s) were obfuscated; read from the ImageMask" in export.notes
    assert "1 session(s) span several cards; each is one record" in export.notes


def test_split_export_folder_and_file_list(shared_data: Path) -> None:
    folder = data_file(
        shared_data, "rla", "shangrla", "core", "data", "Dominion_CVRs", "CVR_Export"
    )
    from_folder = read_dominion_json(folder)
    files = [data_file(shared_data, *SHANGRLA, f"CvrExport_{k}.json") for k in (0, 1)]
    from_files = read_dominion_json(files)
    assert [m.basename for m in from_folder.exports] == ["CvrExport_0.json", "CvrExport_1.json"]
    for export in (from_folder, from_files):
        count, cards, votes = tally(export.records())
        assert (count, cards, votes) == (2, {"1": 2}, {"1": {"5": 1}})


def _session(tab: int, batch: int, record: int | str, marks: list[tuple[int, int, bool]]) -> Any:
    return {
        "TabulatorId": tab,
        "BatchId": batch,
        "RecordId": record,
        "CountingGroupId": 2,
        "ImageMask": f"C:\\Images\\{tab:05d}_{batch:05d}_{7:06d}*.*",
        "UniqueVotingIdentifier": f"U{tab}{batch}{record}",
        "Original": {
            "PrecinctPortionId": 9,
            "BallotTypeId": 4,
            "IsCurrent": True,
            "Cards": [
                {
                    "Id": 1,
                    "Contests": [
                        {"Id": contest, "Marks": [{"CandidateId": cand, "Rank": 1, "IsVote": vote}]}
                        for contest, cand, vote in marks
                    ],
                }
            ],
        },
    }


def _manifest(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"Version": "5.10.50.85", "List": items}).encode("utf-8")


def _export(sessions: list[Any]) -> bytes:
    return json.dumps({"Version": "5.10.50.85", "ElectionId": "E", "Sessions": sessions}).encode()


def test_zip_with_manifests_names_contests_and_choices(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "export.zip",
        {
            "CvrExport_10.json": _export([_session(2, 1, 1, [(7, 71, True)])]),
            "CvrExport_2.json": _export([_session(1, 1, 1, [(7, 72, True), (8, 81, False)])]),
            "ContestManifest.json": _manifest(
                [
                    {"Id": 7, "Description": "Mayor", "VoteFor": 1, "NumOfRanks": 0},
                    {"Id": 8, "Description": "Measure  A\n", "VoteFor": 1, "NumOfRanks": 0},
                ]
            ),
            "CandidateManifest.json": _manifest(
                [
                    {"Id": 71, "Description": "Ann Lee", "ContestId": 7, "Type": "Regular"},
                    {"Id": 72, "Description": "Bo Kim", "ContestId": 7, "Type": "Regular"},
                    {"Id": 81, "Description": "Yes", "ContestId": 8, "Type": "Regular"},
                    {"Id": 82, "Description": "No", "ContestId": 8, "Type": "Regular"},
                ]
            ),
            "CountingGroupManifest.json": _manifest([{"Id": 2, "Description": "Mail"}]),
            "README.txt": b"not a CVR",
        },
    )
    export = read_dominion_json(archive)
    assert export.contests == {"Mayor": ("Ann Lee", "Bo Kim"), "Measure A": ("Yes", "No")}
    assert export.votes_allowed == {"Mayor": 1, "Measure A": 1}
    records = list(export.records())
    assert [r.cvr_id for r in records] == ["1-1-1", "2-1-1"]  # CvrExport_2 before _10
    assert records[0].votes == {"Mayor": ("Bo Kim",), "Measure A": ()}
    assert records[0].counting_group == "Mail"
    assert records[0].imprinted_id == "U111"
    assert "ignored 1 other file(s), e.g. README.txt" in export.notes


def test_unknown_candidate_names_the_json_path(tmp_path: Path) -> None:
    (tmp_path / "CvrExport.json").write_bytes(_export([_session(1, 1, 1, [(7, 79, True)])]))
    (tmp_path / "CandidateManifest.json").write_bytes(
        _manifest([{"Id": 71, "Description": "Ann", "ContestId": 7}])
    )
    export = read_dominion_json(tmp_path)
    with pytest.raises(InputError, match="CandidateId 79 is not a candidate") as caught:
        list(export.records())
    assert caught.value.field == "Sessions[0].Original.Cards[0].Contests[0].Marks[0].CandidateId"
    assert "71" in str(caught.value.fix)


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (lambda s: s.pop("BatchId"), "'BatchId' is missing", "Sessions[0].BatchId"),
        (
            lambda s: s["Original"].update(IsCurrent="yes"),
            "expected true/false",
            "Sessions[0].Original.IsCurrent",
        ),
        (lambda s: s.update(RecordId="X", ImageMask=""), "ImageMask", "Sessions[0].RecordId"),
        (lambda s: s.pop("Original"), "neither 'Original'", "Sessions[0]"),
    ],
)
def test_structural_errors_name_the_path(
    tmp_path: Path, change: Any, message: str, field: str
) -> None:
    session = _session(1, 1, 1, [(7, 71, True)])
    change(session)
    path = tmp_path / "CvrExport.json"
    path.write_bytes(_export([session]))
    with pytest.raises(InputError, match=message) as caught:
        list(read_dominion_json(path).records())
    assert caught.value.field == field


def test_a_card_in_two_files_is_an_error(tmp_path: Path) -> None:
    for k in (0, 1):
        (tmp_path / f"CvrExport_{k}.json").write_bytes(_export([_session(1, 1, 1, [])]))
    with pytest.raises(InputError, match=r"'1-1-1' appears twice \(CvrExport_0.json Sessions"):
        list(read_dominion_json(tmp_path).records())


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "CvrExport.json"
    path.write_text('{"Version": "5.2",\n "Sessions": [\n}', encoding="utf-8")
    with pytest.raises(InputError, match="is not valid JSON") as caught:
        read_dominion_json(path)
    assert caught.value.line == 3


def test_nist_report_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text('{"@type": "CVR.CastVoteRecordReport", "CVR": []}', encoding="utf-8")
    with pytest.raises(InputError, match="NIST SP 1500-103"):
        read_dominion_json(path)


def test_folder_without_exports(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"no CvrExport\*\.json file found"):
        read_dominion_json(tmp_path)
