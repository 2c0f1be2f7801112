"""Canonical JSON, the file form of bundle.json, and streaming SHA-256."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyguard.evidence.canonical import (
    CHUNK_SIZE,
    canonical_json,
    content_sha256,
    file_form,
    normalise,
    parse_strict,
    sha256_bytes,
    sha256_file,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": [1, 2.5, None], "a": "Zürich", "c": {"z": True, "y": False}}
    assert canonical_json(value) == (
        '{"a":"Zürich","b":[1,2.5,null],"c":{"y":false,"z":true}}'.encode()
    )


def test_file_form_is_sorted_indented_with_final_newline() -> None:
    assert file_form({"b": 1, "a": [2]}) == b'{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_nan_and_infinity(bad: float) -> None:
    with pytest.raises(ValueError, match="JSON"):
        canonical_json({"x": bad})
    with pytest.raises(ValueError, match="JSON"):
        file_form({"x": bad})


@given(json_values)
def test_file_form_round_trips(value: Any) -> None:
    """Parsing the file form and writing it again gives the same bytes."""
    once = file_form(value)
    assert file_form(parse_strict(once)) == once
    assert canonical_json(parse_strict(canonical_json(value))) == canonical_json(value)


def test_normalise_turns_tuples_into_lists() -> None:
    assert normalise({"t": (1, 2), "n": {"k": (3,)}}) == {"t": [1, 2], "n": {"k": [3]}}


def test_content_sha256_ignores_only_bundle_sha256() -> None:
    document = {"a": 1, "bundle_sha256": "whatever"}
    assert content_sha256(document) == hashlib.sha256(b'{"a":1}').hexdigest()
    assert content_sha256({"a": 1}) == content_sha256(document)
    assert content_sha256({"a": 2}) != content_sha256(document)


def test_sha256_bytes_known_value() -> None:
    # FIPS 180-2 test vector.
    assert sha256_bytes(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 17])
def test_sha256_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = bytes(i * 31 % 251 for i in range(size))
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": 1', "Expecting"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_parse_strict_rejects(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_strict(raw)


def test_parse_strict_accepts_plain_json() -> None:
    assert parse_strict(json.dumps({"a": [1, "ü"]}).encode()) == {"a": [1, "ü"]}
