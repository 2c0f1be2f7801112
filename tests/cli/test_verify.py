"""``tallyguard verify BUNDLE`` end to end: exit codes 0, 2 and 3, human and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tallyguard.cli.main import run
from tallyguard.errors import EXIT_INPUT, EXIT_OK, EXIT_VERIFY
from tests.evidence.bundles import (
    FILES,
    RERUN_NAME,
    build_bundle,
    flip_byte,
    read_document,
    rewrite_document,
)

NO_RERUN = "--no-rerun"


def tallyguard(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI as a user would; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as caught:
        run(args)
    out, err = capsys.readouterr()
    code = caught.value.code
    return (0 if code is None else int(code)), out, err


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    build_bundle(directory, rerun=None)
    return directory


def test_intact_bundle_exits_0(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = tallyguard(["verify", str(bundle)], capsys)
    assert code == EXIT_OK
    assert "intact" in out
    assert "bundle.json" in out
    assert "listed files" in out


def test_bundle_json_path_works_too(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, _err = tallyguard(["verify", str(bundle / "bundle.json")], capsys)
    assert code == EXIT_OK


def test_intact_bundle_json_output(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = tallyguard(["verify", str(bundle), "--json"], capsys)
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["ok"] is True
    assert document["discrepancies"] == []
    assert document["files_checked"] == len(FILES)
    assert document["bundle"] == str(bundle)


@pytest.mark.parametrize("relative", FILES)
def test_damaged_bundle_exits_3_and_names_the_file(
    bundle: Path, capsys: pytest.CaptureFixture[str], relative: str
) -> None:
    path = bundle / relative
    flip_byte(path, 3, path.read_bytes()[3] ^ 0x01)
    code, out, err = tallyguard(["verify", str(bundle)], capsys)
    assert code == EXIT_VERIFY
    assert "intact" not in out
    assert "does NOT verify" in err
    assert relative in err
    if relative != "bundle.json":  # the table always has a bundle.json row
        assert relative not in out  # named once, on stderr with the error


def test_damaged_bundle_json_output(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "results.csv").write_bytes(b"forged\n")
    (bundle / "extra.txt").write_bytes(b"")
    code, out, _err = tallyguard(["verify", "--json", str(bundle)], capsys)
    assert code == EXIT_VERIFY
    document = json.loads(out)  # stdout holds exactly one JSON document
    assert document["ok"] is False
    assert [(d["subject"], d["problem"]) for d in document["discrepancies"]] == [
        ("results.csv", "size differs"),
        ("extra.txt", "unexpected file: not listed in bundle.json"),
    ]


def test_missing_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = tallyguard(["verify", str(tmp_path / "absent")], capsys)
    assert code == EXIT_INPUT
    assert "no such evidence bundle" in err
    assert out == ""


def test_missing_bundle_exits_2_in_json_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, _err = tallyguard(["verify", "--json", str(tmp_path / "absent")], capsys)
    assert code == EXIT_INPUT


def test_rerun_and_no_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown re-runner fails the bundle unless --no-rerun skips the re-run."""
    directory = tmp_path / "bundle"
    build_bundle(directory, rerun=RERUN_NAME)  # not an installed entry point
    code, out, _err = tallyguard(["verify", "--json", str(directory)], capsys)
    assert code == EXIT_VERIFY
    assert json.loads(out)["discrepancies"][0]["subject"] == "bundle.json:rerun"
    code, out, _err = tallyguard(["verify", "--json", NO_RERUN, str(directory)], capsys)
    assert code == EXIT_OK
    assert json.loads(out)["rerun_done"] is False


def test_software_note_is_shown(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = read_document(bundle)
    document["software"]["polars"] = "0.1.0"
    rewrite_document(bundle, document)
    code, out, _err = tallyguard(["verify", str(bundle)], capsys)
    assert code == EXIT_OK
    assert "note" in out
    assert "polars 0.1.0" in out
