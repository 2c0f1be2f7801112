"""Public random seeds for audit sampling.

Arlo asks for a seed of at least 20 digits rolled on ten-sided dice in public;
Rivest's sampler (Rivest 2018, arXiv:1808.10016) and Stark's cryptorandom
``SHA256`` hash the seed text as given, so the exact characters matter: a
leading blank or a dash changes the whole sample.
"""

from __future__ import annotations

import re

from tallyguard.errors import InputError

MIN_DICE_DIGITS = 20
_DIGITS = re.compile(r"[0-9]+")


def validate_dice_seed(seed: str) -> str:
    """Require a dice seed: at least 20 decimal digits 0-9 and nothing else.

    Args:
        seed: the digits as rolled, e.g. ``"38573918402847561029"``.

    Returns:
        The seed, unchanged.

    Raises:
        InputError: for anything but a run of at least 20 ASCII digits (blanks,
            separators, letters, or too few digits), saying how many digits it has.
    """
    if not isinstance(seed, str):
        raise InputError(
            f"the random seed must be text, not {type(seed).__name__}.",
            field="seed",
            fix="type the dice digits as a string of digits.",
        )
    if not _DIGITS.fullmatch(seed):
        bad = sorted({c for c in seed if not ("0" <= c <= "9")})
        what = "is empty" if not seed else f"contains {''.join(bad)!r}"
        raise InputError(
            f"the dice seed {what}; it must consist of the digits 0-9 only.",
            field="seed",
            fix="enter the rolled digits without blanks, dashes or other characters.",
        )
    if len(seed) < MIN_DICE_DIGITS:
        raise InputError(
            f"the dice seed has {len(seed)} digits; at least {MIN_DICE_DIGITS} are needed.",
            field="seed",
            fix=f"roll the ten-sided dice until you have at least {MIN_DICE_DIGITS} digits.",
        )
    return seed
