"""Hart Verity XML: Arlo's and SHANGRLA's examples, ZIPs of ZIPs, scanned ballot information."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.vendors import VendorCvrRecord, read_hart
from tests.io.vendors.helpers import data_file, make_zip, tally

ARLO = ("formats", "arlo-vendor-cvr-examples")
SHANGRLA = ("formats", "shangrla-vendor-cvr-examples")
NS = "http://tempuri.org/CVRDesign.xsd"


def cvr_xml(guid: str, batch: str, sequence: int, votes: dict[str, list[str]]) -> bytes:
    """A small Hart CVR of our own making, in the layout of the examples."""
    contests = "".join(
        f"<Contest><Name>{name}</Name><Id>{name}-id</Id><Options>"
        + "".join(f"<Option><Name>{c}</Name><Id>{c}-id</Id><Value>1</Value></Option>" for c in ch)
        + "</Options></Contest>"
        for name, ch in votes.items()
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Cvr xmlns="{NS}"><Contests>{contests}</Contests>'
        f"<BatchSequence>{sequence}</BatchSequence><SheetNumber>1</SheetNumber>"
        f"<PrecinctSplit><Name>101</Name><Id>p</Id></PrecinctSplit>"
        f"<BatchNumber>{batch}</BatchNumber><CvrGuid>{guid}</CvrGuid></Cvr>"
    ).encode()


def test_arlo_single_ballot_with_scanned_ballot_information(shared_data: Path) -> None:
    export = read_hart(
        data_file(shared_data, *ARLO, "hart_cvr_single_ballot.xml"),
        scanned=[data_file(shared_data, *ARLO, "hart_scanned_ballot_information.csv")],
    )
    assert export.contests == {"Contest 1": ("Choice 1-2",), "Contest 2": ("Choice 2-1",)}
    assert list(export.records()) == [
        VendorCvrRecord(
            cvr_id="1-1-1",
            votes={"Contest 1": ("Choice 1-2",), "Contest 2": ("Choice 2-1",)},
            batch_name="BATCH1",
            position=1,
            imprinted_id="unique-identifier-01",
            unit_id="100",
            tabulator="TABULATOR1",
        )
    ]
    # the scanned ballot information covers 14 CVRs (28 page rows); one XML was given
    assert "the scanned ballot information lists 13 CVR(s) not in the XML" in export.notes


def test_arlo_single_ballot_alone(shared_data: Path) -> None:
    export = read_hart(data_file(shared_data, *ARLO, "hart_cvr_single_ballot.xml"))
    [record] = export.records()
    assert (record.imprinted_id, record.tabulator) == ("1-1-1", None)


def test_shangrla_sheets_of_one_ballot(shared_data: Path) -> None:
    files = [data_file(shared_data, *SHANGRLA, f"test_Hart_CVR_{k}.xml") for k in (1, 2)]
    export = read_hart(files)
    assert export.contests == {
        "PRESIDENT": ("George Washington",),
        "GOVERNOR": (),
        "MAYOR": ("Write-In",),
    }
    records = list(export.records())
    guid = "0a7EqyblZ6CMFQbkN0kkRykS5w40Wg8q"
    assert [r.cvr_id for r in records] == [f"{guid}-2", f"{guid}-3"]
    assert records[0].votes == {
        "PRESIDENT": ("George Washington",),
        "GOVERNOR": (),  # <Undervotes>1</Undervotes>: on the card, no mark
        "MAYOR": ("Write-In",),  # an unresolved write-in
    }
    assert (records[0].batch_name, records[0].position, records[0].unit_id) == ("2280", 1, "68059")
    # one SHANGRLA file alone keeps the plain CvrGuid
    [single] = read_hart(files[0]).records()
    assert single.cvr_id == guid


def test_wrapper_zip_of_tabulator_zips_with_scanned_information(tmp_path: Path) -> None:
    def inner(cards: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in cards.items():
                archive.writestr(name, data)
            archive.writestr("WriteIn/image.png", b"\x89PNG")
        return buffer.getvalue()

    scanned = (
        "#FormatVersion 1\n#BatchId,Workstation,UniqueIdentifier,CvrId\n"
        "1,WS-9,U-1,g1\n1,WS-9,U-1,g1\n"
    )
    archive = make_zip(
        tmp_path / "hart.zip",
        {
            "Tab A.zip": inner({"g1.xml": cvr_xml("g1", "B1", 1, {"Mayor": ["Ann"]})}),
            "Tab B.zip": inner(
                {
                    "g2.xml": cvr_xml("g2", "B1", 1, {"Mayor": ["Bo"]}),
                    "g3.xml": cvr_xml("g3", "B1", 2, {"Mayor": ["Ann", "Bo"], "Measure": []}),
                }
            ),
            "scanned.csv": scanned.encode(),
        },
    )
    export = read_hart(archive)
    assert export.contests == {"Mayor": ("Ann", "Bo"), "Measure": ()}
    records = list(export.records())
    assert [(r.cvr_id, r.tabulator, r.imprinted_id) for r in records] == [
        ("g1", "Tab A", "U-1"),  # ZIP names win over the Workstation (as in Arlo)
        ("g2", "Tab B", "g2"),
        ("g3", "Tab B", "g3"),
    ]
    assert tally(records)[1:] == (
        {"Mayor": 3, "Measure": 1},
        {"Mayor": {"Ann": 2, "Bo": 2}, "Measure": {}},
    )
    assert any("not in the scanned ballot information" in note for note in export.notes)
    assert any("ignored 2 file(s)" in note for note in export.notes)


def test_latin1_xml_is_read_as_windows_1252(tmp_path: Path) -> None:
    data = cvr_xml("g1", "B1", 1, {"Alcalde": ["José Núñez"]}).decode().encode("latin-1")
    (tmp_path / "g1.xml").write_bytes(data)
    export = read_hart(tmp_path)
    assert export.contests == {"Alcalde": ("José Núñez",)}
    assert any("Windows-1252" in note for note in export.notes)


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        (cvr_xml("", "B1", 1, {}), "<CvrGuid> is missing or empty", "Cvr/CvrGuid"),
        (cvr_xml("g", "B1", 0, {}), "BatchSequence '0'", "Cvr/BatchSequence"),
        (b"<Other/>", "root element is <Other>", "/"),
        (
            cvr_xml("g", "B1", 1, {"Mayor": ["Ann"]}).replace(b"<Name>Ann</Name>", b""),
            "<Name> is missing",
            "Cvr/Contests/Contest[1]/Options/Option[1]/Name",
        ),
    ],
)
def test_bad_cards_name_the_element(tmp_path: Path, data: bytes, message: str, field: str) -> None:
    (tmp_path / "card.xml").write_bytes(data)
    with pytest.raises(InputError, match=message) as caught:
        read_hart(tmp_path)
    assert caught.value.field == field


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "card.xml").write_bytes(b"<Cvr>\n<Contests>\n</Cvr>")
    with pytest.raises(InputError, match="not well-formed XML") as caught:
        read_hart(tmp_path)
    assert caught.value.line == 3


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Cvr>&a;</Cvr>'
    (tmp_path / "card.xml").write_bytes(bomb)
    with pytest.raises(InputError, match="forbidden XML construct"):
        read_hart(tmp_path)


def test_repeated_card_is_an_error(tmp_path: Path) -> None:
    for name in ("a.xml", "b.xml"):
        (tmp_path / name).write_bytes(cvr_xml("same", "B1", 1, {}))
    # equal CvrGuid and SheetNumber: not sheets of one ballot but the same card twice
    with pytest.raises(InputError, match="'same-1' appears twice"):
        list(read_hart(tmp_path).records())


def test_scanned_information_must_start_with_format_version(tmp_path: Path) -> None:
    (tmp_path / "g.xml").write_bytes(cvr_xml("g", "B1", 1, {}))
    (tmp_path / "scan.csv").write_text("BatchId,Workstation,UniqueIdentifier,CvrId\n1,W,U,g\n")
    with pytest.raises(InputError, match="#FormatVersion") as caught:
        read_hart(tmp_path)
    assert caught.value.line == 1


def test_conflicting_scanned_information(tmp_path: Path) -> None:
    (tmp_path / "g.xml").write_bytes(cvr_xml("g", "B1", 1, {}))
    (tmp_path / "scan.csv").write_text(
        "#FormatVersion 1\n#BatchId,Workstation,UniqueIdentifier,CvrId\n1,W1,U,g\n1,W2,U,g\n"
    )
    with pytest.raises(InputError, match="conflicting scanned ballot information") as caught:
        read_hart(tmp_path)
    assert caught.value.line == 4


def test_no_xml_files(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InputError, match=r"no Hart CVR \(\.xml\) files"):
        read_hart(tmp_path)
