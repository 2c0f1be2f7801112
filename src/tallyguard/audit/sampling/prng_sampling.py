"""Simple random samples from Stark's SHA-256 PRNG, bit-identical with ``cryptorandom.sample``.

Stark, P.B. & Ottoboni, K. ``cryptorandom`` 0.4, module ``cryptorandom.sample``;
SHANGRLA draws its samples with ``sample_by_index(N, n, prng=SHA256(seed))`` and
numbers CVRs with ``SHA256.nextRandom`` (see :func:`~tallyguard.audit.sampling.prng.
assign_sample_nums`). The PRNG itself follows Rivest's SHA-256 counter mode
(Rivest 2018, "Consistent Sampling with Replacement", arXiv:1808.10016, §2).

Every function here consumes the generator exactly as its ``cryptorandom``
namesake, so the same seed gives the same sample. Population items are numbered
1..n and the functions return those numbers; :func:`random_sample` maps them to
the items. Differences, all on inputs where the reference crashes or hangs: bad
input raises :class:`~tallyguard.errors.InputError`; ``None`` (a random seed) is
not accepted; Vitter's algorithm Z is not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tallyguard.audit.sampling.prng import SHA256, get_prng
from tallyguard.errors import InputError

Ints = NDArray[np.int64]
UNWEIGHTED: Final = ("Fisher-Yates", "PIKK", "recursive", "Waterman_R", "sample_by_index")
WEIGHTED: Final = ("Exponential", "Elimination")
PERMUTATIONS: Final = ("Fisher-Yates", "random_sort", "permute_by_index")


def _check_sizes(n: int, k: int, *, replace: bool = False) -> None:
    if n < 1:
        raise InputError(f"the population is empty (n = {n}).", fix="sample from n >= 1 items.")
    if k < 0:
        raise InputError(f"the sample size is negative ({k}).", fix="ask for k >= 0 items.")
    if not replace and k > n:
        raise InputError(
            f"cannot draw {k} of {n} items without replacement.",
            fix=f"a full hand count is needed: take all {n}, or draw at most {n}.",
        )


def sample_by_index(
    n: int, k: int, *, replace: bool = False, fast: bool = False, prng: SHA256 | int | str
) -> Ints:
    """Draw k of 1..n by picking indices (``cryptorandom.sample.sample_by_index``).

    Without replacement, draw ``i`` picks position ``w`` uniformly among the
    ``n - i`` items left, and the last item moves into the gap. Only the moved
    items are stored, so memory is O(k), not O(n).

    Args:
        n: population size.
        k: sample size.
        replace: with replacement (k independent ``randint(1, n + 1)``).
        fast: order not random: draw ``min(k, n - k)`` and, if that is the
            complement, return the rest in Python ``set`` order (as the reference).
        prng: the generator or a seed.
    """
    _check_sizes(n, k, replace=replace)
    generator = get_prng(prng)
    if replace:
        return np.array([1 + generator.randbelow(n) for _ in range(k)], dtype=np.int64)
    draws = min(k, n - k) if fast else k
    moved: dict[int, int] = {}
    sample: list[int] = []
    for i in range(draws):
        left = n - i
        w = 1 + generator.randbelow(left)
        sample.append(moved.get(w - 1, w))
        last = moved.pop(left - 1, left)
        if w < left:
            moved[w - 1] = last
    if fast and n - k < k:
        sample = list(set(range(1, n + 1)) - set(sample))
    return np.array(sample, dtype=np.int64)


def fykd_sample(n: int, k: int, *, prng: SHA256 | int | str) -> Ints:
    """Fisher-Yates-Knuth-Durstenfeld: the first k of a shuffle of 1..n (``fykd_sample``).

    Draws k floats ``u_i`` first, then swaps item ``i`` with item
    ``floor(i + u_i (n - i))`` for i = 0..k-1 (float64 arithmetic, as numpy does it).
    """
    _check_sizes(n, k)
    generator = get_prng(prng)
    u = generator.random_array(k)
    ind = np.arange(k, dtype=np.int64)
    targets = np.array(ind + u * (n - ind), dtype=np.int64)
    moved: dict[int, int] = {}
    for i, j in enumerate(targets.tolist()):
        if j >= n:
            raise InputError(f"draw {i} fell outside the population (u = {u[i]!r}).")
        moved[i], moved[j] = moved.get(j, j + 1), moved.get(i, i + 1)
    return np.array([moved.get(i, i + 1) for i in range(k)], dtype=np.int64)


def pikk(n: int, k: int, *, prng: SHA256 | int | str) -> Ints:
    """Permute indices and keep k: the k items of 1..n with the smallest uniforms (``pikk``)."""
    _check_sizes(n, k)
    generator = get_prng(prng)
    order: Ints = np.argsort(generator.random_array(n), kind="stable")[:k] + 1
    return order


def recursive_sample(n: int, k: int, *, prng: SHA256 | int | str) -> Ints:
    """Cormen et al.'s recursive sample (``recursive_sample``), unrolled into a loop.

    For m = n-k+1, ..., n: draw i uniform on 1..m; add m if i is already in the
    sample, else i.
    """
    _check_sizes(n, k)
    generator = get_prng(prng)
    sample: list[int] = []
    chosen: set[int] = set()
    for m in range(n - k + 1, n + 1):
        i = 1 + generator.randbelow(m)
        pick = m if i in chosen else i
        sample.append(pick)
        chosen.add(pick)
    return np.array(sample, dtype=np.int64)


def waterman_r(n: int, k: int, *, prng: SHA256 | int | str) -> Ints:
    """Waterman's reservoir algorithm R (``waterman_r``); the order is not random."""
    _check_sizes(n, k)
    generator = get_prng(prng)
    reservoir = list(range(1, k + 1))
    for t in range(k + 1, n + 1):
        i = 1 + generator.randbelow(t)
        if i <= k:
            reservoir[i - 1] = t
    return np.array(reservoir, dtype=np.int64)


def _weights(p: ArrayLike) -> NDArray[np.float64]:
    weights = np.asarray(p, dtype=float)
    if weights.ndim != 1 or weights.size == 0:
        raise InputError("the weights must be a non-empty list.", fix="give one weight per item.")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise InputError(
            "every weight must be a finite number >= 0.", fix="correct the negative weight."
        )
    return weights


def exponential_sample(k: int, p: ArrayLike, *, prng: SHA256 | int | str) -> Ints:
    """Weighted sample without replacement by exponential races (``exponential_sample``).

    Item j gets ``-log(u_j) / w_j``; the k smallest win. As in the reference, asking
    for all ``k = n`` items returns ``0, 1, ..., n-1`` without drawing anything
    (which :func:`random_sample` maps to the items ``n, 1, ..., n-1``).
    """
    weights = _weights(p)
    n = weights.size
    _check_sizes(n, k)
    if k == n:
        return np.arange(k, dtype=np.int64)
    generator = get_prng(prng)
    with np.errstate(divide="ignore"):
        race = -np.log(generator.random_array(n)) / weights
    order: Ints = race.argsort()[0:k].astype(np.int64) + 1
    return order


def elimination_sample(
    k: int, p: ArrayLike, *, replace: bool = True, prng: SHA256 | int | str
) -> Ints:
    """Weighted sample by inverting the cumulative weights (``elimination_sample``).

    Without replacement the drawn item's weight is removed before the next draw;
    ``k = n`` returns ``0, ..., n-1`` without drawing, as the reference does.
    """
    weights = _weights(p)
    n = weights.size
    _check_sizes(n, k, replace=replace)
    generator = get_prng(prng)
    if replace:
        cumulative = np.cumsum(weights) / np.sum(weights)
        found: Ints = cumulative.searchsorted(generator.random_array(k)).astype(np.int64) + 1
        return found
    if k == n:
        return np.arange(k, dtype=np.int64)
    left = weights.copy()
    indices = np.arange(n, dtype=np.int64)
    sample = np.full(k, -1, dtype=np.int64)
    for i in range(k):
        cumulative = np.cumsum(left) / np.sum(left)
        at = int(cumulative.searchsorted(generator.random()))
        sample[i] = indices[at]
        indices, left = np.delete(indices, at), np.delete(left, at)
    return sample + 1


def _population(a: Sequence[Any] | NDArray[Any] | int) -> NDArray[Any]:
    if isinstance(a, bool):
        raise InputError("the population must be a list or a size, not a bool.")
    if isinstance(a, int | np.integer):
        if int(a) <= 0:
            raise InputError(f"the population size must be >= 1, not {a}.")
        return np.arange(int(a))
    return np.array(a)


def random_sample(
    a: Sequence[Any] | NDArray[Any] | int,
    size: int,
    *,
    replace: bool = False,
    fast: bool = False,
    p: ArrayLike | None = None,
    method: str = "sample_by_index",
    prng: SHA256 | int | str,
) -> NDArray[Any]:
    """A random sample of the items of ``a`` (``cryptorandom.sample.random_sample``).

    Args:
        a: the items, or n for the items ``0..n-1``.
        size: sample size.
        replace: with replacement (only ``sample_by_index``, or ``Elimination`` with weights).
        fast: see :func:`sample_by_index`.
        p: weights, for the methods ``Exponential`` and ``Elimination``.
        method: one of :data:`UNWEIGHTED` or :data:`WEIGHTED`.
        prng: the generator or a seed.

    Returns:
        The sampled items, in draw order.
    """
    items = _population(a)
    n = len(items)
    if p is not None or method in WEIGHTED:
        if p is None or method not in WEIGHTED:
            raise InputError(
                f"method {method!r} with weights {'given' if p is not None else 'missing'}.",
                field="method",
                fix="weighted sampling needs p and method 'Exponential' or 'Elimination'.",
            )
        if len(np.asarray(p)) != n:
            raise InputError(f"{len(np.asarray(p))} weights for {n} items.", field="p")
        if method == "Exponential":
            picks = exponential_sample(size, p, prng=prng)
        else:
            picks = elimination_sample(size, p, replace=replace, prng=prng)
    elif method not in UNWEIGHTED:
        raise InputError(
            f"unknown sampling method {method!r}.",
            field="method",
            fix=f"use one of {', '.join(UNWEIGHTED + WEIGHTED)}.",
        )
    elif replace and method != "sample_by_index":
        raise InputError(
            f"method {method!r} samples without replacement only.",
            field="method",
            fix="use method 'sample_by_index' to sample with replacement.",
        )
    else:
        picks = _unweighted(method, n, size, replace=replace, fast=fast, prng=prng)
    return items[picks - 1]


def _unweighted(
    method: str, n: int, k: int, *, replace: bool, fast: bool, prng: SHA256 | int | str
) -> Ints:
    if method == "Fisher-Yates":
        return fykd_sample(n, k, prng=prng)
    if method == "PIKK":
        return pikk(n, k, prng=prng)
    if method == "recursive":
        return recursive_sample(n, k, prng=prng)
    if method == "Waterman_R":
        return waterman_r(n, k, prng=prng)
    return sample_by_index(n, k, replace=replace, fast=fast, prng=prng)


def random_permutation(
    a: Sequence[Any] | NDArray[Any] | int,
    *,
    method: str = "Fisher-Yates",
    prng: SHA256 | int | str,
) -> NDArray[Any]:
    """A random reordering of the items of ``a`` (``cryptorandom.sample.random_permutation``).

    Args:
        a: the items, or n for ``0..n-1``.
        method: ``Fisher-Yates``, ``random_sort`` (PIKK) or ``permute_by_index``.
        prng: the generator or a seed.
    """
    items = _population(a)
    n = len(items)
    if method == "Fisher-Yates":
        order = fykd_sample(n, n, prng=prng)
    elif method == "random_sort":
        order = pikk(n, n, prng=prng)
    elif method == "permute_by_index":
        order = sample_by_index(n, n, prng=prng)
    else:
        raise InputError(
            f"unknown permutation method {method!r}.",
            field="method",
            fix=f"use one of {', '.join(PERMUTATIONS)}.",
        )
    return items[order - 1]
