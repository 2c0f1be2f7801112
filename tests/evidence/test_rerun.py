"""Re-running the recorded computation of a bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from tallyguard.evidence import (
    ENTRY_POINT_GROUP,
    find_rerunner,
    installed_rerunners,
    software_versions,
    verify_bundle,
)
from tallyguard.evidence import rerun as rerun_module
from tallyguard.evidence.report import VerificationReport
from tests.evidence.bundles import (
    INPUT_TEXT,
    PARAMETERS,
    RERUN_NAME,
    build_bundle,
    make_outputs,
    read_document,
    rewrite_document,
)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    build_bundle(directory)
    return directory


def subjects(report: VerificationReport) -> set[str]:
    return {item.subject for item in report.discrepancies}


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, **targets: str) -> None:
    """Make ``targets`` (name -> "module:attribute") the only installed re-runners."""
    points = [
        EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
        for name, value in targets.items()
    ]

    def entry_points(*, group: str) -> list[EntryPoint]:
        return points if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(rerun_module, "entry_points", entry_points)


def test_rerunner_that_reproduces_verifies(bundle: Path) -> None:
    report = verify_bundle(bundle, rerunners={RERUN_NAME: make_outputs})
    assert report.ok, report.discrepancies
    assert report.rerun_done
    assert report.checks[-1].passed is True


def test_rerunner_with_different_bytes_names_the_file(bundle: Path) -> None:
    def drifted(parameters: Mapping[str, Any], out_dir: Path) -> None:
        make_outputs(parameters, out_dir)
        (out_dir / "results.csv").write_text("unit,choice,votes\nU00,Alice,11\n", encoding="utf-8")

    report = verify_bundle(bundle, rerunners={RERUN_NAME: drifted})
    assert not report.ok
    assert report.rerun_done
    assert subjects(report) == {"results.csv"}
    (found,) = report.discrepancies
    assert found.problem == "re-run gives different content"
    recorded = {r["path"]: r["sha256"] for r in read_document(bundle)["outputs"]}
    assert found.expected == recorded["results.csv"]
    assert found.found == hashlib.sha256(b"unit,choice,votes\nU00,Alice,11\n").hexdigest()
    assert report.checks[-1].passed is False


def test_rerunner_that_omits_outputs_names_each_missing_file(bundle: Path) -> None:
    def partial(parameters: Mapping[str, Any], out_dir: Path) -> None:
        make_outputs(parameters, out_dir)
        (out_dir / "summary.json").unlink()
        (out_dir / "nested" / "deep" / "table.csv").unlink()

    report = verify_bundle(bundle, rerunners={RERUN_NAME: partial})
    assert subjects(report) == {"summary.json", "nested/deep/table.csv"}
    assert all(d.problem.startswith("re-run gives different content") for d in report.discrepancies)


def test_rerun_catches_a_consistently_forged_output(bundle: Path) -> None:
    """A forger who edits a file, its record and bundle_sha256 is caught by the re-run."""
    forged = b"unit,choice,votes\nU00,Bob,999\n"
    (bundle / "results.csv").write_bytes(forged)
    document = read_document(bundle)
    for record in document["outputs"]:
        if record["path"] == "results.csv":
            record.update(sha256=hashlib.sha256(forged).hexdigest(), bytes=len(forged))
    rewrite_document(bundle, document)
    assert verify_bundle(bundle, rerun=False).ok  # the hashes alone cannot tell
    report = verify_bundle(bundle, rerunners={RERUN_NAME: make_outputs})
    assert subjects(report) == {"results.csv"}
    assert report.discrepancies[0].problem == "re-run gives different content"


def test_rerunner_gets_parameters_and_inputs(bundle: Path) -> None:
    seen: dict[str, Any] = {}

    def spy(parameters: Mapping[str, Any], out_dir: Path) -> None:
        seen["parameters"] = dict(parameters)
        seen["input"] = (out_dir / "inputs" / "manifest.csv").read_text(encoding="utf-8")
        make_outputs(parameters, out_dir)

    assert verify_bundle(bundle, rerunners={RERUN_NAME: spy}).ok
    assert seen == {"parameters": PARAMETERS, "input": INPUT_TEXT}


def test_rerunner_that_fails_is_a_discrepancy(bundle: Path) -> None:
    def broken(parameters: Mapping[str, Any], out_dir: Path) -> None:
        raise RuntimeError("boom")

    report = verify_bundle(bundle, rerunners={RERUN_NAME: broken})
    assert not report.ok
    assert not report.rerun_done
    assert subjects(report) == {"bundle.json:rerun"}
    assert "RuntimeError: boom" in report.discrepancies[0].problem


def test_unknown_rerun_name_is_a_discrepancy(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch)
    report = verify_bundle(bundle, rerunners={"something.else": make_outputs})
    assert not report.ok
    assert not report.rerun_done
    assert subjects(report) == {"bundle.json:rerun"}
    assert repr(RERUN_NAME) in report.discrepancies[0].problem
    assert "no re-runner" in report.discrepancies[0].problem


def test_unknown_rerun_name_with_real_entry_points(bundle: Path) -> None:
    document = read_document(bundle)
    document["rerun"] = "no.such.rerunner"
    rewrite_document(bundle, document)
    report = verify_bundle(bundle)
    assert subjects(report) == {"bundle.json:rerun"}


def test_no_rerun_skips_the_rerun(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch)
    report = verify_bundle(bundle, rerun=False)
    assert report.ok
    assert not report.rerun_done
    assert report.checks[-1].passed is None


def test_bundle_without_rerun(tmp_path: Path) -> None:
    directory = tmp_path / "bundle"
    build_bundle(directory, rerun=None)
    report = verify_bundle(directory)
    assert report.ok
    assert not report.rerun_done
    assert report.checks[-1].passed is None


def test_rerunner_found_through_entry_points(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, **{RERUN_NAME: "tests.evidence.bundles:make_outputs"})
    assert installed_rerunners() == [RERUN_NAME]
    assert find_rerunner(RERUN_NAME) is make_outputs
    assert find_rerunner("other") is None
    report = verify_bundle(bundle)
    assert report.ok, report.discrepancies
    assert report.rerun_done


def test_explicit_rerunners_take_precedence(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, **{RERUN_NAME: "tests.evidence.no_such_module:run"})
    assert verify_bundle(bundle, rerunners={RERUN_NAME: make_outputs}).ok


@pytest.mark.parametrize(
    "target", ["tests.evidence.no_such_module:run", "tests.evidence.bundles:RERUN_NAME"]
)
def test_broken_entry_point_is_a_discrepancy(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    fake_entry_points(monkeypatch, **{RERUN_NAME: target})
    report = verify_bundle(bundle)
    assert subjects(report) == {"bundle.json:rerun"}
    assert target in report.discrepancies[0].problem


def test_outputs_under_inputs_are_not_rerun(tmp_path: Path) -> None:
    """Files under inputs/ are data the run was given, not something it computes."""
    directory = tmp_path / "bundle"
    (directory / "inputs").mkdir(parents=True)
    (directory / "inputs" / "given.csv").write_text("a\n", encoding="utf-8")
    build_bundle(directory)
    paths = [r["path"] for r in read_document(directory)["outputs"]]
    assert "inputs/given.csv" in paths
    assert verify_bundle(directory, rerunners={RERUN_NAME: make_outputs}).ok


def test_extra_rerun_files_are_a_note(bundle: Path) -> None:
    def chatty(parameters: Mapping[str, Any], out_dir: Path) -> None:
        make_outputs(parameters, out_dir)
        (out_dir / "debug.log").write_text("hello\n", encoding="utf-8")

    report = verify_bundle(bundle, rerunners={RERUN_NAME: chatty})
    assert report.ok
    assert any("debug.log" in note for note in report.notes)


def test_other_software_versions_are_a_note_not_a_discrepancy(bundle: Path) -> None:
    document = read_document(bundle)
    document["software"]["numpy"] = "1.0.0"
    rewrite_document(bundle, document)
    report = verify_bundle(bundle, rerunners={RERUN_NAME: make_outputs})
    assert report.ok
    (note,) = report.notes
    assert f"numpy 1.0.0 -> {software_versions()['numpy']}" in note
    assert "random streams" in note


def test_same_software_gives_no_note(bundle: Path) -> None:
    assert verify_bundle(bundle, rerunners={RERUN_NAME: make_outputs}).notes == []
