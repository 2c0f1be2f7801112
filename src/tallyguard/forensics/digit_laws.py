"""Exact digit laws of binomial counts and a sampler of digits from them (the digit tests' null).

Under the null "a count is Binomial(ballots cast, votes / ballots cast) of its
unit, given that it reached 10", each included count's last digit and second
significant digit have an exact law; ``sample_digit_counts`` draws one digit per
count from those laws, which is distributionally the same as resampling the
counts and taking their digits, at a fraction of the cost. The last-digit law
comes from the count's characteristic function (a 10-point discrete Fourier
transform); significant digits from binomial probabilities over decade windows.

Inclusion (``included_counts``): counts of at least 10 in units where the choice
expects at least ``min_expected`` votes. The second rule does not look at the count;
without it, counts kept only because they reached 10 overstate small parties' shares
and a clean small party is flagged in nearly every simulated election.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from tallyguard.forensics.table import FloatArray, IntArray, UnitTable

DIGITS: IntArray = np.arange(10, dtype=np.int64)
_POW10: IntArray = 10 ** np.arange(19, dtype=np.int64)
MIN_COUNT = 10
#: Units where a choice expects fewer votes (ballots cast × overall share) are left out.
MIN_EXPECTED = 30.0
#: A row with one digit this close to 1 is drawn as that digit (differs with probability < 1e-13).
_TOLERANCE = 1e-13
_WINDOW_SD, _WINDOW_EXTRA = 7.0, 15  # pmf window: at least mode ± (7 SD + 15)
_CHUNK = 1 << 17  # elements per vectorised chunk
_BLOCK = 255  # units per sampling block (a uint8 column sum cannot overflow)
_MIXED = 0.0995  # rows with 10·min q ≥ 0.995 take the mixture path (cheaper below this rate)


def _benford_second_digit() -> FloatArray:
    first = np.arange(1, 10)[None, :]
    law: FloatArray = np.log10(1.0 + 1.0 / (10 * first + DIGITS[:, None])).sum(axis=1)
    return law


#: Benford's second-digit law and its mean 4.18739 (Mebane 2006).
BENFORD_SECOND: FloatArray = _benford_second_digit()
BENFORD_SECOND_MEAN = float(DIGITS @ BENFORD_SECOND)


def significant_digit(counts: IntArray, position: int) -> IntArray:
    """The ``position``-th significant digit (1 = leading) of each count; -1 if it has none."""
    c = np.asarray(counts, dtype=np.int64)
    ndigits = np.searchsorted(_POW10, c, side="right")
    shift = _POW10[np.maximum(ndigits - position, 0)]
    out: IntArray = np.where(ndigits >= position, (c // shift) % 10, -1)
    return out


def last_digit_probabilities(
    n: IntArray, p: FloatArray, *, min_count: int = MIN_COUNT
) -> FloatArray:
    """Exact P(K mod 10 = d | K ≥ min_count) for K ~ Binomial(n, p), one row per count.

    P(K ≡ d mod 10) = (1/10) Σ_{m=0..9} φ(2πm/10) e^{-2πi m d/10} with
    φ(θ) = (1 − p + p e^{iθ})^n. As φ(2π(10−m)/10) is the conjugate of φ(2πm/10), only
    m = 1..5 are evaluated (modulus and argument in closed form). The terms K < min_count
    are then removed exactly and each row renormalised: the null is conditioned on the
    inclusion rule. Rows with P(K ≥ min_count) < 1e-3, where that subtraction would lose
    digits, are summed from the pmf instead (``min_count`` a multiple of 10).
    """
    if min_count % 10:
        raise ValueError("min_count must be a multiple of 10")
    n, p = np.asarray(n, dtype=np.int64), np.asarray(p, dtype=np.float64)
    n_f = n.astype(np.float64)[:, None]
    p_c = p[:, None]
    theta = 2.0 * np.pi * np.arange(1, 5)[None, :] / 10
    with np.errstate(divide="ignore"):
        log_modulus = 0.5 * np.log1p(-2.0 * p_c * (1.0 - p_c) * (1.0 - np.cos(theta)))
    modulus = np.exp(n_f * log_modulus)
    angle = n_f * np.arctan2(p_c * np.sin(theta), 1.0 - p_c + p_c * np.cos(theta))
    phase = 2.0 * np.pi * np.outer(np.arange(1, 5), DIGITS) / 10
    probs: FloatArray = 0.1 + 0.2 * (
        (modulus * np.cos(angle)) @ np.cos(phase) + (modulus * np.sin(angle)) @ np.sin(phase)
    )
    probs += 0.1 * np.power(1.0 - 2.0 * p_c, n_f) * np.where(DIGITS % 2 == 0, 1.0, -1.0)
    head = _binomial_pmf_head(n_f[:, 0], p_c[:, 0], min_count)
    for k in range(min_count):
        probs[:, k % 10] -= head[:, k]
    probs = np.clip(probs, 0.0, None)
    out: FloatArray = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-300)
    rare = np.flatnonzero(head.sum(axis=1) > 1.0 - 1e-3)
    if rare.size:
        out[rare] = _window_probabilities(n[rare], p[rare], 0, min_count)
    return out


def _binomial_pmf_head(n: FloatArray, p: FloatArray, count: int) -> FloatArray:
    """P(K = k) for k = 0..count-1 by the recursion pmf(k+1) = pmf(k)·(n−k)/(k+1)·p/(1−p)."""
    out = np.zeros((n.shape[0], count))
    inner = np.flatnonzero(p < 1.0)
    pi, ni = p[inner], n[inner]
    odds = pi / (1.0 - pi)
    pmf = np.exp(ni * np.log1p(-pi))
    for k in range(count):
        out[inner, k] = pmf
        pmf = pmf * np.maximum(ni - k, 0.0) / (k + 1) * odds
    return out


def significant_digit_probabilities(n: IntArray, p: FloatArray, position: int) -> FloatArray:
    """Exact P(``position``-th significant digit = d | K has one), K ~ Binomial(n, p).

    "Has one" is K ≥ 10^(position−1): K ≥ 1 for the first digit, K ≥ 10 for the second.
    Column 0 is 0 for the first digit. See ``_window_probabilities`` for the method.
    """
    return _window_probabilities(n, p, position, 10 ** (position - 1))


def _window_probabilities(n: IntArray, p: FloatArray, position: int, min_count: int) -> FloatArray:
    """Digit laws (position 0 = last digit) of K ~ Binomial(n, p) given K ≥ min_count.

    The pmf is built from a multiple of ten next to the mode over at least
    mode ± (7 SD + 15) (the mass left out is below 1e-12) by the ratio recursion
    pmf(k+1)/pmf(k) = (n−k)/(k+1)·p/(1−p), summed by digit and renormalised, which
    conditions on the inclusion rule. Each block of ten counts 10b..10b+9 either shares
    one digit (significant digits of k ≥ 10^position) or has the digit k mod 10.
    """
    n = np.asarray(n, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    if np.any(p <= 0.0) or np.any(p > 1.0):
        raise ValueError("shares must lie in (0, 1]")
    out = np.zeros((n.shape[0], 10))
    sure = np.flatnonzero(p >= 1.0)
    out[sure, n[sure] % 10 if position == 0 else significant_digit(n[sure], position)] = 1.0
    rows = np.flatnonzero(p < 1.0)
    sd = np.sqrt(n[rows] * p[rows] * (1.0 - p[rows]))
    blocks = np.ceil((_WINDOW_SD * sd + _WINDOW_EXTRA) / 10).astype(np.int64) + 1
    order = np.argsort(blocks, kind="stable")
    rows, blocks = rows[order], blocks[order]
    pad = int(blocks.max(initial=0))
    starts = 10 * np.arange(-pad, int(n.max(initial=0)) // 10 + pad + 1)
    shared = (starts >= 10**position) if position else np.zeros(starts.shape, dtype=np.bool_)
    table = np.where(shared, significant_digit(np.maximum(starts, 0), max(position, 1)), 10)
    columns = (min_count // 10 * 10, 10**position if position else int(starts[-1]) + 10)
    edges = np.append(np.flatnonzero(np.diff(blocks, prepend=-1)), rows.size)
    for first, last in pairwise(edges.tolist()):  # rows of equal width
        width = int(blocks[first])
        step = max(1, _CHUNK // (20 * width))
        for start in range(first, last, step):
            chunk = rows[start : min(start + step, last)]
            digits = _window_digits(n[chunk], p[chunk], width, table, pad, columns)
            if min_count % 10:  # only the first digit (min_count 1): drop k = 0
                digits[:, 0] = 0.0
            out[chunk] = digits / digits.sum(axis=1, keepdims=True)
    return out


def _window_digits(
    n: IntArray, p: FloatArray, width: int, table: IntArray, pad: int, columns: tuple[int, int]
) -> FloatArray:
    """Unnormalised digit masses from the pmf over anchor ± 10·width, anchor = 10·⌊mode/10⌋."""
    rows = n.shape[0]
    odds = (p / (1.0 - p))[:, None]
    n_f = n.astype(np.float64)[:, None]
    anchor = 10.0 * np.floor(np.minimum(np.floor((n + 1) * p), n) / 10)[:, None]
    half = 10 * width
    steps = np.arange(half, dtype=np.float64)[None, :]
    pmf = np.empty((rows, 2 * half))
    pmf[:, half] = 1.0
    t = anchor + steps  # pmf(t + 1) = pmf(t)·(n − t)/(t + 1)·odds; 0 from t = n on
    factor = n_f - t
    factor /= t + 1.0
    factor *= odds
    np.cumprod(factor[:, :-1], axis=1, out=pmf[:, half + 1 :])
    np.subtract(anchor, steps, out=t)  # pmf(t − 1) = pmf(t)·t/((n − t + 1)·odds); 0 from t = 0
    np.subtract(n_f + 1.0, t, out=factor)
    factor *= odds
    np.divide(t, factor, out=factor)
    np.multiply.accumulate(factor, axis=1, out=pmf[:, half - 1 :: -1])
    tens = pmf.reshape(rows, 2 * width, 10)
    block = anchor.astype(np.int64) // 10 + (pad - width + np.arange(2 * width, dtype=np.int64))
    codes = table[block] + 11 * np.arange(rows, dtype=np.int64)[:, None]
    sums = np.bincount(codes.ravel(), weights=(tens @ np.ones(10)).ravel(), minlength=11 * rows)
    digits: FloatArray = sums.reshape(rows, 11)[:, :10].astype(np.float64)
    start = 10 * (block - pad)
    by_column = (start >= columns[0]) & (start < columns[1])
    digits += np.matmul(by_column.astype(np.float64)[:, None, :], tens)[:, 0, :]
    return digits


def sample_digit_counts(
    probs: FloatArray, group: IntArray, groups: int, rng: np.random.Generator, replicates: int
) -> IntArray:
    """Digit counts per replicate and group, one independent draw per row of ``probs``.

    Returns an int array (replicates, groups, 10). A row with one digit above 1 − 1e-13
    counts as that digit. A nearly uniform row, q = λ·uniform + (1 − λ)·r with
    λ = 10·min q ≥ 0.995, uses r with probability 1 − λ (rows picked by Poisson
    splitting) and the uniform law otherwise, pooled into one multinomial: exact, and
    nearly free for large counts. Other rows compare a uniform 32-bit integer with their
    cumulative probabilities rounded to multiples of 2^-32, in blocks of 255 units × all
    replicates (comparison and column sums stay in cache).
    """
    out = np.zeros((replicates, groups, 10), dtype=np.int64)
    sure = probs.max(axis=1) >= 1.0 - _TOLERANCE
    mixed = ~sure & (probs.min(axis=1) >= _MIXED)
    top = probs.argmax(axis=1)
    for g in range(groups):
        mine = group == g
        out[:, g] += np.bincount(top[mine & sure], minlength=10)
        if np.any(mine & mixed):
            out[:, g] += _mixture_counts(probs[mine & mixed], rng, replicates)
        rest = probs[mine & ~sure & ~mixed]
        if rest.shape[0]:
            out[:, g] += _categorical_counts(rest, rng, replicates)
    return out


def _mixture_counts(probs: FloatArray, rng: np.random.Generator, replicates: int) -> IntArray:
    units = probs.shape[0]
    weight = np.minimum(10.0 * probs.min(axis=1), 1.0)
    rate = -np.log(weight)  # row r is hit by Poisson(rate_r) events; used iff hit
    spread = np.where(weight[:, None] < 1.0, probs - weight[:, None] / 10, 0.1)
    residual = np.cumsum(spread / spread.sum(axis=1, keepdims=True), axis=1)[:, :9]
    cumulative = np.cumsum(rate)
    total = float(cumulative[-1])
    events = rng.poisson(total, size=replicates)
    row = np.searchsorted(cumulative, rng.random(int(events.sum())) * total, side="right")
    hit = np.unique(np.repeat(np.arange(replicates), events) * units + np.minimum(row, units - 1))
    rep = hit // units
    digit = (rng.random(hit.size)[:, None] >= residual[hit % units]).sum(axis=1)
    counts = np.bincount(rep * 10 + digit, minlength=10 * replicates).reshape(replicates, 10)
    used = np.bincount(rep, minlength=replicates)
    pooled: IntArray = counts + rng.multinomial(units - used, np.full(10, 0.1))
    return pooled


def _categorical_counts(probs: FloatArray, rng: np.random.Generator, replicates: int) -> IntArray:
    cumulative = np.cumsum(probs, axis=1)[:, :9]
    scaled = np.rint(cumulative * 2.0**32)
    thresholds = np.ascontiguousarray(np.minimum(scaled, 2.0**32 - 1).astype(np.uint32).T)
    at_most = np.zeros((9, replicates), dtype=np.int64)  # draws with digit ≤ d
    below = np.empty((_BLOCK, replicates), dtype=np.bool_)
    units = probs.shape[0]
    for start in range(0, units, _BLOCK):
        m = min(_BLOCK, units - start)
        raw = rng.bit_generator.random_raw((m * replicates + 1) // 2)
        bits = np.asarray(raw, dtype="<u8").view("<u4")[: m * replicates]
        draws = bits.reshape(m, replicates)
        hit = below[:m]
        for d in range(9):
            np.less(draws, thresholds[d, start : start + m, None], out=hit)
            at_most[d] += np.add.reduce(hit.view(np.uint8), axis=0, dtype=np.uint8)
    total = np.vstack([at_most, np.full((1, replicates), units, dtype=np.int64)])
    counts: IntArray = np.diff(total, axis=0, prepend=0).T
    return counts


@dataclass(frozen=True)
class IncludedCounts:
    """The included counts, grouped by choice (rows of one choice are contiguous)."""

    choices: tuple[str, ...]
    trials: IntArray
    count: IntArray
    group: IntArray
    share: FloatArray


def included_counts(
    table: UnitTable, choices: Sequence[str] | None, min_count: int, min_expected: float = 0.0
) -> IncludedCounts:
    """Each listed choice's counts ≥ ``min_count`` (``None``: every choice).

    A unit enters only if the choice's expected count there, max(ballots cast, votes) ×
    the choice's overall share, is at least ``min_expected`` (independent of the count
    itself, so it selects no digits). Trials are max(ballots cast, votes); share = k/n.
    """
    names = tuple(table.choices if choices is None else choices)
    unknown = [c for c in names if c not in table.votes]
    if unknown:
        raise ValueError(f"unknown choices {unknown}; the table has {list(table.choices)}")
    trials: list[IntArray] = []
    count: list[IntArray] = []
    group: list[IntArray] = []
    for g, name in enumerate(names):
        votes = table.votes[name]
        n = np.maximum(table.ballots_cast, votes)
        overall = float(votes.sum() / max(int(n.sum()), 1))
        keep = (votes >= max(min_count, 1)) & (n * overall >= min_expected)
        trials.append(n[keep])
        count.append(votes[keep])
        group.append(np.full(int(keep.sum()), g, dtype=np.int64))
    n_all, k_all = np.concatenate(trials), np.concatenate(count)
    share: FloatArray = k_all / n_all
    return IncludedCounts(names, n_all, k_all, np.concatenate(group), share)


def chi_square(counts: IntArray | FloatArray, expected: FloatArray) -> FloatArray:
    """Σ_d (O_d − E_d)²/E_d over the last axis, digits with E_d = 0 left out."""
    safe = np.where(expected > 0, expected, 1.0)
    out: FloatArray = np.where(expected > 0, (counts - expected) ** 2 / safe, 0.0).sum(axis=-1)
    return out


@dataclass(frozen=True)
class DigitNull:
    """Observed digits of the included counts beside their exact and simulated null.

    ``observed`` and ``expected`` are (groups, 10); ``simulated`` is (replicates, groups, 10).
    """

    choices: tuple[str, ...]
    observed: IntArray
    expected: FloatArray
    simulated: IntArray

    @property
    def total(self) -> int:
        return int(self.observed.sum())

    def distribution(self, fixed_law: FloatArray, digits: slice = slice(None)) -> dict[str, Any]:
        """Pooled proportions for plots: observed, null mean and 95% band, fixed law."""
        total = max(self.total, 1)
        pooled = self.simulated.sum(axis=1)[:, digits] / total
        low, high = np.percentile(pooled, [2.5, 97.5], axis=0)
        return {
            "digits": DIGITS[digits].tolist(),
            "observed": (self.observed.sum(axis=0)[digits] / total).tolist(),
            "null_mean": (self.expected.sum(axis=0)[digits] / total).tolist(),
            "null_low": low.tolist(),
            "null_high": high.tolist(),
            "fixed_law": fixed_law[digits].tolist(),
        }


def digit_null(
    counts: IncludedCounts,
    digit: IntArray,
    probs: FloatArray,
    rng: np.random.Generator,
    replicates: int,
) -> DigitNull:
    """Tabulate observed digits and expected counts, and simulate the null per choice."""
    groups = len(counts.choices)
    observed = np.bincount(counts.group * 10 + digit, minlength=10 * groups).reshape(groups, 10)
    expected = np.zeros((groups, 10))
    for g in range(groups):
        expected[g] = probs[counts.group == g].sum(axis=0)
    simulated = sample_digit_counts(probs, counts.group, groups, rng, replicates)
    return DigitNull(counts.choices, observed, expected, simulated)
