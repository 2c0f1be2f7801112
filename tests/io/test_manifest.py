"""Ballot manifests: Arlo and ColoradoRLA layouts, hand-made and real examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.manifest import MANIFEST_COLUMNS, read_manifest
from tallyguard.model import ManifestBatch


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "manifest.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_our_own_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path, ",".join(MANIFEST_COLUMNS) + "\nPeña County,Box 1,T1,B-01,12\nX,,,B-01,0\n"
    )
    assert read_manifest(path) == [
        ManifestBatch("Peña County", "B-01", 12, container="Box 1", tabulator="T1"),
        ManifestBatch("X", "B-01", 0),
    ]


def test_arlo_hybrid_with_bom_crlf_semicolons_and_cp1252(tmp_path: Path) -> None:
    text = "\ufeffContainer;Tabulator;Batch Name;Number of Ballots;CVR\r\n"
    text += 'Caja Peña;1;="0012";3;Y\r\nCaja Peña;1;13;5;n\r\n;;\r\n'
    path = write(tmp_path, text.replace("\ufeff", ""), encoding="cp1252")
    notes: list[str] = []
    batches = read_manifest(path, "Condado", notes=notes)
    assert batches == [
        ManifestBatch("Condado", "0012", 3, container="Caja Peña", tabulator="1", has_cvrs=True),
        ManifestBatch("Condado", "13", 5, container="Caja Peña", tabulator="1", has_cvrs=False),
    ]
    assert len(notes) == 1
    assert "Windows-1252" in notes[0]
    bom = write(tmp_path, text)
    assert read_manifest(bom, "Condado") == batches


def test_jurisdiction_column_wins_and_empty_cells_fall_back(tmp_path: Path) -> None:
    path = write(tmp_path, "Jurisdiction,Batch Name,Number of Ballots\nA,1,2\n,2,3\n")
    assert [b.jurisdiction for b in read_manifest(path, "Default")] == ["A", "Default"]
    with pytest.raises(InputError) as caught:
        read_manifest(path)
    assert (caught.value.line, caught.value.field, caught.value.message) == (
        3,
        "Jurisdiction",
        "the jurisdiction is empty.",
    )


def test_no_jurisdiction_at_all(tmp_path: Path) -> None:
    path = write(tmp_path, "Batch Name,Number of Ballots\n1,2\n")
    with pytest.raises(InputError) as caught:
        read_manifest(path)
    assert str(caught.value) == (
        f"{path}, line 1, field 'Jurisdiction': the manifest has no Jurisdiction column and no "
        "jurisdiction was given. Fix: add a Jurisdiction column, or say which jurisdiction the "
        "manifest is for."
    )


def test_duplicate_batch_names_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, "Tabulator,Batch Name,Number of Ballots\nT1,B,1\nT2,B,1\nT1,C,1\nT1,B,4\n"
    )
    with pytest.raises(InputError) as caught:
        read_manifest(path, "J")
    assert str(caught.value) == (
        f"{path}, line 5, field 'Batch Name': batch 'B' on tabulator 'T1' of 'J' is listed "
        "twice (lines 2 and 5). Fix: give each batch a unique name (per tabulator), or merge "
        "the two rows."
    )
    plain = write(tmp_path, "batch name,number of ballots\nB,1\nB,2\n")
    with pytest.raises(InputError, match=r"batch 'B' of 'J' is listed twice \(lines 2 and 3\)"):
        read_manifest(plain, "J")


def test_missing_column_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "Batch Name,Number of Ballot\n1,2\n")
    with pytest.raises(InputError) as caught:
        read_manifest(path, "J")
    assert caught.value.fix == "rename the column 'Number of Ballot' to 'Number of Ballots'."


def test_batch_tallies_are_not_a_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, "Batch Name,Alice,Bob\n1,3,4\n")
    with pytest.raises(InputError) as caught:
        read_manifest(path, "J")
    assert caught.value.fix == (
        "this looks like a candidate-totals-by-batch file, not a ballot manifest; upload the "
        "manifest (Batch Name, Number of Ballots)."
    )


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("B1,1,234", None, None),
        ('B1,"1,234"', "Number of Ballots", "'1,234' contains a thousands separator (',')."),
        ("B1,12.0", "Number of Ballots", "'12.0' is not a whole number."),
        ("B1,", "Number of Ballots", "the count is missing."),
        (",5", "Batch Name", "the batch name is empty."),
    ],
)
def test_bad_values_name_line_and_field(
    tmp_path: Path, row: str, field: str | None, message: str | None
) -> None:
    path = write(tmp_path, f"Batch Name,Number of Ballots\nB0,1\n{row}\n")
    with pytest.raises(InputError) as caught:
        read_manifest(path, "J")
    if message is None:  # an unquoted "1,234" is one field too many
        assert caught.value.message == "the row has 3 fields but the header has 2."
    else:
        assert (caught.value.field, caught.value.message) == (field, message)
    assert caught.value.line == 3


def test_bad_cvr_flag(tmp_path: Path) -> None:
    path = write(tmp_path, "Batch Name,Number of Ballots,CVR\n1,2,maybe\n")
    with pytest.raises(InputError, match="'maybe' is not a yes/no value"):
        read_manifest(path, "J")


def test_coloradorla_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'CountyID,ScannerID,BatchID,NumBallots,StorageLocation\nFremont,Scanner1,"4",49,Bin 1\n',
    )
    notes: list[str] = []
    assert read_manifest(path, notes=notes) == [
        ManifestBatch("Fremont", "4", 49, container="Bin 1", tabulator="Scanner1")
    ]
    assert notes == ["manifest.csv: read as a ColoradoRLA ballot manifest"]


ARLO_TEMPLATES = {
    "sample_ballot_manifest.csv": (10, 2117),
    "sample_manifest_BC.csv": (12, 1001),
    "sample_manifest_hybrid.csv": (12, 1001),
    "small-election-kendall-park/kendall_park_ballot_manifest.csv": (18, 500),
}
NOT_MANIFESTS = (
    "sample_candidate_totals_by_batch.csv",
    "sample_jurisdiction_filesheet.csv",
    "sample_standardized_contests.csv",
    "small-election-kendall-park/kendall_park_master_of_magic_candidate_totals_by_batch.csv",
    "small-election-kendall-park/small_election_jurisdictions.csv",
    "small-election-kendall-park/small_election_standardized_contests.csv",
    "small-election-kendall-park/kendall_park_cvrs_first40lines.csv",
)


def test_every_arlo_example_is_classified(shared_data: Path) -> None:
    folder = shared_data / "formats/arlo-manifest-and-tallies"
    found = {p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")}
    assert found == set(ARLO_TEMPLATES) | set(NOT_MANIFESTS)


@pytest.mark.parametrize(("name", "expected"), sorted(ARLO_TEMPLATES.items()))
def test_arlo_templates(shared_data: Path, name: str, expected: tuple[int, int]) -> None:
    batches = read_manifest(shared_data / "formats/arlo-manifest-and-tallies" / name, "J")
    assert (len(batches), sum(b.num_ballots for b in batches)) == expected


def test_arlo_hybrid_template_values(shared_data: Path) -> None:
    path = shared_data / "formats/arlo-manifest-and-tallies/sample_manifest_hybrid.csv"
    batches = read_manifest(path, "J")
    assert batches[1] == ManifestBatch(
        "J", "1", 2, container="Box 1", tabulator="2", has_cvrs=False
    )
    assert [b.has_cvrs for b in batches].count(True) == 6


@pytest.mark.parametrize("name", NOT_MANIFESTS)
def test_arlo_files_that_are_not_manifests_are_rejected(shared_data: Path, name: str) -> None:
    with pytest.raises(InputError, match="required column"):
        read_manifest(shared_data / "formats/arlo-manifest-and-tallies" / name, "J")


RLA_MANIFESTS = {
    "small-election/Kendall Park": (18, 500),
    "small-election/Mount Olive": (2, 31),
    "small-election/Siletz": (3, 57),
    "small-election/Waurika": (12, 226),
    "small-election/Worthington Hills": (24, 694),
    "medium-election/Acton": (2, 3128),
    "medium-election/Black Hallows": (2, 3156),
    "medium-election/Lindow": (7, 7173),
    "medium-election/Wolford": (5, 4857),
    "medium-election/Yellowseed": (2, 1686),
}


@pytest.mark.parametrize(("name", "expected"), sorted(RLA_MANIFESTS.items()))
def test_arlo_rla_manifests(shared_data: Path, name: str, expected: tuple[int, int]) -> None:
    path = shared_data / "rla/arlo" / f"{name} - ballot manifest.csv"
    jurisdiction = name.split("/")[1]
    batches = read_manifest(path, jurisdiction)
    assert (len(batches), sum(b.num_ballots for b in batches)) == expected
    assert batches[0].jurisdiction == jurisdiction
    assert batches[0].tabulator == "Tabulator A"


def test_all_rla_manifests_are_covered(shared_data: Path) -> None:
    found = {
        f"{p.parent.name}/{p.name.removesuffix(' - ballot manifest.csv')}"
        for p in (shared_data / "rla/arlo").rglob("* - ballot manifest.csv")
    }
    assert found == set(RLA_MANIFESTS)


def test_coloradorla_manifests(shared_data: Path) -> None:
    folder = shared_data / "formats/coloradorla"
    arapahoe = read_manifest(folder / "arapahoe-unsorted-manifest.csv")
    assert arapahoe[0] == ManifestBatch("Arapahoe", "800", 20, container="Bin 1", tabulator="3")
    assert sum(b.num_ballots for b in arapahoe) == 165
    dq = read_manifest(folder / "manifest-dq.csv")
    assert [(b.tabulator, b.batch_name, b.num_ballots) for b in dq] == [
        ("Scanner1", "4", 49),
        ("Scanner2", "1", 50),
        ("Scanner3", "3", 51),
    ]
