"""NIST SP 1500-103 XML: NIST's two examples, equality with the JSON reader, the XSD option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tallyguard.errors import InputError
from tallyguard.io.nist_cvr import read_nist_cvr_json
from tallyguard.io.vendors import read_nist_cvr_xml
from tests.io.vendors.helpers import data_file, tally

NIST = ("formats", "nist-cvr-1500-103")
XSD = "NIST_V0_cast_vote_records.xsd"


def example_1_as_json() -> dict[str, Any]:
    """``example_1.xml`` written by hand in the JSON form of NIST SP 1500-103."""
    marks = {  # UniqueId -> (snapshot @id, [(ContestSelectionId, [HasIndication, ...])])
        "1": ("cvr-001", [("_C1CS1", ["yes"])]),
        "2": ("cvr-002", [("_C1CS2", ["yes"])]),
        "3": ("cvr-003", [("_C1CS1", ["yes", "no"])]),
        "4": ("cvr-004", [("_C1CS2", ["yes", "yes"])]),
        "61": ("cvr-005", [("_C1CS3", ["yes"])]),
        "57": ("cvr-006", [("_C1CS1", ["yes"]), ("_C1CS2", ["no"]), ("_C1CS3", ["no", "no"])]),
    }
    cvrs = [
        {
            "@type": "CVR.CVR",
            "BallotStyleId": "bs1",
            "CurrentSnapshotId": snapshot,
            "ElectionId": "_EL7",
            "UniqueId": unique,
            "CVRSnapshot": [
                {
                    "@id": snapshot,
                    "@type": "CVR.CVRSnapshot",
                    "CVRContest": [
                        {
                            "@type": "CVR.CVRContest",
                            "ContestId": "_C1",
                            "CVRContestSelection": [
                                {
                                    "@type": "CVR.CVRContestSelection",
                                    "ContestSelectionId": selection,
                                    "SelectionPosition": [
                                        {"HasIndication": h, "NumberVotes": 1} for h in positions
                                    ],
                                }
                                for selection, positions in selections
                            ],
                        }
                    ],
                }
            ],
        }
        for unique, (snapshot, selections) in marks.items()
    ]
    return {
        "@type": "CVR.CastVoteRecordReport",
        "Election": [
            {
                "@id": "_EL7",
                "@type": "CVR.Election",
                "Candidate": [{"@id": f"_C1CN{k}", "@type": "CVR.Candidate"} for k in (1, 2, 3)],
                "Contest": [
                    {
                        "@id": "_C1",
                        "@type": "CVR.CandidateContest",
                        "ContestSelection": [
                            {
                                "@id": f"_C1CS{k}",
                                "@type": "CVR.CandidateSelection",
                                "CandidateIds": [f"_C1CN{k}"],
                            }
                            for k in (1, 2, 3)
                        ],
                    }
                ],
            }
        ],
        "CVR": cvrs,
    }


def test_example_1_equals_the_json_reader(shared_data: Path, tmp_path: Path) -> None:
    xml = read_nist_cvr_xml(data_file(shared_data, *NIST, "example_1.xml"))
    path = tmp_path / "example_1.json"
    path.write_text(json.dumps(example_1_as_json()), encoding="utf-8")
    from_json = read_nist_cvr_json(path)
    assert xml.contests == from_json.contests == {"_C1": ("_C1CN1", "_C1CN2", "_C1CN3")}
    records = list(xml.records())
    assert records == list(from_json.records())
    assert len(xml) == 6
    assert [r.cvr_id for r in records] == ["1", "2", "3", "4", "61", "57"]
    assert tally(records) == (6, {"_C1": 6}, {"_C1": {"_C1CN1": 3, "_C1CN2": 2, "_C1CN3": 1}})
    assert {r.ballot_style for r in records} == {"bs1"}


def test_example_2(shared_data: Path) -> None:
    report = read_nist_cvr_xml(data_file(shared_data, *NIST, "example_2.xml"))
    assert len(report.contests) == 25
    governor = "For Governor and Lieutenant Governor"
    assert report.contests[governor] == (
        "Edward FitzGerald and Sharen Swartz Neuhardt",
        "John Kasich and Mary Taylor",
        "Anita Rios and Bob Fitrakis",
        "Write-in",  # added for the write-in that names no ContestSelection
    )
    council = "For Member of County Council at Large"
    assert report.votes_allowed[council] == 3
    assert sum(report.votes_allowed.values()) == 24 + 3
    judge = "For Justice of the Supreme Court Full Term Commencing 1/1/2015"
    assert report.contests[judge] == ("Tom Letson", "Sharon Kennedy")
    first, second = report.records()
    assert (first.cvr_id, second.cvr_id) == ("0", "1")  # no UniqueId: the CVR's index
    assert len(first.votes) == 25
    assert first.votes[governor] == ("Write-in",)
    assert first.votes["For Treasurer of State"] == ("Connie Pillich", "Josh Mandel")  # overvote
    assert first.votes[council] == ()
    assert second.votes == {"For Representative to Congress(11th District)": ("Mark Zetzer",)}
    assert any("write-in" in note for note in report.notes)


@pytest.mark.parametrize("name", ["example_1.xml", "example_2.xml"])
def test_examples_conform_to_the_xsd(shared_data: Path, name: str) -> None:
    schema = data_file(shared_data, *NIST, XSD)
    report = read_nist_cvr_xml(data_file(shared_data, *NIST, name), schema=schema)
    assert len(list(report.records())) == len(report)


def test_schema_violation_names_the_element(shared_data: Path, tmp_path: Path) -> None:
    source = data_file(shared_data, *NIST, "example_1.xml").read_text(encoding="utf-8")
    path = tmp_path / "bad.xml"
    path.write_text(source.replace("<HasIndication>yes<", "<HasIndication>maybe<", 1), "utf-8")
    with pytest.raises(InputError, match="does not conform") as caught:
        read_nist_cvr_xml(path, schema=data_file(shared_data, *NIST, XSD))
    assert "HasIndication" in str(caught.value.field)
    # without the schema, the JSON reader's own check finds it too
    with pytest.raises(InputError, match="maybe") as caught:
        list(read_nist_cvr_xml(path).records())
    assert caught.value.field == (
        "CVR[0].CVRSnapshot[0].CVRContest[0].CVRContestSelection[0].SelectionPosition[0]"
        ".HasIndication"
    )


def test_wrong_current_snapshot_names_the_path(shared_data: Path, tmp_path: Path) -> None:
    source = data_file(shared_data, *NIST, "example_1.xml").read_text(encoding="utf-8")
    path = tmp_path / "bad.xml"
    path.write_text(source.replace(">cvr-002</CurrentSnapshotId>", ">cvr-XXX</CurrentSnapshotId>"))
    with pytest.raises(InputError, match="'cvr-XXX' matches no CVRSnapshot") as caught:
        list(read_nist_cvr_xml(path).records())
    assert caught.value.field == "CVR[1].CurrentSnapshotId"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<CastVoteRecordReport>\n<CVR>\n</CastVoteRecordReport>", "not well-formed XML"),
        ("<Cvr/>", "root element is <Cvr>"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><CastVoteRecordReport/>',
            "forbidden XML construct",
        ),
        ("<CastVoteRecordReport/>", "'Election' is missing"),
    ],
)
def test_bad_documents(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        list(read_nist_cvr_xml(path).records())


def test_unusable_schema_file(shared_data: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.xsd"
    schema.write_text("<not-a-schema/>", encoding="utf-8")
    with pytest.raises(InputError, match="not a usable XML schema"):
        read_nist_cvr_xml(data_file(shared_data, *NIST, "example_1.xml"), schema=schema)
