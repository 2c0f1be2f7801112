"""Reading results files for forensics: mappings, presets, and the stated exclusion rules."""

from __future__ import annotations

import contextlib
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.forensics.load import load_units, parse_column_options

CANONICAL = """unit_id,region,electorate,ballots_issued,ballots_cast,invalid,Alice,Bob
U1,North,1000,600,600,10,300,290
U2,North,800,,400,0,200,200
U3,South,900,500,500,0,x,250
U4,South,700,400,400,0,390,20
U5,South,500,600,600,0,300,300
U6,North,1200,700,720,20,400,300
U7,North,1100,-5,500,0,200,300
"""


def _write(tmp_path: Path, text: str, name: str = "units.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_excluded_row_is_named_with_its_rule_and_line(tmp_path: Path) -> None:
    loaded = load_units(_write(tmp_path, CANONICAL), leader="Alice")
    table = loaded.table
    assert table.unit_id.tolist() == ["U1", "U6"]
    assert table.leader_votes.tolist() == [300, 400]
    assert table.region is not None
    assert table.region.tolist() == ["North", "North"]
    excluded = [(i.unit_id, i.line, i.rule, i.field) for i in loaded.excluded]
    assert excluded == [
        ("U2", 3, "missing", "ballots_issued"),
        ("U3", 4, "not_a_count", "Alice"),
        ("U4", 5, "votes_exceed_ballots", "ballots_cast"),
        ("U5", 6, "issued_exceed_electorate", "ballots_issued"),
        ("U7", 8, "not_a_count", "ballots_issued"),
    ]
    assert [(i.unit_id, i.rule) for i in loaded.flagged] == [("U6", "cast_exceed_issued")]
    assert loaded.exclusion_counts() == {
        "missing": 1,
        "not_a_count": 2,
        "votes_exceed_ballots": 1,
        "issued_exceed_electorate": 1,
        "bad_covariate": 0,
    }
    assert loaded.rows == 7


def test_mapped_and_summed_columns(tmp_path: Path) -> None:
    text = (
        "Precinct,Area,Registered,Early,OnDay,Valid,Spoilt,Ann,Ben\n"
        "P1,A,1000,100,400,490,10,290,200\n"
        "P2,A,900,50,350,400,0,100,300\n"
    )
    columns = parse_column_options(
        [
            "unit_id=Precinct+Area",
            "region=Area",
            "electorate=Registered",
            "ballots_issued=Early+OnDay",
            "ballots_cast=Valid+Spoilt",
            "invalid=Spoilt",
            "Anna=Ann",
        ]
    )
    loaded = load_units(_write(tmp_path, text), leader="anna", columns=columns)
    table = loaded.table
    assert table.unit_id.tolist() == ["P1/A", "P2/A"]
    assert table.ballots_issued.tolist() == [500, 400]
    assert table.ballots_cast.tolist() == [500, 400]
    assert table.choices == ("Anna", "Ben")
    assert table.leader == "Anna"
    assert table.turnout().tolist() == [0.5, 400 / 900]
    assert loaded.columns["ballots_issued"] == "Early+OnDay"


def test_ru_cec_preset_reads_protocol_lines(tmp_path: Path) -> None:
    header = (
        "region,tik,uik,Число избирателей, внесенных в список,"
        "Число бюллетеней, выданных досрочно,Число бюллетеней, выданных в помещении,"
        "Число бюллетеней, выданных вне помещения,Число недействительных бюллетеней,"
        "Число действительных бюллетеней,Иванов,Путин Владимир Владимирович,url"
    )
    quoted = ",".join(f'"{h}"' for h in _split_header(header))
    rows = [
        "Область,1 ТИК,1,1000,10,500,40,5,545,100,445,http://x",
        "Область,1 ТИК,2,800,0,400,0,0,400,150,250,http://x",
        "Край,2 ТИК,1,900,,,,,,,,http://x",
    ]
    path = tmp_path / "ru.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([quoted, *rows]) + "\n").encode("utf-8")))
    loaded = load_units(path, leader=None, preset="ru-cec")
    table = loaded.table
    assert table.leader == "Путин Владимир Владимирович"
    assert table.unit_id.tolist() == ["Область/1 ТИК/1", "Область/1 ТИК/2"]
    assert table.ballots_issued.tolist() == [550, 400]
    assert table.ballots_cast.tolist() == [550, 400]
    assert table.choices == ("Иванов", "Путин Владимир Владимирович")
    assert [(i.unit_id, i.rule) for i in loaded.excluded] == [("Край/2 ТИК/1", "missing")]


def _split_header(header: str) -> list[str]:
    """The test header joins names that contain commas; split it back by hand."""
    names = [
        "region",
        "tik",
        "uik",
        "Число избирателей, внесенных в список",
        "Число бюллетеней, выданных досрочно",
        "Число бюллетеней, выданных в помещении",
        "Число бюллетеней, выданных вне помещения",
        "Число недействительных бюллетеней",
        "Число действительных бюллетеней",
        "Иванов",
        "Путин Владимир Владимирович",
        "url",
    ]
    assert ",".join(names) == header
    return names


def test_bad_input_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "unit_id,electorate,ballots_cast,A\nU1,10,5,5\nU1,10,5,5\n")
    with pytest.raises(InputError, match=r"units.csv, line 3, field 'unit_id'.*appears twice"):
        load_units(path, leader="A")
    with pytest.raises(InputError, match=r"the leader 'Z' is not a choice column.*'A'"):
        load_units(_write(tmp_path, "unit_id,ballots_cast,A\nU1,5,5\n", "b.csv"), leader="Z")
    with pytest.raises(InputError, match=r"no row is left"):
        load_units(_write(tmp_path, "unit_id,ballots_cast,A\nU1,5,\n", "c.csv"), leader="A")
    with pytest.raises(InputError, match=r"unknown preset"):
        load_units(path, leader="A", preset="nope")
    with pytest.raises(InputError, match=r"not canonical=source"):
        parse_column_options(["electorate"])


def test_without_electorate_turnout_is_not_reported(tmp_path: Path) -> None:
    loaded = load_units(_write(tmp_path, "unit_id,A,B\nU1,5,7\nU2,3,1\n"), leader="B")
    assert not loaded.table.has_electorate
    assert loaded.table.ballots_cast.tolist() == [12, 4]
    assert np.isnan(loaded.table.turnout()).all()
    assert any("no electorate column" in note for note in loaded.notes)


def test_clarity_exports_of_the_2020_benford_claims(shared_data: Path) -> None:
    folder = shared_data / "forensics"
    allegheny = load_units(
        folder / "us2020_allegheny_pa_precincts_benford_claim.csv", leader="Biden", preset="clarity"
    )
    table = allegheny.table
    assert (table.n, allegheny.rows) == (1323, 1323)
    assert table.leader == "DEM Joseph R. Biden/Kamala D. Harris"
    assert int(table.leader_votes.sum()) == 396042  # the file's own Total: row
    assert int(table.electorate.sum()) == 942851
    assert any("'Total:' row" in note for note in allegheny.notes)
    fulton = load_units(
        folder / "us2020_fulton_ga_precincts_benford_claim.csv", leader="Biden", preset="clarity"
    )
    assert fulton.table.n == 384
    assert not fulton.table.has_electorate


EXAMPLES = 200 if os.environ.get("HYPOTHESIS_PROFILE") != "fuzz" else 10_000
HEADER = "unit_id,region,electorate,ballots_issued,ballots_cast,invalid,Ada,Ben"


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_garbage_is_an_input_error_never_a_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(HEADER.encode() + b"\n" + body)
    for preset in (None, "clarity", "ru-cec"):
        with contextlib.suppress(InputError):
            load_units(path, leader="Ada", preset=preset)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["U1", "U2", "U3", "", "Ü"]),
            *[st.sampled_from(["0", "7", "100", "", "-1", "x", "1.0", "99999999999999999999"])] * 6,
        ),
        max_size=6,
    )
)
def test_near_valid_files_exclude_rows_by_rule_or_raise(
    tmp_path: Path, rows: list[tuple[str, ...]]
) -> None:
    path = tmp_path / "near.csv"
    lines = [",".join([u, "R", *counts]) for u, *counts in rows]
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        loaded = load_units(path, leader="Ada")
    except InputError:
        return
    table = loaded.table
    assert table.n + len(loaded.excluded) == loaded.rows
    assert np.all(table.leader_votes <= table.ballots_cast)
    assert np.all(table.ballots_cast >= 0)
    if table.has_electorate:
        assert np.all(table.ballots_issued <= table.electorate)
