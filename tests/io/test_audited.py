from __future__ import annotations

from pathlib import Path

import pytest

from tallyguard.errors import InputError
from tallyguard.io.audited import read_audited
from tallyguard.model import Contest, ContestKind

COUNCIL = Contest("c", "Council", ContestKind.PLURALITY, ("Ann", "Bo", "Cy"), 2, 2)


def test_polling_cells(tmp_path: Path) -> None:
    path = tmp_path / "audited.csv"
    path.write_text("ticket,vote\n0.1,Ann\n0.2,ann; Bo\n0.3,\n0.4,NOT FOUND\n0.5,not on card\n")
    sample = read_audited(path, COUNCIL, comparison=False)
    assert sample.size == 5
    assert sample.votes is not None
    assert sample.votes.marks.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert sample.votes.missing.tolist() == [False, False, False, True, False]
    assert sample.votes.off_card.tolist() == [False, False, False, False, True]


def test_comparison_cells(tmp_path: Path) -> None:
    path = tmp_path / "audited.csv"
    path.write_text("cvr,mvr\nAnn,Bo\nNO CVR,Cy\nBo;Cy,NOT FOUND\n")
    sample = read_audited(path, COUNCIL, comparison=True)
    assert sample.cvr is not None
    assert sample.mvr is not None
    assert sample.cvr.missing.tolist() == [False, True, False]
    assert sample.mvr.missing.tolist() == [False, False, True]
    assert sample.cvr.marks[2].tolist() == [0, 1, 1]


def test_unknown_choice_names_line_and_suggests(tmp_path: Path) -> None:
    path = tmp_path / "audited.csv"
    path.write_text("vote\nAnn\nBob\n")
    with pytest.raises(InputError) as caught:
        read_audited(path, COUNCIL, comparison=False)
    message = str(caught.value)
    assert "line 3" in message
    assert "'vote'" in message
    assert "did you mean 'Bo'" in message


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audited.csv"
    path.write_text("cvr,paper\nAnn,Ann\n")
    with pytest.raises(InputError, match="mvr"):
        read_audited(path, COUNCIL, comparison=True)
