"""Encoding detection across chunk boundaries and in compressed files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.textfile import detect_encoding, open_binary

CHUNK = 1 << 20


def test_a_character_split_across_chunks_is_still_utf8(tmp_path: Path) -> None:
    line = b"x" * 99 + b"\n"
    body = line * ((4 + CHUNK) // 100) + b"a" * ((4 + CHUNK) % 100 - 1) + "ñ".encode() + b"\n"
    assert body.index("ñ".encode()) == 4 + CHUNK - 1  # the two bytes straddle the boundary
    path = tmp_path / "big.csv"
    path.write_bytes(body)
    assert detect_encoding(path) == ("utf-8-sig", [])


def test_the_first_bad_byte_is_located_beyond_the_first_chunk(tmp_path: Path) -> None:
    line = b"x" * 99 + b"\n"
    path = tmp_path / "big.csv"
    path.write_bytes(line * 20000 + "Peña\n".encode("cp1252"))
    encoding, notes = detect_encoding(path)
    assert encoding == "cp1252"
    assert "line 20001" in notes[0]


def test_gzip_is_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress("a\nPeña\n".encode("cp1252")))
    assert detect_encoding(path)[0] == "cp1252"
    with open_binary(path) as stream:
        assert stream.read() == "a\nPeña\n".encode("cp1252")


def test_undefined_cp1252_byte_is_located(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n\xf1\n\x9d\n")
    with pytest.raises(InputError) as caught:
        detect_encoding(path)
    assert caught.value.line == 3
