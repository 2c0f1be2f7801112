"""Write a forensic analysis as an evidence bundle, and re-run one for ``tallyguard verify``.

The directory holds ``results.json`` (the JSON summary), ``excluded.csv`` (every
row left out, with its rule), ``flagged_units.csv`` (units a test singles out,
and protocol flags), ``report.html`` and ``bundle.json`` with a copy of the
input files under ``inputs/``. The parameters record the column options and
settings, so :func:`rerun_forensics` recomputes every output from the copies.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tallyguard.evidence import write_bundle
from tallyguard.evidence.canonical import sha256_file
from tallyguard.forensics.battery import ForensicsRun, Settings
from tallyguard.forensics.load import LoadedUnits, load_units
from tallyguard.forensics.pipeline import analyse, document, flagged_units
from tallyguard.io.atomic import atomic_directory, write_file_atomically
from tallyguard.report.forensics_html import forensics_report_html

COMMAND = "tallyguard forensics run"
RERUN = "forensics.run"


def _csv_text(header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in header})
    return buffer.getvalue()


def write_outputs(run: ForensicsRun, directory: Path) -> dict[str, Any]:
    """Write results.json, excluded.csv, flagged_units.csv and report.html; return the summary."""
    summary = document(run)
    text = json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_file_atomically(directory / "results.json", text.encode("utf-8"))
    excluded = [issue.to_json() for issue in run.loaded.excluded]
    write_file_atomically(
        directory / "excluded.csv",
        _csv_text(("unit_id", "line", "rule", "field"), excluded).encode("utf-8"),
    )
    write_file_atomically(
        directory / "flagged_units.csv",
        _csv_text(("unit_id", "region", "reason"), flagged_units(run)).encode("utf-8"),
    )
    write_file_atomically(directory / "report.html", forensics_report_html(run).encode("utf-8"))
    return summary


def parameters(
    units: Path,
    *,
    leader: str | None,
    columns: Mapping[str, str],
    preset: str | None,
    settings: Settings,
    prior: Path | None,
    prior_columns: Mapping[str, str],
    prior_leader: str | None,
    covariates: Sequence[str] = (),
) -> dict[str, Any]:
    """What a re-run needs besides the input files."""
    return {
        "input": units.name,
        "leader": leader,
        "columns": dict(columns),
        "preset": preset,
        "prior": None if prior is None else prior.name,
        "prior_columns": dict(prior_columns),
        "prior_leader": prior_leader,
        "covariates": list(covariates),
        "settings": settings.to_json(),
    }


def settings_from(record: Mapping[str, Any]) -> Settings:
    keys = Settings.__dataclass_fields__
    return Settings(**{k: v for k, v in record.items() if k in keys})


def load_inputs(
    params: Mapping[str, Any], units: Path, prior_path: Path | None
) -> tuple[LoadedUnits, LoadedUnits | None]:
    """The main table and the prior election, read with the recorded options."""
    loaded = load_units(
        units,
        leader=params["leader"],
        columns=params["columns"],
        preset=params["preset"],
        covariates=params.get("covariates", []),
    )
    prior = None
    if prior_path is not None:
        prior = load_units(
            prior_path,
            # a preset finds the prior election's own leader; otherwise the same column name
            leader=params.get("prior_leader")
            or (None if params["preset"] else loaded.table.leader),
            columns=params["prior_columns"],
            preset=params["preset"],
        )
    return loaded, prior


def run_forensics(
    units: Path,
    out: Path | None,
    params: Mapping[str, Any],
    *,
    prior: Path | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    calibration_progress: Callable[[int, int], None] | None = None,
) -> ForensicsRun:
    """Load, analyse and (with ``out``) write the bundle atomically."""
    loaded, prior_loaded = load_inputs(params, units, prior)
    run = analyse(
        loaded,
        settings_from(params["settings"]),
        prior=prior_loaded,
        input_sha256=sha256_file(units),
        progress=progress,
        calibration_progress=calibration_progress,
    )
    if out is None:
        return run
    inputs = [units] + ([] if prior is None else [prior])
    with atomic_directory(out, overwrite=overwrite) as staging:
        summary = write_outputs(run, staging)
        write_bundle(
            staging,
            command=COMMAND,
            parameters=params,
            seed=run.settings.seed,
            results={
                "tests": {
                    name: {"p_value": entry["p_value"], "q_value": entry["q_value"]}
                    for name, entry in _headlines(summary).items()
                },
                "anomalies": summary["multiplicity"]["anomalies"],
            },
            rerun=RERUN,
            inputs=inputs,
        )
    return run


def _headlines(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, entry in summary["tests"].items():
        headline = entry[entry["headline"]]
        out[name] = {"p_value": headline.get("p_value"), "q_value": entry.get("q_value")}
    return out


def rerun_forensics(params: Mapping[str, Any], out_dir: Path) -> None:
    """Recompute every output of a forensics bundle from its ``inputs/`` (``tallyguard verify``)."""
    folder = out_dir / "inputs"
    prior_path = folder / params["prior"] if params.get("prior") else None
    loaded, prior = load_inputs(params, folder / params["input"], prior_path)
    run = analyse(
        loaded,
        settings_from(params["settings"]),
        prior=prior,
        input_sha256=sha256_file(folder / params["input"]),
    )
    write_outputs(run, out_dir)
