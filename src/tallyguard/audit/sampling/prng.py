"""Stark's SHA-256 pseudo-random number generator, bit-identical with ``cryptorandom``.

Stark, P.B. & Ottoboni, K. ``cryptorandom`` (statlab, version 0.4),
``cryptorandom.cryptorandom.SHA256``: the PRNG SHANGRLA uses to give every CVR a
sample number (``CVR.assign_sample_nums``) and to draw samples
(``cryptorandom.sample.sample_by_index``). It follows Rivest's SHA-256 counter-mode
idea (Rivest 2011 ``sampler.py``; Rivest 2018, arXiv:1808.10016).

The generator's state is the seed and a counter ``c``; output number ``c`` is::

    SHA-256( UTF-8(str(seed) + ",") + b"\\x00" * c )

read as a 256-bit big-endian integer ``x`` (the counter is appended as ``c`` zero
bytes, not as digits). From it:

* ``random()`` is ``x * 2**-256`` in floating point (``float(x)`` rounded to 53 bits);
* ``getrandbits(k)`` takes the ``k`` least significant bits of a cache of whole
  outputs, topping the cache up by prepending new outputs above the bits left;
* ``randint(a, b)`` draws uniformly from ``a .. b-1`` by rejection on
  ``getrandbits(bit_length(b - a - 1))``.

Integer and text seeds both work (``SHA256(5)`` hashes ``"5,"``); text is hashed as
UTF-8, so ``"骰子"`` is a valid seed.
"""

from __future__ import annotations

import hashlib
from operator import index
from typing import Final

import numpy as np
from numpy.typing import NDArray

from tallyguard.errors import InputError

HASH_BITS: Final = 256
RECIP_HASHLEN: Final = 2.0**-HASH_BITS
#: The whole state: (seed, counter, cached bits or None, number of cached bits).
State = tuple[int | str, int, int | None, int]


def _check_prng_seed(seed: object) -> int | str:
    if isinstance(seed, bool) or seed is None:
        raise InputError(
            f"a PRNG seed must be a whole number or text, not {seed!r}.",
            field="seed",
            fix="use the public seed, e.g. the dice digits, as text or as a number.",
        )
    if isinstance(seed, str):
        if not seed:
            raise InputError(
                "the random seed is empty.",
                field="seed",
                fix="roll the public dice (e.g. 20 ten-sided dice) and enter the digits.",
            )
        try:
            seed.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InputError(
                f"the random seed is not valid Unicode text ({error.reason}).",
                field="seed",
                fix="type the seed again as plain text.",
            ) from None
        return seed
    try:
        return index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(
            f"a PRNG seed must be a whole number or text, not {type(seed).__name__}.",
            field="seed",
            fix="use the public seed, e.g. the dice digits, as text or as a number.",
        ) from None


class SHA256:
    """Stark's SHA-256 counter-mode PRNG (``cryptorandom.cryptorandom.SHA256``).

    Example:
        >>> prng = SHA256(12345678901234567890)
        >>> prng.random()
        0.9272915426537484
    """

    def __init__(self, seed: int | str) -> None:
        """Start the generator at counter 0.

        Args:
            seed: a whole number of any size or non-empty text (hashed as
                ``str(seed) + ","`` in UTF-8).

        Raises:
            InputError: for an empty, missing or non-integer, non-text seed.
        """
        self._start(seed)

    def _start(self, seed: object) -> None:
        self._seed: int | str = _check_prng_seed(seed)
        self._base = hashlib.sha256((str(self._seed) + ",").encode("utf-8"))
        self.counter = 0
        self._bits: int | None = None
        self._remaining = 0

    @property
    def seed(self) -> int | str:
        """The seed the generator was started with."""
        return self._seed

    def __repr__(self) -> str:
        return (
            f"SHA256 PRNG. seed: {self._seed} counter: {self.counter} "
            f"randbits_remaining: {self._remaining}"
        )

    def jumpahead(self, n: int) -> None:
        """Skip ``n`` outputs (advance the counter by ``n``)."""
        steps = index(n)
        if steps < 0:
            raise InputError(f"cannot jump back ({steps} steps).", fix="jump ahead by >= 0.")
        self.counter += steps
        chunk = b"\x00" * min(steps, 1 << 20)
        while steps > 0:
            self._base.update(chunk[:steps])
            steps -= len(chunk)

    def next_digest(self) -> bytes:
        """The next raw 32-byte output (``nextRandom`` in ``cryptorandom``); counter + 1."""
        digest = self._base.digest()
        self._base.update(b"\x00")
        self.counter += 1
        return digest

    def next_int(self) -> int:
        """The next output as a 256-bit integer: SHANGRLA's CVR sample number."""
        return int.from_bytes(self.next_digest(), "big")

    def random(self) -> float:
        """A pseudo-random float in [0, 1]: ``next_int() * 2**-256``, rounded as the reference."""
        return self.next_int() * RECIP_HASHLEN

    def random_array(self, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """``random()`` repeated to fill an array of shape ``size`` (row-major order)."""
        shape = (size,) if isinstance(size, int) else tuple(size)
        count = int(np.prod(shape, dtype=np.int64))
        values = [self.next_int() * RECIP_HASHLEN for _ in range(count)]
        return np.array(values, dtype=np.float64).reshape(shape)

    def getrandbits(self, k: int) -> int:
        """``k`` pseudo-random bits from the cache of outputs, as ``cryptorandom`` takes them.

        Args:
            k: number of bits (>= 0).
        """
        if self._bits is None:
            self._bits = self.next_int()
            self._remaining = HASH_BITS
        while k > self._remaining:
            self._bits = (self.next_int() << self._remaining) | self._bits
            self._remaining += HASH_BITS
        value = self._bits & ((1 << k) - 1)
        self._remaining -= k
        self._bits >>= k
        return value

    def randbelow(self, n: int) -> int:
        """Uniform on ``0 .. n-1`` by rejection sampling on ``bit_length(n-1)`` bits.

        Raises:
            InputError: for ``n < 1`` (the reference loops forever on 0).
        """
        if n < 1:
            raise InputError(f"cannot draw from an empty range (n = {n}).", fix="use n >= 1.")
        bits = (n - 1).bit_length()
        value = self.getrandbits(bits)
        while value >= n:
            value = self.getrandbits(bits)
        return value

    def randint(self, a: int, b: int) -> int:
        """Uniform on ``a .. b-1`` (``b`` excluded), as ``cryptorandom``'s ``randint``.

        Raises:
            InputError: for ``b <= a``.
        """
        if b <= a:
            raise InputError(
                f"randint needs a < b, got a = {a}, b = {b}.",
                fix="b is excluded: use randint(a, a + n) for n values.",
            )
        return a + self.randbelow(b - a)

    def randint_array(self, a: int, b: int, size: int | tuple[int, ...]) -> NDArray[np.int64]:
        """``randint(a, b)`` repeated to fill an array of shape ``size``."""
        shape = (size,) if isinstance(size, int) else tuple(size)
        count = int(np.prod(shape, dtype=np.int64))
        values = [self.randint(a, b) for _ in range(count)]
        return np.array(values, dtype=np.int64).reshape(shape)

    def getstate(self) -> State:
        """The full state: (seed, counter, cached bits, number of cached bits)."""
        return (self._seed, self.counter, self._bits, self._remaining)

    def setstate(self, state: State) -> None:
        """Restore a state from :meth:`getstate` (cache included)."""
        seed, counter, bits, remaining = state
        self._start(seed)
        self.jumpahead(counter)
        self._bits, self._remaining = bits, remaining


def get_prng(prng: SHA256 | int | str) -> SHA256:
    """A generator from a seed (int or text) or an existing :class:`SHA256` (returned as is).

    ``cryptorandom.sample.get_prng`` also accepts None (a random seed); an audit
    must be reproducible, so that is an error here.
    """
    if isinstance(prng, SHA256):
        return prng
    return SHA256(prng)


def assign_sample_nums(count: int, prng: SHA256 | int | str) -> list[int]:
    """SHANGRLA's ``CVR.assign_sample_nums``: one 256-bit sample number per CVR, in CVR order.

    Args:
        count: number of CVRs (phantoms included, in list order).
        prng: the generator (advanced by ``count``) or a seed.
    """
    generator = get_prng(prng)
    return [generator.next_int() for _ in range(index(count))]
