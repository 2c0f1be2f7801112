"""Simulate, write and seal: the library form of ``tallyguard simulate election``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tallyguard.evidence import write_bundle
from tallyguard.io.atomic import atomic_directory
from tallyguard.simulate.config import SimulationConfig
from tallyguard.simulate.election import STAGES, simulate
from tallyguard.simulate.output import write_election

#: Number of progress steps ``run_simulation`` reports.
STEPS = len(STAGES) + 5


def run_simulation(
    config: SimulationConfig,
    out: Path,
    *,
    overwrite: bool = False,
    stamp: bool = False,
    inputs: tuple[Path, ...] = (),
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the election for ``config`` to ``out`` with its evidence bundle.

    Nothing appears at ``out`` unless everything was written. Without ``stamp``
    the bundle records no wall-clock time, so the same config gives a
    byte-identical directory.
    """
    step = on_step or (lambda _label: None)
    with atomic_directory(out, overwrite=overwrite) as staging:
        election = simulate(config, on_step=step)
        summary = write_election(election, staging, on_step=step)
        step("evidence bundle")
        write_bundle(
            staging,
            command="tallyguard simulate election",
            parameters=config.model_dump(mode="json"),
            seed=config.seed,
            results=summary,
            rerun="simulate.election",
            inputs=inputs,
            created=datetime.now(UTC) if stamp else None,
        )
    return summary
