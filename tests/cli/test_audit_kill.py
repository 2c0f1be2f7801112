"""``kill -9`` during ``tallyguard audit record``: nothing lost, nothing half-written.

The issue's acceptance test, on SQLite and on PostgreSQL (the ``db_url`` fixture).
A comparison audit of a simulated three-county election is set up through the
CLI in-process and round 1 is drawn; the boards' readings of every card are
one file of a few thousand rows. Then ``tallyguard audit record FILE`` runs as
a real process, again and again, and is killed with SIGKILL at moments spread
over its run: while Python starts, while it reads the audit, as soon as it
writes its first row, part-way through and near the end of its writes, just
after its commit, and once not at all.

Every trial records a file with its own comment and actor on every row, so
after each kill the store must hold either exactly the rows it held before or
exactly the rows of that file, with exactly one new ``readings.recorded`` event
describing them in the second case and none in the first; the hash chain
verifies (``audit log --verify``) and ``audit status`` works.

The test watches the process from outside to know where each kill landed: on
SQLite a rollback journal next to the file exists from the first written page
to the commit (and one left behind after the kill is a hot journal, rolled back
on the next open); on PostgreSQL ``pg_stat_activity`` shows the process's
transaction holding a transaction id from its first write to its commit.
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

from tallyguard.audit.workflow.state import find_audit, sha256_of
from tallyguard.evidence.chain import ChainRecord
from tallyguard.io.readings import interpretation_text
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.boards import fill_readings, paper_ballots
from tallyguard.store.db import Store, resolve_url
from tallyguard.store.events import load_chain, verify_log
from tallyguard.store.models import Batch, Contest, Interpretation, Jurisdiction
from tests.cli.conftest import Invoke

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

SEED = "27182818284590452353"
ELECTION = {
    "seed": "kill-9-record",
    "units": 18,
    "jurisdictions": 3,
    "regions": 3,
    "discrepancies": {"overstatement_2": 0.01},
}
#: Cards drawn in round 1; two contests each, so twice as many readings.
DRAWS = 1000
POLL_S = 0.002
#: The first bytes of a SQLite rollback journal once its header is synced (a hot journal).
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
EXIT_TIMEOUT_S = 120.0

Row = tuple[str, str, str, int, str, str, str]  # Arlo's reading columns, position as int
Stored = tuple[Row, str]  # a reading and the board (actor) that recorded it


@dataclass(frozen=True)
class Plan:
    """When to kill: ``offset`` seconds (or fraction) after an anchor.

    ``start``: seconds after the process was started. ``before-write``: that
    fraction of the measured time from start to the first write. ``write``: that
    fraction of the measured write time after the first write was seen.
    ``commit``: as soon as the commit is seen. ``never``: let it finish.
    """

    anchor: str
    offset: float = 0.0

    def __str__(self) -> str:
        return f"{self.anchor}+{self.offset:g}"


#: Spread over the whole run; each plan needs only timings measured by earlier ones.
PLANS = (
    Plan("start", 0.05),  # the interpreter is still starting
    Plan("write", 0.0),  # the first row is written; nothing is stored yet
    Plan("commit"),  # committed, the process still running: everything must stay
    Plan("write", 0.5),  # half-way through the writes, replacing committed rows
    Plan("write", 0.95),  # near the end of the writes
    Plan("before-write", 0.9),  # opening the store / reading the audit
    Plan("never"),  # not killed: the reference run
)


@dataclass
class Outcome:
    """What one trial did and where its kill landed."""

    plan: Plan
    returncode: int
    elapsed: float
    phase: str  # last phase seen before the kill: startup, writing or committed
    first_write: float | None = None
    commit: float | None = None
    journal: str | None = None  # SQLite only: journal left behind: none, cold or hot
    stdout: str = ""
    stderr: str = ""
    committed: bool = False  # decided from the store afterwards

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


class Probe:
    """Where a ``record`` process is: before writing, writing, or committed."""

    def __init__(self, db_url: str) -> None:
        url = make_url(resolve_url(db_url))
        self.sqlite = url.get_backend_name() == "sqlite"
        self.journal: Path | None = None
        self.app = f"tgkill-{uuid.uuid4().hex[:12]}"
        self._monitor: Any = None
        self._stale: tuple[int, int, int] | None = None
        if self.sqlite:
            assert url.database is not None
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

    def left_behind(self) -> str | None:
        """SQLite, after a kill: ``none``, or a ``cold`` or ``hot`` journal of the process.

        A hot journal (its header synced, so the database file may hold changed
        pages) must be rolled back by the next open; a cold one is ignored.
        """
        if self.journal is None:
            return None
        if not self.writing():
            return "none"
        return "hot" if self.journal.read_bytes()[:8] == JOURNAL_MAGIC else "cold"

    def _journal_stat(self) -> tuple[int, int, int] | None:
        assert self.journal is not None
        try:
            found = self.journal.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns, found.st_size

    def writing(self) -> bool:
        """True while the process's write transaction is open (it has written).

        A journal left by an earlier kill before its first sync is not hot: SQLite
        ignores it (nothing had reached the database file) and leaves it in place
        until the next write transaction reuses it, so only a journal that is new
        or changed since :meth:`begin` counts.
        """
        if self.journal is not None:
            found = self._journal_stat()
            return found is not None and found != self._stale
        row = self._monitor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND backend_xid IS NOT NULL",
            (self.app,),
        ).fetchone()
        return bool(row[0])

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

    to_write: list[float] = field(default_factory=list)
    writing: list[float] = field(default_factory=list)

    def deadline(self, plan: Plan, first_write: float | None, committed: float | None) -> float:
        """Seconds after start to kill at, or ``inf`` while its anchor is not seen yet."""
        if plan.anchor == "start":
            return plan.offset
        if plan.anchor == "before-write":
            assert self.to_write, "a plan before it must have seen a write"
            return plan.offset * min(self.to_write)
        if plan.anchor == "write" and first_write is not None:
            span = min(self.writing) if self.writing else 0.0
            assert span or not plan.offset, "a plan before it must have seen a commit"
            return first_write + plan.offset * span
        if plan.anchor == "commit" and committed is not None:
            return committed
        return float("inf")


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
    first_write: float | None = None
    commit: float | None = None
    phase = "startup"
    with _killed_on_failure(process):
        while process.poll() is None:
            now = time.monotonic() - start
            if probe.writing():
                if first_write is None:
                    first_write, phase = now, "writing"
            elif first_write is not None and commit is None:
                commit, phase = now, "committed"
            if now >= timings.deadline(plan, first_write, commit):
                process.send_signal(signal.SIGKILL)
                break
            if now > EXIT_TIMEOUT_S:
                pytest.fail(f"tallyguard audit record ran for over {EXIT_TIMEOUT_S:g} s")
            time.sleep(POLL_S)
        out, err = process.communicate(timeout=EXIT_TIMEOUT_S)
    elapsed = time.monotonic() - start
    if first_write is not None:
        timings.to_write.append(first_write)
        if commit is not None:
            timings.writing.append(commit - first_write)
    outcome = Outcome(plan, process.returncode, elapsed, phase, first_write, commit,
                      stdout=out, stderr=err)  # fmt: skip
    outcome.journal = probe.left_behind()
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
    assert event.payload["sha256"] == sha256_of(path)
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
    elif outcome.phase == "startup":  # killed before its first write was seen
        assert not outcome.committed, f"{outcome.plan}: stored without writing"
    elif outcome.phase == "committed":
        assert outcome.committed, f"{outcome.plan}: a commit was lost"
    elif outcome.journal is not None:  # SQLite, killed while writing: the journal tells
        assert outcome.committed is (outcome.journal == "none"), (
            f"{outcome.plan}: journal {outcome.journal}, committed {outcome.committed}"
        )


def _summary(outcomes: list[Outcome], total: float) -> str:
    lines = [f"{len(outcomes)} trials in {total:.1f} s:"]
    for o in outcomes:
        write = "-" if o.first_write is None else f"{o.first_write:.2f}"
        commit = "-" if o.commit is None else f"{o.commit:.2f}"
        lines.append(
            f"  {o.plan!s:<16} exit {o.returncode:>3} after {o.elapsed:5.2f} s  "
            f"phase {o.phase:<9} write@{write} commit@{commit} journal {o.journal} "
            f"-> {'all' if o.committed else 'none'}"
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
    timings = Timings()
    outcomes: list[Outcome] = []
    state = _state(db_url)
    assert state[1] == [], "no reading is stored yet"
    try:
        for number, plan in enumerate(PLANS, start=1):
            tag, actor = f"trial {number}", f"board-{number}"
            path = _trial_file(tmp_path, header, rows, tag)
            argv = [sys.executable, "-m", "tallyguard.cli.main", "audit", "record", str(path),
                    "--json", "--actor", actor, "--db", probe.process_url]  # fmt: skip
            outcome = _run_trial(argv, tmp_path, probe, plan, timings)
            outcomes.append(outcome)
            after = _state(db_url)
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
    mid_write = [o for o in outcomes if o.killed and o.phase == "writing"]
    assert mid_write, "no trial killed the process while it was writing\n" + _summary(
        outcomes, time.monotonic() - began
    )
    assert sum(o.killed for o in outcomes) >= len(PLANS) - 2
    events = [e for e in state[0] if e.type == "readings.recorded"]
    assert len(events) == sum(o.committed for o in outcomes)
