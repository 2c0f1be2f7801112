"""``tallyguard demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.plan import plan_contest
from tallyguard.audit.risk import COMPARISON_METHODS
from tallyguard.cli.demo_audits import run_audit_demos
from tallyguard.cli.demo_forensics import run_forensics_demo
from tallyguard.cli.demo_rolls import run_rolls_demo
from tallyguard.cli.demo_web import STEPS as WEB_STEPS
from tallyguard.cli.demo_web import run_web_demo, show_web_demo
from tallyguard.cli.output import emit_json, stdout, steps
from tallyguard.cli.simulate import show_summary
from tallyguard.evidence import verify_bundle
from tallyguard.io.contests import read_contests
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.run import STEPS

#: The demo election: small enough for seconds, with every kind of trouble in it.
DEMO_PARAMETERS = {
    "seed": "tallyguard-demo-2026",
    "units": 240,
    "jurisdictions": 6,
    "regions": 3,
    "discrepancies": {
        "overstatement_1": 0.002,
        "overstatement_2": 0.0005,
        "understatement_1": 0.002,
    },
    "manipulation": {
        "regions": ["R02"],
        "stuffing": {"incremental_rate": 0.15, "extreme_rate": 0.02},
        "rounding": {"unit_rate": 0.05},
    },
}


def plan_comparison_audits(contests: Path) -> list[dict[str, Any]]:
    """For every reported contest: the 90 % first-round sample size per comparison method."""
    plans = []
    for reported in read_contests(contests).contests:
        assertions = make_assertions(reported.contest, reported.totals, reported.ballots)
        rows = plan_contest(assertions, kind="comparison", reps=300, seed=1, quantiles=(0.9,))
        plans.append(
            {
                "contest": reported.contest.name,
                "margin": min(a.margin for a in assertions),
                "sizes": {row.method: row.sizes[0] for row in rows},
            }
        )
    return plans


def demo(
    out: Path = typer.Option(
        Path("tallyguard-demo"), "--out", help="Where to write the demo files."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Simulate an election, seal and verify it, plan its audit, then run three audits.

    The audits (ballot comparison in two rounds, ballot polling, batch comparison) run
    through the stored workflow on a simulated three-county election and write their
    reports and verification bundles. The demo replaces --out if it exists.
    """
    config = parse_config(DEMO_PARAMETERS, source="demo parameters")
    election_dir = out / "election"
    with steps("demo: simulate", STEPS, enabled=not json_out) as step:
        summary = run_simulation(config, election_dir, overwrite=True, stamp=True, on_step=step)
    with steps("demo: verify", 4, enabled=not json_out) as step:
        report = verify_bundle(election_dir, on_step=step)
    report.raise_for_problems()
    plans = plan_comparison_audits(election_dir / "contests.json")
    with steps("demo: audits", 12, enabled=not json_out) as step:
        audits = run_audit_demos(out / "audits", step)
    with steps("demo: forensics", 30, enabled=not json_out) as step:
        forensics = run_forensics_demo(out / "forensics", step)
    with steps("demo: voter roll", 2, enabled=not json_out) as step:
        rolls = run_rolls_demo(out / "rolls", step)
    with steps("demo: web app", WEB_STEPS, enabled=not json_out) as step:
        web = run_web_demo(out / "web", step)
    if json_out:
        emit_json(
            {
                "election": str(election_dir),
                "summary": summary,
                "verify": report.to_json(),
                "audit_plan": plans,
                "audits": audits,
                "forensics": forensics,
                "rolls": rolls,
                "web": web,
            }
        )
        return
    show_summary(summary, election_dir)
    stdout.print(
        f"[green]Evidence bundle intact[/]: {report.files_checked} files re-hashed"
        + (", simulation re-run and identical" if report.rerun_done else "")
        + f".\n  Files: {election_dir.resolve()}\n"
        f"  Ground truth: {(election_dir / 'truth').resolve()}\n"
        f"  Check it yourself: tallyguard verify {election_dir}"
    )
    table = Table(
        "contest",
        "diluted margin",
        *COMPARISON_METHODS,
        title="Ballot-comparison audit, risk limit 5 %: cards to finish in one round with "
        "probability 0.9 (Arlo's expected error rates)",
    )
    for plan in plans:
        cells = [f"{plan['sizes'][m]:,}" for m in COMPARISON_METHODS]
        table.add_row(plan["contest"], f"{plan['margin']:.2%}", *cells)
    stdout.print(table)
    show_audits(audits, out / "audits")
    show_forensics(forensics)
    show_rolls(rolls)
    show_web_demo(web)


def show_audits(audits: list[dict[str, Any]], folder: Path) -> None:
    """The three demo audits: rounds, sample, risk and where their files are."""
    table = Table(
        "audit", "risk limit", "rounds", "sample", "discrepancies", "risk per contest", "outcome",
        title="Risk-limiting audits of a simulated three-county election (stored workflow)",
    )  # fmt: skip
    for audit in audits:
        risks = ", ".join(f"{name} {risk:.3g}" for name, risk in audit["risks"].items())
        outcome = "confirmed" if audit["confirmed"] else "not confirmed: full hand count"
        table.add_row(
            audit["audit"], f"{audit['risk_limit']:g}", str(audit["rounds"]),
            f"{audit['sample_size']:,}",
            str(audit["discrepancies"]), risks, outcome,
        )  # fmt: skip
    stdout.print(table)
    stdout.print(
        f"  Reports (CSV, HTML, PDF) and verification bundles: {folder.resolve()}\n"
        f"  The audits' database: {(folder / 'audits.db').resolve()}\n"
        f"  Check one yourself: tallyguard verify {folder / 'comparison-audit' / 'bundle'}"
    )


def show_forensics(forensics: dict[str, Any]) -> None:
    """Which regions of the stuffed election carry anomalies, and where the report is."""
    table = Table(
        "region",
        "tests with an anomaly (BH q <= 0.05)",
        title=f"Forensics of a simulated election stuffed in {forensics['stuffed_region']} only",
    )
    flagged = forensics["anomalies_by_region"]
    for region in sorted({*flagged, forensics["stuffed_region"]}):
        table.add_row(region, ", ".join(flagged.get(region, [])) or "none")
    stdout.print(table)
    stdout.print(
        "  Regions not listed show no anomaly. Anomalies are relative to each test's stated "
        f"null, not proof of fraud.\n  Report: {forensics['report']}\n"
        f"  Check it yourself: tallyguard verify {forensics['bundle']}"
    )


def show_rolls(rolls: dict[str, Any]) -> None:
    """The simulated roll's leads against its truth, and the chance-match arithmetic."""
    table = Table("figure", "value", title="Voter roll: duplicate registrations (simulated)")
    low, high = rolls["false_match_interval"]
    chance_low, chance_high = rolls["chance_interval"]
    records, dupes = rolls["records"], rolls["true_duplicates"]
    false, chance = rolls["expected_false_matches"], rolls["expected_chance_matches"]
    rows = [
        ("registrations / true duplicate pairs", f"{records:,} / {dupes:,}"),
        ("leads for review (p >= 0.95)", f"{rolls['leads']:,}"),
        ("  true duplicates among them (from the truth)", f"{rolls['leads_true']:,}"),
        ("  expected false matches, sum(1 - p)", f"{false:.1f} ({low}-{high})"),
        ("set aside as family look-alikes", f"{rolls['pairs_excluded']:,}"),
        ("pairs the naive first+last+dob rule finds", f"{rolls['naive_rule_pairs']:,}"),
        ("  expected by chance alone", f"{chance:.2f} ({chance_low}-{chance_high})"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
    stdout.print(
        "  Leads are for review: the next step is a confirmation notice, never a removal.\n"
        f"  Report: {rolls['report']}\n  Check it yourself: tallyguard verify {rolls['bundle']}"
    )
