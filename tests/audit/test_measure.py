"""Contest-level risk from an audited sample."""

from __future__ import annotations

import numpy as np
import pytest

from tallyguard.audit.measure import measure_risk
from tallyguard.errors import InputError
from tallyguard.io.audited import AuditedSample, MarkColumn
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind

MAYOR = Contest("m", "Mayor", ContestKind.PLURALITY, ("A", "B", "C"))


def column(choices: list[int | None], k: int = 3) -> MarkColumn:
    marks = np.zeros((len(choices), k), dtype=np.uint8)
    for i, c in enumerate(choices):
        if c is not None:
            marks[i, c] = 1
    n = len(choices)
    return MarkColumn(marks=marks, missing=np.zeros(n, bool), off_card=np.zeros(n, bool))


def reported(a: int, b: int, c: int, ballots: int) -> ReportedContest:
    totals = {"A": a, "B": b, "C": c}
    return ReportedContest(MAYOR, ballots, totals, MAYOR.winners(totals))


def test_polling_confirms_with_a_clear_sample_and_reports_every_pair() -> None:
    sample = AuditedSample(votes=column([0] * 60 + [1] * 20), cvr=None, mvr=None)
    report = measure_risk(reported(6000, 3000, 1000, 10_000), sample, kind="polling")
    assert report.method == "alpha"
    assert [(r.winner, r.loser) for r in report.assertions] == [("A", "B"), ("A", "C")]
    assert report.risk == max(r.p_value for r in report.assertions)
    assert report.confirmed
    assert report.risk < 0.05


def test_comparison_with_no_discrepancies_matches_the_registry() -> None:
    n = 80
    cvr = column([0] * n)
    report = measure_risk(
        reported(6000, 3000, 1000, 10_000),
        AuditedSample(votes=None, cvr=cvr, mvr=cvr),
        kind="comparison",
        method="kaplan-markov",
    )
    # Kaplan-Markov with no discrepancies: p = (1 - v / (2 gamma))^n, v = 0.3 for A vs B
    expected = (1 - 0.3 / (2 * 1.03905)) ** n
    assert report.assertions[0].p_value == pytest.approx(expected, rel=1e-9)


def test_missing_ballots_count_against_the_winner() -> None:
    votes = column([0] * 30)
    lost = MarkColumn(marks=votes.marks, missing=np.ones(30, bool), off_card=votes.off_card)
    found = measure_risk(
        reported(600, 300, 100, 1000), AuditedSample(votes, None, None), kind="polling"
    )
    missing = measure_risk(
        reported(600, 300, 100, 1000), AuditedSample(lost, None, None), kind="polling"
    )
    assert missing.risk == 1.0
    assert found.risk < missing.risk


def test_ties_need_a_full_hand_count() -> None:
    sample = AuditedSample(votes=column([0] * 50), cvr=None, mvr=None)
    report = measure_risk(reported(500, 500, 0, 1000), sample, kind="polling")
    assert report.risk == 1.0
    assert not report.confirmed
    assert any("full hand count" in note for note in report.notes)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"kind": "polling", "method": "kaplan-markov"}, "does not apply"),
        ({"kind": "polling", "risk_limit": 5.0}, "between 0 and 1"),
    ],
)
def test_bad_requests(kwargs: dict[str, object], words: str) -> None:
    sample = AuditedSample(votes=column([0] * 5), cvr=None, mvr=None)
    with pytest.raises(InputError, match=words):
        measure_risk(reported(60, 30, 10, 100), sample, **kwargs)  # type: ignore[arg-type]


def test_sample_larger_than_the_contest_is_an_error_without_replacement() -> None:
    sample = AuditedSample(votes=column([0] * 12), cvr=None, mvr=None)
    with pytest.raises(InputError, match="only 10 ballot cards"):
        measure_risk(reported(6, 3, 1, 10), sample, kind="polling")
    assert measure_risk(reported(6, 3, 1, 10), sample, kind="polling", with_replacement=True)
