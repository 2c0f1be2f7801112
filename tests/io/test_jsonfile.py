"""JSON helpers: paths, loading, pydantic errors; and the package's re-exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

import tallyguard.io
from tallyguard.errors import InputError
from tallyguard.io.jsonfile import json_path, load_json, validation_error


def test_json_path() -> None:
    assert json_path("CVR", 12, "CVRSnapshot", 0, "CVRContest", 1) == (
        "CVR[12].CVRSnapshot[0].CVRContest[1]"
    )
    assert json_path(3, "a") == "[3].a"
    assert json_path() == ""


def test_load_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": [1, 2]}')
    assert load_json(path) == {"a": [1, 2]}
    path.write_bytes(b'{"a": "Pe\xf1a"}')
    with pytest.raises(InputError, match="is not UTF-8 text"):
        load_json(path)


class _Point(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    x: int
    y: int


def test_validation_error_counts_further_problems() -> None:
    with pytest.raises(ValidationError) as caught:
        _Point.model_validate({"x": "1", "y": "2"})
    error = validation_error(caught.value, file="p.json", prefix=("points", 4))
    assert str(error) == (
        "p.json, field 'points[4].x': Input should be a valid integer (found \"1\"); "
        "1 more problem(s) after this one. Fix: correct the value."
    )


def test_public_api_is_re_exported() -> None:
    for name in tallyguard.io.__all__:
        assert getattr(tallyguard.io, name) is not None
    assert tallyguard.io.MANIFEST_COLUMNS == (
        "Jurisdiction",
        "Container",
        "Tabulator",
        "Batch Name",
        "Number of Ballots",
    )


def test_pathological_json_is_an_input_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    huge = tmp_path / "huge.json"
    huge.write_text("1" * 5_000, encoding="utf-8")
    for path in (deep, huge):
        with pytest.raises(InputError, match="cannot be read as JSON"):
            load_json(path)
