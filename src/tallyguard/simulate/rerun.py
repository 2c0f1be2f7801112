"""Re-run a recorded simulation for ``tallyguard verify`` (entry point ``simulate.election``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tallyguard.simulate.config import parse_config
from tallyguard.simulate.election import simulate
from tallyguard.simulate.output import write_election


def rerun_election(parameters: Mapping[str, Any], out_dir: Path) -> None:
    """Write the election that ``parameters`` (a bundle's record) describe into ``out_dir``."""
    config = parse_config(parameters, source="bundle.json parameters")
    write_election(simulate(config), out_dir)
