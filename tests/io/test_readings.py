"""The readings CSV that audit boards fill in (``tallyguard audit record``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.io.readings import (
    BALLOT_COLUMNS,
    interpretation_text,
    read_ballot_readings,
    read_batch_readings,
)

CONTESTS = {"Governor": ("Alice Avery", "Bob Brooks"), "Council": ("Erin", "Farid", "Grace")}
HEADER = ",".join(BALLOT_COLUMNS)
EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 200


def _write(tmp_path: Path, text: str, name: str = "readings.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_choices_keywords_and_skips_empty_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"{HEADER}\n"
        "J1,T1,B1,3,Governor,alice avery,\n"
        "J1,T1,B1,3,council,Erin; Grace,two marks\n"
        "J1,T1,B1,4,Governor,not  found,box sealed\n"
        "J1,T1,B1,5,Governor,,\n"
        "J1,T1,B1,6,Governor,Overvote,\n"
        "J1,,B2,1,Council,NOT ON CARD,\n",
    )
    rows = read_ballot_readings(path, CONTESTS)
    assert [(r.position, r.contest, r.result, r.choices) for r in rows] == [
        (3, "Governor", "vote", ("Alice Avery",)),
        (3, "Council", "vote", ("Erin", "Grace")),
        (4, "Governor", "not_found", ()),
        (6, "Governor", "overvote", ()),
        (1, "Council", "not_on_card", ()),
    ]
    assert rows[2].comment == "box sealed"
    assert rows[0].line == 2
    assert rows[-1].tabulator == ""


def test_an_unknown_choice_names_line_field_and_the_closest_choice(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER}\nJ1,T1,B1,3,Governor,Alice Avry,\n")
    with pytest.raises(InputError) as caught:
        read_ballot_readings(path, CONTESTS)
    message = str(caught.value)
    assert "line 2" in message
    assert "'Interpretation'" in message
    assert "did you mean 'Alice Avery'" in message


def test_an_unknown_contest_and_a_bad_position_are_located(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER}\nJ1,T1,B1,3,Govenor,Bob Brooks,\n")
    with pytest.raises(InputError, match="did you mean 'Governor'"):
        read_ballot_readings(path, CONTESTS)
    path = _write(tmp_path, f"{HEADER}\nJ1,T1,B1,0,Governor,Bob Brooks,\n")
    with pytest.raises(InputError, match=r"line 2.*starts at 1"):
        read_ballot_readings(path, CONTESTS)
    path = _write(tmp_path, f"{HEADER}\nJ1,T1,B1,2,Council,Erin;erin,\n")
    with pytest.raises(InputError, match="listed twice"):
        read_ballot_readings(path, CONTESTS)


def test_interpretation_text_round_trips(tmp_path: Path) -> None:
    cases = [("vote", ("Erin", "Farid")), ("blank", ()), ("overvote", ()), ("not_found", ()),
             ("not_on_card", ())]  # fmt: skip
    lines = [f"J,T,B,{i},Council,{interpretation_text(r, c)}," for i, (r, c) in
             enumerate(cases, start=1)]  # fmt: skip
    path = _write(tmp_path, HEADER + "\n" + "\n".join(lines) + "\n")
    assert [(r.result, r.choices) for r in read_ballot_readings(path, CONTESTS)] == cases


def test_batch_tallies_of_boards(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Jurisdiction,Tabulator,Batch Name,Contest,Choice,Votes\n"
        "J1,T1,B1,Governor,Alice Avery,120\n"
        "J1,T1,B1,Governor,Bob Brooks,\n"
        "J1,T1,B1,Governor,bob brooks,80\n",
    )
    rows = read_batch_readings(path, CONTESTS)
    assert [(r.choice, r.votes) for r in rows] == [("Alice Avery", 120), ("Bob Brooks", 80)]
    bad = _write(tmp_path, "Jurisdiction,Batch Name,Contest,Choice,Votes\nJ1,B1,Governor,Carol,3\n")
    with pytest.raises(InputError, match="not a choice of 'Governor'"):
        read_batch_readings(bad, CONTESTS)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_garbage_is_an_input_error_never_a_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(HEADER.encode() + b"\n" + body)
    for reader in (read_ballot_readings, read_batch_readings):
        with contextlib.suppress(InputError):
            reader(path, CONTESTS)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from(["J1", "", "J\u00e9"]),
            st.sampled_from(["1", "0", "-3", "x", "", "99999999999999999999"]),
            st.sampled_from(["Governor", "Council", "Mayor", ""]),
            st.sampled_from(["Alice Avery", "Erin;Farid", "BLANK", "Zed", ";", "NOT FOUND", ""]),
        ),
        max_size=6,
    )
)
def test_near_valid_files_are_input_errors_never_crashes(
    tmp_path: Path, cells: list[tuple[str, str, str, str]]
) -> None:
    lines = [f"{j},T,B,{p},{c},{i}," for j, p, c, i in cells]
    path = tmp_path / "near.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        rows = read_ballot_readings(path, CONTESTS)
    except InputError:
        return
    for row in rows:
        assert row.position >= 1
        assert set(row.choices) <= set(CONTESTS[row.contest])
