"""A hand-built election of three jurisdictions whose every count is known.

600 cards: Alameda (200), Butte (150), Colusa (250). Mayor (vote for 1) is on
every card: card i of the manifest (0-based, in manifest order) is Alice when
i % 20 < 11, Bob when 11 <= i % 20 < 19 and blank otherwise, so Alice 330,
Bob 240, 30 blank: diluted margin v = 90/600 = 0.15. Council (vote for 2 of
Erin, Farid, Grace) is only on Colusa's 250 cards (so its margin is diluted
in a sample of all 600). The paper equals the CVRs unless a test changes it.
"""

from __future__ import annotations

from collections import Counter

from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

from .conftest import SEED, Election, Marks

MAYOR = Contest("c1", "Mayor", ContestKind.PLURALITY, ("Alice", "Bob"))
COUNCIL = Contest("c2", "Council", ContestKind.PLURALITY, ("Erin", "Farid", "Grace"), 2, 2)
N = 600
V = 90 / 600


def manifest(tabulators: bool = False) -> tuple[ManifestBatch, ...]:
    tab = (lambda name: name) if tabulators else (lambda name: None)
    return (
        ManifestBatch("Alameda", "A-1", 200, container="box 1", tabulator=tab("T1")),
        ManifestBatch("Butte", "B-1", 150, container="box 2", tabulator=tab("T1")),
        ManifestBatch("Colusa", "C-1", 250, container="box 3", tabulator=tab("T2")),
    )


def _marks(i: int, jurisdiction: str) -> Marks:
    k = i % 20
    votes: Marks = {"Mayor": ("Alice",) if k < 11 else ("Bob",) if k < 19 else ()}
    if jurisdiction == "Colusa":
        votes["Council"] = (("Erin", "Grace"), ("Erin",), ("Farid", "Grace"), ("Erin", "Farid"),
                            ("Grace",))[i % 5]  # fmt: skip
    return votes


def hand_election(
    kind: str = "comparison",
    *,
    method: str = "alpha",
    rounds: tuple[int, ...] = (),
    tabulators: bool = False,
    council_targeted: bool = False,
    seed: str | None = SEED,
) -> Election:
    """The hand-built election as an audit of ``kind`` (batch tallies from the CVRs)."""
    batches = manifest(tabulators)
    cvrs: dict[CardKey, Marks] = {}
    i = 0
    for b in batches:
        for p in range(1, b.num_ballots + 1):
            cvrs[CardKey(b.jurisdiction, b.tabulator or "", b.batch_name, p)] = _marks(
                i, b.jurisdiction
            )
            i += 1
    totals = {
        name: Counter(c for m in cvrs.values() for c in m.get(name, ()))
        for name in ("Mayor", "Council")
    }
    mayor = ReportedContest(MAYOR, N, {c: totals["Mayor"][c] for c in MAYOR.choices}, ("Alice",))
    council_totals = {c: totals["Council"][c] for c in COUNCIL.choices}
    council = ReportedContest(COUNCIL, 250, council_totals, COUNCIL.winners(council_totals))
    tallies: dict[tuple[str, str, str], dict[str, int]] = {}
    for card, marks in cvrs.items():
        row = tallies.setdefault(card.batch, {})
        for chosen in marks.values():
            for c in chosen:
                row[c] = row.get(c, 0) + 1
    inputs = AuditInputs(
        name="hand-built",
        election="Hand-built general",
        kind=kind,  # type: ignore[arg-type]
        risk_limit=0.05,
        method=method,
        seed=seed,
        batches=batches,
        contests=(AuditContest(mayor, True), AuditContest(council, council_targeted)),
        cvrs=cvrs if kind == "comparison" else {},
        imprinted_ids={card: f"{card.jurisdiction[0]}-{card.position}" for card in cvrs}
        if kind == "comparison"
        else {},
        batch_tallies=tallies if kind == "batch" else {},
        rounds=rounds,
    )
    return Election(inputs, {k: dict(v) for k, v in cvrs.items()}, cvrs)
