"""A whole audit of a simulated three-county election, run from the command line.

Runs on SQLite and on PostgreSQL (the ``db_url`` fixture), then checks that the
exported bundle verifies without the database and fails on any changed value.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tallyguard.evidence.canonical import content_sha256, file_form
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.boards import fill_readings, paper_ballots, reported_batch_tallies
from tests.cli.conftest import Invoke

SEED = "31415926535897932384"
ELECTION = {
    "seed": "workflow-e2e",
    "units": 18,
    "jurisdictions": 3,
    "regions": 3,
    "discrepancies": {"overstatement_2": 0.01},
}


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("election") / "sim"
    run_simulation(parse_config(ELECTION, source="test"), out)
    return out


def _ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, f"exit {code}\nstdout: {out}\nstderr: {err}"
    return out


def _setup(cli: Invoke, db: list[str], election: Path, kind: str) -> None:
    _ok(cli("audit", "init", "--name", "E2E", "--election", "Sim", "--kind", kind, *db))
    _ok(cli("audit", "add-jurisdiction", "J01", "J02", "J03", *db))
    _ok(cli("audit", "manifest", str(election / "manifest.csv"), *db))
    if kind == "comparison":
        _ok(cli("audit", "cvrs", str(election / "cvrs.csv"), *db))
    contests = str(election / "contests.json")
    _ok(cli("audit", "contest", "--contests", contests, "--name", "Governor", *db))
    if kind != "batch":
        _ok(cli("audit", "contest", "--contests", contests, "--name", "Measure A",
                "--opportunistic", *db))  # fmt: skip


def _record_round(cli: Invoke, db: list[str], election: Path, folder: Path, paper: dict) -> int:  # type: ignore[type-arg]
    recorded = 0
    for template in sorted(folder.glob("readings-*.csv")):
        filled = template.with_name("filled-" + template.name)
        filled.write_text(fill_readings(template, election, paper=paper), encoding="utf-8")
        out = json.loads(_ok(cli("audit", "record", str(filled), "--json", *db)))
        recorded += out["readings"]
    return recorded


def test_a_two_round_comparison_audit_end_to_end(
    cli: Invoke, db_url: str, election: Path, tmp_path: Path
) -> None:
    db = ["--db", db_url]
    _setup(cli, db, election, "comparison")
    frozen = json.loads(_ok(cli("audit", "seed", SEED, "--json", *db)))
    assert set(frozen["inputs"]) == {"manifest.csv", "contests.json", "cvrs.csv"}
    code, _, err = cli("audit", "manifest", str(election / "manifest.csv"), *db)
    assert code == 2
    assert "seed" in err
    plan = json.loads(_ok(cli("audit", "plan", "--json", *db)))
    assert plan, "the planner offers at least one size"
    paper = paper_ballots(election)
    draw = json.loads(_ok(cli("audit", "draw", "--size", "40", "--out", str(tmp_path / "r1"),
                              "--json", *db)))  # fmt: skip
    assert draw["round"] == 1
    assert draw["new_draws"] == 40
    retrieval = sorted((tmp_path / "r1").glob("retrieval-*.csv"))
    assert [p.name for p in retrieval] == [f"retrieval-round1-J0{i}.csv" for i in (1, 2, 3)]
    with retrieval[0].open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert rows
    assert set(rows[0]) >= {"Container", "Tabulator", "Batch Name", "Ballot Position",
                            "Imprinted ID", "Ticket Numbers"}  # fmt: skip
    assert all(row["Imprinted ID"] for row in rows)
    # A card cannot be recorded twice as finished, and the round cannot close early.
    code, _, err = cli("audit", "next-round", *db)
    assert code == 2
    assert "still need readings" in err
    assert _record_round(cli, db, election, tmp_path / "r1", paper) == 80
    again = json.loads(_ok(cli("audit", "retrieval", "--round", "1", "--out",
                               str(tmp_path / "again"), "--json", *db)))  # fmt: skip
    assert again["new_draws"] == 40
    assert (tmp_path / "again" / retrieval[0].name).read_bytes() == retrieval[0].read_bytes()
    status = json.loads(_ok(cli("audit", "status", "--json", *db)))
    assert status["rounds"][0]["audited"] == 40
    round2 = json.loads(_ok(cli("audit", "next-round", "--size", "120", "--out",
                                str(tmp_path / "r2"), "--json", *db)))  # fmt: skip
    assert round2["round"] == 2
    assert round2["new_draws"] == 80
    _record_round(cli, db, election, tmp_path / "r2", paper)
    status = json.loads(_ok(cli("audit", "status", "--json", *db)))
    governor = next(c for c in status["contests"] if c["contest"] == "Governor")
    # the CVRs overstate the winner's margin (1 % two-vote errors): the risk stays above the
    # limit, so the audit goes on to round 3 and then to a full hand count
    assert not governor["confirmed"]
    _ok(cli("audit", "next-round", "--size", "121", "--out", str(tmp_path / "x"), *db))
    _ok(cli("audit", "hand-count", *db))
    counting = json.loads(_ok(cli("audit", "status", "--json", *db)))
    assert counting["state"] == "hand_count"
    assert counting["next_step"].startswith("A full hand count is under way")
    log = _ok(cli("audit", "log", "--verify", *db))
    assert "hash chain verified" in log
    bundle = tmp_path / "bundle"
    _ok(cli("audit", "export", str(bundle), *db))
    _ok(cli("verify", str(bundle)))
    reports = json.loads(_ok(cli("audit", "report", "--out", str(tmp_path / "report"), "--no-pdf",
                                 "--json", *db)))  # fmt: skip
    assert {Path(f).name for f in reports["files"]} == {"audit-report.csv", "audit-report.html"}
    _tamper_checks(cli, bundle, tmp_path)


def _reseal(bundle: Path) -> None:
    """Re-hash every file into bundle.json, as someone hiding an edit would."""
    document = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    for section in ("inputs", "outputs"):
        for record in document[section]:
            data = (bundle / record["path"]).read_bytes()
            record["sha256"] = hashlib.sha256(data).hexdigest()
            record["bytes"] = len(data)
    document["bundle_sha256"] = content_sha256(document)
    (bundle / "bundle.json").write_bytes(file_form(document))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _first_reading(bundle: Path) -> tuple[str, str]:
    lines = (bundle / "inputs" / "readings.csv").read_text(encoding="utf-8").splitlines()
    row = next(csv.reader([lines[1]]))
    changed = [*row]
    changed[5] = "NOT FOUND" if row[5] != "NOT FOUND" else "BLANK"
    return ",".join(row), ",".join(changed)


def _tamper_checks(cli: Invoke, bundle: Path, tmp_path: Path) -> None:
    reading_old, reading_new = _first_reading(bundle)
    edits = {
        "a reading": ("inputs/readings.csv", reading_old, reading_new),
        "the seed": ("inputs/audit.json", SEED, SEED[::-1]),
        "a manifest count": ("inputs/manifest.csv", ",250\n", ",249\n"),
        "a CVR mark": ("inputs/cvrs.csv", ",1,0,0,0,", ",0,1,0,0,"),
        "a risk": ("results.json", '"risk_limit": 0.05', '"risk_limit": 0.5'),
        "an event": ("inputs/events.jsonl", '"actor":"', '"actor":"x'),
    }
    for label, (name, old, new) in edits.items():
        for reseal in (False, True):
            copy = tmp_path / f"tampered-{label.replace(' ', '-')}-{reseal}"
            shutil.copytree(bundle, copy)
            _edit(copy / name, old, new)
            if reseal:
                _reseal(copy)
            code, _, err = cli("verify", str(copy))
            assert code == 3, f"{label} (resealed={reseal}) was not caught: {err}"


def test_polling_and_batch_audits_run_and_verify(
    cli: Invoke, db_url: str, election: Path, tmp_path: Path
) -> None:
    paper = paper_ballots(election)
    for kind in ("polling", "batch"):
        db = ["--db", db_url if kind == "polling" else str(tmp_path / "batch.db")]
        _setup(cli, db, election, kind)
        if kind == "batch":
            tallies = tmp_path / "tallies.csv"
            tallies.write_text(reported_batch_tallies(election, ["Governor"]), encoding="utf-8")
            _ok(cli("audit", "batch-tallies", str(tallies), *db))
        _ok(cli("audit", "seed", SEED, *db))
        size = "30" if kind == "polling" else "8"
        folder = tmp_path / f"{kind}-r1"
        _ok(cli("audit", "draw", "--size", size, "--out", str(folder), *db))
        assert _record_round(cli, db, election, folder, paper) > 0
        status = json.loads(_ok(cli("audit", "status", "--json", *db)))
        assert status["rounds"][0]["audited"] == int(size)
        assert 0.0 <= status["contests"][0]["risk"] <= 1.0
        bundle = tmp_path / f"{kind}-bundle"
        _ok(cli("audit", "export", str(bundle), *db))
        _ok(cli("verify", str(bundle)))


def test_errors_are_short_and_name_the_problem(cli: Invoke, tmp_path: Path, election: Path) -> None:
    db = ["--db", str(tmp_path / "a.db")]
    code, _, err = cli("audit", "status", *db)
    assert code == 2
    assert "holds no audit" in err
    _ok(cli("audit", "init", "--name", "A", "--election", "E", "--kind", "comparison", *db))
    code, _, err = cli("audit", "init", "--name", "A", "--election", "E", "--kind", "polling", *db)
    assert code == 2
    assert "already exists" in err
    code, _, err = cli("audit", "manifest", str(election / "manifest.csv"), *db)
    assert code == 2
    assert "'J01' is not part of audit 'A'" in err
    _ok(cli("audit", "add-jurisdiction", "J01", "J02", "J03", *db))
    code, _, err = cli("audit", "cvrs", str(election / "cvrs.csv"), *db)
    assert code == 2
    assert "has no ballot manifest yet" in err
    code, _, err = cli("audit", "seed", "1234", *db)
    assert code == 2
    assert "20" in err
    code, _, err = cli("audit", "seed", SEED, *db)
    assert code == 2
    assert "has no manifest yet" in err
    assert "Traceback" not in err


def test_escalation_to_a_full_hand_count_decides_the_outcome(
    cli: Invoke, election: Path, tmp_path: Path
) -> None:
    db = ["--db", str(tmp_path / "hand.db")]
    _setup(cli, db, election, "polling")
    _ok(cli("audit", "seed", SEED, *db))
    _ok(cli("audit", "draw", "--size", "5", "--out", str(tmp_path / "r1"), *db))
    _record_round(cli, db, election, tmp_path / "r1", paper_ballots(election))
    code, _, err = cli("audit", "finish", *db)
    assert code == 2
    assert "risk limit is not met" in err
    _ok(cli("audit", "next-round", "--size", "6", "--out", str(tmp_path / "r2"), *db))
    started = json.loads(_ok(cli("audit", "hand-count", "--json", *db)))
    assert started == {"status": "hand_count"}
    code, _, err = cli("audit", "finish", *db)
    assert code == 2
    assert "hand count's totals are not recorded" in err
    truth = json.loads((election / "truth" / "outcomes.json").read_text(encoding="utf-8"))
    paper = {c["contest"]: c["paper_totals"] for c in truth["contests"]}
    true_winners = {c["contest"]: c["true_winners"] for c in truth["contests"]}
    totals = tmp_path / "totals.csv"
    rows = ["Contest,Choice,Votes"] + [
        f"{contest},{choice},{votes}"
        for contest in ("Governor", "Measure A")
        for choice, votes in paper[contest].items()
    ]
    totals.write_text("\n".join(rows) + "\n", encoding="utf-8")
    counted = json.loads(_ok(cli("audit", "hand-count", "--totals", str(totals), "--json", *db)))
    governor = next(h for h in counted if h["contest"] == "Governor")
    assert governor["totals"] == paper["Governor"]
    assert governor["winners"] == true_winners["Governor"] == ["Bob Brooks"]
    assert governor["outcome_as_reported"] is True
    _ok(cli("audit", "finish", *db))
    status = json.loads(_ok(cli("audit", "status", "--json", *db)))
    assert status["state"] == "finished"
    assert status["next_step"].startswith("The full hand count decides the outcome.")
    _ok(cli("audit", "report", "--out", str(tmp_path / "rep"), "--no-pdf", *db))
    report = (tmp_path / "rep" / "audit-report.csv").read_text(encoding="utf-8")
    assert "######## HAND COUNT ########" in report
    assert "Full hand count" in (tmp_path / "rep" / "audit-report.html").read_text(encoding="utf-8")
    bundle = tmp_path / "bundle"
    _ok(cli("audit", "export", str(bundle), *db))
    _ok(cli("verify", str(bundle)))
    _edit(bundle / "inputs" / "audit.json", str(paper["Governor"]["Bob Brooks"]), "1")
    _reseal(bundle)
    code, _, err = cli("verify", str(bundle))
    assert code == 3
