"""Shared helpers of the vendor reader tests: tallies, paths and small archives."""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tallyguard.model import CvrRecord

FORMATS = Path("formats")


def tally(records: Iterable[CvrRecord]) -> tuple[int, dict[str, int], dict[str, dict[str, int]]]:
    """(records, cards per contest, marks per contest and choice)."""
    count = 0
    cards: Counter[str] = Counter()
    votes: dict[str, Counter[str]] = {}
    for record in records:
        count += 1
        for contest, marks in record.votes.items():
            cards[contest] += 1
            votes.setdefault(contest, Counter()).update(marks)
    return count, dict(cards), {name: dict(counter) for name, counter in votes.items()}


def data_file(shared_data: Path, *parts: str) -> Path:
    """A file of the shared data folder, skipping the test when it is absent."""
    path = shared_data.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"example file not available: {path}")
    return path


def make_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    """Write a ZIP holding ``members`` (name -> bytes, or a file to copy in)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            archive.writestr(name, data)
    return path


def fields(record: CvrRecord) -> dict[str, Any]:
    """A record's fields as a dict (vendor fields included)."""
    return dict(vars(record))
