"""Hand-built audit results for the report tests (fixtures in ``conftest.py``).

The reports render :class:`~tallyguard.audit.workflow.result.AuditResult`
whatever engine produced it, so these results are written out by hand, small
enough to read and with values chosen to be checked exactly (full-precision
p-values, a +1 and a -2 discrepancy, a contest that is confirmed in round 2
but not in round 1). Tickets and p-value paths are illustrative, not derived
from the seeds.

* :func:`polling_result`: one round of ballot polling (BRAVO), the targeted
  contest confirmed, an opportunistic one not;
* :func:`comparison_result`: ballot-level comparison (ALPHA) in two rounds,
  round 1 not confirmed, round 2 confirmed, discrepancies in both, and an
  approval contest with six assertions;
* :func:`batch_result`: batch comparison, confirmed in one round;
* :func:`unfinished_result`: ballot polling, round 1 open with 4 of 10 draws audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from tallyguard.audit.workflow.result import (
    AssertionStatus,
    AuditResult,
    CardDiscrepancy,
    ContestStatus,
    Draw,
    RoundStatus,
)

POLLING_SEED = "31415926535897932384"
COMPARISON_SEED = "98765432109876543210"
BATCH_SEED = "11111222223333344444"

# Final p-values with every digit significant, so the CSV must print them in full.
MAYOR_P = 0.08316592270916393
MEASURE_P = 0.8718281828459045
GOVERNOR_ROUND_1_P = 0.21347920382519264
GOVERNOR_P = 0.031415926535897934
SHERIFF_P = 0.04472135954999579


def path(values: Sequence[float]) -> tuple[float, ...]:
    """A risk path as the engine reports it: non-increasing, at most 1."""
    assert all(b <= a <= 1 for a, b in pairwise(values))
    return tuple(values)


def ticket(draw: int) -> str:
    return f"0.{(draw * 7919) % 100000:05d}{draw:03d}8245193"


def card_draw(number: int, round_: int, readings: dict[str, str], *, audited: bool = True) -> Draw:
    return Draw(
        draw=number,
        round=round_,
        ticket=ticket(number),
        jurisdiction="Adams County" if number % 3 else "Baker County",
        tabulator=f"TAB-{1 + number % 2}",
        batch_name=f"Batch {10 + number % 4}",
        position=3 * number + 1,
        container=None if number % 2 else f"Box {number}",
        imprinted_id=f"{1 + number % 2}-{10 + number % 4}-{3 * number + 1}",
        audited=audited,
        readings=readings,
    )


def polling_result(mayor: str = "Mayor", choice: str = "Alice") -> AuditResult:
    """Ballot polling, one round of 10 cards: Mayor confirmed, Measure A not."""
    mayor_path = path(
        [
            *(0.8333333333333334, 0.6944444444444445, 0.6944444444444445, 0.5787037037037038),
            *(0.48225308641975306, 0.48225308641975306, 0.4018775720164609, 0.4018775720164609),
            *(0.15, MAYOR_P),
        ]
    )
    measure_path = path([1.0, 1.0, 0.97, 0.97, 0.95, 0.93, 0.93, 0.91, 0.9, MEASURE_P])
    votes = [choice, choice, "Bob", choice, choice, "BLANK", choice, "Bob", choice, choice]
    measure = ["Yes", "No", "Yes", "Yes", "No", "Yes", "NOT ON CARD", "Yes", "No", "Yes"]
    sample = tuple(
        card_draw(n, 1, {mayor: votes[n - 1], "Measure A": measure[n - 1]}) for n in range(1, 11)
    )
    return AuditResult(
        name="Springfield polling audit",
        election="Springfield municipal election 2024",
        kind="polling",
        method="bravo",
        risk_limit=0.1,
        seed=POLLING_SEED,
        population=60,
        rounds=(
            RoundStatus(
                round=1,
                sample_size=10,
                audited=10,
                risks={mayor: MAYOR_P, "Measure A": MEASURE_P},
                confirmed={mayor: True, "Measure A": False},
            ),
        ),
        contests=(
            ContestStatus(
                contest=mayor,
                targeted=True,
                winners=(choice,),
                ballots=60,
                population=60,
                totals={choice: 36, "Bob": 20},
                risk=MAYOR_P,
                confirmed=True,
                audited=10,
                notes=(),
            ),
            ContestStatus(
                contest="Measure A",
                targeted=False,
                winners=("Yes",),
                ballots=58,
                population=60,
                totals={"Yes": 31, "No": 27},
                risk=MEASURE_P,
                confirmed=False,
                audited=10,
                notes=(
                    "58 of the 60 cards in the manifest carry this contest; the other 2 "
                    "count as cards without a vote in it.",
                ),
            ),
        ),
        assertions=(
            AssertionStatus(
                contest=mayor,
                assertion=f"{mayor}: {choice} beats Bob",
                winner=choice,
                loser="Bob",
                margin=0.26666666666666666,
                p_value=MAYOR_P,
                confirmed=True,
                p_values=mayor_path,
            ),
            AssertionStatus(
                contest="Measure A",
                assertion="Measure A: Yes beats No",
                winner="Yes",
                loser="No",
                margin=0.06666666666666667,
                p_value=MEASURE_P,
                confirmed=False,
                p_values=measure_path,
            ),
        ),
        sample=sample,
        discrepancies=(),
        confirmed=True,
        next_step="Every targeted contest is confirmed at risk limit 10%: the audit can finish.",
    )


GOVERNOR = {"Carol": 110, "Dave": 70, "Eve": 15}
LIBRARY = {"Ann": 120, "Ben": 104, "Cy": 96, "Di": 60, "Ed": 22}


def comparison_result() -> AuditResult:
    """Ballot-level comparison in two rounds (6 then 14 cards), with discrepancies."""
    governor_dave = path(
        [
            *(0.62, 0.44, 0.44, 0.36, 0.27, GOVERNOR_ROUND_1_P),
            *(0.16, 0.12, 0.12, 0.095, 0.071, 0.054, 0.041, GOVERNOR_P),
        ]
    )
    governor_eve = path([0.3 * 0.55**k for k in range(14)])
    library = []
    for winner in ("Ann", "Ben"):
        for loser in ("Cy", "Di", "Ed"):
            margin = (LIBRARY[winner] - LIBRARY[loser]) / 200
            final = min(1.0, 0.012 / margin**2)
            values = path([min(1.0, final * 1.3 ** (13 - k)) for k in range(14)])
            library.append(
                AssertionStatus(
                    contest="Library Board",
                    assertion=f"Library Board: {winner} beats {loser}",
                    winner=winner,
                    loser=loser,
                    margin=margin,
                    p_value=values[-1],
                    confirmed=values[-1] <= 0.05,
                    p_values=values,
                )
            )
    library_risk = max(a.p_value for a in library)
    library_round_1 = max(a.p_values[5] for a in library)
    governor = ["Carol", "Dave", "BLANK", "Carol", "Carol", "Eve", "Carol"]
    governor += ["Carol", "Carol", "Dave", "Carol", "Carol", "Eve", "Carol"]
    board = ["Ann;Ben", "Ann", "Ben;Cy", "Ann;Ben", "Di", "BLANK", "Ann;Ed"]
    board += ["Ben", "Ann;Ben", "Cy;Di", "Ann", "Ann;Ben", "Ben;Ed", "Ann;Cy"]
    sample = tuple(
        card_draw(
            n, 1 if n <= 6 else 2, {"Governor": governor[n - 1], "Library Board": board[n - 1]}
        )
        for n in range(1, 15)
    )
    first, second = sample[2], sample[8]
    return AuditResult(
        name="State comparison audit",
        election="State general election 2024",
        kind="comparison",
        method="alpha",
        risk_limit=0.05,
        seed=COMPARISON_SEED,
        population=200,
        rounds=(
            RoundStatus(
                round=1,
                sample_size=6,
                audited=6,
                risks={"Governor": GOVERNOR_ROUND_1_P, "Library Board": library_round_1},
                confirmed={"Governor": False, "Library Board": False},
            ),
            RoundStatus(
                round=2,
                sample_size=14,
                audited=14,
                risks={"Governor": GOVERNOR_P, "Library Board": library_risk},
                confirmed={"Governor": True, "Library Board": library_risk <= 0.05},
            ),
        ),
        contests=(
            ContestStatus(
                contest="Governor",
                targeted=True,
                winners=("Carol",),
                ballots=200,
                population=200,
                totals=dict(GOVERNOR),
                risk=GOVERNOR_P,
                confirmed=True,
                audited=14,
                notes=(),
            ),
            ContestStatus(
                contest="Library Board",
                targeted=False,
                winners=("Ann", "Ben"),
                ballots=200,
                population=200,
                totals=dict(LIBRARY),
                risk=library_risk,
                confirmed=library_risk <= 0.05,
                audited=14,
                notes=(),
            ),
        ),
        assertions=(
            AssertionStatus(
                contest="Governor",
                assertion="Governor: Carol beats Dave",
                winner="Carol",
                loser="Dave",
                margin=0.2,
                p_value=GOVERNOR_P,
                confirmed=True,
                p_values=governor_dave,
            ),
            AssertionStatus(
                contest="Governor",
                assertion="Governor: Carol beats Eve",
                winner="Carol",
                loser="Eve",
                margin=0.475,
                p_value=governor_eve[-1],
                confirmed=True,
                p_values=governor_eve,
            ),
            *library,
        ),
        sample=sample,
        discrepancies=(
            CardDiscrepancy(
                draw=first.draw,
                round=1,
                jurisdiction=first.jurisdiction,
                tabulator=first.tabulator,
                batch_name=first.batch_name,
                position=first.position,
                imprinted_id=first.imprinted_id,
                contest="Governor",
                reported="Carol",
                audited="BLANK",
                overstatement=1,
            ),
            CardDiscrepancy(
                draw=second.draw,
                round=2,
                jurisdiction=second.jurisdiction,
                tabulator=second.tabulator,
                batch_name=second.batch_name,
                position=second.position,
                imprinted_id=None,
                contest="Governor",
                reported="Dave",
                audited="Carol",
                overstatement=-2,
            ),
        ),
        confirmed=True,
        next_step="Every targeted contest is confirmed at risk limit 5%: the audit can finish.",
    )


def batch_result() -> AuditResult:
    """Batch comparison, 4 of 12 batches, confirmed in round 1."""
    tallies = [
        "Frank: 420; Grace: 390",
        "Frank: 509; Grace: 383",
        "Frank: 611; Grace: 402",
        "Frank: 388; Grace: 377",
    ]
    sample = tuple(
        Draw(
            draw=n,
            round=1,
            ticket=ticket(n),
            jurisdiction="Carroll County",
            tabulator="",
            batch_name=f"Precinct {n * 3}",
            position=0,
            container=None,
            imprinted_id=None,
            audited=True,
            readings={"Sheriff": tallies[n - 1]},
        )
        for n in range(1, 5)
    )
    sheriff = path([0.41, 0.2, 0.09, SHERIFF_P])
    return AuditResult(
        name="County batch audit",
        election="County primary 2024",
        kind="batch",
        method="alpha",
        risk_limit=0.1,
        seed=BATCH_SEED,
        population=12,
        rounds=(
            RoundStatus(
                round=1,
                sample_size=4,
                audited=4,
                risks={"Sheriff": SHERIFF_P},
                confirmed={"Sheriff": True},
            ),
        ),
        contests=(
            ContestStatus(
                contest="Sheriff",
                targeted=True,
                winners=("Frank",),
                ballots=9500,
                population=12,
                totals={"Frank": 5200, "Grace": 4100},
                risk=SHERIFF_P,
                confirmed=True,
                audited=4,
                notes=(),
            ),
        ),
        assertions=(
            AssertionStatus(
                contest="Sheriff",
                assertion="Sheriff: Frank beats Grace",
                winner="Frank",
                loser="Grace",
                margin=0.11578947368421053,
                p_value=SHERIFF_P,
                confirmed=True,
                p_values=sheriff,
            ),
        ),
        sample=sample,
        discrepancies=(
            CardDiscrepancy(
                draw=2,
                round=1,
                jurisdiction="Carroll County",
                tabulator="",
                batch_name="Precinct 6",
                position=0,
                imprinted_id=None,
                contest="Sheriff",
                reported="Frank: 512; Grace: 380",
                audited="Frank: 509; Grace: 383",
                overstatement=6,
            ),
        ),
        confirmed=True,
        next_step="Every targeted contest is confirmed at risk limit 10%: the audit can finish.",
    )


def unfinished_result() -> AuditResult:
    """Ballot polling, round 1 of 10 cards with only the first 4 audited."""
    done = polling_result()
    audited = 4
    sample = tuple(
        replace(
            d,
            audited=d.draw <= audited,
            readings=(
                d.readings
                if d.draw <= audited
                else ({"Mayor": d.readings["Mayor"]} if d.draw == audited + 1 else {})
            ),
        )
        for d in done.sample
    )
    mayor, measure = (a.p_values[:audited] for a in done.assertions)
    return AuditResult(
        name="Springfield polling audit",
        election=done.election,
        kind="polling",
        method="bravo",
        risk_limit=0.1,
        seed=POLLING_SEED,
        population=60,
        rounds=(
            RoundStatus(
                round=1,
                sample_size=10,
                audited=audited,
                risks={"Mayor": mayor[-1], "Measure A": measure[-1]},
                confirmed={"Mayor": False, "Measure A": False},
            ),
        ),
        contests=tuple(
            replace(c, risk=risk[-1], confirmed=False, audited=audited)
            for c, risk in zip(done.contests, (mayor, measure), strict=True)
        ),
        assertions=tuple(
            replace(a, p_value=risk[-1], confirmed=False, p_values=risk)
            for a, risk in zip(done.assertions, (mayor, measure), strict=True)
        ),
        sample=sample,
        discrepancies=(),
        confirmed=False,
        next_step="Round 1: 6 of 10 sampled cards still need readings.",
    )
