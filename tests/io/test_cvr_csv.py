"""The flat CVR CSV: records, the polars frame, exact errors, a hypothesis round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.io.cvr_csv import CVR_ID_COLUMNS, choice_column, read_cvr_csv, read_cvr_frame
from tallyguard.model import CvrRecord

HEADER = ",".join(CVR_ID_COLUMNS) + ",Mayor:Alice,Mayor:Bob,Prop 1:Yes,Prop 1:No\n"
ROWS = (
    "c1,J1,U1,B1,1,1-1-1,S1,1,0,0,1\n"
    "c2,J1,U1,B1,2,1-1-2,S2,0,1,,\n"
    "c3,J1,U1,B1,3,1-1-3,S1,1,1,0,0\n"
    "c4,,,,,,,0,0,1,0\n"
)


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "cvrs.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_choice_column() -> None:
    assert choice_column("Mayor", "Alice") == "Mayor:Alice"
    assert choice_column("Prop 1", "Yes: keep") == "Prop 1:Yes: keep"
    with pytest.raises(ValueError, match="contains ':'"):
        choice_column("A:B", "x")


def test_records(tmp_path: Path) -> None:
    cvrs = read_cvr_csv(write(tmp_path, HEADER + ROWS))
    assert cvrs.contests == {"Mayor": ("Alice", "Bob"), "Prop 1": ("Yes", "No")}
    assert list(cvrs.records()) == [
        CvrRecord(
            "c1", {"Mayor": ("Alice",), "Prop 1": ("No",)}, "J1", "B1", 1, "1-1-1", "S1", "U1"
        ),
        CvrRecord("c2", {"Mayor": ("Bob",)}, "J1", "B1", 2, "1-1-2", "S2", "U1"),
        CvrRecord(
            "c3", {"Mayor": ("Alice", "Bob"), "Prop 1": ()}, "J1", "B1", 3, "1-1-3", "S1", "U1"
        ),
        CvrRecord("c4", {"Mayor": (), "Prop 1": ("Yes",)}),
    ]


def test_frame(tmp_path: Path) -> None:
    frame = read_cvr_frame(write(tmp_path, HEADER + ROWS))
    assert frame.schema == pl.Schema(
        {
            "cvr_id": pl.String,
            "jurisdiction": pl.String,
            "unit_id": pl.String,
            "batch_name": pl.String,
            "position": pl.Int64,
            "imprinted_id": pl.String,
            "ballot_style": pl.String,
            "Mayor:Alice": pl.UInt8,
            "Mayor:Bob": pl.UInt8,
            "Prop 1:Yes": pl.UInt8,
            "Prop 1:No": pl.UInt8,
        }
    )
    assert frame.rows()[1] == ("c2", "J1", "U1", "B1", 2, "1-1-2", "S2", 0, 1, None, None)
    assert frame.rows()[3] == ("c4", None, None, None, None, None, None, 0, 0, 1, 0)


def test_minimal_header_excel_guards_and_semicolons(tmp_path: Path) -> None:
    text = 'CVR_ID;Position;Mayor : Alice;Mayor : Bob\r\n="007";="2";1;0\r\n;;;\r\n'
    path = write(tmp_path, text)
    assert list(read_cvr_csv(path).records()) == [
        CvrRecord("007", {"Mayor": ("Alice",)}, position=2)
    ]
    frame = read_cvr_frame(path)
    assert frame.columns == [*CVR_ID_COLUMNS, "Mayor:Alice", "Mayor:Bob"]
    assert frame.row(0) == ("007", None, None, None, 2, None, None, 1, 0)


def both_fail(path: Path) -> InputError:
    """The streaming and the polars reader raise the same error."""
    with pytest.raises(InputError) as streaming:
        list(read_cvr_csv(path).records())
    with pytest.raises(InputError) as vectorised:
        read_cvr_frame(path)
    assert str(streaming.value) == str(vectorised.value)
    return streaming.value


def test_partly_empty_contest(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ROWS + "c5,J1,U1,B1,4,x,S1,1,0,,0\n")
    error = both_fail(path)
    assert str(error) == (
        f"{path}, line 6, field 'Prop 1:Yes': contest 'Prop 1' is only partly filled in on this "
        "row. Fix: leave every cell of a contest empty when it is not on the card's ballot "
        "style; otherwise write 0 or 1 in each."
    )


@pytest.mark.parametrize("cell", ["2", "x", "1.0", "yes"])
def test_bad_mark(tmp_path: Path, cell: str) -> None:
    error = both_fail(
        write(
            tmp_path,
            HEADER + ROWS.replace("c3,J1,U1,B1,3,1-1-3,S1,1", f"c3,J1,U1,B1,3,1-1-3,S1,{cell}"),
        )
    )
    assert (error.line, error.field, error.message) == (
        4,
        "Mayor:Alice",
        f"{cell!r} is not a mark.",
    )


def test_duplicate_cvr_id_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ROWS + "c2,J1,U1,B1,9,x,S1,1,0,1,0\n")
    error = both_fail(path)
    assert str(error) == (
        f"{path}, line 6, field 'cvr_id': cvr_id 'c2' appears twice (lines 3 and 6). "
        "Fix: give every ballot card its own cvr_id."
    )


def test_duplicate_cvr_id_after_a_multiline_value(tmp_path: Path) -> None:
    text = 'cvr_id,batch_name,A:x,A:y\nc1,"two\nlines",1,0\nc2,b,0,1\nc1,b,0,0\n'
    error = both_fail(write(tmp_path, text))
    assert (error.line, error.message) == (5, "cvr_id 'c1' appears twice (lines 2 and 5).")


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "positions are numbered from 1."), ("1.0", "'1.0' is not a whole number.")],
)
def test_bad_position(tmp_path: Path, value: str, message: str) -> None:
    error = both_fail(write(tmp_path, f"cvr_id,position,A:x,A:y\nc1,1,1,0\nc2,{value},0,1\n"))
    assert (error.line, error.field, error.message) == (3, "position", message)


def test_empty_cvr_id(tmp_path: Path) -> None:
    error = both_fail(write(tmp_path, "cvr_id,batch_name,A:x,A:y\nc1,b,1,0\n,b,0,1\n"))
    assert (error.line, error.message) == (3, "the cvr_id is empty.")


@pytest.mark.parametrize(
    ("header", "field", "fix"),
    [
        ("cvr id,A:x,A:y", "cvr_id", "rename the column 'cvr id' to 'cvr_id'."),
        ("cvr_id,batch,A:x,A:y", "batch", "rename it to 'batch_name'."),
        (
            "cvr_id,Alice,Bob",
            "Alice",
            "name choice columns '<contest name>:<choice name>'; the ID columns are "
            "cvr_id, jurisdiction, unit_id, batch_name, position, imprinted_id, ballot_style.",
        ),
        ("cvr_id,A:,A:y", "A:", None),
        (
            "cvr_id,batch_name",
            None,
            "add one column per choice, named '<contest name>:<choice name>'.",
        ),
    ],
)
def test_bad_headers(tmp_path: Path, header: str, field: str | None, fix: str | None) -> None:
    path = write(tmp_path, header + "\n" + ",".join(["1"] * (header.count(",") + 1)) + "\n")
    with pytest.raises(InputError) as caught:
        read_cvr_csv(path)
    assert caught.value.line == 1
    assert caught.value.field == field
    if fix is not None:
        assert caught.value.fix == fix


# --- hypothesis round trip -------------------------------------------------------------------

NAME = st.text(alphabet='abcXYZ019 éñ"-_', min_size=1, max_size=6).map(str.strip).filter(bool)
VALUE = st.one_of(
    st.none(),
    st.text(alphabet='abZ09 éñ,;"-\n', min_size=1, max_size=6).map(str.strip).filter(bool),
)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@st.composite
def elections(draw: st.DrawFn) -> tuple[dict[str, tuple[str, ...]], list[CvrRecord]]:
    contest_names = draw(st.lists(NAME, min_size=1, max_size=3, unique_by=_key))
    contests = {
        name: tuple(draw(st.lists(NAME, min_size=1, max_size=4, unique_by=_key)))
        for name in contest_names
    }
    records = []
    for index in range(draw(st.integers(1, 8))):
        votes = {}
        for name, choices in contests.items():
            if draw(st.booleans()):
                marks = draw(st.lists(st.booleans(), min_size=len(choices), max_size=len(choices)))
                votes[name] = tuple(c for c, m in zip(choices, marks, strict=True) if m)
        prefix = draw(VALUE)
        records.append(
            CvrRecord(
                cvr_id=f"{prefix or ''}#{index}",
                votes=votes,
                jurisdiction=draw(VALUE),
                batch_name=draw(VALUE),
                position=draw(st.one_of(st.none(), st.integers(1, 10**6))),
                imprinted_id=draw(VALUE),
                ballot_style=draw(VALUE),
                unit_id=draw(VALUE),
            )
        )
    return contests, records


def _write_by_hand(
    contests: dict[str, tuple[str, ...]], records: list[CvrRecord], delimiter: str, newline: str
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow([*CVR_ID_COLUMNS, *(f"{c}:{x}" for c, xs in contests.items() for x in xs)])
    for r in records:
        ids = [r.cvr_id, r.jurisdiction, r.unit_id, r.batch_name, r.position]
        ids += [r.imprinted_id, r.ballot_style]
        cells = ["" if v is None else str(v) for v in ids]
        for contest, choices in contests.items():
            marked = r.votes.get(contest)
            cells += ["" if marked is None else str(int(x in marked)) for x in choices]
        writer.writerow(cells)
    return out.getvalue()


@given(
    election=elections(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    election: tuple[dict[str, tuple[str, ...]], list[CvrRecord]],
    delimiter: str,
    newline: str,
    encoding: str,
) -> None:
    contests, records = election
    path = tmp_path_factory.mktemp("rt") / "cvrs.csv"
    path.write_bytes(_write_by_hand(contests, records, delimiter, newline).encode(encoding))
    cvrs = read_cvr_csv(path)
    assert cvrs.contests == contests
    assert list(cvrs.records()) == records
    frame = read_cvr_frame(path)
    assert frame["cvr_id"].to_list() == [r.cvr_id for r in records]
    assert frame["position"].to_list() == [r.position for r in records]
    for contest, choices in contests.items():
        for choice in choices:
            expected = [
                None if contest not in r.votes else int(choice in r.votes[contest]) for r in records
            ]
            assert frame[choice_column(contest, choice)].to_list() == expected


def test_simulated_cvrs(tmp_path: Path) -> None:
    """Columns written the way ``tallyguard simulate`` writes them read back."""
    frame = pl.DataFrame(
        {
            "cvr_id": ["U1-B01-0001", "U1-B01-0002"],
            "jurisdiction": ["J"] * 2,
            "unit_id": ["U1"] * 2,
            "batch_name": ["U1-B01"] * 2,
            "position": [1, 2],
            "imprinted_id": ["1-1-1", "1-1-2"],
            "ballot_style": ["BS-10", "BS-11"],
            choice_column("Mayor", "Ana Peña"): pl.Series([1, 0], dtype=pl.UInt8),
            choice_column("Mayor", "Bo"): pl.Series([0, 1], dtype=pl.UInt8),
            choice_column("Levy", "Yes"): pl.Series([None, 1], dtype=pl.UInt8),
            choice_column("Levy", "No"): pl.Series([None, 0], dtype=pl.UInt8),
        }
    )
    frame.write_csv(tmp_path / "cvrs.csv", line_terminator="\n")
    assert read_cvr_frame(tmp_path / "cvrs.csv").equals(frame)
    records = list(read_cvr_csv(tmp_path / "cvrs.csv").records())
    assert records[0].votes == {"Mayor": ("Ana Peña",)}
    assert records[1].votes == {"Mayor": ("Bo",), "Levy": ("Yes",)}
