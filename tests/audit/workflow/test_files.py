"""An audit's inputs written as plain files and read back unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tallyguard.audit.workflow.files import (
    frozen_digests,
    input_texts,
    read_inputs,
    write_inputs,
)
from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey, Reading
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

GOVERNOR = ReportedContest(
    Contest("c1", "Governor", ContestKind.PLURALITY, ("Alice", "Bob")),
    ballots=6,
    totals={"Alice": 4, "Bob": 2},
    winners=("Alice",),
)
COUNCIL = ReportedContest(
    Contest("c2", "Council", ContestKind.PLURALITY, ("Erin", "Farid", "Grace"), 2, 2),
    ballots=3,
    totals={"Erin": 2, "Farid": 2, "Grace": 1},
    winners=("Erin", "Farid"),
)


def _inputs(kind: str = "comparison") -> AuditInputs:
    batches = (
        ManifestBatch("Butte", "B1", 2, container="box 1", tabulator="T1"),
        ManifestBatch("Butte", "B1", 1, container="box 1", tabulator="T2"),
        ManifestBatch("Colusa, the county", 'Mail "A"', 3),
    )
    cvrs = {
        CardKey("Butte", "T1", "B1", 1): {"Governor": ("Alice",), "Council": ("Erin", "Farid")},
        CardKey("Butte", "T1", "B1", 2): {"Governor": ()},
        CardKey("Butte", "T2", "B1", 1): {"Governor": ("Bob",), "Council": ("Grace",)},
        CardKey("Colusa, the county", "", 'Mail "A"', 1): {"Governor": ("Alice",)},
        CardKey("Colusa, the county", "", 'Mail "A"', 2): {"Governor": ("Alice", "Bob")},
        CardKey("Colusa, the county", "", 'Mail "A"', 3): {"Council": ("Erin", "Farid")},
    }
    readings = {
        CardKey("Butte", "T1", "B1", 2): {
            "Governor": Reading("vote", ("Bob",), comment="faint mark"),
            "Council": Reading("not_on_card"),
        },
        CardKey("Butte", "T2", "B1", 1): {
            "Governor": Reading("not_found"),
            "Council": Reading("not_found"),
        },
    }
    tallies = {
        ("Butte", "T1", "B1"): {"Alice": 1, "Bob": 0},
        ("Butte", "T2", "B1"): {"Alice": 0, "Bob": 1},
        ("Colusa, the county", "", 'Mail "A"'): {"Alice": 2, "Bob": 1},
    }
    if kind == "batch":
        readings = {
            CardKey("Butte", "T1", "B1", 0): {
                "Governor": Reading("vote", votes={"Alice": 1, "Bob": 1})
            }
        }
    return AuditInputs(
        name="Test RLA",
        election="Test election",
        kind=kind,  # type: ignore[arg-type]
        risk_limit=0.05,
        method="alpha",
        seed="12345678901234567890",
        batches=batches,
        contests=(AuditContest(GOVERNOR, True), AuditContest(COUNCIL, False)),
        cvrs=cvrs if kind == "comparison" else {},
        imprinted_ids={CardKey("Butte", "T1", "B1", 1): "1-1-1"} if kind == "comparison" else {},
        batch_tallies=tallies if kind == "batch" else {},
        rounds=(2, 4),
        readings=readings,
    )


def test_comparison_inputs_round_trip(tmp_path: Path) -> None:
    inputs = _inputs()
    write_inputs(inputs, tmp_path)
    back = read_inputs(tmp_path)
    assert back.cvrs == inputs.cvrs
    assert back.imprinted_ids == inputs.imprinted_ids
    assert back.readings == inputs.readings
    assert back.rounds == inputs.rounds
    assert [(c.reported, c.targeted) for c in back.contests] == [
        (c.reported, c.targeted) for c in inputs.contests
    ]
    assert [
        (b.jurisdiction, b.tabulator or "", b.batch_name, b.num_ballots) for b in back.batches
    ] == [(b.jurisdiction, b.tabulator or "", b.batch_name, b.num_ballots) for b in inputs.batches]
    assert input_texts(back) == input_texts(inputs)


def test_batch_inputs_round_trip(tmp_path: Path) -> None:
    inputs = _inputs("batch")
    write_inputs(inputs, tmp_path)
    back = read_inputs(tmp_path)
    assert back.batch_tallies == inputs.batch_tallies
    assert back.readings == inputs.readings
    assert input_texts(back) == input_texts(inputs)


def test_frozen_digests_are_sha256_of_the_written_files(tmp_path: Path) -> None:
    inputs = _inputs()
    write_inputs(inputs, tmp_path)
    digests = frozen_digests(inputs)
    assert set(digests) == {"manifest.csv", "contests.json", "cvrs.csv"}
    for name, digest in digests.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_the_cvr_file_marks_contests_not_on_the_card_with_empty_cells() -> None:
    text = input_texts(_inputs())["cvrs.csv"]
    lines = text.splitlines()
    assert lines[0] == (
        "jurisdiction,tabulator,batch_name,position,imprinted_id,"
        "Governor:Alice,Governor:Bob,Council:Erin,Council:Farid,Council:Grace"
    )
    assert "Butte,T1,B1,2,,0,0,,," in lines
    assert "Butte,T1,B1,1,1-1-1,1,0,1,1,0" in lines
