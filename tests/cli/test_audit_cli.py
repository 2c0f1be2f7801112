"""``tallyguard audit sample | plan | risk`` through the real entry point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke

CONTEST = {
    "name": "Mayor",
    "kind": "plurality",
    "winners": 1,
    "ballots": 10_000,
    "reported": {"Alice": 5_200, "Bob": 4_500, "Cy": 300},
}


@pytest.fixture
def contest(tmp_path: Path) -> Path:
    path = tmp_path / "contest.json"
    path.write_text(json.dumps(CONTEST), encoding="utf-8")
    return path


def test_sample_matches_the_reference_sampler(tmp_path: Path, cli: Invoke) -> None:
    consistent_sampler = pytest.importorskip("consistent_sampler")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "Jurisdiction,Container,Tabulator,Batch Name,Number of Ballots\n"
        "Åland,C1,T1,B-1,40\nÅland,C1,T1,B-2,25\nZed,C9,T2,B-1,35\n",
        encoding="utf-8",
    )
    seed = "12345678901234567890"
    code, out, _ = cli("audit", "sample", "--manifest", str(manifest), "--seed", seed,
                       "--size", "12", "--json")  # fmt: skip
    assert code == 0
    draws = json.loads(out)
    batches = (("Åland", "B-1", 40), ("Åland", "B-2", 25), ("Zed", "B-1", 35))
    ids = [((j, b), p) for j, b, n in batches for p in range(1, n + 1)]
    reference = list(
        consistent_sampler.sampler(ids, seed=seed, take=12, with_replacement=False,
                                   output="tuple", digits=18)
    )  # fmt: skip
    assert [
        (d["ticket"], ((d["jurisdiction"], d["batch_name"]), d["position"])) for d in draws
    ] == [(str(t), i) for t, i, *_ in reference]


def test_sample_too_large_is_a_clear_error(tmp_path: Path, cli: Invoke) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("Batch Name,Number of Ballots\nB1,5\n", encoding="utf-8")
    code, _, err = cli("audit", "sample", "--manifest", str(manifest), "--jurisdiction", "J",
                       "--seed", "12345678901234567890", "--size", "6")  # fmt: skip
    assert code == 2
    assert "Traceback" not in err


def test_plan_lists_every_method_with_its_uncertainty(contest: Path, cli: Invoke) -> None:
    code, out, _ = cli("audit", "plan", "--contest", str(contest), "--kind", "comparison",
                       "--reps", "200", "--json")  # fmt: skip
    assert code == 0
    plan = json.loads(out)
    assert {row["method"] for row in plan["methods"]} == {"alpha", "betting", "kaplan-markov"}
    assert plan["smallest_margin"] == pytest.approx(0.07)
    for row in plan["methods"]:
        assert list(row["quantiles"]) == [0.5, 0.7, 0.9]
        assert row["sizes"] == sorted(row["sizes"])
        assert len(row["size_se"]) == 3
    code, out, _ = cli("audit", "plan", "--contest", str(contest), "--kind", "polling",
                       "--reps", "200", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["closed_form"]["bravo_asn"] > 0


def test_risk_polling_and_comparison(tmp_path: Path, contest: Path, cli: Invoke) -> None:
    rng = random.Random(7)
    polling = tmp_path / "polling.csv"
    votes = rng.choices(["Alice", "Bob", "Cy", ""], weights=[60, 37, 3, 0], k=900)
    polling.write_text("vote\n" + "\n".join(votes) + "\n", encoding="utf-8")
    code, out, _ = cli("audit", "risk", "--contest", str(contest), "--audited", str(polling),
                       "--kind", "polling", "--json")  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["risk"] == max(a["p_value"] for a in result["assertions"])
    assert result["confirmed"] is (result["risk"] <= 0.05)
    comparison = tmp_path / "comparison.csv"
    rows = "Alice,Bob\n" + "Alice,Alice\n" * 150  # the overstatement first: p is a running min
    comparison.write_text("cvr,mvr\n" + rows, encoding="utf-8")
    code, out, _ = cli("audit", "risk", "--contest", str(contest), "--audited", str(comparison),
                       "--kind", "comparison", "--method", "kaplan-markov", "--json")  # fmt: skip
    assert code == 0
    (alice_bob, _) = json.loads(out)["assertions"]
    # Kaplan-Markov: (1 - v/(2g))^n / (1 - 1/g) for one 2-vote overstatement, v = 0.07
    g = 1.03905
    assert alice_bob["p_value"] == pytest.approx((1 - 0.07 / (2 * g)) ** 151 / (1 - 1 / g))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--kind", "sideways"], "unknown audit kind"),
        (["--kind", "polling", "--risk-limit", "5"], "between 0 and 1"),
        (["--kind", "polling", "--method", "kaplan-markov"], "does not apply"),
    ],
)
def test_risk_bad_options_exit_2(
    tmp_path: Path, contest: Path, cli: Invoke, args: list[str], words: str
) -> None:
    audited = tmp_path / "a.csv"
    audited.write_text("vote\nAlice\n", encoding="utf-8")
    code, _, err = cli("audit", "risk", "--contest", str(contest), "--audited", str(audited), *args)
    assert code == 2
    assert words in err


def test_batch_plan_is_the_macro_closed_form(tmp_path: Path, cli: Invoke) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "Batch Name,Number of Ballots\n" + "".join(f"B{i},100\n" for i in range(4)),
        encoding="utf-8",
    )
    tallies = tmp_path / "tallies.csv"
    tallies.write_text(
        "Batch Name,W,L\n" + "".join(f"B{i},60,40\n" for i in range(4)), encoding="utf-8"
    )
    contest = tmp_path / "c.json"
    contest.write_text(
        json.dumps({"name": "C", "ballots": 400, "reported": {"W": 240, "L": 160}}),
        encoding="utf-8",
    )
    base = ["audit", "plan", "--contest", str(contest), "--kind", "batch", "--jurisdiction", "J",
            "--manifest", str(manifest), "--batch-tallies", str(tallies)]  # fmt: skip
    code, out, _ = cli(*base, "--json")
    assert code == 0
    plan = json.loads(out)
    # V = 80 votes; u_p = (20 + 100) / 80 = 1.5; U = 6; n = ceil(ln 0.05 / ln(5/6)) = 17
    assert plan["total_bound"] == pytest.approx(6.0)
    assert plan["draws"] == 17
    assert plan["expected_batches"] == pytest.approx(4 * (1 - 0.75**17))
    assert plan["expected_ballots"] == pytest.approx(400 * (1 - 0.75**17))
    contest.write_text(
        json.dumps({"name": "C", "ballots": 400, "reported": {"W": 241, "L": 159}}),
        encoding="utf-8",
    )
    code, _, err = cli(*base)
    assert code == 2
    assert "add up to" in err
    code, _, err = cli("audit", "plan", "--contest", str(contest), "--kind", "batch")
    assert code == 2
    assert "--batch-tallies" in err


def test_next_round_plan_counts_the_cards_already_audited(
    tmp_path: Path, contest: Path, cli: Invoke
) -> None:
    audited = tmp_path / "round1.csv"
    rng = random.Random(3)
    votes = rng.choices(["Alice", "Bob", "Cy"], weights=[52, 45, 3], k=400)
    audited.write_text("vote\n" + "\n".join(votes) + "\n", encoding="utf-8")
    code, out, _ = cli("audit", "plan", "--contest", str(contest), "--kind", "polling",
                       "--audited", str(audited), "--reps", "200", "--json")  # fmt: skip
    assert code == 0
    plan = json.loads(out)
    assert plan["already_audited"] == 400
    for row in plan["methods"]:
        assert min(row["sizes"]) >= 400
        assert row["next_round"] == [s - 400 for s in row["sizes"]]
