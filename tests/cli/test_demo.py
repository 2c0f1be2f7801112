"""``tallyguard demo`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from tallyguard.evidence import verify_bundle
from tests.cli.conftest import Invoke


def test_demo_simulates_seals_verifies_and_audits(tmp_path: Path, cli: Invoke) -> None:
    out = tmp_path / "demo"
    code, stdout, _ = cli("demo", "--out", str(out), "--json")
    assert code == 0
    result = json.loads(stdout)
    assert result["verify"]["ok"] is True
    assert result["verify"]["rerun_done"] is True
    assert result["summary"]["manipulated_units"] > 0
    plans = {plan["contest"]: plan for plan in result["audit_plan"]}
    assert set(plans) == {"Governor", "City Council", "Measure A", "Parks Board"}
    for plan in plans.values():
        assert set(plan["sizes"]) == {"alpha", "betting", "kaplan-markov"}
    # the closest contest needs the most ballots
    ordered = sorted(plans.values(), key=lambda p: p["margin"])
    assert ordered[0]["sizes"]["kaplan-markov"] >= ordered[-1]["sizes"]["kaplan-markov"]
    bundle = json.loads((out / "election" / "bundle.json").read_text())
    assert bundle["created"] is not None  # the demo is a real run: it records its time

    audits = {audit["kind"]: audit for audit in result["audits"]}
    assert set(audits) == {"comparison", "polling", "batch"}
    comparison = audits["comparison"]
    # round 1 meets an injected 2-vote overstatement and escalates; round 2 confirms
    assert comparison["rounds"] == 2
    assert comparison["discrepancies"] >= 1
    assert all(audit["confirmed"] for audit in audits.values())
    for audit in audits.values():
        assert verify_bundle(Path(audit["bundle"])).ok
        names = {Path(p).name for p in audit["reports"]}
        assert names == {"audit-report.csv", "audit-report.html", "audit-report.pdf"}
        assert max(audit["risks"].values()) <= 1.0

    forensics = result["forensics"]
    # stuffing and rounding were injected in R02 only: found there, in no other region
    flagged = forensics["anomalies_by_region"]
    assert set(flagged) == {"R02"}
    assert {"integer_percentages", "fingerprint"} <= set(flagged["R02"])
    assert verify_bundle(Path(forensics["bundle"])).ok

    rolls = result["rolls"]
    # the simulated roll's leads against its truth (the bar: 0.998 / 0.95)
    assert rolls["records"] == 20_000
    assert rolls["precision"] >= 0.99
    assert rolls["recall"] >= 0.95
    assert rolls["leads_true"] <= rolls["true_duplicates"]
    low, high = rolls["chance_interval"]
    assert low <= rolls["expected_chance_matches"] < high + 1
    assert verify_bundle(Path(rolls["bundle"])).ok

    code, stdout, _ = cli("audit", "status", "--db", str(out / "audits" / "audits.db"),
                          "--audit", "comparison audit", "--json")  # fmt: skip
    assert code == 0
    finished = json.loads(stdout)
    assert finished["state"] == "finished"
    assert finished["next_step"].startswith("The audit is finished")
    assert [r["round"] for r in finished["rounds"]] == [1, 2]
    assert not finished["rounds"][0]["confirmed"]["Governor"]

    # running it again (human output this time) replaces the previous demo
    code, stdout, _ = cli("demo", "--out", str(out))
    assert code == 0
    assert "Evidence bundle intact" in stdout
    assert "tallyguard verify" in stdout
    assert "Risk-limiting audits of a simulated three-county election" in stdout
    assert "Forensics of a simulated election stuffed in R02 only" in stdout
