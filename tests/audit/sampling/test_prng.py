"""Stark's SHA-256 PRNG and its sampling functions against the ``cryptorandom`` package (0.4).

Known answers from SHANGRLA's tests (``tests/core/test_CVR.py``,
``test_assign_sample_nums``) and cryptorandom's docstrings need no reference
package; the rest compares with ``cryptorandom`` itself on many seeds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import numpy as np
import pytest

from tallyguard.audit.sampling import prng_sampling as ps
from tallyguard.audit.sampling.prng import SHA256, assign_sample_nums, get_prng
from tallyguard.errors import InputError

SEEDS: list[int | str] = [
    0,
    1,
    5,
    -7,
    1234567890,
    12345678901234567890,
    2**200 + 17,
    "0",
    "ü-12345",
    "骰子",
    "😀 dice",
    "38573918402847561029",
]


def _more_seeds(count: int) -> list[int | str]:
    rng = random.Random(11)
    seeds = list(SEEDS)
    while len(seeds) < count:
        if len(seeds) % 2:
            seeds.append(rng.randrange(10**30))
        else:
            seeds.append("".join(rng.choice("0123456789äß骰子") for _ in range(rng.randint(1, 24))))
    return seeds


MANY = _more_seeds(200)


def test_shangrla_sample_numbers() -> None:
    numbers = assign_sample_nums(6, SHA256(1234567890))
    assert numbers[0] == (
        100208482908198438057700745423243738999845662853049614266130533283921761365671
    )
    assert numbers[5] == (
        93838330019164869717966768063938259297046489853954854934402443181124696542865
    )


def test_cryptorandom_docstring_values() -> None:
    prng = SHA256(12345678901234567890)
    assert prng.random_array(2).tolist() == [0.9272915426537484, 0.1916135318809483]
    assert prng.random_array((2, 2)).tolist() == [
        [0.5846237047310486, 0.18694233108130068],
        [0.9022661737961881, 0.052310932788987144],
    ]
    assert SHA256(12345678901234567890).randint_array(0, 5, 3).tolist() == [3, 2, 4]
    # output c is SHA-256 of "seed," and c zero bytes (the nextRandom docstring's
    # "4da594a8..." is stale: cryptorandom 0.4 itself gives 310d959c... here)
    prng = SHA256(12345678901234567890)
    prng.jumpahead(1)
    assert prng.next_digest().hex() == (
        "310d959ce65476647a3ec93074beff0aa6d720949207daf915712fd574635165"
    )
    assert SHA256("骰子").next_digest() == hashlib.sha256("骰子,".encode()).digest()
    assert repr(SHA256(5)) == "SHA256 PRNG. seed: 5 counter: 0 randbits_remaining: 0"


def test_generator_equals_reference_on_many_seeds() -> None:
    cr = pytest.importorskip("cryptorandom.cryptorandom")
    rng = random.Random(5)
    for seed in MANY:
        ref, ours = cr.SHA256(seed), SHA256(seed)
        for _ in range(12):
            step = rng.randrange(6)
            if step == 0:
                assert ours.random() == ref.random()
            elif step == 1:
                k = rng.choice([0, 1, 7, 64, 255, 256, 257, 600])
                assert ours.getrandbits(k) == ref.getrandbits(k)
            elif step == 2:
                a = rng.randrange(-5, 5)
                b = a + rng.choice([1, 2, 3, 10, 1000, 2**70])
                assert ours.randint(a, b) == ref.randint(a, b)
            elif step == 3:
                assert ours.next_digest() == ref.nextRandom()
            elif step == 4:
                n = rng.randrange(4)
                ours.jumpahead(n)
                ref.jumpahead(n)
            else:
                assert ours.random_array(3).tolist() == ref.random(3).tolist()
            assert (ours.counter, repr(ours)) == (ref.counter, repr(ref))


def test_state_round_trip() -> None:
    prng = SHA256("骰子")
    prng.getrandbits(3)
    state = prng.getstate()
    first = [prng.getrandbits(100), prng.random()]
    prng.setstate(state)
    assert [prng.getrandbits(100), prng.random()] == first
    assert get_prng(prng) is prng
    assert get_prng(7).getstate() == SHA256(7).getstate()


UNWEIGHTED = ["Fisher-Yates", "PIKK", "recursive", "Waterman_R", "sample_by_index"]


def test_sampling_functions_equal_reference() -> None:
    crs = pytest.importorskip("cryptorandom.sample")
    cr = pytest.importorskip("cryptorandom.cryptorandom")
    sizes = [(1, 1), (10, 0), (10, 3), (10, 10), (200, 20), (1000, 997), (50, 26)]
    for number, seed in enumerate(MANY[:60]):
        n, k = sizes[number % len(sizes)]
        for method in UNWEIGHTED:
            if method == "recursive" and k > 500:
                continue  # the reference recurses k deep and hits Python's recursion limit
            expected = crs.random_sample(n, k, method=method, prng=cr.SHA256(seed))
            got = ps.random_sample(n, k, method=method, prng=SHA256(seed))
            np.testing.assert_array_equal(got, expected)
        for fast in (False, True):
            expected = crs.sample_by_index(n, k, fast=fast, prng=cr.SHA256(seed))
            got = ps.sample_by_index(n, k, fast=fast, prng=SHA256(seed))
            np.testing.assert_array_equal(got, expected)
        expected = crs.random_sample(n, k + 3, replace=True, prng=cr.SHA256(seed))
        got = ps.random_sample(n, k + 3, replace=True, prng=SHA256(seed))
        np.testing.assert_array_equal(got, expected)
        weights = [(i % 5) + 0.25 for i in range(n)]
        for method, replace in [
            ("Exponential", False),
            ("Elimination", False),
            ("Elimination", True),
        ]:
            expected = crs.random_sample(
                n, k, replace=replace, p=weights, method=method, prng=cr.SHA256(seed)
            )
            got = ps.random_sample(
                n, k, replace=replace, p=weights, method=method, prng=SHA256(seed)
            )
            np.testing.assert_array_equal(got, expected)
        for method in ps.PERMUTATIONS:
            expected = crs.random_permutation(n, method=method, prng=cr.SHA256(seed))
            np.testing.assert_array_equal(
                ps.random_permutation(n, method=method, prng=SHA256(seed)), expected
            )


def test_sampling_items_and_shared_generator() -> None:
    crs = pytest.importorskip("cryptorandom.sample")
    cr = pytest.importorskip("cryptorandom.cryptorandom")
    fruit = ["apple", "banana", "cherry", "pear", "plum", "äpfel", "柿"]
    ref, ours = cr.SHA256(1234567890), SHA256(1234567890)
    # one generator drawn from repeatedly: SHANGRLA's way of extending a sample
    for method in UNWEIGHTED * 2:
        expected = crs.random_sample(fruit, 3, method=method, prng=ref)
        np.testing.assert_array_equal(
            ps.random_sample(fruit, 3, method=method, prng=ours), expected
        )
    assert ours.counter == ref.counter


def test_string_and_int_seeds_differ_from_each_other_only_by_text() -> None:
    assert SHA256(5).next_int() == SHA256("5").next_int()
    assert SHA256("05").next_int() != SHA256(5).next_int()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: SHA256(""), "empty"),
        (lambda: SHA256(None), "whole number or text"),  # type: ignore[arg-type]
        (lambda: SHA256(True), "whole number or text"),
        (lambda: SHA256(1.5), "whole number or text"),  # type: ignore[arg-type]
        (lambda: SHA256("\ud800"), "Unicode"),
        (lambda: SHA256(1).randint(3, 3), "a < b"),
        (lambda: SHA256(1).randbelow(0), "empty range"),
        (lambda: SHA256(1).jumpahead(-1), "jump back"),
        (lambda: ps.sample_by_index(5, 6, prng=1), "full hand count"),
        (lambda: ps.sample_by_index(0, 0, prng=1), "empty"),
        (lambda: ps.fykd_sample(5, -1, prng=1), "negative"),
        (lambda: ps.random_sample(5, 2, method="Vitter_Z", prng=1), "unknown sampling method"),
        (
            lambda: ps.random_sample(5, 2, replace=True, method="PIKK", prng=1),
            "without replacement",
        ),
        (lambda: ps.random_sample(5, 2, method="Exponential", prng=1), "weights missing"),
        (lambda: ps.random_sample(3, 2, p=[1, 2, 3], prng=1), "weights given"),
        (lambda: ps.random_sample(3, 2, p=[1, 2], method="Exponential", prng=1), "2 weights"),
        (lambda: ps.random_sample(3, 2, p=[1, -2, 1], method="Exponential", prng=1), ">= 0"),
        (lambda: ps.random_permutation(4, method="bogus", prng=1), "unknown permutation"),
        (lambda: ps.random_sample(0, 0, prng=1), "population size"),
    ],
)
def test_bad_input(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()
