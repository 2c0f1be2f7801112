"""Regenerate ``shangrla_alpha_vectors.json`` from SHANGRLA (run by hand, not by pytest).

Usage: python make_shangrla_alpha_vectors.py /path/to/SHANGRLA/shangrla/core/NonnegMean.py

SHANGRLA is AGPL-licensed and is not a dependency of tallyguard: this script
imports its ``NonnegMean.py`` from a scratch checkout outside the repository,
runs ``NonnegMean.alpha_mart`` on deterministic vectors and writes the inputs
and SHANGRLA's outputs as JSON. No SHANGRLA code is copied into tallyguard.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np


def load(path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("shangrla_nonnegmean", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NonnegMean


def vectors() -> list[dict[str, object]]:
    rng = np.random.default_rng(20240601)
    out: list[dict[str, object]] = []

    def polling(name: str, n: int, shares: tuple[float, float, float], **kw: object) -> None:
        x = rng.choice([1.0, 0.0, 0.5], size=n, p=list(shares))
        out.append({"name": name, "estimator": "shrink_trunc", "x": x.tolist(), "u": 1.0, **kw})

    # Ballot polling, plurality pair assorter (u = 1), values in {0, 1/2, 1}.
    polling("polling-wr-default", 200, (0.55, 0.40, 0.05), N=None, eta=0.575, c=None)
    polling("polling-wor-default", 200, (0.55, 0.40, 0.05), N=1000, eta=0.575, c=None)
    polling("polling-wr-c0.5", 300, (0.52, 0.45, 0.03), N=None, eta=0.535, c=0.5)
    polling("polling-wor-c0.5-d1000", 300, (0.52, 0.45, 0.03), N=2000, eta=0.535, c=0.5, d=1000)
    polling("polling-wor-small-N", 120, (0.6, 0.35, 0.05), N=150, eta=0.6, c=0.1, d=10)
    polling("polling-wor-f", 150, (0.6, 0.38, 0.02), N=500, eta=0.6, c=0.2, d=50, f=0.5)
    polling("polling-wr-f-minsd", 150, (0.7, 0.3, 0.0), N=None, eta=0.7, c=0.2, d=20, f=2.0)
    polling("polling-wor-wrong-winner", 250, (0.45, 0.5, 0.05), N=600, eta=0.55, c=None)
    polling("polling-wor-landslide", 40, (0.9, 0.05, 0.05), N=100, eta=0.9, c=None)
    polling("polling-wor-exhausts", 60, (0.7, 0.25, 0.05), N=60, eta=0.7, c=None)

    # Supermajority, share to win f = 2/3: u = 1/(2f) = 0.75, values in {0, 1/2, 0.75}.
    for i, (n_pop, eta) in enumerate(((None, 0.55), (800, 0.56), (300, 0.6))):
        u = 0.75
        x = rng.choice([u, 0.0, 0.5], size=180, p=[0.74, 0.24, 0.02])
        out.append(
            {
                "name": f"supermajority-{i}",
                "estimator": "shrink_trunc",
                "x": x.tolist(),
                "u": u,
                "N": n_pop,
                "eta": eta,
                "c": None if i != 1 else 0.05,
            }
        )

    # Comparison: overstatement-assorter values B, u = 2/(2 - v), noerror = u/2.
    def comparison(
        name: str,
        v: float,
        n: int,
        n_pop: int | None,
        errors: dict[int, float],
        estimator: str,
        **kw: object,
    ) -> None:
        a = 1.0 / (2.0 - v)
        x = np.full(n, a)
        for i, frac in errors.items():
            x[i] = (1.0 - frac) * a  # frac = omega/u_A: 1/2 one-vote, 1 two-vote, <0 under
        out.append(
            {
                "name": name,
                "estimator": estimator,
                "x": x.tolist(),
                "u": 2 * a,
                "N": n_pop,
                "eta": a,
                **kw,
            }
        )

    comparison("comparison-st-wr", 0.05, 150, None, {10: 0.5, 70: -0.5}, "shrink_trunc", c=None)
    comparison("comparison-st-wor", 0.1, 120, 400, {5: 1.0, 50: 0.5}, "shrink_trunc", c=None)
    comparison(
        "comparison-st-wor-c", 0.1, 120, 400, {5: 1.0, 50: -1.0}, "shrink_trunc", c=0.05, d=20
    )
    comparison("comparison-oc-wr", 0.02, 400, None, {}, "optimal_comparison", error_rate_2=1e-4)
    comparison(
        "comparison-oc-wr-2vote",
        0.05,
        300,
        None,
        {20: 1.0},
        "optimal_comparison",
        error_rate_2=1e-4,
    )
    comparison(
        "comparison-oc-wor-errors",
        0.05,
        300,
        2000,
        {3: 0.5, 40: 0.5, 90: -0.5},
        "optimal_comparison",
        error_rate_2=1e-3,
    )
    comparison(
        "comparison-oc-wor-small", 0.2, 60, 80, {7: 1.0}, "optimal_comparison", error_rate_2=1e-2
    )
    return out


def main() -> None:
    core = Path(sys.argv[1])
    nonneg_mean = load(core)
    try:
        commit = subprocess.run(
            ["git", "-C", str(core.parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = sys.argv[2] if len(sys.argv) > 2 else "unknown"
    results = []
    for vec in vectors():
        x = np.asarray(vec["x"])
        kwargs: dict[str, object] = {}
        for key in ("c", "d", "f", "minsd", "error_rate_2"):
            if vec.get(key) is not None:
                kwargs[key] = vec[key]
        estim = getattr(nonneg_mean, vec["estimator"])
        test = nonneg_mean(
            test=nonneg_mean.alpha_mart,
            estim=estim,
            u=vec["u"],
            N=np.inf if vec["N"] is None else int(vec["N"]),
            t=0.5,
            eta=vec["eta"],
            **kwargs,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, history = test.test(x)
        results.append({**vec, "p_value": float(p), "p_history": [float(h) for h in history]})
    payload = {
        "note": (
            "Reference p-values of SHANGRLA's NonnegMean.alpha_mart (t = 1/2) with the "
            "shrink_trunc or optimal_comparison estimator, on deterministic vectors "
            "(numpy default_rng(20240601)). Produced by make_shangrla_alpha_vectors.py "
            "with SHANGRLA's shangrla/core/NonnegMean.py imported from a scratch checkout "
            "outside this repository. Keys c, d, f, minsd, error_rate_2 are passed to "
            "NonnegMean only when present and not null (null c = SHANGRLA's default "
            "(eta - t)/2 - eps). N null = np.inf (sampling with replacement). p_history "
            "is SHANGRLA's raw history min(1, 1/T_j), not made monotone."
        ),
        "shangrla": {"repository": "https://github.com/pbstark/SHANGRLA", "commit": commit},
        "numpy": np.__version__,
        "vectors": results,
    }
    out = Path(__file__).with_name("shangrla_alpha_vectors.json")
    head = {k: v for k, v in payload.items() if k != "vectors"}
    text = json.dumps(head, indent=1)[:-2] + ',\n "vectors": [\n'
    text += ",\n".join(json.dumps(v) for v in results) + "\n ]\n}\n"
    out.write_text(text)
    print(f"wrote {len(results)} vectors to {out}")


if __name__ == "__main__":
    main()
