"""The NVRA quiet period and date-of-birth masking."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tallyguard.errors import InputError
from tallyguard.rolls.safeguards import check_quiet_period, mask_dates

ELECTION = dt.date(2026, 11, 3)


@pytest.mark.parametrize(
    ("as_of", "refused"),
    [
        (dt.date(2026, 8, 4), False),  # 91 days before
        (dt.date(2026, 8, 5), False),  # 90 days before: the last day a program may finish
        (dt.date(2026, 8, 6), True),  # 89 days
        (dt.date(2026, 11, 3), True),  # election day
        (dt.date(2026, 11, 4), False),  # after the election
    ],
)
def test_quiet_period(as_of: dt.date, refused: bool) -> None:
    if refused:
        with pytest.raises(InputError, match="quiet period"):
            check_quiet_period(ELECTION, as_of)
    else:
        check_quiet_period(ELECTION, as_of)
    check_quiet_period(None, as_of)


def test_dates_of_birth_are_masked_unless_asked() -> None:
    frame = pl.DataFrame({"dob_l": ["1970-02-03", None], "name": ["A", "B"]})
    assert mask_dates(frame, ("dob_l", "dob_r"), show=False)["dob_l"].to_list() == [
        "1970-**-**",
        None,
    ]
    assert mask_dates(frame, ("dob_l",), show=True).equals(frame)
