"""Recorded paths that escape the bundle are reported and never opened."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tallyguard.evidence import VerificationReport, sha256_file, verify_bundle
from tallyguard.evidence.paths import unsafe_path_reason
from tests.evidence.bundles import (
    FILES,
    RERUN_NAME,
    build_bundle,
    make_outputs,
    read_document,
    rewrite_document,
)

RERUNNERS = {RERUN_NAME: make_outputs}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    build_bundle(directory)
    return directory


def subjects(report: VerificationReport) -> set[str]:
    return {item.subject for item in report.discrepancies}


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "nested-dotdot"])
def test_escaping_path_is_caught_and_never_read(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"secret,1\n")
    path = {
        "dotdot": "../outside.csv",
        "absolute": str(outside),
        "nested-dotdot": "nested/../../outside.csv",
    }[kind]
    document = read_document(bundle)
    record = {
        "path": path,
        "sha256": hashlib.sha256(b"secret,1\n").hexdigest(),
        "bytes": 9,
    }
    document["outputs"].append(record)
    rewrite_document(bundle, document)  # bundle_sha256 is right: only the path check can catch it
    read: list[Path] = []

    def spy(file: Path) -> str:
        read.append(file)
        return sha256_file(file)

    monkeypatch.setattr("tallyguard.evidence.verify.sha256_file", spy)
    report = verify_bundle(bundle, rerun=False)  # the re-run reads its own temporary directory
    assert not report.ok
    index = len(document["outputs"]) - 1
    assert subjects(report) == {f"bundle.json:outputs[{index}].path"}
    assert repr(path) in report.discrepancies[0].problem
    assert len(read) == len(FILES) - 1
    assert all(file.resolve().is_relative_to(bundle.resolve()) for file in read)


def test_path_listed_twice_is_caught(bundle: Path) -> None:
    document = read_document(bundle)
    document["outputs"].append(dict(document["outputs"][0]))
    rewrite_document(bundle, document)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert subjects(report) == {"bundle.json:outputs[3].path"}
    assert "more than once" in report.discrepancies[0].problem


@pytest.mark.parametrize(
    ("path", "unsafe"),
    [
        ("results.csv", False),
        ("nested/deep/table.csv", False),
        ("inputs/manifest.csv", False),
        ("..hidden/x", False),
        ("", True),
        ("/etc/passwd", True),
        ("../x", True),
        ("a/../b", True),
        ("a/..", True),
        ("./a", True),
        ("a//b", True),
        ("a/", True),
        ("a\\b", True),
        ("C:/x", True),
        ("a\x00b", True),
        ("bundle.json", True),
    ],
)
def test_unsafe_path_reason(path: str, unsafe: bool) -> None:
    assert (unsafe_path_reason(path) is not None) == unsafe
