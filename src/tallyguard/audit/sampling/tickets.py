"""Ticket numbers of Rivest's consistent sampler, exactly as the reference computes them.

Rivest, R.L. (2018). "Consistent Sampling with Replacement." arXiv:1808.10016;
reference implementation: the ``consistent-sampler`` package (1.0.10,
``consistent_sampler.py``), used by Arlo with ``digits=18``.

Every object (ballot) has an id; its *first ticket* is a pseudo-random real in
(0, 1) derived from the seed and ``str(id)``; sampling without replacement takes
objects in increasing ticket order. With replacement, a drawn object gets a
*next ticket*, pseudo-random in (previous ticket, 1), and goes back in the basket.

The exact recipe (all hashing is SHA-256 of UTF-8 text):

* ``seed_hash = hex(SHA-256(str(seed)))`` (64 lowercase hex digits);
* ``uniform(text) = "0." + reversed(decimal(SHA-256(text)) zero-padded to 64 digits)``
  -- the decimal digits are reversed so that the unbiased low-order digits come first;
  the result has 64 to 78 digits;
* ``first ticket = uniform(seed_hash + str(id))``;
* ``next ticket of x``: keep x's leading 9s, append the digits of
  ``uniform(x + ":" + str(i))`` for i = 1, 2, ... until the result exceeds
  ``x + "0"`` as a string;
* the printed ticket is ``trim(x, digits)``: the leading 9s after "0." and then
  ``digits`` more digits, so a printed ticket can be longer than ``digits``
  digits (pitfall P2 in ``docs/audit-methods.md``: "0.9722586520568512638").

Tickets are compared as *strings* (Python ``str`` order) by the reference; for
these "0."-prefixed digit strings that is numeric order, except that a string
sorts before every longer string it is a prefix of.
"""

from __future__ import annotations

import hashlib
from typing import Final

from tallyguard.errors import InputError

#: Number of leading ticket digits packed into a :func:`ticket_key` (fits in uint64).
KEY_DIGITS: Final = 9
_KEY_MODULUS: Final = 10**KEY_DIGITS
_PAD: Final = 64


def seed_hash(seed: str) -> str:
    """Hex SHA-256 of the seed text: the prefix of every first-ticket hash input.

    Args:
        seed: the public random seed (e.g. 20 dice digits).

    Returns:
        64 lowercase hex digits; as UTF-8 this is exactly one SHA-256 block, so a
        hasher fed with it can be copied for each ballot (see ``_kernel``).
    """
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def digits_from_digest(digest: bytes) -> str:
    """The fraction digits (without "0.") that ``sha256_uniform`` makes of a digest.

    Args:
        digest: a 32-byte SHA-256 digest.

    Returns:
        The decimal value of the digest (big-endian), zero-padded to 64 digits
        and reversed: 64 to 78 digits.
    """
    return f"{int.from_bytes(digest, 'big'):0{_PAD}d}"[::-1]


def uniform(text: str) -> str:
    """Rivest's ``sha256_uniform``: a pseudo-random real in (0, 1) as a "0.ddd..." string.

    Args:
        text: the hash input (hashed as UTF-8).
    """
    return "0." + digits_from_digest(hashlib.sha256(text.encode("utf-8")).digest())


def first_ticket(id_text: str, seed: str) -> str:
    """The generation-1 ticket of the object whose ``str(id)`` is ``id_text`` (full precision).

    Args:
        id_text: ``str(id)`` of the object, e.g. ``"(('Jx 1', 'pct 8'), 3)"``.
        seed: the public random seed.
    """
    return uniform(seed_hash(seed) + id_text)


def next_ticket(ticket: str) -> str:
    """The next-generation ticket after ``ticket`` (full precision), as the reference makes it.

    Args:
        ticket: a full-precision ticket "0.ddd...", never a trimmed one.

    Returns:
        A ticket that compares greater than ``ticket`` (as a string and as a number).
    """
    if not ticket.startswith("0."):
        raise ValueError(f"a ticket must start with '0.', not {ticket[:10]!r}")
    padded = ticket + "0"
    nines = _leading_nines(padded)
    kept = padded[: 2 + nines]
    counter = 0
    candidate = "0."
    while candidate <= padded:
        counter += 1
        candidate = kept + uniform(f"{ticket}:{counter}")[2:]
    return candidate


def trim(ticket: str, digits: int) -> str:
    """Rivest's ``trim``: the leading 9s after "0." and then ``digits`` more digits (truncated).

    Args:
        ticket: a full-precision ticket.
        digits: how many digits to keep after the initial run of 9s (Arlo uses 18).

    Example:
        >>> trim("0.9991234567890", 4)
        '0.9991234'
    """
    return ticket[: 2 + _leading_nines(ticket) + digits]


def ticket_key(ticket: str) -> int:
    """The first :data:`KEY_DIGITS` fraction digits as an integer.

    ``ticket_key(a) < ticket_key(b)`` implies ``a < b`` (string order) for full
    tickets, which all have at least 64 digits; equal keys decide nothing.
    """
    return int(ticket[2 : 2 + KEY_DIGITS])


def key_from_digest(digest: bytes) -> int:
    """:func:`ticket_key` of the ticket that ``digest`` gives, without formatting 78 digits."""
    low = int.from_bytes(digest, "big") % _KEY_MODULUS
    return int(f"{low:0{KEY_DIGITS}d}"[::-1])


def check_seed(seed: object) -> str:
    """Require a non-empty text seed; return it unchanged.

    Raises:
        InputError: for a seed that is not text, or is empty or only blanks.
    """
    if not isinstance(seed, str):
        raise InputError(
            f"the random seed must be text, not {type(seed).__name__}.",
            field="seed",
            fix="give the seed as a string, e.g. the 20 dice digits as typed.",
        )
    if not seed.strip():
        raise InputError(
            "the random seed is empty.",
            field="seed",
            fix="roll the public dice (e.g. 20 ten-sided dice) and enter the digits as the seed.",
        )
    return seed


def _leading_nines(ticket: str) -> int:
    """Number of 9s directly after "0." (all of the digits if every one is a 9)."""
    fraction = ticket[2:]
    return len(fraction) - len(fraction.lstrip("9"))
