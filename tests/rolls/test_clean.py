"""Cleaning names, suffixes, nicknames and dates before linkage."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.rolls.clean import (
    add_first_name_variants,
    ascii_upper,
    canonical_first_name,
    clean_name,
    name_variants,
    parse_dates,
    split_suffix,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("José", "JOSE"),
        ("  mary   ann ", "MARY ANN"),
        ("O'Brien", "O'BRIEN"),
        ("Anne-Marie", "ANNE-MARIE"),
        ("Zoë", "ZOE"),
        ("smith, jr.", "SMITH JR"),
        ("Ｓｍｉｔｈ", "SMITH"),  # full-width letters
        ("!!!", ""),
    ],
)
def test_names_are_ascii_upper_case(raw: str, clean: str) -> None:
    assert ascii_upper(raw) == clean


@given(st.text(max_size=30))
def test_cleaning_is_idempotent_and_ascii(text: str) -> None:
    once = ascii_upper(text)
    assert ascii_upper(once) == once
    assert once.isascii()
    assert once == once.strip()


def test_suffixes_move_out_of_names_and_are_normalised() -> None:
    frame = pl.DataFrame(
        {
            "first_name": ["JOHN", "ROBERT III", "MARY", "LEE"],
            "last_name": ["SMITH JUNIOR", "JONES", "WILLIAMS", "JR"],
            "suffix": [None, None, "2ND", None],
        }
    )
    out = split_suffix(frame)
    assert out["last_name"].to_list() == ["SMITH", "JONES", "WILLIAMS", "JR"]
    assert out["first_name"].to_list() == ["JOHN", "ROBERT", "MARY", "LEE"]
    assert out["suffix"].to_list() == ["JR", "III", "II", None]


def test_nickname_variants_come_from_the_nicknames_table() -> None:
    assert {"BILL", "WILLIAM"} <= set(name_variants("BILL"))
    assert "BILL" in name_variants("WILLIAM")
    assert canonical_first_name("JIM") == "JAMES"
    assert canonical_first_name("MITCHELL") == "MITCHELL"
    assert canonical_first_name("BILL") == "BILL"  # listed under several names
    frame = add_first_name_variants(pl.DataFrame({"first_name": ["JIM", None]}))
    assert frame["first_name_canonical"].to_list() == ["JAMES", None]
    assert "JIM" in frame["first_name_variants"][0].to_list()


def test_dates_in_common_formats() -> None:
    frame = pl.DataFrame(
        {"d": ["1980-02-29", "19991231", "2/3/1970", "1970/02/03", "1981-02-29", "31.12.1999", ""]}
    )
    us = frame.select(parse_dates("d"))["d"].to_list()
    assert us[:4] == [dt.date(1980, 2, 29), dt.date(1999, 12, 31), dt.date(1970, 2, 3),
                      dt.date(1970, 2, 3)]  # fmt: skip
    assert us[4:] == [None, None, None]  # impossible date, day-first without --day-first, empty
    eu = frame.select(parse_dates("d", day_first=True))["d"].to_list()
    assert eu[2] == dt.date(1970, 3, 2)
    assert eu[5] == dt.date(1999, 12, 31)


def test_clean_name_expression_nulls_empty_values() -> None:
    frame = pl.DataFrame({"n": ["  ", "Ève", None]}).select(clean_name("n"))
    assert frame["n"].to_list() == [None, "EVE", None]
