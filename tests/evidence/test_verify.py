"""verify_bundle catches every single-byte change anywhere in a bundle."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.errors import Discrepancy, InputError, VerificationError
from tallyguard.evidence import (
    VerificationReport,
    file_form,
    planned_steps,
    verify_bundle,
)
from tests.evidence.bundles import (
    FILES,
    OUTPUTS,
    RERUN_NAME,
    build_bundle,
    flip_byte,
    make_outputs,
    read_document,
    rewrite_document,
)

RERUNNERS = {RERUN_NAME: make_outputs}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One intact bundle, shared read-only by the tests of this module."""
    directory = tmp_path_factory.mktemp("pristine") / "bundle"
    build_bundle(directory)
    return directory


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the intact bundle that a test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "bundle"))


def subjects(report: VerificationReport) -> set[str]:
    return {item.subject for item in report.discrepancies}


def names_bundle_json(report: VerificationReport) -> bool:
    return any(s == "bundle.json" or s.startswith("bundle.json:") for s in subjects(report))


def test_intact_bundle_verifies(bundle: Path) -> None:
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert report.ok, [d.render() for d in report.discrepancies]
    assert report.discrepancies == []
    assert report.files_checked == len(FILES)
    assert report.rerun_done
    assert report.bundle == bundle
    assert [check.passed for check in report.checks] == [True, True, True, True]
    report.raise_for_problems()  # does not raise


def test_bundle_json_path_is_accepted(bundle: Path) -> None:
    assert verify_bundle(bundle / "bundle.json", rerunners=RERUNNERS).ok


def test_missing_bundle_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such evidence bundle"):
        verify_bundle(tmp_path / "absent")


def test_other_file_is_not_a_bundle(bundle: Path) -> None:
    with pytest.raises(InputError, match="not an evidence bundle"):
        verify_bundle(bundle / "results.csv")


@contextmanager
def copy_of(pristine: Path) -> Iterator[Path]:
    """A throw-away copy of the intact bundle (hypothesis cannot use function fixtures)."""
    with tempfile.TemporaryDirectory() as temporary:
        yield Path(shutil.copytree(pristine, Path(temporary) / "bundle"))


# --- single-byte changes ---------------------------------------------------------------


@pytest.mark.parametrize("relative", FILES)
@given(data=st.data())
def test_any_single_byte_change_is_caught_and_named(
    pristine: Path, relative: str, data: st.DataObject
) -> None:
    with copy_of(pristine) as directory:
        path = directory / relative
        content = path.read_bytes()
        position = data.draw(st.integers(0, len(content) - 1), label="position")
        value = data.draw(
            st.integers(0, 255).filter(lambda byte: byte != content[position]), label="value"
        )
        flip_byte(path, position, value)
        report = verify_bundle(directory, rerunners=RERUNNERS)
    assert not report.ok
    if relative == "bundle.json":
        assert names_bundle_json(report), report.discrepancies
    else:
        assert subjects(report) == {relative}, report.discrepancies


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_every_byte_position_of_bundle_json_is_covered(bundle: Path, mask: int) -> None:
    path = bundle / "bundle.json"
    original = path.read_bytes()
    missed: list[int] = []
    for position in range(len(original)):
        flip_byte(path, position, original[position] ^ mask)
        report = verify_bundle(bundle, rerun=False)
        if report.ok or not names_bundle_json(report):
            missed.append(position)
    path.write_bytes(original)
    assert missed == []
    assert verify_bundle(bundle, rerun=False).ok


@pytest.mark.parametrize("relative", [f for f in FILES if f != "bundle.json"])
def test_every_byte_position_of_every_file_is_covered(bundle: Path, relative: str) -> None:
    path = bundle / relative
    original = path.read_bytes()
    for position in range(len(original)):
        flip_byte(path, position, original[position] ^ 0x01)
        report = verify_bundle(bundle, rerun=False)
        assert not report.ok
        assert subjects(report) == {relative}
        found = report.discrepancies[0]
        assert found.problem == "content differs (SHA-256)"
        assert found.expected == hashlib.sha256(original).hexdigest()
    path.write_bytes(original)


@pytest.mark.parametrize("relative", FILES)
@pytest.mark.parametrize("change", ["append", "truncate", "empty"])
def test_size_changes_are_caught(bundle: Path, relative: str, change: str) -> None:
    path = bundle / relative
    content = path.read_bytes()
    path.write_bytes({"append": content + b"\n", "truncate": content[:-1], "empty": b""}[change])
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    if relative == "bundle.json":
        assert names_bundle_json(report)
    else:
        assert subjects(report) == {relative}
        assert report.discrepancies[0].problem == "size differs"


# --- whole-file changes ------------------------------------------------------------------


@pytest.mark.parametrize("relative", FILES)
def test_deleted_file_is_caught(bundle: Path, relative: str) -> None:
    (bundle / relative).unlink()
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert relative in subjects(report)
    if relative == "bundle.json":
        assert report.discrepancies == [Discrepancy("bundle.json", "is missing")]
        assert [check.passed for check in report.checks] == [False, None, None, None]
    else:
        assert report.discrepancies == [Discrepancy(relative, "listed file is missing")]


@pytest.mark.parametrize(
    "relative", ["extra.txt", ".hidden", "nested/extra.csv", "inputs/more.csv", "new/dir/x"]
)
@pytest.mark.parametrize("content", [b"", b"x"])
def test_added_file_is_caught(bundle: Path, relative: str, content: bytes) -> None:
    path = bundle / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert subjects(report) == {relative}
    assert report.discrepancies[0].problem.startswith("unexpected file")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("results.csv", "results2.csv"),
        ("nested/deep/table.csv", "nested/table.csv"),
        ("inputs/manifest.csv", "manifest.csv"),
    ],
)
def test_renamed_file_is_caught(bundle: Path, old: str, new: str) -> None:
    (bundle / old).rename(bundle / new)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert subjects(report) == {old, new}


def test_renaming_bundle_json_is_caught(bundle: Path) -> None:
    (bundle / "bundle.json").rename(bundle / "bundle.json.bak")
    report = verify_bundle(bundle)
    assert not report.ok
    assert subjects(report) == {"bundle.json"}


def test_swapped_contents_of_two_files_are_caught(bundle: Path) -> None:
    first, second = bundle / "results.csv", bundle / "summary.json"
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    assert subjects(verify_bundle(bundle, rerunners=RERUNNERS)) == {"results.csv", "summary.json"}


def test_file_replaced_by_symlink_to_identical_content_is_caught(
    bundle: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.csv"
    shutil.copyfile(bundle / "results.csv", outside)
    (bundle / "results.csv").unlink()
    (bundle / "results.csv").symlink_to(outside)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert subjects(report) == {"results.csv"}
    assert "symbolic link" in report.discrepancies[0].problem


def test_directory_replaced_by_symlink_is_caught(bundle: Path, tmp_path: Path) -> None:
    moved = Path(shutil.move(bundle / "nested", tmp_path / "nested"))
    (bundle / "nested").symlink_to(moved, target_is_directory=True)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert subjects(report) == {"nested/deep/table.csv", "nested"}


# --- edits of bundle.json ----------------------------------------------------------------


def test_whitespace_only_edit_of_bundle_json_is_caught(bundle: Path) -> None:
    raw = (bundle / "bundle.json").read_bytes()
    (bundle / "bundle.json").write_bytes(raw.replace(b"\n  ", b"\n   ", 1))
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert subjects(report) == {"bundle.json"}
    assert "canonical layout" in report.discrepancies[0].problem


def test_reordered_keys_in_bundle_json_are_caught(bundle: Path) -> None:
    document = read_document(bundle)
    reordered = dict(reversed(list(document.items())))
    text = json.dumps(reordered, indent=2, ensure_ascii=False) + "\n"
    (bundle / "bundle.json").write_text(text, encoding="utf-8")
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert subjects(report) == {"bundle.json"}


def test_edited_field_without_new_hash_is_caught(bundle: Path) -> None:
    document = read_document(bundle)
    document["results"]["winner"] = "Bob"
    (bundle / "bundle.json").write_bytes(file_form(document))
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert subjects(report) == {"bundle.json:bundle_sha256"}
    assert report.discrepancies[0].expected == document["bundle_sha256"]


@pytest.mark.parametrize(
    ("edit", "subject"),
    [
        (lambda d: d.pop("seed"), "bundle.json:seed"),
        (lambda d: d.update(extra=1), "bundle.json:extra"),
        (lambda d: d.update(format="tallyguard-evidence/2"), "bundle.json:format"),
        (lambda d: d.update(parameters=[1]), "bundle.json:parameters"),
        (lambda d: d.update(created="yesterday"), "bundle.json:created"),
        (lambda d: d.update(created="2024-02-30T00:00:00Z"), "bundle.json:created"),
        (lambda d: d["outputs"][0].update(bytes=-1), "bundle.json:outputs[0].bytes"),
        (lambda d: d["outputs"][1].update(sha256="ABC"), "bundle.json:outputs[1].sha256"),
        (lambda d: d["inputs"][0].pop("bytes"), "bundle.json:inputs[0]"),
        (lambda d: d.update(outputs={}), "bundle.json:outputs"),
    ],
)
def test_malformed_bundle_json_is_reported_by_field(
    bundle: Path, edit: Callable[[dict[str, Any]], object], subject: str
) -> None:
    document = read_document(bundle)
    edit(document)
    rewrite_document(bundle, document)
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    assert not report.ok
    assert subjects(report) == {subject}
    assert [check.passed for check in report.checks] == [False, None, None, None]


@pytest.mark.parametrize("raw", [b"", b"[1, 2]\n", b"null\n", b"\xef\xbb\xbf{}\n"])
def test_bundle_json_that_is_not_an_object_is_caught(bundle: Path, raw: bytes) -> None:
    (bundle / "bundle.json").write_bytes(raw)
    report = verify_bundle(bundle)
    assert subjects(report) == {"bundle.json"}


# --- the report ----------------------------------------------------------------------------


def test_raise_for_problems_and_to_json(bundle: Path) -> None:
    (bundle / "summary.json").write_bytes(b"{}")
    report = verify_bundle(bundle, rerunners=RERUNNERS)
    with pytest.raises(VerificationError) as caught:
        report.raise_for_problems()
    assert caught.value.discrepancies == report.discrepancies
    assert caught.value.bundle == str(bundle)
    assert "summary.json" in str(caught.value)
    document = json.loads(json.dumps(report.to_json()))
    assert document["ok"] is False
    assert document["bundle"] == str(bundle)
    assert document["files_checked"] == len(FILES)
    assert document["rerun_done"] is True
    assert document["discrepancies"] == [
        {
            "subject": "summary.json",
            "problem": "size differs",
            "expected": f"{read_size(bundle, 'summary.json')} bytes",
            "found": "2 bytes",
        }
    ]
    assert [check["name"] for check in document["checks"]] == [
        "bundle.json",
        "listed files",
        "unlisted files",
        "re-run",
    ]


def read_size(bundle: Path, relative: str) -> int:
    sizes = {r["path"]: r["bytes"] for r in read_document(bundle)["outputs"]}
    return int(sizes[relative])


def test_report_ok_must_agree_with_discrepancies(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ok exactly"):
        VerificationReport(tmp_path, True, [Discrepancy("x", "y")], 0, False)


@pytest.mark.parametrize("rerun", [True, False])
def test_on_step_is_called_planned_steps_times(bundle: Path, rerun: bool) -> None:
    labels: list[str] = []
    verify_bundle(bundle, rerun=rerun, rerunners=RERUNNERS, on_step=labels.append)
    assert len(labels) == planned_steps(bundle, rerun=rerun)
    assert labels[0] == "reading bundle.json"
    assert {f"hashing {relative}" for relative in OUTPUTS} <= set(labels)


def test_planned_steps_of_broken_bundle_is_small(bundle: Path) -> None:
    (bundle / "bundle.json").write_bytes(b"garbage")
    assert planned_steps(bundle) == 3
    assert planned_steps(bundle / "nope") == 3
