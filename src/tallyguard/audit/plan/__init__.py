"""Audit planning: closed-form and simulated sample sizes (issue 3, item 4).

* :mod:`.closed_form` - BRAVO ASN and Kaplan-Markov sizes, equal to rlacalc;
* :mod:`.population` - hypothetical card populations and random draws;
* :mod:`.engine` - many simulated audits at once, stopping sizes per method;
* :mod:`.simulate` - one-round sizes by quantile, every method side by side,
  and the next round's size after a round that did not confirm.
"""

from tallyguard.audit.plan.closed_form import (
    ARLO_RATES,
    KM_GAMMA,
    NO_ERRORS,
    ErrorRates,
    arlo_comparison_sample_size,
    bravo_asn,
    comparison_noerror_bound,
    km_expected_sample_size,
    km_expected_sample_size_rounded,
    km_nmin,
)
from tallyguard.audit.plan.population import (
    Population,
    Target,
    comparison_population,
    polling_populations,
)
from tallyguard.audit.plan.simulate import (
    QUANTILES,
    PlanRow,
    next_round_size,
    plan_assertion,
    plan_contest,
    plan_populations,
)

__all__ = [
    "ARLO_RATES",
    "KM_GAMMA",
    "NO_ERRORS",
    "QUANTILES",
    "ErrorRates",
    "PlanRow",
    "Population",
    "Target",
    "arlo_comparison_sample_size",
    "bravo_asn",
    "comparison_noerror_bound",
    "comparison_population",
    "km_expected_sample_size",
    "km_expected_sample_size_rounded",
    "km_nmin",
    "next_round_size",
    "plan_assertion",
    "plan_contest",
    "plan_populations",
    "polling_populations",
]
