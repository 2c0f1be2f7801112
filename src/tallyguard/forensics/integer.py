"""Integer-percentage peaks: Kobak, Shpilkin & Pshenichnikov (2016, Ann. Appl. Stat. 10(1):54-73).

Where protocols are written to reach a target, turnout and the leader's share
land on round numbers more often than counting allows. A station is *integer*
when its turnout (``ballots_issued / electorate``) or the leader's share
(``leader / ballots_cast``) lies within ±0.05 percentage points of a whole
percent, i.e. in a closed window ``[j - 0.05, j + 0.05]`` %, decided in exact
integer arithmetic: ``k/n`` is integer when ``20 * min(100k mod n, n - 100k mod n) <= n``.

Inclusion (Kobak et al. 2016, section 3): ``ballots_cast > 0``,
``electorate >= 100``, turnout <= 0.99 and share <= 0.99.

Null (ibid.): every included station's leader votes are
Binomial(ballots_cast, observed share) and its issued ballots
Binomial(electorate, observed turnout), independently. The authors estimate the
null by 1,000 replicates of that resampling. Here the probability that each
resampled value is integer is computed exactly (a sum of binomial
probabilities over the integer windows within 7 standard deviations plus 10
of the mean; the mass left out is below 1e-11 per station), so the null mean and
standard deviation of every count are exact; the Monte-Carlo p-value comes
from R replicates of independent Bernoulli draws with those probabilities,
which have exactly the distribution of the resampled indicators.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from tallyguard.forensics.result import Component, JsonValue, TestResult, monte_carlo_p_value
from tallyguard.forensics.table import BoolArray, FloatArray, IntArray, UnitTable

NAME = "integer_percentages"
CITATION = (
    "Kobak, Shpilkin & Pshenichnikov (2016), Integer percentages as electoral falsification "
    "fingerprints, Annals of Applied Statistics 10(1):54-73."
)
TAIL_SD = 7.0
MIN_ELECTORATE = 100
MAX_RATE = 0.99
CHUNK = 40_000_000  # random numbers per Monte-Carlo chunk


def is_integer_percent(k: IntArray, n: IntArray) -> BoolArray:
    """``100 k / n`` within ±0.05 of a whole number (closed window); False where ``n == 0``."""
    n_safe = np.maximum(n, 1)
    rest = (100 * k) % n_safe
    out: BoolArray = (20 * np.minimum(rest, n_safe - rest) <= n) & (n > 0)
    return out


def integer_probability(n: IntArray, p: FloatArray, tail_sd: float = TAIL_SD) -> FloatArray:
    """P(100 K / n is integer) for K ~ Binomial(n, p), per element (``n >= 1``).

    Sums the binomial pmf over the integer windows
    ``ceil((20j - 1) n / 2000) <= k <= floor((20j + 1) n / 2000)`` that meet
    ``n p ± (tail_sd · sd + 10)``; vectorised over all windows of all stations.
    """
    n = np.asarray(n, dtype=np.int64)
    prob = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    mean = n * prob
    reach = tail_sd * np.sqrt(n * prob * (1 - prob)) + 10
    k_lo = np.clip(np.floor(mean - reach), 0, n).astype(np.int64)
    k_hi = np.clip(np.ceil(mean + reach), 0, n).astype(np.int64)
    j_lo = (100 * k_lo) // n
    j_hi = -((-100 * k_hi) // n)
    station, j = _expand(j_lo, j_hi - j_lo + 1)
    nn = n[station]
    a = np.maximum(-((-(20 * j - 1) * nn) // 2000), k_lo[station])
    b = np.minimum(((20 * j + 1) * nn) // 2000, k_hi[station])
    window, k = _expand(a, np.maximum(b - a + 1, 0))
    st = station[window]
    ns, ps = n[st], prob[st]
    log_pmf = gammaln(ns + 1) - gammaln(k + 1) - gammaln(ns - k + 1)
    log_pmf += xlogy(k, ps) + xlog1py(ns - k, -ps)
    total: FloatArray = np.asarray(
        np.bincount(st, weights=np.exp(log_pmf), minlength=n.size), dtype=np.float64
    )
    return np.minimum(total, 1.0)


def _expand(start: IntArray, length: IntArray) -> tuple[IntArray, IntArray]:
    """(owner, value) for every value in ``start[i] .. start[i] + length[i] - 1``."""
    owner = np.repeat(np.arange(start.size), length)
    offsets = np.cumsum(length) - length
    values = start[owner] + (np.arange(owner.size) - offsets[owner])
    return owner, values


def included(table: UnitTable) -> BoolArray:
    """Kobak et al.'s inclusion rule, in exact integer arithmetic."""
    e, g = table.electorate, table.ballots_issued
    c, lead = table.ballots_cast, table.leader_votes
    out: BoolArray = (c > 0) & (e >= MIN_ELECTORATE) & (100 * g <= 99 * e) & (100 * lead <= 99 * c)
    return out


def bernoulli_rows(prob: FloatArray, rows: int, rng: np.random.Generator) -> BoolArray:
    """``rows`` independent draws of Bernoulli(prob) per column, exactly and fast.

    A 16-bit uniform ``u`` decides ``u < floor(65536 p)``; the rare ties
    ``u == floor(65536 p)`` are settled by a second uniform against the
    fractional part, so P(hit) = p exactly.
    """
    scaled = np.asarray(prob, dtype=np.float64) * 65536.0
    whole = np.floor(scaled)
    frac = scaled - whole
    certain = whole >= 65536
    threshold = np.minimum(whole, 65535).astype(np.uint16)
    u = rng.integers(0, 65536, size=(rows, prob.size), dtype=np.uint16)
    hits: BoolArray = u < threshold
    tie_r, tie_c = np.nonzero((u == threshold) & ~certain)
    if tie_r.size:
        hits[tie_r, tie_c] = rng.random(tie_r.size) < frac[tie_c]
    hits[:, certain] = True
    return hits


def _null_counts(
    prob_t: FloatArray,
    prob_s: FloatArray,
    weights: FloatArray,
    rng: np.random.Generator,
    replicates: int,
) -> FloatArray:
    """(replicates, 3 quantities, 2 weightings): turnout, share, either x stations, voters."""
    n = prob_t.size
    out = np.zeros((replicates, 3, 2))
    step = max(1, CHUNK // max(2 * n, 1))
    for start in range(0, replicates, step):
        r = min(step, replicates - start)
        hit_t = bernoulli_rows(prob_t, r, rng)
        hit_s = bernoulli_rows(prob_s, r, rng)
        for q, hits in enumerate((hit_t, hit_s, hit_t | hit_s)):
            out[start : start + r, q, 0] = np.count_nonzero(hits, axis=1)
            out[start : start + r, q, 1] = _weighted_sums(hits, weights)
    return out


def _weight_blocks(weights: FloatArray) -> list[slice] | None:
    """Column blocks whose integer weights sum below 2**24, or None if a weight is too large.

    Within such a block every partial sum of a float32 product is an integer
    below 2**24, hence exact whatever order the BLAS adds in.
    """
    if weights.size and (weights.max() >= 2**24 or np.any(weights != np.floor(weights))):
        return None
    blocks, start = [], 0
    cumulative = np.cumsum(weights)
    while start < weights.size:
        base = cumulative[start - 1] if start else 0.0
        stop = int(np.searchsorted(cumulative, base + 2**24 - 1, side="right"))
        stop = max(stop, start + 1)
        blocks.append(slice(start, stop))
        start = stop
    return blocks


def _weighted_sums(hits: BoolArray, weights: FloatArray) -> FloatArray:
    """Row sums of integer ``weights`` where ``hits``, exactly."""
    blocks = _weight_blocks(weights)
    if blocks is None:
        exact: FloatArray = hits.astype(np.float64) @ weights
        return exact
    out = np.zeros(hits.shape[0])
    for block in blocks:
        w32 = weights[block].astype(np.float32)
        out += (hits[:, block].astype(np.float32) @ w32).astype(np.float64)
    return out


def histograms(
    k: tuple[IntArray, IntArray],
    n: tuple[IntArray, IntArray],
    rng: np.random.Generator,
    replicates: int,
) -> dict[str, JsonValue]:
    """0.1-point histograms of turnout and share with a binomial-resampling null band.

    Bins are centred on multiples of 0.1 % (edges at x.x5), so an integer
    peak is one bar. The band is the 2.5-97.5 % range of ``replicates``
    histograms of the null resampling (the same null as the test).
    """
    edges = np.round(np.arange(-0.05, 100.06, 0.1), 2)
    out: dict[str, JsonValue] = {}
    for name, kk, nn in zip(("turnout", "leader_share"), k, n, strict=True):
        observed = np.histogram(100 * kk / nn, bins=edges)[0]
        null = np.zeros((replicates, edges.size - 1))
        for r in range(replicates):
            null[r] = np.histogram(100 * rng.binomial(nn, kk / nn) / nn, bins=edges)[0]
        out[name] = {
            "bin_edges_pct": edges.tolist(),
            "observed": observed.tolist(),
            "null_mean": np.round(null.mean(axis=0), 4).tolist(),
            "null_low": np.percentile(null, 2.5, axis=0).tolist(),
            "null_high": np.percentile(null, 97.5, axis=0).tolist(),
        }
    return out


QUANTITIES = ("turnout", "leader_share", "either")
WEIGHTINGS = ("stations", "voters")


def run(
    table: UnitTable,
    *,
    rng: np.random.Generator,
    replicates: int = 1000,
    band_replicates: int = 50,
) -> TestResult:
    """The integer-percentage test; components ``turnout``, ``leader_share``, ``either``.

    Each component's top-level statistics are weighted by stations (the
    published figures); ``by_voters`` repeats them weighted by the electorate.
    The headline is ``either``. ``band_replicates`` null histograms are drawn
    for the plot's band (0: no histograms).
    """
    keep = included(table)
    e, g = table.electorate[keep], table.ballots_issued[keep]
    c, lead = table.ballots_cast[keep], table.leader_votes[keep]
    observed_hits = (is_integer_percent(g, e), is_integer_percent(lead, c))
    prob_t = integer_probability(e, g / np.maximum(e, 1))
    prob_s = integer_probability(c, lead / np.maximum(c, 1))
    prob_either = 1 - (1 - prob_t) * (1 - prob_s)
    weights = e.astype(np.float64)
    null = _null_counts(prob_t, prob_s, weights, rng, replicates)
    components = []
    hits_by_quantity = (*observed_hits, observed_hits[0] | observed_hits[1])
    for q, (name, hits, prob) in enumerate(
        zip(QUANTITIES, hits_by_quantity, (prob_t, prob_s, prob_either), strict=True)
    ):
        stats = {}
        for w, (weighting, wts) in enumerate(
            zip(WEIGHTINGS, (np.ones_like(weights), weights), strict=True)
        ):
            observed = float(wts[hits].sum())
            mean = float(wts @ prob)
            sd = float(np.sqrt((wts**2) @ (prob * (1 - prob))))
            stats[weighting] = {
                "observed": observed,
                "null_mean": mean,
                "null_sd": sd,
                "excess": observed - mean,
                "p_value": monte_carlo_p_value(observed, null[:, q, w]),
                "null_mc_mean": float(null[:, q, w].mean()),
            }
        top = stats["stations"]
        components.append(
            Component(
                name=name,
                statistics={
                    "observed": int(top["observed"]),
                    "null_mean": top["null_mean"],
                    "null_sd": top["null_sd"],
                    "excess": top["excess"],
                    "by_voters": stats["voters"],
                },
                p_value=top["p_value"],
            )
        )
    return TestResult(
        name=NAME,
        title="Integer percentages",
        citation=CITATION,
        null=(
            "each included station's leader votes ~ Binomial(ballots cast, observed share) and "
            "issued ballots ~ Binomial(electorate, observed turnout), independently"
        ),
        components=tuple(components),
        headline="either",
        caveats=(
            "Detects protocols written to round percentages only; it is silent on proportional "
            "ballot stuffing, so the absence of peaks is not evidence of a clean count.",
            "Stations with fewer than 100 voters or turnout or share above 99 % are excluded "
            "(Kobak et al. 2016); small denominators make round numbers common by arithmetic.",
            "Administrative rounding, data-entry conventions and pseudo-stations (e-voting, "
            "aggregates) can also produce round numbers.",
        ),
        details={
            "histograms": histograms((g, lead), (e, c), rng, band_replicates)
            if band_replicates > 0 and keep.any()
            else {},
            "included_units": int(keep.sum()),
            "excluded_units": int((~keep).sum()),
            "replicates": replicates,
            "window_pp": 0.05,
        },
    )
