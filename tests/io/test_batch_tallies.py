from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.batch_tallies import join_manifest, read_batch_tallies
from tallyguard.io.manifest import read_manifest

KP = "rla/arlo/small-election/Kendall Park - "
CHOICES = ("Clem Bradley", "Rene Carr", "Blair Atkinson", "Sam Shaw", "Write-In")


def test_arlo_fixture_joins_its_manifest(shared_data: Path) -> None:
    tallies = read_batch_tallies(
        shared_data / f"{KP}Master of Magic - candidate totals by batch.csv", CHOICES, "KP"
    )
    manifest = read_manifest(shared_data / f"{KP}ballot manifest.csv", "KP")
    table, ballots, keys = join_manifest(tallies, manifest, tallies_file="t.csv")
    assert table.sum(axis=0).tolist() == [6, 2, 0, 0, 7]
    assert int(ballots.sum()) == 500
    assert keys[0] == ("KP", "Batch 1")
    assert table[0].tolist() == [1, 0, 0, 0, 1]


def test_sample_with_bom(shared_data: Path) -> None:
    path = shared_data / "formats/arlo-manifest-and-tallies/sample_candidate_totals_by_batch.csv"
    tallies = read_batch_tallies(path, ("Trump", "Biden", "Write-in"), "J")
    assert tallies[("J", "1")].tolist() == [45, 125, 0]


def test_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Batch Name,A,B\nB1,1,2\nB1,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3.*appears again"):
        read_batch_tallies(path, ("A", "B"), "J")
    path.write_text("Batch Name,A,B\nB1,1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2, field 'B'"):
        read_batch_tallies(path, ("A", "B"), "J")
    with pytest.raises(InputError, match="'C'"):
        read_batch_tallies(path, ("A", "C"), "J")
