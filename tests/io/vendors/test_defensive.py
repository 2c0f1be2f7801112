"""Files as officials' computers really write them: BOMs, CRLF, Latin-1, ``="..."``, ``;``.

Every variant must read to the same records as the plain UTF-8 file, and the
encoding fallback must be noted (Arlo ``server/util/csv_parse.py`` copes with the
same uploads; tallyguard's rules are in ``io/textfile.py`` and ``io/csvfile.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import read_clearballot, read_dominion_csv, read_ess
from tests.io.vendors.helpers import make_zip

DOMINION = [
    "Élection municipale,5.10.50.85,,,,,,,,",
    ",,,,,,,Maire (Vote For=1),Maire (Vote For=1),Maire (Vote For=1)",
    ",,,,,,,José Núñez,Zoë Ødegård,François Müller",
    "CvrNumber,TabulatorNum,BatchId,RecordId,ImprintedId,PrecinctPortion,BallotType,,,",
    "1,1,0012,1,1-0012-1,P1,S1,1,0,0",
    "2,1,0012,2,1-0012-2,P1,S1,0,0,1",
    "3,2,0007,1,2-0007-1,P2,S2,,,",
]
CLEARBALLOT = [
    "RowNumber,BoxID,BoxPosition,BallotID,PrecinctID,BallotStyleID,PrecinctStyleName,"
    "ScanComputerName,Status,Remade,Choice_1_1:Maire:Vote For 1:José Núñez:,"
    "Choice_2_1:Maire:Vote For 1:Zoë Ødegård:",
    "1,0012,1,A-1,P1,S1,ps,Scanner 1,ok,N,1,0",
    "2,0012,2,A-2,P1,S1,ps,Scanner 1,ok,N,0,1",
]


def guard(line: str, delimiter: str = ",") -> str:
    """Excel's text guard on every cell of a data line: ``="0012"``."""
    return delimiter.join(f'="{cell}"' if cell else cell for cell in line.split(","))


VARIANTS: dict[str, Callable[[list[str]], bytes]] = {
    "utf-8": lambda lines: "\n".join(lines).encode("utf-8"),
    "utf-8 BOM, CRLF": lambda lines: "\r\n".join(lines).encode("utf-8-sig"),
    "Windows-1252": lambda lines: "\r\n".join(lines).encode("cp1252"),
    "UTF-16 (Excel 'Unicode text')": lambda lines: "\r\n".join(lines).encode("utf-16"),
    'Excel ="..." cells': lambda lines: "\n".join(
        guard(line) if line[:1].isdigit() else line for line in lines
    ).encode("utf-8"),
    "semicolons": lambda lines: "\n".join(line.replace(",", ";") for line in lines).encode(),
    "trailing blank rows": lambda lines: ("\r\n".join(lines) + "\r\n,,,\r\n\r\n").encode(),
    "bare CR": lambda lines: "\r".join(lines).encode("utf-8"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_dominion_variants_read_alike(tmp_path: Path, variant: str) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_bytes(VARIANTS["utf-8"](DOMINION))
    path = tmp_path / "variant.csv"
    path.write_bytes(VARIANTS[variant](DOMINION))
    expected = read_dominion_csv(plain)
    export = read_dominion_csv(path)
    assert export.election == "Élection municipale"
    assert export.contests == {"Maire": ("José Núñez", "Zoë Ødegård", "François Müller")}
    records = list(export.records())
    assert records == list(expected.records())
    assert [r.cvr_id for r in records] == ["1-0012-1", "1-0012-2", "2-0007-1"]
    assert records[1].votes == {"Maire": ("François Müller",)}
    assert records[2].votes == {}
    if variant == "Windows-1252":
        assert any("Windows-1252" in note for note in export.notes)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_clearballot_variants_read_alike(tmp_path: Path, variant: str) -> None:
    path = tmp_path / "cb.csv"
    path.write_bytes(VARIANTS[variant](CLEARBALLOT))
    export = read_clearballot(path)
    assert export.contests == {"Maire": ("José Núñez", "Zoë Ødegård")}
    records = list(export.records())
    assert [(r.cvr_id, r.batch_name, r.votes) for r in records] == [
        ("Scanner 1-0012-1", "0012", {"Maire": ("José Núñez",)}),
        ("Scanner 1-0012-2", "0012", {"Maire": ("Zoë Ødegård",)}),
    ]


def test_ess_zip_members_in_windows_1252_with_bom_and_crlf(tmp_path: Path) -> None:
    cvr = "\ufeffCast Vote Record,Precinct,Ballot Style,Maire\r\n1,P,S,José Núñez\r\n"
    ballots = "Cast Vote Record,Batch,Tabulator CVR\r\n1,B,0001000001\r\n\r\n"
    archive = make_zip(
        tmp_path / "ess.zip",
        {"cvr.csv": cvr.encode("utf-8"), "ballots.csv": ballots.encode("cp1252")},
    )
    latin = make_zip(tmp_path / "latin.zip", {"cvr.csv": cvr[1:].encode("cp1252"),
                                             "ballots.csv": ballots.encode()})  # fmt: skip
    for path in (archive, latin):
        export = read_ess(path)
        assert export.contests == {"Maire": ("José Núñez",)}
        assert [r.votes for r in export.records()] == [{"Maire": ("José Núñez",)}]
    assert any("Windows-1252" in note for note in read_ess(latin).notes)


def test_blank_row_between_data_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cvr.csv"
    path.write_text("\n".join([*DOMINION[:5], "", *DOMINION[5:]]), encoding="utf-8")
    with pytest.raises(InputError, match="blank row between data rows") as caught:
        list(read_dominion_csv(path).records())
    assert caught.value.line == 6


def test_missing_delimiter_is_a_width_error(tmp_path: Path) -> None:
    path = tmp_path / "cvr.csv"
    path.write_text("\n".join([*DOMINION[:5], "2,1,0012,2,1-0012-2,P1,S1,0,01"]), "utf-8")
    with pytest.raises(InputError, match="the row has 9 fields but the header has 10") as caught:
        list(read_dominion_csv(path).records())
    assert caught.value.line == 6


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 30, "ZIP|workbook"),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 30, "xls workbook"),
        (b"a,b\n\x81\x8d\x8f\n", "neither UTF-8 nor Windows-1252"),
        (b"", "empty"),
    ],
)
def test_unreadable_bytes(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "cvr.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        list(read_dominion_csv(path).records())


def test_broken_quoting_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cvr.csv"
    path.write_text("\n".join([*DOMINION[:5], '2,1,"0012,2,x,P1,S1,0,0,1']), "utf-8")
    with pytest.raises(InputError, match=r"quoting is broken|fields but the header") as caught:
        list(read_dominion_csv(path).records())
    assert caught.value.line == 6
