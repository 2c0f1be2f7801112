"""Write a voter-roll run as an evidence bundle, and re-run one for ``tallyguard verify``.

The directory holds ``leads.csv`` (every scored pair at or above the threshold:
leads for review first, then the pairs an exclusion rule set aside),
``results.json`` (the JSON summary), ``model.json`` (the fitted Splink model: load
it into Splink to score any pair again), ``report.html``, for ``check-claims``
also ``claims.csv``, and ``bundle.json`` with a copy of the input lists under
``inputs/``. A list-maintenance export inside the NVRA quiet period is refused
before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tallyguard.errors import InputError
from tallyguard.evidence import write_bundle
from tallyguard.io.atomic import atomic_directory, write_file_atomically
from tallyguard.report.rolls_html import render_rolls_report
from tallyguard.rolls.pipeline import RollsRun, RollsSettings, analyse, load_inputs
from tallyguard.rolls.safeguards import check_quiet_period

RERUN = "rolls.run"


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_outputs(run: RollsRun, directory: Path) -> dict[str, Any]:
    """Write leads.csv, claims.csv, model.json, results.json and report.html."""
    summary = run.summary()
    # Splink names each linker with a random id: left out, so a re-run writes the same file
    model = {key: value for key, value in run.result.model.items() if key != "linker_uid"}
    write_file_atomically(directory / "leads.csv", run.leads.write_csv().encode("utf-8"))
    if run.claims is not None:
        write_file_atomically(directory / "claims.csv", run.claims.write_csv().encode("utf-8"))
    write_file_atomically(directory / "model.json", _json(model))
    write_file_atomically(directory / "results.json", _json(summary))
    html = render_rolls_report(summary, run.leads, model, run.weights)
    write_file_atomically(directory / "report.html", html.encode("utf-8"))
    return summary


def parameters(paths: Sequence[Path], settings: RollsSettings) -> dict[str, Any]:
    """What a re-run needs besides the input files (which are named, not located)."""
    recorded = settings.to_json()
    if settings.review is not None:
        recorded["review"] = Path(settings.review).name
    return {"inputs": [path.name for path in paths], "settings": recorded}


def _input_files(paths: Sequence[Path], settings: RollsSettings) -> list[Path]:
    files = [*paths, *([] if settings.review is None else [Path(settings.review)])]
    names = [path.name for path in files]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"two input files are both named {repeated[0]!r}: the evidence bundle keeps "
            "its inputs side by side under inputs/",
            fix="rename or copy one of them",
        )
    return files


def run_and_write(
    paths: Sequence[Path],
    settings: RollsSettings,
    out: Path | None,
    *,
    command: str,
    overwrite: bool = False,
) -> RollsRun:
    """Load, analyse and (with ``out``) write the bundle atomically.

    With an election date, a run whose ``as_of`` (default today) lies inside the
    90-day quiet period writes nothing and raises the NVRA refusal: the leads of a
    systematic program may not be acted on then.
    """
    if out is not None and settings.election_date is not None:
        check_quiet_period(settings.election_date, settings.as_of or dt.date.today())
    inputs = _input_files(paths, settings)
    run = analyse(load_inputs(paths, settings), settings)
    if out is None:
        return run
    with atomic_directory(out, overwrite=overwrite) as staging:
        summary = write_outputs(run, staging)
        write_bundle(
            staging,
            command=command,
            parameters=parameters(paths, settings),
            seed=str(settings.seed),
            results={
                "pairs_flagged": summary["pairs_flagged"],
                "expected_false_matches": summary["expected_false_matches"],
                "expected_chance_matches": summary["expected_chance_matches"],
            },
            rerun=RERUN,
            inputs=inputs,
        )
    return run


def rerun_rolls(params: Mapping[str, Any], out_dir: Path) -> None:
    """Recompute every output of a rolls bundle from its ``inputs/`` (``tallyguard verify``)."""
    settings = RollsSettings.from_json(params["settings"])
    folder = out_dir / "inputs"
    if settings.review is not None:
        settings = replace(settings, review=str(folder / settings.review))
    paths = [folder / name for name in params["inputs"]]
    write_outputs(analyse(load_inputs(paths, settings), settings), out_dir)
