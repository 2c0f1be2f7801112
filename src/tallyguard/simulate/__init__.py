"""Synthetic elections with known truth, for tests, calibration, benchmarks and the demo.

``simulate(config)`` draws an election in memory (vectorised numpy);
``write_election`` writes it in the formats users bring; ``run_simulation``
does both atomically and seals the directory as an evidence bundle.
"""

from tallyguard.simulate.config import SimulationConfig, parse_config
from tallyguard.simulate.election import SimulatedElection, simulate
from tallyguard.simulate.output import write_election
from tallyguard.simulate.run import run_simulation

__all__ = [
    "SimulatedElection",
    "SimulationConfig",
    "parse_config",
    "run_simulation",
    "simulate",
    "write_election",
]
