"""Format detection and ``inspect_file`` over every example of ``shared/data``."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.detect import FORMATS, detect_format, inspect_file, read_cvrs, resolve_format
from tests.io.vendors.helpers import data_file

# every example file under shared/data/formats that tallyguard reads -> (format, records)
EXAMPLES = {
    "arlo-manifest-and-tallies/sample_ballot_manifest.csv": ("manifest", 10),
    "arlo-manifest-and-tallies/sample_manifest_BC.csv": ("manifest", 12),
    "arlo-manifest-and-tallies/sample_manifest_hybrid.csv": ("manifest", 12),
    "arlo-manifest-and-tallies/sample_candidate_totals_by_batch.csv": ("batch-tallies", 6),
    "arlo-manifest-and-tallies/sample_jurisdiction_filesheet.csv": ("arlo-jurisdictions", 3),
    "arlo-manifest-and-tallies/sample_standardized_contests.csv": (
        "arlo-standardized-contests",
        3,
    ),
    "arlo-manifest-and-tallies/small-election-kendall-park/kendall_park_ballot_manifest.csv": (
        "manifest",
        18,
    ),
    "arlo-manifest-and-tallies/small-election-kendall-park/kendall_park_cvrs_first40lines.csv": (
        "dominion-csv",
        36,
    ),
    "arlo-manifest-and-tallies/small-election-kendall-park/"
    "kendall_park_master_of_magic_candidate_totals_by_batch.csv": ("batch-tallies", 18),
    "arlo-manifest-and-tallies/small-election-kendall-park/small_election_jurisdictions.csv": (
        "arlo-jurisdictions",
        5,
    ),
    "arlo-manifest-and-tallies/small-election-kendall-park/"
    "small_election_standardized_contests.csv": ("arlo-standardized-contests", 3),
    "arlo-vendor-cvr-examples/clearballot_cvr.csv": ("clearballot", 14),
    "arlo-vendor-cvr-examples/dominion_cvr_export.csv": ("dominion-csv", 14),
    "arlo-vendor-cvr-examples/dominion_cvr_with_leading_equal_signs.csv": ("dominion-csv", 14),
    "arlo-vendor-cvr-examples/hart_cvr_single_ballot.xml": ("hart", 1),
    "coloradorla/arapahoe-regent-3-clear-d52-CVR_Export.csv": ("dominion-csv", 165),
    "coloradorla/arapahoe-unsorted-manifest.csv": ("manifest", 5),
    "coloradorla/manifest-dq.csv": ("manifest", 3),
    "nist-cvr-1500-103/example_1.xml": ("nist-xml", 6),
    "nist-cvr-1500-103/example_2.xml": ("nist-xml", 2),
    "shangrla-vendor-cvr-examples/CvrExport_0.json": ("dominion-json", 1),
    "shangrla-vendor-cvr-examples/CvrExport_1.json": ("dominion-json", 1),
    "shangrla-vendor-cvr-examples/test_5.10.50.85.Dominion.json": ("dominion-json", 3),
    "shangrla-vendor-cvr-examples/test_5.2.18.2.Dominion.json": ("dominion-json", 2),
    "shangrla-vendor-cvr-examples/test_Hart_CVR_1.xml": ("hart", 1),
    "shangrla-vendor-cvr-examples/test_Hart_CVR_2.xml": ("hart", 1),
}
# example files that are parts of an export or not election data: the precise failure
FAILS = {
    "arlo-vendor-cvr-examples/ess_cvr.csv": ("ess", "no ballots file"),
    "arlo-vendor-cvr-examples/ess_ballots_with_machine_column.csv": (
        "ess",
        "expected one CVR file, found 0",
    ),
    "arlo-vendor-cvr-examples/hart_scanned_ballot_information.csv": (
        "hart",
        r"no Hart CVR \(\.xml\) files",
    ),
    "arlo-manifest-and-tallies/small-election-kendall-park/small-election.spec.json": (
        None,
        "Arlo fixture-generator spec",
    ),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_detected_and_inspected(shared_data: Path, name: str) -> None:
    path = data_file(shared_data, "formats", *name.split("/"))
    expected, records = EXAMPLES[name]
    assert detect_format(path) == expected
    summary = inspect_file(path)
    assert summary["format"] == expected
    assert summary["records"] == records
    json.dumps(summary)  # the --json output is plain JSON


@pytest.mark.parametrize("name", sorted(FAILS))
def test_partial_examples_fail_precisely(shared_data: Path, name: str) -> None:
    path = data_file(shared_data, "formats", *name.split("/"))
    expected, message = FAILS[name]
    if expected is not None:
        assert detect_format(path) == expected
    with pytest.raises(InputError, match=message):
        inspect_file(path)


def test_arlo_fixture_folders(shared_data: Path) -> None:
    """Every file of Arlo's fixture elections (rla/arlo) is detected and loads."""
    counts: dict[str, int] = {}
    for path in sorted(data_file(shared_data, "rla", "arlo").glob("*-election/*.csv")):
        summary = inspect_file(path)
        counts[summary["format"]] = counts.get(summary["format"], 0) + 1
        if path.name.endswith(" - cvrs.csv"):
            assert summary["format"] == "dominion-csv"
        elif path.name.endswith(" - ballot manifest.csv"):
            assert summary["format"] == "manifest"
    assert counts == {
        "dominion-csv": 10,
        "manifest": 10,
        "batch-tallies": 14,
        "arlo-jurisdictions": 2,
        "arlo-standardized-contests": 2,
    }


def test_inspect_counts_for_the_arlo_dominion_example(shared_data: Path) -> None:
    path = data_file(shared_data, "formats", "arlo-vendor-cvr-examples", "dominion_cvr_export.csv")
    summary = inspect_file(path, "dominion")
    assert summary["contests"]["Contest 2"] == {
        "choices": ["Choice 2-1", "Choice 2-2", "Choice 2-3"],
        "votes_allowed": 2,
        "cards": 14,
        "votes": {"Choice 2-1": 13, "Choice 2-2": 6, "Choice 2-3": 8},
        "overvotes": 1,
        "undervotes": 1,
    }
    assert summary["problems"] == [
        "1 batch(es) have gaps or repeats in their positions (e.g. TABULATOR2 / BATCH2: 5 "
        "card(s), highest position 6); the ballot manifest must count every card"
    ]


def test_inspect_manifest_totals(shared_data: Path) -> None:
    path = data_file(shared_data, "formats", "coloradorla", "manifest-dq.csv")
    summary = inspect_file(path)
    assert summary["records"] == 3
    assert summary["ballots"] > 0
    assert summary["problems"] == ["manifest-dq.csv: read as a ColoradoRLA ballot manifest"]


def test_folders_and_zips(shared_data: Path, tmp_path: Path) -> None:
    folder = data_file(shared_data, "rla", "shangrla", "core", "data", "Dominion_CVRs")
    assert detect_format(folder / "CVR_Export") == "dominion-json"
    ess = tmp_path / "ess.zip"
    with zipfile.ZipFile(ess, "w") as archive:
        for name in ("ess_cvr.csv", "ess_ballots_with_machine_column.csv"):
            archive.write(data_file(shared_data, "formats", "arlo-vendor-cvr-examples", name), name)
    assert detect_format(ess) == "ess"
    assert inspect_file(ess)["records"] == 14
    hart = tmp_path / "hart"
    hart.mkdir()
    for k in (1, 2):
        source = data_file(shared_data, "formats", "shangrla-vendor-cvr-examples",
                           f"test_Hart_CVR_{k}.xml")  # fmt: skip
        (hart / source.name).write_bytes(source.read_bytes())
    assert detect_format(hart) == "hart"
    assert inspect_file(hart)["records"] == 2


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("just some words\n", "notes.txt", "none of the known headers"),
        ("<html><body/></html>", "page.xml", r"XML whose root element is <html>"),
        ('{"a": 1}', "thing.json", "JSON without"),
        (
            '{"Version": "5", "List": [{"Id": 1, "Description": "x"}]}',
            "m.json",
            "Dominion manifest",
        ),
    ],
)
def test_unknown_formats_say_what_was_looked_for(
    tmp_path: Path, content: str, name: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        detect_format(path)
    if "known headers" in message:
        assert "Dominion CSV" in str(caught.value.fix)


def test_format_names(shared_data: Path, tmp_path: Path) -> None:
    path = data_file(shared_data, "formats", "nist-cvr-1500-103", "example_1.xml")
    assert resolve_format(path, "nist") == "nist-xml"
    assert resolve_format(path, "NIST-XML") == "nist-xml"
    with pytest.raises(InputError, match="looks like nist-xml"):
        resolve_format(path, "dominion")
    with pytest.raises(InputError, match="did you mean 'hart'"):
        resolve_format(path, "hrat")
    with pytest.raises(InputError, match="file not found"):
        detect_format(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="not cast vote records"):
        read_cvrs(data_file(shared_data, "formats", "coloradorla", "manifest-dq.csv"))
    assert len(FORMATS) == len(set(FORMATS))


def test_tallyguard_cvr_csv_and_results(tmp_path: Path) -> None:
    cvr = tmp_path / "cvrs.csv"
    cvr.write_text("cvr_id,batch_name,position,Mayor:Ann,Mayor:Bo\nc1,B,1,1,0\nc2,B,2,,\n")
    summary = inspect_file(cvr)
    assert (summary["format"], summary["records"]) == ("tallyguard-cvr-csv", 2)
    assert summary["contests"]["Mayor"]["votes"] == {"Ann": 1, "Bo": 0}
    results = tmp_path / "results.csv"
    results.write_text(
        "unit_id,electorate,ballots_issued,ballots_cast,Ann,Bo\nu1,100,80,80,50,30\n"
        "u2,100,90,95,60,20\n"
    )
    summary = inspect_file(results)
    assert (summary["format"], summary["records"]) == ("results", 2)
    assert summary["contests"]["(results)"]["votes"] == {"Ann": 110, "Bo": 50}
    assert len(summary["problems"]) == 1  # u2: more ballots cast than issued


def test_zip_of_one_dominion_export(shared_data: Path, tmp_path: Path) -> None:
    source = data_file(
        shared_data, "formats", "arlo-vendor-cvr-examples", "dominion_cvr_export.csv"
    )
    archive = tmp_path / "cvrs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(source, "CVR_Export.csv")
    assert detect_format(archive) == "dominion-csv"
    assert inspect_file(archive)["records"] == 14


def test_gzipped_export(shared_data: Path, tmp_path: Path) -> None:
    source = data_file(shared_data, "formats", "arlo-vendor-cvr-examples", "clearballot_cvr.csv")
    path = tmp_path / "cvr.csv.gz"
    path.write_bytes(gzip.compress(source.read_bytes()))
    assert detect_format(path) == "clearballot"
    assert inspect_file(path)["records"] == 14
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match="cannot be read"):
        detect_format(broken)
