"""Writing and loading evidence bundles."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path

import pytest

import tallyguard
from tallyguard.errors import InputError
from tallyguard.evidence import (
    FORMAT,
    FileRecord,
    canonical_json,
    file_form,
    load_bundle,
    software_versions,
    write_bundle,
)
from tests.evidence.bundles import (
    COMMAND,
    FILES,
    INPUT_TEXT,
    OUTPUTS,
    PARAMETERS,
    RERUN_NAME,
    RESULTS,
    SEED,
    build_bundle,
    make_input,
    make_outputs,
    read_document,
)

FIELDS = [
    "bundle_sha256",
    "command",
    "created",
    "format",
    "inputs",
    "outputs",
    "parameters",
    "rerun",
    "results",
    "seed",
    "software",
]


def test_bundle_json_has_every_field_sorted(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    raw = (directory / "bundle.json").read_bytes()
    document = json.loads(raw)
    assert list(document) == FIELDS
    assert raw == file_form(document)
    assert raw.endswith(b"}\n")
    assert document["format"] == FORMAT == "tallyguard-evidence/1"
    assert document["command"] == COMMAND
    assert document["parameters"] == PARAMETERS
    assert document["seed"] == SEED
    assert document["rerun"] == RERUN_NAME
    assert document["results"] == RESULTS
    assert document["created"] is None


def test_files_are_hashed_with_posix_paths_sorted(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    bundle = build_bundle(directory)
    document = read_document(directory)
    assert [r["path"] for r in document["inputs"]] == ["inputs/manifest.csv"]
    assert [r["path"] for r in document["outputs"]] == list(OUTPUTS)
    for record in document["inputs"] + document["outputs"]:
        data = (directory / record["path"]).read_bytes()
        assert record == {
            "path": record["path"],
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
    assert (directory / "inputs" / "manifest.csv").read_text(encoding="utf-8") == INPUT_TEXT
    assert bundle.inputs == (
        FileRecord(
            "inputs/manifest.csv",
            hashlib.sha256(INPUT_TEXT.encode()).hexdigest(),
            len(INPUT_TEXT.encode()),
        ),
    )
    assert sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.*")) == sorted(
        FILES
    )


def test_bundle_sha256_is_hash_of_canonical_json_of_other_fields(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    bundle = build_bundle(directory)
    document = read_document(directory)
    recorded = document.pop("bundle_sha256")
    expected = hashlib.sha256(
        json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    ).hexdigest()
    assert recorded == expected == bundle.bundle_sha256
    assert canonical_json(document) == canonical_json(
        {k: v for k, v in bundle.to_json().items() if k != "bundle_sha256"}
    )


def test_software_records_installed_versions(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    software = read_document(directory)["software"]
    assert software == {
        "tallyguard": tallyguard.__version__,
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "polars": version("polars"),
    }
    assert software == software_versions()


def test_same_inputs_give_byte_identical_bundle_json(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    build_bundle(first)
    build_bundle(second, source=tmp_path / "elsewhere")
    assert (first / "bundle.json").read_bytes() == (second / "bundle.json").read_bytes()
    again = (first / "bundle.json").read_bytes()
    build_bundle(first)  # sealing the same directory again changes nothing
    assert (first / "bundle.json").read_bytes() == again


def test_created_is_utc_whole_seconds(tmp_path: Path) -> None:
    make_outputs(PARAMETERS, tmp_path)
    moment = datetime(2024, 11, 5, 20, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=-5)))
    bundle = write_bundle(
        tmp_path, command="c", parameters={}, seed=None, results={}, created=moment
    )
    assert bundle.created == "2024-11-06T01:30:15Z"
    assert read_document(tmp_path)["created"] == "2024-11-06T01:30:15Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bundle.created)


def test_naive_created_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        write_bundle(
            tmp_path,
            command="c",
            parameters={},
            seed=None,
            results={},
            created=datetime(2024, 1, 1),
        )
    assert not (tmp_path / "bundle.json").exists()


def test_two_inputs_with_the_same_name_are_refused(tmp_path: Path) -> None:
    one = make_input(tmp_path / "a")
    two = make_input(tmp_path / "b")
    with pytest.raises(InputError, match=r"same name 'manifest\.csv'") as caught:
        write_bundle(
            tmp_path / "run", command="c", parameters={}, seed=None, results={}, inputs=[one, two]
        )
    assert caught.value.fix is not None
    assert not (tmp_path / "run" / "bundle.json").exists()


def test_missing_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_bundle(
            tmp_path / "run",
            command="c",
            parameters={},
            seed=None,
            results={},
            inputs=[tmp_path / "absent.csv"],
        )


def test_symbolic_link_in_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    make_outputs(PARAMETERS, directory)
    (directory / "link.csv").symlink_to(directory / "results.csv")
    with pytest.raises(InputError, match="symbolic link"):
        write_bundle(directory, command="c", parameters={}, seed=None, results={})


def test_nan_in_results_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON"):
        write_bundle(tmp_path, command="c", parameters={}, seed=None, results={"p": float("nan")})
    assert not (tmp_path / "bundle.json").exists()


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    names = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))
    assert not [name for name in names if name.endswith(".tmp")]
    assert sorted(p for p in names if (directory / p).is_file()) == sorted(FILES)


def test_atomic_write_keeps_old_bundle_json_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    before = (directory / "bundle.json").read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    (directory / "results.csv").write_text("changed\n", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        build_bundle(directory)
    monkeypatch.undo()
    assert (directory / "bundle.json").read_bytes() == before
    assert not list(directory.glob(".bundle.json.*"))


def test_load_bundle_accepts_directory_or_bundle_json(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    written = build_bundle(directory)
    assert load_bundle(directory) == written
    assert load_bundle(directory / "bundle.json") == written
    assert written.to_json() == read_document(directory)
    assert written.files == written.inputs + written.outputs


def test_load_bundle_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such evidence bundle"):
        load_bundle(tmp_path / "nope")


def test_load_bundle_malformed(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    document = read_document(directory)
    del document["seed"]
    (directory / "bundle.json").write_bytes(file_form(document))
    with pytest.raises(InputError, match="missing") as caught:
        load_bundle(directory)
    assert caught.value.field == "seed"
    (directory / "bundle.json").write_bytes(b"{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_bundle(directory)


def test_load_bundle_refuses_escaping_path(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    build_bundle(directory)
    document = read_document(directory)
    document["outputs"][0]["path"] = "../outside.csv"
    (directory / "bundle.json").write_bytes(file_form(document))
    with pytest.raises(InputError, match=r"'\.\.'") as caught:
        load_bundle(directory)
    assert caught.value.field == "outputs[0].path"


def test_created_datetime_default_is_none_and_utc_now_is_accepted(tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path, command="c", parameters={}, seed=None, results={}, created=datetime.now(UTC)
    )
    assert bundle.created is not None
    assert bundle.created.endswith("Z")
