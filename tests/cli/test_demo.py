"""``tallyguard demo`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke


def test_demo_simulates_seals_and_verifies(tmp_path: Path, cli: Invoke) -> None:
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
    # running it again replaces the previous demo
    code, stdout, _ = cli("demo", "--out", str(out), "--json")
    assert code == 0
    assert json.loads(stdout)["verify"]["ok"] is True


def test_demo_human_output_says_where_the_files_are(tmp_path: Path, cli: Invoke) -> None:
    code, stdout, _ = cli("demo", "--out", str(tmp_path / "d"))
    assert code == 0
    assert "Evidence bundle intact" in stdout
    assert "tallyguard verify" in stdout
