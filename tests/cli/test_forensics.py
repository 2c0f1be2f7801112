"""``tallyguard forensics run`` and ``forensics claim benford`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tallyguard.simulate import parse_config, run_simulation
from tests.cli.conftest import Invoke

ALLEGHENY = "us2020_allegheny_pa_precincts_benford_claim.csv"
FULTON = "us2020_fulton_ga_precincts_benford_claim.csv"


def _election(tmp_path: Path, **manipulation: object) -> Path:
    config = parse_config(
        {
            "seed": "forensics-cli",
            "units": 800,
            "jurisdictions": 4,
            "regions": 2,
            "mean_electorate": 1500,
            "contests": [
                {"name": "Mayor", "kind": "plurality", "choices": {"Ada": 0.5, "Ben": 0.5}}
            ],
            "cvr_formats": [],
            "manipulation": {"regions": ["R02"], **manipulation},
        },
        source="test",
    )
    run_simulation(config, tmp_path / "election")
    return tmp_path / "election" / "results.csv"


def test_run_reports_json_writes_a_bundle_that_verifies(tmp_path: Path, cli: Invoke) -> None:
    units = _election(tmp_path, rounding={"unit_rate": 0.1})
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "forensics", "run", str(units), "--leader", "Ada", "--replicates", "1000",
        "--calibration-runs", "3", "--calibration-replicates", "50", "--min-region-units",
        "100", "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    integer = summary["tests"]["integer_percentages"]
    for quantity in ("turnout", "leader_share", "either"):
        for key in ("observed", "null_mean", "null_sd", "excess", "p_value"):
            assert isinstance(integer[quantity][key], int | float)
    # protocols rounded in R02 only: the anomaly is found there and not in R01 (with 12
    # hypotheses, BH needs p <= 0.05/12: 1,000 replicates can show that, 200 cannot)
    flagged = {(a["stratum"], a["test"]) for a in summary["multiplicity"]["anomalies"]}
    assert ("R02", "integer_percentages") in flagged
    assert ("R01", "integer_percentages") not in flagged
    assert integer["calibration"]["false_positive"]["runs"] == 3
    assert summary["input"]["units_tested"] == 800
    assert summary["multiplicity"]["method"] == "Benjamini-Hochberg"
    assert "first_digit_benford" in summary["negative_examples"]
    assert json.loads((out / "results.json").read_text()) == summary
    html = " ".join((out / "report.html").read_text().split())
    assert "anomaly relative to the stated null" in html
    assert "fraud proven" not in html.lower()

    code, stdout, _ = cli("verify", str(out))
    assert code == 0, stdout
    # one changed number in the results is caught
    results = out / "results.json"
    results.write_text(results.read_text().replace('"units_tested": 800', '"units_tested": 801'))
    code, stdout, _ = cli("verify", str(out))
    assert code == 3


def test_bad_input_is_one_line_with_file_and_exit_2(tmp_path: Path, cli: Invoke) -> None:
    units = tmp_path / "units.csv"
    units.write_text("unit_id,electorate,ballots_cast,Ada\nU1,100,50,20\nU1,100,50,20\n")
    code, _, stderr = cli("forensics", "run", str(units), "--leader", "Ada")
    assert code == 2
    assert "units.csv, line 3, field 'unit_id'" in stderr
    assert "Traceback" not in stderr
    code, _, stderr = cli("forensics", "run", str(units), "--leader", "Ada", "-c", "electorate")
    assert code == 2
    assert "not canonical=source" in stderr
    code, _, stderr = cli("forensics", "run", str(tmp_path / "missing.csv"), "--leader", "A")
    assert code == 2
    assert "file not found" in stderr


@pytest.mark.parametrize("name", [ALLEGHENY, FULTON])
def test_audited_us_counties_raise_no_valid_anomaly_but_benford_rejects(
    shared_data: Path, tmp_path: Path, cli: Invoke, name: str
) -> None:
    units = shared_data / "forensics" / name
    code, stdout, stderr = cli(
        "forensics", "run", str(units), "--preset", "clarity", "--leader", "Biden",
        "--calibration-runs", "0", "--out", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["multiplicity"]["anomalies"] == []
    for entry in summary["tests"].values():
        assert entry["q_value"] is None or entry["q_value"] > 0.05
    claim = summary["negative_examples"]["first_digit_benford"]
    assert claim["valid"] is False
    assert claim[claim["headline"]]["p_value"] < 1e-4
    html = (tmp_path / "out" / "report.html").read_text()
    assert "known-invalid" in html.lower()

    code, stdout, _ = cli(
        "forensics", "claim", "benford", str(units), "--preset", "clarity", "--leader", "Biden",
        "--replicates", "200", "--json",
    )  # fmt: skip
    assert code == 0
    claim = json.loads(stdout)["claims"]
    (only,) = claim.values()
    assert only["benford_p_value"] < 1e-4
    assert only["size_matched_p_value"] > 0.05
    assert only["claim_false_positive_rate"] > 0.9


def test_covariates_feed_the_outlier_test(tmp_path: Path, cli: Invoke) -> None:
    rng = np.random.default_rng(7)
    n = 600
    urban = rng.random(n)
    electorate = rng.integers(800, 1500, n)
    issued = rng.binomial(electorate, 0.6)
    share = 0.3 + 0.4 * urban
    share[:20] += 0.15  # twenty units far above what their urban share predicts
    lead = rng.binomial(issued, share)
    lines = ["unit_id,region,urban,electorate,ballots_issued,ballots_cast,Ada,Ben"]
    lines += [
        f"U{k},R{k % 2},{urban[k]:.4f},{electorate[k]},{issued[k]},{issued[k]},{lead[k]},"
        f"{issued[k] - lead[k]}"
        for k in range(n)
    ]
    lines.append("U999,R0,,1000,500,500,250,250")  # no covariate: excluded by rule
    units = tmp_path / "units.csv"
    units.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "forensics", "run", str(units), "--leader", "Ada", "--covariate", "urban",
        "--calibration-runs", "0", "--replicates", "200", "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["exclusions"]["counts"]["bad_covariate"] == 1
    assert "urban" not in summary["input"]["choices"]
    outliers = summary["tests"]["outliers"]
    assert outliers["q_value"] <= 0.05
    flagged = (out / "flagged_units.csv").read_text().splitlines()
    shifted = {f"U{k}" for k in range(20)}
    listed = {line.split(",")[0] for line in flagged[1:] if line.endswith(",outliers")}
    assert len(listed & shifted) >= 15
    assert len(listed - shifted) <= 5
