"""``kill -9`` in the middle of a command leaves the store as it was; after commit, as it is.

A subprocess opens the store and writes many rows and events in one slow
transaction; the test kills it with SIGKILL, reopens the store and compares
every row. SQLite rolls the hot journal back on the next open; PostgreSQL
aborts the dead client's transaction.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tallyguard.store.db import Store, resolve_url
from tallyguard.store.events import append_event, load_chain, verify_log
from tests.store.conftest import populate, snapshot

WRITER = Path(__file__).with_name("killed_writer.py")
ROWS = 200
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _wait_for(process: subprocess.Popen[str], marker: str, timeout: float = 30) -> None:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = process.stdout.readline()
            if line.strip() == marker:
                return
            if not line:  # the writer died by itself
                break
    process.kill()
    _, err = process.communicate()
    pytest.fail(f"writer never printed {marker} (exit {process.returncode}):\n{err}")


@pytest.mark.parametrize("mode", ["mid", "after"])
def test_kill_9(db_url: str, mode: str) -> None:
    with Store.open(db_url) as store, store.transaction() as session:
        ids = populate(session)
        before = snapshot(session)
    sqlite_file = _sqlite_file(db_url)
    size_before = Path(sqlite_file).stat().st_size if sqlite_file else 0
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    args = [str(ids.audit), str(ids.jurisdiction), str(ROWS), mode]
    process = subprocess.Popen(
        [sys.executable, str(WRITER), db_url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for(process, "MID" if mode == "mid" else "COMMITTED")
        if mode == "mid" and sqlite_file is not None:
            # the transaction really is half-way on disk: uncommitted pages in the
            # file, the original ones in the journal that the next open rolls back
            assert Path(f"{sqlite_file}-journal").exists()
            assert Path(sqlite_file).stat().st_size > size_before
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:  # pragma: no cover - only if the test itself failed
            process.kill()
            process.wait()
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    with Store.open(db_url) as store:
        with store.transaction() as session:
            after = snapshot(session)
            assert verify_log(session, ids.audit) == []
            chain = load_chain(session, ids.audit)
        if mode == "mid":
            assert after == before
        else:
            added = {table: len(after[table]) - len(before[table]) for table in after}
            assert added == {
                **dict.fromkeys(after, 0),
                "batch": ROWS,
                "cvr": ROWS,
                "event": ROWS // 10,
            }
            assert {k: v[: len(before[k])] for k, v in after.items()} == before
        with store.transaction() as session:  # and the log goes on from where it is
            row = append_event(session, ids.audit, "round.started", {"sample_size": 5}, "ann")
        assert row.seq == chain[-1].seq + 1
        assert row.prev_hash == chain[-1].hash


def _sqlite_file(db_url: str) -> str | None:
    url = make_url(resolve_url(db_url))
    return url.database if url.get_backend_name() == "sqlite" else None
