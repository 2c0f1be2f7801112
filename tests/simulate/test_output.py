"""Written elections: byte-identical for a seed, and readable by tallyguard's own readers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from tallyguard.io.contests import read_contests
from tallyguard.io.cvr_csv import read_cvr_csv
from tallyguard.io.manifest import read_manifest
from tallyguard.io.nist_cvr import read_nist_cvr_json
from tallyguard.io.results import read_results
from tallyguard.simulate import parse_config, run_simulation

PARAMS = {
    "seed": "output-test",
    "units": 24,
    "discrepancies": {"overstatement_1": 0.01, "overstatement_2": 0.01, "understatement_2": 0.005},
    "manipulation": {"stuffing": {"incremental_rate": 0.2}, "rounding": {"unit_rate": 0.2}},
}


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "election"
    run_simulation(parse_config(PARAMS), out)
    return out


def test_same_seed_gives_byte_identical_directories(election: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_simulation(parse_config(PARAMS), again)
    assert files(again) == files(election)
    other = tmp_path / "other"
    run_simulation(parse_config({**PARAMS, "seed": "output-test-2"}), other)
    first, second = files(election), files(other)
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in ("cvrs.csv", "results.csv", "manifest.csv"))


def test_every_file_is_listed(election: Path) -> None:
    names = set(files(election))
    assert names == {
        "bundle.json",
        "manifest.csv",
        "cvrs.csv",
        "cvrs.nist.json",
        "results.csv",
        "contests.json",
        "truth/units.csv",
        "truth/discrepancies.csv",
        "truth/outcomes.json",
    }
    bundle = json.loads((election / "bundle.json").read_text())
    assert {f["path"] for f in bundle["outputs"]} == names - {"bundle.json"}
    assert bundle["created"] is None
    assert bundle["rerun"] == "simulate.election"


def test_manifest_cvrs_and_totals_agree(election: Path) -> None:
    manifest = read_manifest(election / "manifest.csv")
    cvrs = read_cvr_csv(election / "cvrs.csv")
    records = list(cvrs.records())
    assert sum(b.num_ballots for b in manifest) == len(records)
    per_batch = Counter((r.jurisdiction, r.batch_name) for r in records)
    assert per_batch == {(b.jurisdiction, b.batch_name): b.num_ballots for b in manifest}
    reported = read_contests(election / "contests.json")
    for rc in reported.contests:
        contest = rc.contest
        assert cvrs.contests[contest.name] == contest.choices
        on_card = [r.votes[contest.name] for r in records if contest.name in r.votes]
        assert len(on_card) == rc.ballots
        valid = [marks for marks in on_card if len(marks) <= contest.votes_allowed]
        counted = Counter(choice for marks in valid for choice in marks)
        assert {c: counted.get(c, 0) for c in contest.choices} == rc.totals


def test_nist_json_matches_the_csv(election: Path) -> None:
    nist = read_nist_cvr_json(election / "cvrs.nist.json")
    csv = read_cvr_csv(election / "cvrs.csv")
    assert nist.contests == csv.contests
    by_id = {r.cvr_id: r for r in csv.records()}
    seen = 0
    for record in nist.records():
        twin = by_id[record.cvr_id]
        assert record.votes == twin.votes
        assert record.batch_name == twin.batch_name
        assert record.ballot_style == twin.ballot_style
        seen += 1
    assert seen == len(by_id)


def test_nist_json_validates_against_the_published_schema(
    election: Path, shared_data: Path
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = shared_data / "formats/nist-cvr-1500-103/NIST_V0_cast_vote_records.schema.json"
    schema = json.loads(schema_path.read_text())
    document = json.loads((election / "cvrs.nist.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)


def test_results_are_the_protocols_and_truth_names_the_manipulated_units(election: Path) -> None:
    table = read_results(election / "results.csv")
    truth = pl.read_csv(election / "truth/units.csv")
    outcomes = json.loads((election / "truth/outcomes.json").read_text())
    main = outcomes["contests"][0]
    sums = {c: int(table.frame[c].sum()) for c in table.choices}
    assert sums == main["protocol_totals"]
    assert table.frame["unit_id"].to_list() == truth["unit_id"].to_list()
    assert int(truth["manipulated"].sum()) == outcomes["manipulated_units"] > 0
    rounded = truth.filter(pl.col("rounded_share_pct").is_not_null())
    joined = table.frame.join(rounded, on="unit_id")
    leader = outcomes["leader"]
    assert (joined[leader] * 100 == joined["rounded_share_pct"] * joined["ballots_cast"]).all()


def test_discrepancy_truth_reconstructs_the_paper(election: Path) -> None:
    truth = pl.read_csv(election / "truth/discrepancies.csv")
    outcomes = json.loads((election / "truth/outcomes.json").read_text())
    cvrs = {r.cvr_id: r for r in read_cvr_csv(election / "cvrs.csv").records()}
    reported = {
        rc.contest.name: rc.contest for rc in read_contests(election / "contests.json").contests
    }
    paper_votes = {name: Counter() for name in reported}
    patched = {(row["cvr_id"], row["contest"]): row["paper"] for row in truth.iter_rows(named=True)}
    for record in cvrs.values():
        for name, marks in record.votes.items():
            if (record.cvr_id, name) in patched:
                text = patched[(record.cvr_id, name)]
                marks = tuple(text.split("|")) if text else ()
            if len(marks) <= reported[name].votes_allowed:
                paper_votes[name].update(marks)
    for entry in outcomes["contests"]:
        expected = entry["paper_totals"]
        assert {c: paper_votes[entry["contest"]].get(c, 0) for c in expected} == expected
    for row in truth.iter_rows(named=True):
        cvr_marks = cvrs[row["cvr_id"]].votes[row["contest"]]
        assert "|".join(cvr_marks) == (row["cvr"] or "")
