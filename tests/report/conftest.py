"""Fixtures: the hand-built audit results of :mod:`.results`, and the CSV parser."""

from __future__ import annotations

import csv
import io

import pytest

from tallyguard.audit.workflow.result import AuditResult

from .results import batch_result, comparison_result, polling_result, unfinished_result

Sections = dict[str, list[list[str]]]


def parse_sections(text: str) -> Sections:
    """Split an audit report CSV into its sections: name -> [header row, data rows...]."""
    sections: Sections = {}
    current: list[list[str]] | None = None
    for row in csv.reader(io.StringIO(text, newline="")):
        if len(row) == 1 and row[0].startswith("######## ") and row[0].endswith(" ########"):
            current = sections.setdefault(row[0][9:-9], [])
        elif row:
            assert current is not None, f"row {row} before the first section heading"
            current.append(row)
    return sections


def records(sections: Sections, name: str) -> list[dict[str, str]]:
    """The data rows of a section as dicts keyed by its header row."""
    header, *rows = sections[name]
    assert all(len(row) == len(header) for row in rows), name
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def polling() -> AuditResult:
    return polling_result()


@pytest.fixture
def comparison() -> AuditResult:
    return comparison_result()


@pytest.fixture
def batch() -> AuditResult:
    return batch_result()


@pytest.fixture
def unfinished() -> AuditResult:
    return unfinished_result()


@pytest.fixture(params=["polling", "comparison", "batch", "unfinished"])
def any_result(request: pytest.FixtureRequest) -> AuditResult:
    """Each of the hand-built results in turn."""
    builders = {
        "polling": polling_result,
        "comparison": comparison_result,
        "batch": batch_result,
        "unfinished": unfinished_result,
    }
    return builders[request.param]()
