"""``tallyguard rolls`` end to end: JSON, files, the bundle, safeguards and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tallyguard.simulate.roll import RollConfig, simulate_roll, write_roll
from tests.cli.conftest import Invoke


@pytest.fixture(scope="module")
def roll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("roll")
    write_roll(simulate_roll(RollConfig(records=3_000, seed="cli")), folder)
    return folder


def test_dedupe_json_and_bundle_that_verifies(roll: Path, tmp_path: Path, cli: Invoke) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "rolls", "dedupe", str(roll / "voters.csv"), "--out", str(out), "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)
    for key in ("pairs_flagged", "expected_chance_matches", "expected_false_matches"):
        assert isinstance(summary[key], int | float)
    assert summary["threshold"] == 0.95
    assert {p.name for p in out.iterdir()} >= {
        "leads.csv", "results.json", "model.json", "report.html", "bundle.json", "inputs",
    }  # fmt: skip
    with (out / "leads.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["id_l", "id_r", "match_probability"]
    leads = [r for r in rows if not r["exclusion"]]
    assert len(leads) == summary["pairs_flagged"]
    assert all(r["dob_l"].endswith("-**-**") for r in rows)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "lead" in html.lower()
    code, _, stderr = cli("verify", str(out))
    assert code == 0, stderr


def test_human_output_names_the_figures(roll: Path, cli: Invoke) -> None:
    code, stdout, stderr = cli("rolls", "dedupe", str(roll / "voters.csv"), "--threshold", "0.99")
    assert code == 0, stderr
    assert "expected false matches" in stdout
    assert "naive first+last+dob rule" in stdout
    assert "lead for review" in stdout


def test_quiet_period_refuses_the_export(roll: Path, tmp_path: Path, cli: Invoke) -> None:
    out = tmp_path / "refused"
    code, _, stderr = cli(
        "rolls", "deceased", str(roll / "voters.csv"), str(roll / "deaths.csv"),
        "--election-date", "2026-11-03", "--as-of", "2026-09-01", "--out", str(out),
    )  # fmt: skip
    assert code == 2
    assert "quiet period" in stderr
    assert not out.exists()


def test_check_claims_writes_the_claim_table(roll: Path, tmp_path: Path, cli: Invoke) -> None:
    claims = tmp_path / "claims.csv"
    with (roll / "voters.csv").open(newline="") as handle:
        voters = list(csv.DictReader(handle))[:40]
    with claims.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["claim_id", "first_name", "last_name", "dob"])
        for i, voter in enumerate(voters):
            writer.writerow([f"C{i}", voter["first_name"], voter["last_name"], voter["dob"]])
    out = tmp_path / "claims"
    code, stdout, stderr = cli(
        "rolls", "check-claims", str(claims), "--roll", str(roll / "voters.csv"),
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)["claims"]
    assert summary["claims"] == 40
    assert summary["with_naive_match"] == 40
    with (out / "claims.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 40
    assert all(int(row["naive_matches"]) >= 1 for row in table)


def test_repeated_voter_id_names_file_and_lines(tmp_path: Path, cli: Invoke) -> None:
    voters = tmp_path / "voters.csv"
    voters.write_text(
        "voter_id,first_name,last_name,dob\nV1,ANN,LEE,1980-01-01\nV1,BOB,KAY,1970-02-02\n",
        encoding="utf-8",
    )
    code, stdout, stderr = cli("rolls", "dedupe", str(voters))
    assert code == 2
    assert "voters.csv" in stderr
    assert "line 3" in stderr
    assert "Traceback" not in stderr + stdout


def test_unknown_column_mapping_is_refused(roll: Path, cli: Invoke) -> None:
    code, _, stderr = cli("rolls", "dedupe", str(roll / "voters.csv"), "--column", "dob")
    assert code == 2
    assert "canonical=source" in stderr
