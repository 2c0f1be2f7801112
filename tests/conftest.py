"""Shared test configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Default: deterministic, so CI never flakes; `make fuzz` explores many more cases.
settings.register_profile(
    "default", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fuzz", max_examples=2_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_data() -> Path:
    """The read-only real-data folder beside the checkout (skips when absent)."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real election data not available: {data} is absent")
    return data
