from __future__ import annotations

import json
from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.audit_contest import read_audit_contest
from tallyguard.model import ContestKind


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "contest.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_single_contest_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"name": "Mayor", "kind": "plurality", "winners": 1, "ballots": 1000,
         "reported": {"Zoe": 400, "Al": 500, "Bea": 50}},
    )  # fmt: skip
    rc = read_audit_contest(path)
    assert rc.contest.choices == ("Zoe", "Al", "Bea")
    assert rc.winners == ("Al",)
    assert rc.ballots == 1000
    assert rc.contest.votes_allowed == 1


def test_supermajority_and_approval_defaults(tmp_path: Path) -> None:
    sm = read_audit_contest(
        write(tmp_path, {"name": "M", "kind": "supermajority", "share_to_win": 0.6,
                         "ballots": 100, "reported": {"Yes": 70, "No": 30}})
    )  # fmt: skip
    assert sm.contest.kind is ContestKind.SUPERMAJORITY
    assert sm.winners == ("Yes",)
    ap = read_audit_contest(
        write(tmp_path, {"name": "B", "kind": "approval", "ballots": 100,
                         "reported": {"A": 70, "B": 60, "C": 5}})
    )  # fmt: skip
    assert ap.contest.votes_allowed == 3


def test_contests_json_by_name(tmp_path: Path) -> None:
    from tallyguard.simulate import parse_config, run_simulation

    out = tmp_path / "e"
    run_simulation(parse_config({"seed": "1", "units": 8, "cvr_formats": ["csv"]}), out)
    rc = read_audit_contest(out / "contests.json", "Measure A")
    assert rc.contest.kind is ContestKind.SUPERMAJORITY
    with pytest.raises(InputError, match="--name"):
        read_audit_contest(out / "contests.json")
    with pytest.raises(InputError, match="no contest 'Nope'"):
        read_audit_contest(out / "contests.json", "Nope")


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"name": "M", "ballots": 10, "reported": {"A": 9, "B": 5}}, "at most 10"),
        ({"name": "M", "ballots": 10, "reported": {"A": 9}}, "at least 2"),
        ({"name": "M", "ballots": 10, "winners": 2, "reported": {"A": 1, "B": 2}}, "num_winners"),
        ({"name": "M", "kind": "supermajority", "ballots": 10, "reported": {"A": 1, "B": 2}},
         "share_to_win"),
        ({"name": "M", "ballots": 10, "reported": {"A": -1, "B": 2}}, "greater than or equal"),
        ({"name": "M", "ballot": 10, "reported": {"A": 1, "B": 2}}, "'ballots' is missing"),
    ],
)  # fmt: skip
def test_bad_contests_are_clear(tmp_path: Path, document: object, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        read_audit_contest(write(tmp_path, document))
    assert "contest.json" in str(caught.value)
