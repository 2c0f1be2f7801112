"""Clear Ballot CSV: Arlo's example and the errors an official can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import VendorCvrRecord, read_clearballot
from tests.io.vendors.helpers import data_file, tally

HEADER = (
    "RowNumber,BoxID,BoxPosition,BallotID,PrecinctID,BallotStyleID,PrecinctStyleName,"
    "ScanComputerName,Status,Remade,Choice_1_1:Mayor:Vote For 1:Ann:DEM,"
    "Choice_2_1:Mayor:Vote For 1:Bo:REP\n"
)


def write(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "clearballot.csv"
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_arlo_example(shared_data: Path) -> None:
    path = data_file(shared_data, "formats", "arlo-vendor-cvr-examples", "clearballot_cvr.csv")
    export = read_clearballot(path)
    assert export.contests == {
        "Contest 1": ("Choice 1-1", "Choice 1-2"),
        "Contest 2": ("Choice 2-1", "Choice 2-2", "Choice 2-3"),
    }
    assert export.votes_allowed == {"Contest 1": 1, "Contest 2": 2}
    records = list(export.records())
    count, cards, votes = tally(records)
    assert count == 14
    assert cards == {"Contest 1": 11, "Contest 2": 14}
    assert votes == {
        "Contest 1": {"Choice 1-1": 8, "Choice 1-2": 4},
        "Contest 2": {"Choice 2-1": 14, "Choice 2-2": 7, "Choice 2-3": 8},
    }
    assert records[0] == VendorCvrRecord(
        cvr_id="TABULATOR1-BATCH1-1",
        votes={"Contest 1": ("Choice 1-2",), "Contest 2": ("Choice 2-1", "Choice 2-2")},
        batch_name="BATCH1",
        position=1,
        imprinted_id="1-1-1",
        ballot_style="bs",
        unit_id="p",
        tabulator="TABULATOR1",
    )
    assert records[11].votes == {"Contest 2": ("Choice 2-1", "Choice 2-3")}


def test_ranked_choice_export_is_refused(tmp_path: Path) -> None:
    header = HEADER.replace("Choice_2_1:", "Choice_2_2:")
    with pytest.raises(InputError, match="ranked-choice") as caught:
        read_clearballot(write(tmp_path, "1,B,1,x,p,s,ps,T,s,r,1,0\n", header))
    assert caught.value.field == "Choice_2_2:Mayor:Vote For 1:Bo:REP"


def test_malformed_choice_column(tmp_path: Path) -> None:
    header = HEADER.replace(":Vote For 1:Bo", ":Vote 1:Bo")
    with pytest.raises(InputError, match="is not 'Choice_") as caught:
        read_clearballot(write(tmp_path, "1,B,1,x,p,s,ps,T,s,r,1,0\n", header))
    assert caught.value.line == 1


def test_missing_box_column_suggests_the_closest(tmp_path: Path) -> None:
    header = HEADER.replace("BoxID", "Box ID2")
    with pytest.raises(InputError, match="'BoxID' is missing") as caught:
        read_clearballot(write(tmp_path, "1,B,1,x,p,s,ps,T,s,r,1,0\n", header))
    assert "'Box ID2'" in str(caught.value.fix)


@pytest.mark.parametrize(
    ("row", "message", "field"),
    [
        ("2,B,2,x,p,s,ps,T,s,r,1,x\n", "'x' is not a mark", "Choice_2_1:Mayor:Vote For 1:Bo:REP"),
        ("2,B,2,x,p,s,ps,T,s,r,,0\n", "only partly", "Choice_1_1:Mayor:Vote For 1:Ann:DEM"),
        ("2,B,1,x,p,s,ps,T,s,r,1,0\n", "appears twice", "BoxPosition"),
        ("2,B,,x,p,s,ps,T,s,r,1,0\n", "the BoxPosition is empty", "BoxPosition"),
    ],
)
def test_bad_rows(tmp_path: Path, row: str, message: str, field: str) -> None:
    export = read_clearballot(write(tmp_path, "1,B,1,x,p,s,ps,T,s,r,1,0\n" + row))
    with pytest.raises(InputError, match=message) as caught:
        list(export.records())
    assert (caught.value.line, caught.value.field) == (3, field)
