"""The forensics part of ``tallyguard demo``: a simulated election stuffed in one region.

Four regions of 1,500 polling stations; in R02, 30 % of the stations have
Klimek-style incremental ballot stuffing, 2 % extreme stuffing, and 10 % had
their protocols rounded to integer percentages. The battery runs on the whole
table and on each region, and the report shows which regions carry anomalies
relative to each stated null. The truth is in ``election/truth/units.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tallyguard.forensics.battery import OVERALL, Settings
from tallyguard.forensics.pipeline import document
from tallyguard.report.forensics_bundle import parameters, run_forensics
from tallyguard.simulate import parse_config, run_simulation

FORENSICS_ELECTION = {
    "seed": "tallyguard-forensics-demo-2026",
    "units": 6000,
    "jurisdictions": 12,
    "regions": 4,
    "mean_electorate": 1200,
    "contests": [
        {
            "name": "President",
            "kind": "plurality",
            "choices": {"Leader": 0.45, "Rival": 0.35, "Third": 0.2},
        }
    ],
    "cvr_formats": [],
    "manipulation": {
        "regions": ["R02"],
        "stuffing": {"incremental_rate": 0.3, "extreme_rate": 0.02},
        "rounding": {"unit_rate": 0.1},
    },
}
STUFFED_REGION = "R02"
SETTINGS = Settings(
    seed="tallyguard-forensics-demo",
    replicates=1000,
    calibration_runs=20,
    calibration_replicates=100,
    bootstrap=20,
)


def run_forensics_demo(out: Path, step: Callable[[str], None]) -> dict[str, Any]:
    """Simulate, analyse and write the report and bundle; return what the demo prints."""
    config = parse_config(FORENSICS_ELECTION, source="demo parameters")
    election = out / "election"
    step("simulate the election")
    run_simulation(config, election, overwrite=True)
    units = election / "results.csv"
    params = parameters(
        units,
        leader="Leader",
        columns={},
        preset=None,
        settings=SETTINGS,
        prior=None,
        prior_columns={},
        prior_leader=None,
    )
    report = out / "report"
    run = run_forensics(units, report, params, overwrite=True, progress=step)
    summary = document(run)
    regions: dict[str, list[str]] = {}
    for entry in summary["multiplicity"]["anomalies"]:
        if entry["stratum"] != OVERALL:
            regions.setdefault(entry["stratum"], []).append(entry["test"])
    return {
        "election": str(election),
        "report": str(report / "report.html"),
        "bundle": str(report),
        "stuffed_region": STUFFED_REGION,
        "anomalies_by_region": regions,
        "tests": {
            name: {"p_value": entry[entry["headline"]]["p_value"], "q_value": entry["q_value"]}
            for name, entry in summary["tests"].items()
        },
    }
