"""Risk measurement: sequential p-values for SHANGRLA assertions.

Every function in :data:`METHODS` takes the values of one assertion's assorter
in draw order and returns the sequential p-value after each draw,
``p_t = min(1, 1 / max_{s<=t} M_s)`` (non-increasing), for the null "the mean
of x is at most 1/2" (Stark 2020, SHANGRLA; Ville's inequality):

* ``x``: polling audits pass ``Assorter.assort`` values in [0, u] with
  ``u = Assorter.upper_bound`` and ``eta = Assertion.reported_mean``;
  ballot-level comparison audits pass overstatement-assorter values B with
  ``u = Assertion.overstatement_upper_bound`` and ``eta = Assertion.noerror``.
  A ballot that was not found counts as the worst case for the reported winner:
  ``assort(..., found=...)`` gives it 0, ``overstatement_of_marks(...,
  found=...)`` gives B with paper value 0 (Bañuelos & Stark 2012).
* ``N``: cards in the population, or None for sampling with replacement.
  ALPHA and betting then test the null mean of the cards not yet drawn (Stark
  2023, §2.2.1); BRAVO and Kaplan-Markov use with-replacement mathematics,
  which is conservative for a sample drawn without replacement.
* ``eta <= 1/2`` (a tie or a reported loss): the assertion cannot be confirmed;
  every p-value is 1. Values outside [0, u] raise ValueError naming the draw;
  a method applied to the wrong kind of audit raises ValueError saying why.

Methods: ``bravo`` (:mod:`.bravo`), ``alpha`` (:mod:`.alpha`), ``betting``
(:mod:`.betting`), ``kaplan-markov`` (:mod:`.kaplan_markov`); batch-level
comparison (MACRO, batch ALPHA) lives in :mod:`.macro`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from tallyguard.audit.risk.alpha import alpha, alpha_p_values, optimal_comparison_eta
from tallyguard.audit.risk.base import last_p_value, sequential_p_values
from tallyguard.audit.risk.betting import betting, betting_p_values
from tallyguard.audit.risk.bravo import bravo, bravo_p_values, bravo_risk
from tallyguard.audit.risk.kaplan_markov import GAMMA, kaplan_markov, km_p_value, km_p_values
from tallyguard.audit.risk.macro import (
    batch_alpha_p_values,
    batch_error_bounds,
    batch_taints,
    macro_p_value,
    macro_p_values,
    pair_margins,
)


class RiskFunction(Protocol):
    """Sequential p-values after each draw of assorter values ``x`` in [0, u]."""

    def __call__(
        self,
        x: NDArray[np.float64],
        *,
        N: int | None,  # noqa: N803 - the contract's name
        u: float,
        eta: float,
    ) -> NDArray[np.float64]: ...


METHODS: dict[str, RiskFunction] = {
    "bravo": bravo,
    "alpha": alpha,
    "betting": betting,
    "kaplan-markov": kaplan_markov,
}
POLLING_METHODS = ("bravo", "alpha")
COMPARISON_METHODS = ("alpha", "betting", "kaplan-markov")

__all__ = [
    "COMPARISON_METHODS",
    "GAMMA",
    "METHODS",
    "POLLING_METHODS",
    "RiskFunction",
    "alpha_p_values",
    "batch_alpha_p_values",
    "batch_error_bounds",
    "batch_taints",
    "betting_p_values",
    "bravo_p_values",
    "bravo_risk",
    "km_p_value",
    "km_p_values",
    "last_p_value",
    "macro_p_value",
    "macro_p_values",
    "optimal_comparison_eta",
    "pair_margins",
    "sequential_p_values",
]
