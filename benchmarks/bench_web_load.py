"""Audit boards recording ballots through ``tallyguard serve`` over HTTP: cards/s and latency.

A ballot-polling audit of a simulated election (about 10,000 cards in 40 units and
three jurisdictions) samples ``boards × per-board`` cards in its first round.
``tallyguard serve`` runs as its own process on loopback over PostgreSQL
(127.0.0.1:5432, database ``test``, a fresh schema dropped afterwards) or, when that
server does not answer, over a temporary SQLite file. Each board is a thread with
its own HTTP client and session; per card it opens the ballot form (GET, for the
CSRF token) and posts the interpretation (POST, answered 303). The script prints
the cards recorded per second and the latency percentiles of both requests, next
to the store-level rate of the same kind of load (50 boards calling
``record_card_with_retry`` directly: 190-213 cards/s on a two-core machine).

Every request has a timeout and the recording a time budget (``--budget``), after
which the boards stop; the figures are then those of the cards recorded so far.

Run: ``.venv/bin/python benchmarks/bench_web_load.py [--boards 50 --per-board 100]``
(the defaults, 10 boards of 20 cards, take about a minute on two cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import CardInterpretation
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.web.security import SESSION_COOKIE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.web
from tests.web.served import ballot_form, serving

POSTGRES = os.environ.get("TALLYGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NAME = "Bench"
SEED = "58209749445923078164"
CONTESTS = ("Governor", "City Council")
SEEN = {
    "Governor": CardInterpretation("vote", ("Bob Brooks",)),
    "City Council": CardInterpretation("vote", ("Erin Ellis", "Iris Ito")),
}
STORE_LEVEL = "190-213 cards/s"
TIMEOUT = 30.0


@contextmanager
def database(work: Path) -> Iterator[str]:
    """A fresh PostgreSQL schema, or an SQLite file when PostgreSQL does not answer."""
    try:
        import psycopg
        from psycopg import sql

        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except Exception as error:  # any failure means: use SQLite
        print(f"PostgreSQL unreachable ({str(error).strip().splitlines()[0]}); using SQLite")
        yield f"sqlite:///{work / 'bench.db'}"
        return
    schema = f"tg_bench_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            joiner = "&" if "?" in POSTGRES else "?"
            yield f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def set_up(url: str, election: Path, boards: int, draws: int) -> tuple[list[str], list[str]]:
    """The audit sampling ``draws`` cards and ``boards`` board sessions; tickets, tokens."""
    config = {"seed": "web-load", "units": 40, "regions": 3, "jurisdictions": 3,
              "mean_electorate": 400, "batch_size": 200, "cvr_formats": ["csv"]}  # fmt: skip
    run_simulation(parse_config(config), election)
    lines = (election / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    now = datetime.now(UTC)
    tokens = []
    with Store.open(url) as store:
        with store.transaction() as s:
            audit = service.create_audit(s, name=NAME, election="Sim", kind="polling",
                                         risk_limit=0.05, method=None, actor="bench")  # fmt: skip
            for place in sorted({line.split(",", 1)[0] for line in lines}):
                service.add_jurisdiction(s, audit, place, "bench")
            service.load_manifest(s, audit, election / "manifest.csv", None, "bench")
            contests = election / "contests.json"
            for contest in CONTESTS:
                targeted = contest == "Governor"
                service.add_contest(s, audit, contests, contest, targeted=targeted, actor="bench")
            service.set_seed(s, audit, SEED, "bench")
            for k in range(boards):
                new = accounts.create_board(s, audit, f"B{k}", (f"A{k}", f"C{k}"), "bench", now)
                tokens.append(accounts.create_session(s, now, board=new.board)[0])
        with store.transaction() as s:
            audit = service.find_audit(s, NAME)
            service.start_round(s, audit, draws, "bench")
            tickets = [d.ticket for d in service.status(s, audit).sample]
    return tickets, tokens


def percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    p50, p95, p99 = np.percentile(np.array(seconds) * 1000, [50, 95, 99])
    top = max(seconds) * 1000
    return f"p50 {p50:,.0f} ms  p95 {p95:,.0f} ms  p99 {p99:,.0f} ms  max {top:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=10, help="audit boards (threads)")
    parser.add_argument("--per-board", type=int, default=20, help="cards each board records")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for the recording")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()
    gets: list[float] = []
    posts: list[float] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp, database(Path(tmp)) as url:
        work = Path(tmp)
        tickets, tokens = set_up(url, work / "election", args.boards, args.boards * args.per_board)
        with serving(url, work / "serve.log", args.workers) as server:
            deadline = time.monotonic() + args.budget

            def board(k: int) -> None:
                cookies = {SESSION_COOKIE: tokens[k]}
                with httpx.Client(base_url=server.base, timeout=TIMEOUT, cookies=cookies) as c:
                    for ticket in tickets[k * args.per_board : (k + 1) * args.per_board]:
                        if time.monotonic() > deadline:
                            return
                        path = f"/audits/{NAME}/board/ballots/{ticket}"
                        try:
                            began = time.perf_counter()
                            page = c.get(path)
                            gets.append(time.perf_counter() - began)
                            token = page.text.split('name="csrf_token" value="', 1)[1]
                            form = ballot_form(token.split('"', 1)[0], CONTESTS, SEEN)
                            began = time.perf_counter()
                            done = c.post(path, data=form)
                            if done.status_code != 303:
                                errors.append(f"POST {ticket}: {done.status_code}")
                                return
                            posts.append(time.perf_counter() - began)
                        except (httpx.HTTPError, IndexError) as error:
                            errors.append(f"{ticket}: {error!r}")
                            return

            threads = [threading.Thread(target=board, args=(k,)) for k in range(args.boards)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.budget + 2 * TIMEOUT)
            elapsed = time.perf_counter() - started
    wanted = args.boards * args.per_board
    print(
        f"{len(posts):,} of {wanted:,} cards recorded by {args.boards} boards over HTTP in "
        f"{elapsed:.1f} s: {len(posts) / elapsed:,.1f} cards/s "
        f"(store level, same machine: {STORE_LEVEL})"
    )
    print(f"  form GET  {percentiles(gets)}")
    print(f"  POST      {percentiles(posts)}")
    if errors:
        print(f"  {len(errors)} boards stopped on an error, first: {errors[0]}")


if __name__ == "__main__":
    main()
