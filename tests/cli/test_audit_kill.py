"""``kill -9`` during ``tallyguard audit record``: nothing lost, nothing half-written.

The issue's acceptance test, on SQLite and on PostgreSQL (the ``db_url`` fixture).
A comparison audit of a simulated three-county election is set up through the
CLI in-process and round 1 is drawn; the boards' readings of its 1,000 cards
are one file of 2,000 rows. Then ``tallyguard audit record FILE`` runs as
a real process, again and again, and is killed with SIGKILL at moments spread
over its run (:data:`PLANS`): while Python starts, shortly before its first
write (opening the store, reading the audit), as soon as it writes its first
row, half-way through its writes, as its commit begins, while the commit
overwrites the SQLite file, just after its commit, and once not at all.

Every trial records a file with its own comment and actor on every row, so
after each kill the store must hold either exactly the rows it held before or
exactly the rows of that file, with exactly one new ``readings.recorded`` event
describing them in the second case and none in the first; the hash chain
verifies (``audit log --verify``) and ``audit status`` works.

The test watches the process from outside to know where each kill landed. On
SQLite the rollback journal next to the file exists from the first written page
to the commit, which deletes it. Its header is synced (it turns *hot*) only just
before the commit writes the database file: a kill before leaves a cold journal
that SQLite ignores, a kill after a hot one that the next open rolls back, so
the journal left behind says whether the kill lost the command or not. On
PostgreSQL ``pg_stat_activity`` shows the process's transaction holding a
transaction id from its first write to its commit.

Seven or eight runs of the CLI (each starts Python and reads the audit, about
1.5 s before its first write) and the checks after each take about 15 s per
backend on an idle two-core machine (both backends at once), 30-55 s on a busy
one, hence ``slow``.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, select

from tallyguard.audit.workflow.state import find_audit
from tallyguard.evidence.canonical import sha256_file
from tallyguard.evidence.chain import ChainRecord
from tallyguard.io.readings import interpretation_text
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.boards import fill_readings, paper_ballots
from tallyguard.store.db import Store, resolve_url
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Batch, Contest, Interpretation, Jurisdiction
from tests.cli.conftest import Invoke

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,
]

SEED = "27182818284590452353"
ELECTION = {
    "seed": "kill-9-record",
    "units": 6,
    "jurisdictions": 3,
    "regions": 3,
    "discrepancies": {"overstatement_2": 0.01},
}
#: Cards drawn in round 1 (of 4,481); two contests each, so 2,000 readings. ``record``
#: takes about 2 s, most of it starting Python and reading the audit; its writes take
#: from tens of milliseconds (bulk inserts) to a second (row by row).
DRAWS = 1000
#: Seconds between looks at the process (a ``stat`` on SQLite, a query on PostgreSQL):
#: ``record`` writes for only tens of milliseconds, and its commit's journal is hot
#: for a few.
POLL_SQLITE_S = 0.001
POLL_POSTGRES_S = 0.002
#: A plan waiting for a moment that went by between two looks (the process then ran to
#: its end) is tried again, at most this many times in all.
ATTEMPTS = 3
#: The first bytes of a SQLite rollback journal once its header is synced (a hot journal).
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
EXIT_TIMEOUT_S = 120.0

Row = tuple[str, str, str, int, str, str, str]  # Arlo's reading columns, position as int
Stored = tuple[Row, str]  # a reading and the board (actor) that recorded it


#: What the test can see of a ``record`` process, in order. ``connected``: PostgreSQL
#: only. ``syncing`` and ``overwriting``: SQLite only, its journal is hot, and the
#: database file is not yet or is already being written.
PHASES = ("startup", "connected", "writing", "syncing", "overwriting", "committed")
WRITING = ("writing", "syncing", "overwriting")


@dataclass(frozen=True)
class Plan:
    """When to kill: ``offset`` seconds (or fraction) after an anchor.

    ``start``: seconds after the process was started. ``before-write``: that
    fraction of the measured time from start to the first write. ``write``: that
    fraction of the measured write time after the first write was seen.
    ``sync``: SQLite, as soon as the journal is hot (the commit has begun);
    PostgreSQL, at the measured end of the writes. ``overwrite`` (SQLite only):
    as soon as the commit writes the database file, under a hot journal.
    ``commit``: as soon as the commit is seen (also the fallback of ``sync``
    and ``overwrite`` when their moment went by between two looks).
    ``never``: let it finish.
    """

    anchor: str
    offset: float = 0.0
    sqlite_only: bool = False

    def __str__(self) -> str:
        return f"{self.anchor}+{self.offset:g}"


#: Spread over the whole run; each plan needs only timings measured by earlier ones.
PLANS = (
    Plan("start", 0.05),  # the interpreter is still starting
    Plan("write", 0.0),  # the first row is written; nothing is stored yet
    Plan("commit"),  # committed, the process still running: everything must stay
    Plan("write", 0.5),  # half-way through the writes, replacing committed rows
    Plan("sync"),  # the commit begins
    Plan("overwrite", sqlite_only=True),  # the database file is half-written
    Plan("before-write", 0.9),  # opening the store / reading the audit
    Plan("never"),  # not killed: the reference run
)


@dataclass
class Outcome:
    """What one trial did and where its kill landed."""

    plan: Plan
    returncode: int
    elapsed: float
    phase: str  # the last of PHASES seen before the kill
    seen: dict[str, float]  # seconds after start each phase was first seen
    journal: str | None = None  # SQLite only: journal left behind: none, cold or hot
    file_changed: bool | None = None  # SQLite only: the database file changed by the kill
    stdout: str = ""
    stderr: str = ""
    committed: bool = False  # decided from the store afterwards

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def missed(self) -> bool:
        """The plan waited for a moment it never saw, so the process ran to its end."""
        return not self.killed and self.plan.anchor not in ("start", "before-write", "never")


class Probe:
    """Where a ``record`` process is: before writing, writing, or committed."""

    def __init__(self, db_url: str) -> None:
        url = make_url(resolve_url(db_url))
        self.sqlite = url.get_backend_name() == "sqlite"
        self.journal: Path | None = None
        self.app = f"tgkill-{uuid.uuid4().hex[:12]}"
        self._monitor: Any = None
        self._stale: tuple[int, int, int] | None = None
        self._file: tuple[int, int] | None = None
        if self.sqlite:
            assert url.database is not None
            self.database = Path(url.database)
            self.journal = Path(f"{url.database}-journal")
            self.process_url = db_url
        else:
            import psycopg

            self.process_url = f"{db_url}&application_name={self.app}"
            self._monitor = psycopg.connect(db_url, autocommit=True)

    def begin(self) -> None:
        """Call before each process starts: remember any journal already there."""
        if self.journal is not None:
            self._stale = self._journal_stat()
            self._file = self._file_stat()

    def _file_stat(self) -> tuple[int, int]:
        found = self.database.stat()
        return found.st_mtime_ns, found.st_size

    def file_changed(self) -> bool | None:
        """SQLite: whether the database file itself was written since :meth:`begin`."""
        return None if self.journal is None else self._file_stat() != self._file

    def left_behind(self) -> str | None:
        """SQLite, after a kill: ``none``, or a ``cold`` or ``hot`` journal of the process.

        A hot journal (its header synced, so the database file may hold changed
        pages) must be rolled back by the next open; a cold one is ignored.
        """
        if self.journal is None:
            return None
        state = self.state()
        return "none" if state == "idle" else "cold" if state == "writing" else "hot"

    def _journal_stat(self) -> tuple[int, int, int] | None:
        assert self.journal is not None
        try:
            found = self.journal.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

    def state(self) -> str:
        """``idle``, or where the process is (one of :data:`PHASES`, not ``committed``).

        SQLite: ``writing`` while its journal exists, ``syncing`` once the journal
        is hot, that is from the commit's journal sync (or a cache spill) on, and
        ``overwriting`` once the database file has changed too. A journal left by
        an earlier kill before its sync is cold: SQLite ignores it and leaves it
        in place until the next write transaction reuses it, so only a journal
        that is new or changed since :meth:`begin` counts. PostgreSQL:
        ``connected`` once the process has a connection, ``writing`` while its
        transaction holds a transaction id.
        """
        if self.journal is not None:
            found = self._journal_stat()
            if found is None or found == self._stale:
                return "idle"
            try:
                hot = self.journal.read_bytes()[:8] == JOURNAL_MAGIC
            except FileNotFoundError:  # committed in between
                return "idle"
            if not hot:
                return "writing"
            return "overwriting" if self.file_changed() else "syncing"
        rows = self._monitor.execute(
            "SELECT backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = %s",
            (self.app,),
        ).fetchall()
        return "writing" if any(r[0] for r in rows) else "connected" if rows else "idle"

    def wait_until_gone(self) -> None:
        """PostgreSQL: wait until the server has ended the dead client's backend."""
        if self._monitor is None:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = self._monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self.app,)
            ).fetchone()
            if not row[0]:
                return
            time.sleep(0.01)
        pytest.fail("the killed client's PostgreSQL backend never went away")

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.close()


@dataclass
class Timings:
    """Measured by earlier trials: seconds from start to the first write, and of writing."""

    sqlite: bool
    to_write: list[float] = field(default_factory=list)
    writing: list[float] = field(default_factory=list)

    def record(self, seen: dict[str, float]) -> None:
        if "writing" in seen:
            self.to_write.append(seen["writing"])
            if "committed" in seen:
                self.writing.append(seen["committed"] - seen["writing"])

    def deadline(self, plan: Plan, seen: dict[str, float]) -> float:
        """Seconds after start to kill at, or ``inf`` while its anchor is not seen yet."""
        never = float("inf")
        if plan.anchor == "start":
            return plan.offset
        if plan.anchor == "before-write":
            assert self.to_write, "a plan before it must have seen a write"
            return plan.offset * min(self.to_write)
        if plan.anchor == "write" or (plan.anchor == "sync" and not self.sqlite):
            offset = 1.0 if plan.anchor == "sync" else plan.offset
            assert self.writing or not offset, "a plan before it must have seen a commit"
            span = min(self.writing) if offset else 0.0
            return seen["writing"] + offset * span if "writing" in seen else never
        anchors = {
            "commit": ("committed",),
            "sync": ("syncing", "overwriting", "committed"),
            "overwrite": ("overwriting", "committed"),
        }.get(plan.anchor, ())
        return min((seen[a] for a in anchors if a in seen), default=never)


def _ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, f"exit {code}\nstdout: {out}\nstderr: {err}"
    return out


def _setup(cli: Invoke, db: list[str], election: Path, out: Path) -> None:
    _ok(cli("audit", "init", "--name", "Kill", "--election", "Sim", "--kind", "comparison", *db))
    _ok(cli("audit", "add-jurisdiction", "J01", "J02", "J03", *db))
    _ok(cli("audit", "manifest", str(election / "manifest.csv"), *db))
    _ok(cli("audit", "cvrs", str(election / "cvrs.csv"), *db))
    contests = str(election / "contests.json")
    _ok(cli("audit", "contest", "--contests", contests, "--name", "Governor", *db))
    _ok(cli("audit", "contest", "--contests", contests, "--name", "Measure A",
            "--opportunistic", *db))  # fmt: skip
    _ok(cli("audit", "seed", SEED, *db))
    drawn = json.loads(_ok(cli("audit", "draw", "--size", str(DRAWS), "--out", str(out),
                               "--json", *db)))  # fmt: skip
    assert drawn["new_draws"] == DRAWS


def _readings(election: Path, folder: Path) -> list[list[str]]:
    """Every template of the round filled from the paper: one list of rows, no header."""
    paper = paper_ballots(election)
    rows: list[list[str]] = []
    for template in sorted(folder.glob("readings-*.csv")):
        text = fill_readings(template, election, paper=paper)
        rows += list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == 2 * DRAWS
    assert all(row[5] for row in rows), "every reading is filled in"
    return rows


def _trial_file(folder: Path, header: list[str], rows: list[list[str]], tag: str) -> Path:
    """The readings with ``tag`` as every row's comment, so each trial's rows are its own."""
    path = folder / f"readings-{tag.replace(' ', '-')}.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([*row[:6], tag] for row in rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _expected(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))[1:]
    return [(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6]) for r in rows]


@contextmanager
def _killed_on_failure(process: subprocess.Popen[str]) -> Iterator[None]:
    try:
        yield
    finally:
        if process.poll() is None:  # only if the test itself failed
            process.kill()
            process.wait()


def _run_trial(argv: list[str], cwd: Path, probe: Probe, plan: Plan, timings: Timings) -> Outcome:
    """Start ``argv``, SIGKILL it when ``plan`` says (watching where it is), and reap it."""
    probe.begin()
    start = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen: dict[str, float] = {}
    phase = "startup"
    with _killed_on_failure(process):
        while process.poll() is None:
            now = time.monotonic() - start
            state = probe.state()
            if "committed" in seen:
                pass
            elif state in WRITING:
                seen.setdefault("writing", now)
                seen.setdefault(state, now)
                phase = max(phase, state, key=PHASES.index)
            elif "writing" in seen:  # the transaction is over: it committed
                seen["committed"], phase = now, "committed"
            elif state == "connected":
                seen.setdefault("connected", now)
                phase = "connected"
            if now >= timings.deadline(plan, seen):
                process.send_signal(signal.SIGKILL)
                break
            if now > EXIT_TIMEOUT_S:
                pytest.fail(f"tallyguard audit record ran for over {EXIT_TIMEOUT_S:g} s")
            time.sleep(POLL_SQLITE_S if probe.sqlite else POLL_POSTGRES_S)
        out, err = process.communicate(timeout=EXIT_TIMEOUT_S)
    elapsed = time.monotonic() - start
    timings.record(seen)
    outcome = Outcome(plan, process.returncode, elapsed, phase, seen, stdout=out, stderr=err)
    outcome.journal = probe.left_behind()
    outcome.file_changed = probe.file_changed()
    probe.wait_until_gone()
    return outcome


def _state(db_url: str) -> tuple[list[ChainRecord], list[Stored]]:
    """The audit's events and every stored reading (and its board), read in-process."""
    with Store.open(db_url) as store, store.transaction() as session:
        audit = find_audit(session, None)
        problems = verify_log(session, audit.id)
        assert problems == [], problems
        chain = load_chain(session, audit.id)
        query = (
            select(
                Jurisdiction.name,
                Batch.tabulator,
                Batch.batch_name,
                Interpretation.position,
                Contest.name,
                Interpretation.result,
                Interpretation.choices,
                Interpretation.comment,
                Interpretation.board,
            )
            .join(Batch, Interpretation.batch_id == Batch.id)
            .join(Jurisdiction, Batch.jurisdiction_id == Jurisdiction.id)
            .join(Contest, Interpretation.contest_id == Contest.id)
            .where(Interpretation.audit_id == audit.id)
        )
        stored = [
            ((j, tab, name, pos, contest, interpretation_text(result, choices), comment), board)
            for j, tab, name, pos, contest, result, choices, comment, board in session.execute(
                query
            )
        ]
    return chain, sorted(stored)


def _check_trial(
    outcome: Outcome,
    before: tuple[list[ChainRecord], list[Stored]],
    after: tuple[list[ChainRecord], list[Stored]],
    path: Path,
    actor: str,
) -> None:
    """All or nothing: the rows and one event of ``path``, or the store exactly as before."""
    chain_before, rows_before = before
    chain, rows = after
    assert chain[: len(chain_before)] == chain_before, "earlier events changed"
    added = chain[len(chain_before) :]
    assert len(added) <= 1, f"{len(added)} events from one record command"
    expected = _expected(path)
    if not added:
        assert rows == rows_before, (
            f"{outcome.plan}: no event was committed, yet the readings changed "
            f"({len(rows_before)} rows before, {len(rows)} after)"
        )
        return
    event = added[0]
    assert event.type == "readings.recorded"
    assert event.actor == actor
    assert event.payload["file"] == path.name
    assert event.payload["sha256"] == sha256_file(path)
    assert event.payload["round"] == 1
    assert [tuple(r) for r in event.payload["readings"]] == expected
    assert rows == sorted((row, actor) for row in expected), (
        f"{outcome.plan}: the event was committed, yet the stored readings are not exactly "
        f"the file's ({sum(board == actor for _, board in rows)} of {len(expected)} rows)"
    )
    outcome.committed = True


def _expect_from_watching(outcome: Outcome) -> None:
    """Where the kill landed decides the outcome wherever the outside can tell."""
    if not outcome.killed:
        assert outcome.returncode == 0, f"{outcome.plan}: {outcome.stderr}"
        assert json.loads(outcome.stdout) == {"readings": 2 * DRAWS, "round": 1}
        assert outcome.committed
    elif outcome.phase in ("startup", "connected"):  # killed before its first write
        assert not outcome.committed, f"{outcome.plan}: stored without writing"
    elif outcome.phase == "committed":
        assert outcome.committed, f"{outcome.plan}: a commit was lost"
    elif outcome.journal is not None:  # SQLite, killed while writing: the journal tells
        assert outcome.committed is (outcome.journal == "none"), (
            f"{outcome.plan}: journal {outcome.journal}, committed {outcome.committed}"
        )
        if outcome.phase in ("syncing", "overwriting"):
            assert outcome.journal != "cold", f"{outcome.plan}: a hot journal turned cold"


def _summary(outcomes: list[Outcome], total: float) -> str:
    lines = [f"{len(outcomes)} trials in {total:.1f} s:"]
    for o in outcomes:
        seen = " ".join(f"{name}@{t:.2f}" for name, t in o.seen.items())
        sqlite = f" journal {o.journal}, file changed {o.file_changed};" if o.journal else ""
        where = f"killed in {o.phase:<11}" if o.killed else "ran to its end      "
        lines.append(
            f"  {o.plan!s:<16} exit {o.returncode:>3} after {o.elapsed:5.2f} s, {where}"
            f"{sqlite} stored {'all' if o.committed else 'none'}  [{seen}]"
        )
    return "\n".join(lines)


def test_kill_9_during_record_leaves_all_or_nothing(
    cli: Invoke, db_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    db = ["--db", db_url]
    election = tmp_path / "sim"
    run_simulation(parse_config(ELECTION, source="test"), election)
    _setup(cli, db, election, tmp_path / "r1")
    template = next((tmp_path / "r1").glob("readings-*.csv"))
    header = next(csv.reader(io.StringIO(template.read_text(encoding="utf-8"))))
    rows = _readings(election, tmp_path / "r1")
    probe = Probe(db_url)
    timings = Timings(sqlite=probe.sqlite)
    outcomes: list[Outcome] = []
    state = _state(db_url)
    assert state[1] == [], "no reading is stored yet"
    try:
        plans = [plan for plan in PLANS if probe.sqlite or not plan.sqlite_only]
        trials = [plan for plan in plans for _ in range(ATTEMPTS)]
        for number, plan in enumerate(trials, start=1):
            if outcomes and outcomes[-1].plan == plan and not outcomes[-1].missed:
                continue
            tag, actor = f"trial {number}", f"board-{number}"
            path = _trial_file(tmp_path, header, rows, tag)
            argv = [sys.executable, "-m", "tallyguard.cli.main", "audit", "record", str(path),
                    "--json", "--actor", actor, "--db", probe.process_url]  # fmt: skip
            outcome = _run_trial(argv, tmp_path, probe, plan, timings)
            outcomes.append(outcome)
            after = _state(db_url)
            if outcome.journal == "hot":  # opening the store rolled it back and deleted it
                assert probe.journal is not None
                assert not probe.journal.exists()
            _check_trial(outcome, state, after, path, actor)
            _expect_from_watching(outcome)
            state = after
            assert "hash chain verified" in _ok(cli("audit", "log", "--verify", *db))
            status = json.loads(_ok(cli("audit", "status", "--json", *db)))
            stored_any = any(o.committed for o in outcomes)
            assert status["rounds"][0]["audited"] == (DRAWS if stored_any else 0)
    finally:
        probe.close()
        print(_summary(outcomes, time.monotonic() - began))
    mid_write = [o for o in outcomes if o.killed and o.phase in WRITING]
    assert mid_write, "no trial killed the process while it was writing\n" + _summary(
        outcomes, time.monotonic() - began
    )
    done = {o.plan for o in outcomes if not o.missed}
    assert done == set(plans), "plans never carried out\n" + _summary(outcomes, 0)
    events = [e for e in state[0] if e.type == "readings.recorded"]
    assert len(events) == sum(o.committed for o in outcomes)
