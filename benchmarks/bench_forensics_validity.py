"""False-positive rate and power of every forensic test, by size, at 100 calibration runs.

The calibration (``tallyguard.forensics.calibrate``) simulates clean elections
shaped like a synthetic national election (``bench_forensics.synthetic``: 80
regions, heterogeneous turnout and shares) at several sizes, and the same
elections with Klimek stuffing, vote transfer or rounded protocols at 5 % of the
units; every test runs at 200 replicates. Prints one row per (size, test): the
false-positive rate with its 95 % Clopper-Pearson interval and the power per
manipulation. Takes about 15 minutes on 2 cores.

Run: ``.venv/bin/python benchmarks/bench_forensics_validity.py [--runs 100] [--sizes 5000 95000]``
"""

from __future__ import annotations

import argparse
import time

from bench_forensics import synthetic
from tallyguard.forensics.battery import stream
from tallyguard.forensics.calibrate import calibrate
from tallyguard.forensics.pipeline import calibration_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 95000])
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    print(f"alpha {args.alpha}, {args.runs} runs per size, 200 replicates per test")
    print(f"{'units':>7} {'test':<20} {'FPR':>6} {'95% CI':>14} "
          f"{'stuffing':>9} {'transfer':>9} {'rounding':>9}")  # fmt: skip
    for size in args.sizes:
        start = time.perf_counter()
        result = calibrate(
            synthetic(size),
            calibration_tests(),
            alpha=args.alpha,
            runs=args.runs,
            replicates=200,
            rng=stream("validity", str(size)),
        ).to_json()
        for name, entry in result["tests"].items():
            fp = entry["false_positive"]
            low, high = fp["ci95"]
            power = entry["power"]
            print(
                f"{size:>7} {name:<20} {fp['rate']:>6.3f} [{low:.3f}, {high:.3f}] "
                + " ".join(
                    f"{power[k]['rate']:>9.2f}" for k in ("stuffing", "transfer", "rounding")
                )
                + ("   FPR ABOVE ALPHA" if entry["exceeds_alpha"] else "")
            )
        print(f"  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
