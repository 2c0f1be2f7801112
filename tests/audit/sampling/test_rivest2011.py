"""Rivest's 2011 ``sampler.py`` against its published known answers.

* cjerdonek/rivest-sampler-tests ``tests.json`` (in ``shared/data/formats``);
* the transcript in the docstring of Rivest's ``sampler.py`` (November 14, 2011):
  47 picks without replacement from 1..876, one duplicate rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tallyguard.audit.sampling.rivest2011 import rivest_sample
from tallyguard.errors import InputError

TRANSCRIPT_SEED = "3546311556112163624615351222"
TRANSCRIPT = [
    740, 180, 264, 789, 238, 448, 272, 611, 761, 208,
    596, 88, 160, 113, 766, 427, 184, 816, 653, 411,
    779, 331, 339, 487, 594, 235, 65, 527, 821, 490,
    461, 251, 471, 414, 174, 567, 300, 134, 144, 357,
    786, 792, 218, 550, 787, 537, 197,
]  # fmt: skip


def test_published_vectors(shared_data: Path) -> None:
    path = shared_data / "formats" / "rivest-sampler-test-vectors" / "tests.json"
    if not path.is_file():
        pytest.skip(f"published test vectors not available: {path} is absent")
    cases = json.loads(path.read_text("utf-8"))["tests"]
    assert len(cases) == 10
    for case in cases:
        data = case["data"]
        got = rivest_sample(data["seed"], data["count"], b=data["total"])
        assert got == case["expected"], data


def test_transcript_without_replacement() -> None:
    assert rivest_sample(TRANSCRIPT_SEED, 47, b=876, with_replacement=False) == TRANSCRIPT
    # with replacement, pick 32 (a repeat of 611) is kept
    with_repeats = rivest_sample(TRANSCRIPT_SEED, 32, b=876)
    assert with_repeats[:31] == TRANSCRIPT[:31]
    assert with_repeats[31] == 611


def test_expanded_sample_skips_the_earlier_one() -> None:
    first = rivest_sample(TRANSCRIPT_SEED, 20, b=876, with_replacement=False)
    more = rivest_sample(TRANSCRIPT_SEED, 27, b=876, with_replacement=False, skip=20)
    assert first + more == TRANSCRIPT
    assert rivest_sample("1", 3, a=11, b=1010) == [107, 99, 173]  # the 1..1000 picks + 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": "", "n": 1, "b": 5}, "empty"),
        ({"seed": "1", "n": 1, "a": 6, "b": 5}, "empty"),
        ({"seed": "1", "n": -1, "b": 5}, ">= 0"),
        ({"seed": "1", "n": 6, "b": 5, "with_replacement": False}, "full hand count"),
    ],
)
def test_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        rivest_sample(**kwargs)
