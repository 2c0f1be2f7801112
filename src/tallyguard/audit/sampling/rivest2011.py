"""Rivest's 2011 ``sampler.py``: SHA-256 in counter mode over the integers a..b.

Rivest, R.L. (2011). Reference implementation ``sampler.py`` (version
"November 14, 2011"), the method of Stark's online ``sha256Rand`` tool; known
answers in cjerdonek/rivest-sampler-tests ``tests.json``. It precedes the
consistent sampler (Rivest 2018, "Consistent Sampling with Replacement",
arXiv:1808.10016), which replaced it in Arlo; it is here so that samples drawn
with the older tool can be re-derived.

Pick ``i`` (i = 1, 2, ...) is ``a + (SHA-256(seed + "," + str(i)) mod (b - a + 1))``,
the hash read as a big-endian integer and the text hashed as UTF-8 (Jerdonek's
clarification of 2014). Without replacement a repeated pick is rejected (its
counter value is used up). An expanded sample skips the ``skip`` picks of the
earlier sample and returns the next ones.
"""

from __future__ import annotations

import hashlib

from tallyguard.audit.sampling.tickets import check_seed
from tallyguard.errors import InputError


def rivest_sample(
    seed: str,
    n: int,
    *,
    a: int = 1,
    b: int,
    with_replacement: bool = True,
    skip: int = 0,
) -> list[int]:
    """The picks ``skip + 1 .. skip + n`` of Rivest's 2011 sampler on ``a..b``.

    Args:
        seed: the seed text exactly as it is hashed (the 2011 program strips blanks
            around each line typed and joins the lines).
        n: number of new picks.
        a: smallest integer (default 1).
        b: largest integer.
        with_replacement: allow repeated picks (True in the published test vectors).
        skip: size of an earlier sample that this one extends.

    Returns:
        The new picks in the order generated.

    Raises:
        InputError: for an empty seed, ``b < a``, negative counts, or more picks
            without replacement than integers in a..b.
    """
    check_seed(seed)
    if b < a:
        raise InputError(f"the range {a}..{b} is empty.", fix="give a <= b.")
    if n < 0 or skip < 0:
        raise InputError(f"n = {n} and skip = {skip} must be >= 0.", fix="use counts >= 0.")
    size = b - a + 1
    if not with_replacement and n + skip > size:
        raise InputError(
            f"cannot pick {n + skip} distinct integers from {a}..{b}.",
            fix="a full hand count is needed: take every item.",
        )
    prefix = seed.encode("utf-8") + b","
    picks: list[int] = []
    seen: set[int] = set()
    counter = 0
    while len(picks) < n + skip:
        counter += 1
        digest = hashlib.sha256(prefix + str(counter).encode("ascii")).digest()
        pick = a + int.from_bytes(digest, "big") % size
        if not with_replacement:
            if pick in seen:
                continue
            seen.add(pick)
        picks.append(pick)
    return picks[skip:]
