"""The audits of ``tallyguard demo``: comparison (two rounds), polling and batch.

Each runs the stored workflow exactly as an official would from the command line
(init, jurisdictions, manifest, CVRs or batch tallies, contests, seed, plan, draw,
record, next-round, finish, export, report), every step its own transaction, with
simulated audit boards reading the simulated paper ballots.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.export import export_audit
from tallyguard.cli.audit_rounds import PROBABILITY, choose_size, write_round_files
from tallyguard.evidence import verify_bundle
from tallyguard.report.audit_csv import write_report_files
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.boards import fill_readings, paper_ballots, reported_batch_tallies
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain

#: A three-county election whose CVRs carry 2-vote overstatements, so that the
#: comparison audit's first round does not meet the risk limit and escalates.
AUDIT_ELECTION = {
    "seed": "tallyguard-audit-demo-2026",
    "units": 45,
    "jurisdictions": 3,
    "regions": 3,
    "discrepancies": {"overstatement_2": 0.005, "understatement_1": 0.002},
}
#: Chosen so that round 1 meets a 2-vote overstatement and escalates (tests/cli/test_demo.py).
DICE_SEED = "14142135623730950488"
ACTOR = "demo"
TARGET = "Governor"
OPPORTUNISTIC = "Measure A"
MAX_ROUNDS = 4


def _audit(
    store: Store,
    election: Path,
    out: Path,
    *,
    kind: str,
    name: str,
    risk_limit: float,
    on_round: Callable[[str], None],
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with store.transaction() as s:
        audit = service.create_audit(
            s, name=name, election="Simulated General Election", kind=kind,
            risk_limit=risk_limit, method=None, actor=ACTOR,
        )  # fmt: skip
        for county in ("J01", "J02", "J03"):
            service.add_jurisdiction(s, audit, county, ACTOR)
    with store.transaction() as s:
        service.load_manifest(
            s, service.find_audit(s, name), election / "manifest.csv", None, ACTOR
        )
    with store.transaction() as s:
        audit = service.find_audit(s, name)
        if kind == "comparison":
            service.load_cvrs(s, audit, election / "cvrs.csv", None, "auto", ACTOR)
        if kind == "batch":
            tallies = out / "batch-tallies.csv"
            tallies.write_text(reported_batch_tallies(election, [TARGET]), encoding="utf-8")
            service.load_batch_tallies(s, audit, tallies, None, ACTOR)
    with store.transaction() as s:
        audit = service.find_audit(s, name)
        service.add_contest(
            s, audit, election / "contests.json", TARGET, targeted=True, actor=ACTOR
        )
        if kind != "batch":
            service.add_contest(
                s, audit, election / "contests.json", OPPORTUNISTIC, targeted=False, actor=ACTOR
            )
    with store.transaction() as s:
        service.set_seed(s, service.find_audit(s, name), DICE_SEED, ACTOR)
    paper = paper_ballots(election)
    rounds = 0
    while True:
        with store.transaction() as s:
            audit = service.find_audit(s, name)
            size = choose_size(s, audit, None, PROBABILITY, reps=200)
            number = service.start_round(s, audit, size, ACTOR).number
            result = service.status(s, audit)
        rounds = number
        on_round(f"{kind}: round {number}, {size:,} draws")
        files = write_round_files(result, number, out / f"round{number}")
        for template in (f for f in files if f.name.startswith("readings-")):
            filled = template.with_name(template.name.replace("readings-", "recorded-"))
            filled.write_text(fill_readings(template, election, paper=paper), encoding="utf-8")
            with store.transaction() as s:
                service.record_readings(s, service.find_audit(s, name), filled, ACTOR)
        with store.transaction() as s:
            result = service.finish_round(s, service.find_audit(s, name), ACTOR)
        if result.confirmed or number >= MAX_ROUNDS:
            break
    with store.transaction() as s:
        audit = service.find_audit(s, name)
        if result.confirmed:
            service.finish_audit(s, audit, ACTOR)
        else:
            service.start_hand_count(s, audit, ACTOR)
        result = service.status(s, audit)
        inputs = service.load_inputs(s, audit)
        chain = load_chain(s, audit.id)
    bundle = out / "bundle"
    export_audit(inputs, chain, bundle, overwrite=True)
    report = verify_bundle(bundle)
    report.raise_for_problems()
    reports = write_report_files(result, out, pdf=True)
    return {
        "audit": name,
        "kind": kind,
        "risk_limit": risk_limit,
        "rounds": rounds,
        "sample_size": len(result.sample),
        "discrepancies": len(result.discrepancies),
        "risks": {c.contest: c.risk for c in result.contests},
        "confirmed": result.confirmed,
        "bundle": str(bundle),
        "reports": [str(p) for p in reports],
    }


def run_audit_demos(out: Path, on_step: Callable[[str], None]) -> list[dict[str, Any]]:
    """Simulate the election, then run the three audits into ``out``."""
    election = out / "audit-election"
    config = parse_config(AUDIT_ELECTION, source="audit demo parameters")
    on_step("simulate a three-county election")
    run_simulation(config, election, overwrite=True)
    database = out / "audits.db"
    database.unlink(missing_ok=True)
    summaries = []
    with Store.open(f"sqlite:///{database}") as store:
        for kind, risk_limit in (("comparison", 0.05), ("polling", 0.10), ("batch", 0.10)):
            summaries.append(
                _audit(
                    store,
                    election,
                    out / f"{kind}-audit",
                    kind=kind,
                    name=f"{kind} audit",
                    risk_limit=risk_limit,
                    on_round=on_step,
                )
            )
    return summaries
