"""Sample sizes side by side: ballot polling (ALPHA vs BRAVO) and ballot comparison.

(a) Ballot polling, two choices, no blank cards, alpha = 5 %, N = 10,000 and
    100,000: mean sample size (± Monte-Carlo SE) of ALPHA without replacement,
    BRAVO with replacement (how Arlo samples), BRAVO on the same
    without-replacement draws as ALPHA (so their difference is paired), ALPHA
    with a fixed alternative eta = reported mean (d = infinity in ShrinkTrunc),
    and BRAVO's closed-form ASN (LSY 2012, rlacalc ``findAsn``). An audit that
    has not confirmed after N draws counts N (a full hand count).
(b) Ballot-level comparison, N = 100,000: betting vs ALPHA vs Kaplan-Markov,
    with no errors and with Arlo's expected error rates (r1 = s1 = 0.001,
    r2 = s2 = 0.0001), next to the closed forms.

Checks (printed; exit 1 only with ``--strict``): in every polling cell ALPHA needs no
more ballots than BRAVO beyond twice the Monte-Carlo SE; betting and ALPHA within
1.05 x the no-error bound.

Run: ``.venv/bin/python benchmarks/bench_plan.py [--reps 4000] [--seed 1] [--strict]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from tallyguard.audit.assorters import make_assertions
from tallyguard.audit.plan import (
    ARLO_RATES,
    NO_ERRORS,
    PlanRow,
    arlo_comparison_sample_size,
    bravo_asn,
    comparison_noerror_bound,
    km_nmin,
    plan_assertion,
    polling_populations,
)
from tallyguard.audit.plan.engine import stopping_sizes
from tallyguard.audit.plan.simulate import quantile_with_se
from tallyguard.audit.risk import METHODS
from tallyguard.audit.risk.alpha import alpha_fixed_p_values
from tallyguard.model import Contest, ContestKind

PAIR = Contest("bench", "Pair", ContestKind.PLURALITY, ("W", "L"))
ALPHA = 0.05


def _cell(row: PlanRow) -> str:
    return f"{row.expected:,.0f} ± {row.expected_se:,.0f}"


def _q(row: PlanRow) -> str:
    return "/".join(f"{s:,}" for s in row.sizes)


def _mean_se(sizes: np.ndarray) -> tuple[float, float]:
    return float(sizes.mean()), float(sizes.std(ddof=1) / math.sqrt(sizes.size))


def polling_table(reps: int, seed: int) -> tuple[str, list[str]]:
    """ALPHA vs BRAVO on common random numbers; a size of 0 (not confirmed) counts as N."""
    lines = [
        "| N | margin | BRAVO ASN (closed form) | BRAVO, with repl. | BRAVO, without repl. "
        "| ALPHA, without repl. | ALPHA − BRAVO, same draws | ALPHA fixed η, without repl. "
        "| ALPHA 50/70/90 % | ALPHA / BRAVO (with repl.) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    fixed = {"alpha-fixed": alpha_fixed_p_values}
    for ballots in (10_000, 100_000):
        for margin in (0.02, 0.05, 0.1, 0.2):
            totals = {"W": round(ballots * (1 + margin) / 2)}
            totals["L"] = ballots - totals["W"]
            (a,) = make_assertions(PAIR, totals, ballots)
            (pop,) = polling_populations([a], totals)
            kw = {"alpha": ALPHA, "reps": reps, "seed": (seed, ballots), "limit": ballots}
            guess = bravo_asn(margin, ALPHA)
            wo = stopping_sizes(
                pop,
                {"bravo": METHODS["bravo"], "alpha": METHODS["alpha"], **fixed},
                replace=False,
                horizon=guess,
                **kw,
            )
            wr = stopping_sizes(pop, {"bravo": METHODS["bravo"]}, replace=True, horizon=guess, **kw)
            full = {k: np.where(v == 0, ballots, v) for k, v in wo.items()}
            bravo_wr = np.where(wr["bravo"] == 0, ballots, wr["bravo"])
            m_a, se_a = _mean_se(full["alpha"])
            m_bwr, se_bwr = _mean_se(bravo_wr)
            m_bwo, se_bwo = _mean_se(full["bravo"])
            m_d, se_d = _mean_se(full["alpha"] - full["bravo"])
            m_f, se_f = _mean_se(full["alpha-fixed"])
            q = "/".join(f"{quantile_with_se(full['alpha'], x)[0]:,}" for x in (0.5, 0.7, 0.9))
            asn = min(bravo_asn(margin, ALPHA), ballots)
            # ALPHA must not need more than BRAVO beyond Monte-Carlo error, neither on the
            # same draws nor against BRAVO with replacement (independent draws).
            worse_paired = m_d > 2 * se_d
            worse_wr = m_a - m_bwr > 2 * math.hypot(se_a, se_bwr)
            if worse_paired or worse_wr:
                failures.append(f"polling N={ballots:,} margin={margin:.0%}")
            lines.append(
                f"| {ballots:,} | {margin:.0%} | {asn:,.0f} | {m_bwr:,.0f} ± {se_bwr:,.0f} "
                f"| {m_bwo:,.0f} ± {se_bwo:,.0f} | {m_a:,.0f} ± {se_a:,.0f} "
                f"| {m_d:+,.0f} ± {se_d:,.0f} | {m_f:,.0f} ± {se_f:,.0f} | {q} "
                f"| {m_a / m_bwr:.3f} |"
            )
    return "\n".join(lines), failures


def comparison_table(reps: int, seed: int) -> tuple[str, list[str]]:
    ballots = 100_000
    lines = [
        "| diluted margin | errors | no-error bound | KM n_min (closed) | Arlo KM size (closed) "
        "| betting | ALPHA | Kaplan-Markov | betting 50/70/90 % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    for margin in (0.005, 0.01, 0.02, 0.05, 0.1):
        totals = {"W": round(ballots * (1 + margin) / 2)}
        totals["L"] = ballots - totals["W"]
        (a,) = make_assertions(PAIR, totals, ballots)
        bound = comparison_noerror_bound(margin, ALPHA)
        for label, rates, n in (("none", NO_ERRORS, 20), ("Arlo rates", ARLO_RATES, reps)):
            rows = plan_assertion(
                a,
                kind="comparison",
                rates=rates,
                methods=["betting", "alpha", "kaplan-markov"],
                reps=n,
                seed=seed,
            )
            by = {r.method: r for r in rows}
            if rates is NO_ERRORS:
                for name in ("betting", "alpha"):
                    if by[name].sizes[-1] > 1.05 * bound:
                        failures.append(f"comparison {name} margin={margin:.1%}: > 1.05 x bound")
            arlo = arlo_comparison_sample_size(margin, ALPHA, rates)
            lines.append(
                f"| {margin:.1%} | {label} | {bound:,.0f} | {km_nmin(margin, ALPHA):,.0f} "
                f"| {'∞' if math.isinf(arlo) else f'{arlo:,.0f}'} | {_cell(by['betting'])} "
                f"| {_cell(by['alpha'])} | {_cell(by['kaplan-markov'])} | {_q(by['betting'])} |"
            )
    return "\n".join(lines), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args()
    start = time.perf_counter()
    polling, bad_polling = polling_table(args.reps, args.seed)
    mid = time.perf_counter()
    comparison, bad_comparison = comparison_table(args.reps, args.seed)
    end = time.perf_counter()
    print(f"(a) ballot polling, alpha = 5 %, {args.reps:,} audits per cell, seed {args.seed}")
    print(f"    mean sample size ± SE ({mid - start:.0f} s)\n")
    print(polling)
    print(f"\n(b) ballot comparison, N = 100,000, alpha = 5 % ({end - mid:.0f} s)\n")
    print(comparison)
    failures = bad_polling + bad_comparison
    print(f"\nchecks failed: {failures or 'none'}")
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
