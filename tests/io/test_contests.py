"""Reported contest totals: round trip, stable output, checks with JSON paths."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tallyguard.errors import InputError
from tallyguard.io.contests import (
    ReportedContest,
    ReportedElection,
    read_contests,
    write_contests,
)
from tallyguard.model import Contest, ContestKind

MAYOR = Contest("c1", "Mayor", ContestKind.PLURALITY, ("Ana Peña", "Bo", "Cy"))
COUNCIL = Contest("c2", "Council", ContestKind.PLURALITY, ("A", "B", "C", "D"), 2, 2)
LEVY = Contest("c3", "Levy", ContestKind.SUPERMAJORITY, ("Yes", "No"), share_to_win=2 / 3)
ELECTION = ReportedElection(
    "Ñuñoa 2026",
    (
        ReportedContest(MAYOR, 100, {"Ana Peña": 50, "Bo": 30, "Cy": 10}, ("Ana Peña",)),
        ReportedContest(COUNCIL, 80, {"A": 40, "B": 35, "C": 50, "D": 10}, ("C", "A")),
        ReportedContest(LEVY, 90, {"Yes": 59, "No": 30}, ()),
    ),
)
EXPECTED_TEXT = """{
  "election": "Ñuñoa 2026",
  "contests": [
    {
      "contest_id": "c1",
      "name": "Mayor",
      "kind": "plurality",
      "choices": [
        "Ana Peña",
        "Bo",
        "Cy"
      ],
      "num_winners": 1,
      "votes_allowed": 1,
      "share_to_win": null,
      "ballots": 100,
      "totals": {
        "Ana Peña": 50,
        "Bo": 30,
        "Cy": 10
      },
      "winners": [
        "Ana Peña"
      ]
    },
"""


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "contests.json"
    write_contests(path, ELECTION)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(EXPECTED_TEXT)
    assert text.endswith("}\n")
    assert read_contests(path) == ELECTION
    write_contests(tmp_path / "again.json", read_contests(path))
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def document() -> dict[str, Any]:
    return copy.deepcopy(ELECTION.to_json())


def error_of(tmp_path: Path, data: Any) -> InputError:
    path = tmp_path / "contests.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_contests(path)
    return caught.value


def test_wrong_winners_states_both(tmp_path: Path) -> None:
    data = document()
    data["contests"][0]["winners"] = ["Bo"]
    error = error_of(tmp_path, data)
    assert str(error) == (
        f"{tmp_path / 'contests.json'}, field 'contests[0].winners': the reported winners are "
        "['Bo'] but the totals give ['Ana Peña']. Fix: correct the winners or the totals "
        "(ties are broken by choice order)."
    )


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda d: d["contests"][1]["totals"].pop("D"),
            "contests[1].totals",
            "totals has no entry for 'D'.",
        ),
        (
            lambda d: d["contests"][1]["totals"].update(E=0),
            "contests[1].totals",
            "totals has 'E', which is not one of the choices.",
        ),
        (
            lambda d: d["contests"][0].update(ballots=89),
            "contests[0].totals",
            "the totals add up to 90 votes, more than 89 cards x 1 vote(s) allowed = 89.",
        ),
        (
            lambda d: d["contests"][1].update(winners=["A", "C", "C"]),
            "contests[1].winners",
            "the reported winners are ['A', 'C', 'C'] but the totals give ['C', 'A'].",
        ),
        (
            lambda d: d["contests"][2].update(share_to_win=None),
            "contests[2]",
            "supermajority contest 'Levy' needs share_to_win in [1/2, 1).",
        ),
        (
            lambda d: d["contests"][2].update(name="Mayor"),
            "contests[2].name",
            "name 'Mayor' is used by contests[0] and contests[2].",
        ),
        (
            lambda d: d["contests"][1]["totals"].update(A=-1),
            "contests[1].totals.A",
            "Input should be greater than or equal to 0 (found -1).",
        ),
        (
            lambda d: d["contests"][1]["totals"].update(A=4.0),
            "contests[1].totals.A",
            "Input should be a valid integer (found 4.0).",
        ),
        (
            lambda d: d["contests"][0].update(kind="ranked"),
            "contests[0].kind",
            "Input should be 'plurality', 'approval' or 'supermajority' (found \"ranked\").",
        ),
        (
            lambda d: d["contests"][0].pop("ballots"),
            "contests[0].ballots",
            "the required field 'ballots' is missing.",
        ),
        (
            lambda d: d["contests"][0].update(ballot=3),
            "contests[0].ballot",
            "unknown field 'ballot'.",
        ),
    ],
)
def test_errors_name_the_json_path(tmp_path: Path, edit: Any, field: str, message: str) -> None:
    data = document()
    edit(data)
    error = error_of(tmp_path, data)
    assert (error.field, error.message) == (field, message)


def test_tied_winner_follows_choice_order(tmp_path: Path) -> None:
    data = document()
    data["contests"][0]["totals"] = {"Ana Peña": 30, "Bo": 30, "Cy": 10}
    data["contests"][0]["winners"] = ["Ana Peña"]
    path = tmp_path / "tie.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_contests(path).contests[0].winners == ("Ana Peña",)


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "contests.json"
    path.write_text('{\n  "election": "x",\n  "contests": [}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_contests(path)
    assert caught.value.line == 3
    with pytest.raises(InputError, match="file not found"):
        read_contests(tmp_path / "absent.json")
