"""Every valid test's false-positive rate and power, measured by the calibration (issue 5).

A national-size election (95,000 stations in 80 regions, heterogeneous turnout and
shares, heavy-tailed station sizes) is the input; the calibration simulates clean
elections shaped like it and the same with stuffing (Klimek et al. 2012) or
rounded protocols (Kobak et al. 2016) at 5 % of the stations. The integer test is
built to see rounding and is blind to proportional stuffing; the fingerprint is
built to see stuffing.
"""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.forensics.battery import stream
from tallyguard.forensics.calibrate import calibrate
from tallyguard.forensics.pipeline import calibration_tests
from tallyguard.forensics.table import UnitTable

RUNS = 20
ALPHA = 0.05


def national_election(units: int = 95_000, seed: int = 2012) -> UnitTable:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 80, units)
    regional_turnout = rng.beta(30, 20, 80)[region]
    regional_share = rng.beta(20, 25, 80)[region]
    electorate = np.rint(rng.lognormal(np.log(1100), 0.6, units)).astype(np.int64) + 50
    issued = rng.binomial(electorate, rng.beta(50 * regional_turnout, 50 * (1 - regional_turnout)))
    lead = rng.binomial(issued, rng.beta(40 * regional_share, 40 * (1 - regional_share)))
    second = rng.binomial(issued - lead, 0.6)
    return UnitTable(
        unit_id=np.array([f"U{k}" for k in range(units)]),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"Leader": lead, "Second": second, "Third": issued - lead - second},
        leader="Leader",
        region=np.array([f"R{r:02d}" for r in region]),
    )


@pytest.mark.slow
def test_false_positive_rates_and_power_at_national_size() -> None:
    calibration = calibrate(
        national_election(),
        calibration_tests(),
        alpha=ALPHA,
        runs=RUNS,
        replicates=100,
        rng=stream("validity", "calibration"),
        manipulations=("stuffing", "rounding"),
    ).to_json()
    tests = calibration["tests"]
    # every test's false-positive rate is at most alpha plus two Monte-Carlo SEs
    limit = ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)
    for name, entry in tests.items():
        assert entry["false_positive"]["skipped"] == 0, name
        assert entry["false_positive"]["rate"] <= limit, name
    assert tests["fingerprint"]["power"]["stuffing"]["rate"] >= 0.9
    assert tests["integer_percentages"]["power"]["rounding"]["rate"] >= 0.9
    # and what each is not built for: the integer test does not see stuffing
    assert tests["integer_percentages"]["power"]["stuffing"]["rate"] <= limit
