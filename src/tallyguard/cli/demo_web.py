"""The web part of ``tallyguard demo``: a store holding an audit in progress, to look at.

:func:`run_web_demo` writes ``web.db``, an SQLite store that ``tallyguard serve``
opens, with a ballot-comparison audit of a simulated three-county election
part-way through its first round, and an account of every role to see it from:

* the audit admin created the audit, added the counties J01, J02 and J03 with a
  manager for J03, loaded J01's and J02's manifests and CVRs, added the
  contests, set the seed and started round 1;
* J03's manager loaded J03's files and created its audit boards "J03 Board 1"
  and "J03 Board 2"; the admin created "J01 Board 1" and "J02 Board 1";
* every board but "J03 Board 2" joined and recorded what the simulated paper
  ballots show for the cards of its county among the first
  :data:`RECORDED_SHARE` of the sample (in draw order: the risk is measured on
  the sample's audited prefix, so the recorded prefix shows a risk that has
  started to fall); the rest of round 1 waits;
* "J03 Board 2" has not joined: its one-time join link and passphrase are
  printed, and J03's unrecorded ballots wait for it.

Every step calls the function the web app calls for it (the workflow service,
:mod:`tallyguard.store.accounts`, the boards' card-by-card recording), each in a
transaction of its own with the acting account as the event's actor, so the
audit's hash-chained event log is complete and verifies. The two passwords and
the boards' passphrases are random for each run and hashed with the production
Argon2id parameters; the printed ones are written to ``web-accounts.txt``,
readable by its owner only.
"""

from __future__ import annotations

import csv
import io
import os
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.boards import CardInterpretation, record_card_with_retry
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.audit.workflow.result import AuditResult, Draw
from tallyguard.cli.audit_rounds import PROBABILITY, choose_size
from tallyguard.cli.output import stdout
from tallyguard.io.contests import read_contests
from tallyguard.simulate import parse_config, run_simulation
from tallyguard.simulate.boards import Paper, paper_ballots
from tallyguard.store import accounts
from tallyguard.store.db import Store
from tallyguard.store.events import load_chain, verify_log

#: A three-county election of about 7,900 cards; Governor's reported margin is 7 %.
WEB_ELECTION = {
    "seed": "tallyguard-web-demo",
    "units": 12,
    "jurisdictions": 3,
    "regions": 3,
    "cvr_formats": ["csv"],
    "discrepancies": {"overstatement_1": 0.002, "understatement_1": 0.002},
}
AUDIT = "general-2026"
ELECTION = "Simulated General Election"
RISK_LIMIT = 0.05
DICE_SEED = "27182818284590452353"
TARGET = "Governor"
OPPORTUNISTIC = "Measure A"
PLACES = ("J01", "J02", "J03")
#: The county of the manager and of the printed board (the one with the most draws).
HOME = "J03"
ADMIN_EMAIL = "admin@example.org"
MANAGER_EMAIL = "j03-manager@example.org"
#: Every board: name, county, members.
BOARDS = (
    ("J01 Board 1", "J01", ("Chen Wei", "Dana Novak")),
    ("J02 Board 1", "J02", ("Eli Haddad", "Fay Moreau")),
    ("J03 Board 1", "J03", ("Gus Lindqvist", "Hana Sato")),
    ("J03 Board 2", "J03", ("Ana Silva", "Ben Okafor")),
)
#: The board whose join link and passphrase are printed; it has not joined yet.
PRINTED = "J03 Board 2"
#: The share of round 1's draws already recorded: the first ones in draw order.
RECORDED_SHARE = 0.6
#: Where ``tallyguard serve`` listens by default.
BASE_URL = "http://127.0.0.1:8000"
#: Planning simulations behind round 1's size (the plan page runs 1,000).
PLAN_REPS = 200
#: How many times :func:`run_web_demo` calls ``on_step``.
STEPS = 8


def _actor(role: str, name: str) -> str:
    """The event log's actor, as the web app writes it (``admin:EMAIL``, ``board:NAME``)."""
    return f"{role}:{name}"


def _split(source: Path, column: str, place: str, target: Path) -> Path:
    """The rows of ``source`` whose ``column`` is ``place``: one county's own export."""
    with source.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    at = rows[0].index(column)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [rows[0], *(row for row in rows[1:] if row[at] == place)]
    )
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return target


def _retrieval_order(draw: Draw) -> tuple[str, str, int]:
    return (draw.tabulator, draw.batch_name, draw.position)


def _read_card(paper: Paper, draw: Draw, allowed: dict[str, int]) -> dict[str, CardInterpretation]:
    """What a board sees on the paper of one sampled card, contest by contest."""
    marks = paper[(draw.jurisdiction, draw.batch_name, draw.position)]
    read: dict[str, CardInterpretation] = {}
    for contest, votes_allowed in allowed.items():
        seen = marks.get(contest)
        if seen is None:
            read[contest] = CardInterpretation("not_on_card")
        elif not seen:
            read[contest] = CardInterpretation("blank")
        elif len(seen) > votes_allowed:
            read[contest] = CardInterpretation("overvote")
        else:
            read[contest] = CardInterpretation("vote", tuple(seen))
    return read


def _write_private(path: Path, lines: list[str]) -> None:
    """Write ``lines`` to a new file readable by its owner only (mode 0600 from the start)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # whatever the umask did


def _progress(result: AuditResult, number: int) -> dict[str, dict[str, int]]:
    """Per county: the cards drawn in round ``number`` and how many are recorded."""
    rows: dict[str, dict[str, int]] = {}
    for draw in result.sample:
        if draw.round == number:
            row = rows.setdefault(draw.jurisdiction, {"sampled": 0, "recorded": 0})
            row["sampled"] += 1
            row["recorded"] += int(draw.audited)
    return {place: rows[place] for place in sorted(rows)}


def _county_files(election: Path, folder: Path) -> dict[str, tuple[Path, Path]]:
    """Each county's own manifest and CVR export, cut from the simulated election's."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        place: (
            _split(election / "manifest.csv", "Jurisdiction", place,
                   folder / f"{place.lower()}-manifest.csv"),
            _split(election / "cvrs.csv", "jurisdiction", place,
                   folder / f"{place.lower()}-cvrs.csv"),
        )
        for place in PLACES
    }  # fmt: skip


def run_web_demo(out: Path, on_step: Callable[[str], None]) -> dict[str, Any]:
    """Write ``out/web.db``: an audit part-way through round 1, and one account per role.

    Replaces ``web.db`` and ``web-accounts.txt`` in ``out`` if present. Calls
    ``on_step`` :data:`STEPS` times. Returns the store's path, the command that
    serves it, each role's page and credentials, and round 1's figures.

    Raises:
        AssertionError: The audit's event log does not verify (a bug, never the data).
    """
    out.mkdir(parents=True, exist_ok=True)
    election = out / "election"
    on_step("simulate a three-county election")
    config = parse_config(WEB_ELECTION, source="web demo parameters")
    run_simulation(config, election, overwrite=True)
    files = _county_files(election, out / "uploads")
    contests = election / "contests.json"
    database = (out / "web.db").resolve()
    building = database.with_name("web.db.partial")  # web.db is replaced only when complete
    for stale in ("web.db.partial", "web.db.partial-journal", "web.db-journal"):
        (out / stale).unlink(missing_ok=True)
    admin, manager = _actor("admin", ADMIN_EMAIL), _actor("manager", MANAGER_EMAIL)
    admin_password = accounts.new_password()
    with Store.open(f"sqlite:///{building}") as store:
        on_step("the admin creates the audit, its counties and J03's manager")
        with store.transaction() as s:
            accounts.create_admin(s, ADMIN_EMAIL, admin_password, datetime.now(UTC))
        with store.transaction() as s:
            service.create_audit(s, name=AUDIT, election=ELECTION, kind="comparison",
                                 risk_limit=RISK_LIMIT, method=None, actor=admin)  # fmt: skip
        manager_password = ""
        for place in PLACES:
            with store.transaction() as s:
                audit = service.find_audit(s, AUDIT)
                service.add_jurisdiction(s, audit, place, admin)
                if place == HOME:
                    user, manager_password = accounts.create_manager(
                        s, audit, place, MANAGER_EMAIL, admin, datetime.now(UTC)
                    )
                    # The printed password stays the manager's, so every visitor can use it.
                    user.must_change_password = False
        on_step("the counties' manifests and CVRs are loaded")
        for place, (manifest, cvrs) in files.items():
            loader = manager if place == HOME else admin
            with store.transaction() as s:
                service.load_manifest(s, service.find_audit(s, AUDIT), manifest, place, loader)
            with store.transaction() as s:
                service.load_cvrs(s, service.find_audit(s, AUDIT), cvrs, place, "auto", loader)
        on_step("the audit boards are created")
        made: dict[str, accounts.NewBoard] = {}
        for name, place, members in BOARDS:
            with store.transaction() as s:
                made[name] = accounts.create_board(
                    s, service.find_audit(s, AUDIT), name, members,
                    manager if place == HOME else admin, datetime.now(UTC), place,
                )  # fmt: skip
        on_step("the admin adds the contests and sets the seed")
        with store.transaction() as s:
            audit = service.find_audit(s, AUDIT)
            service.add_contest(s, audit, contests, TARGET, targeted=True, actor=admin)
            service.add_contest(s, audit, contests, OPPORTUNISTIC, targeted=False, actor=admin)
        with store.transaction() as s:
            service.set_seed(s, service.find_audit(s, AUDIT), DICE_SEED, admin)
        on_step("the admin starts round 1")
        with store.transaction() as s:
            audit = service.find_audit(s, AUDIT)
            size = choose_size(s, audit, None, PROBABILITY, reps=PLAN_REPS)
            number = service.start_round(s, audit, size, admin).number
            drawn = [d for d in service.status(s, audit).sample if d.round == number]
        on_step("three boards join and record the first draws")
        _join_and_record(store, election, made, drawn)
        on_step("check the event log")
        with store.transaction() as s:
            audit = service.find_audit(s, AUDIT)
            result = service.status(s, audit)
            problems = verify_log(s, audit.id)
            events = len(load_chain(s, audit.id))
    if problems:
        raise AssertionError(f"the web demo's event log does not verify: {problems}")
    building.replace(database)
    progress = _progress(result, number)
    sampled = sum(row["sampled"] for row in progress.values())
    recorded = sum(row["recorded"] for row in progress.values())
    _, place, members = next(board for board in BOARDS if board[0] == PRINTED)
    web: dict[str, Any] = {
        "db": str(database),
        "serve": f"tallyguard serve --db {shlex.quote(str(database))} --insecure-cookies",
        "base_url": BASE_URL,
        "audit": AUDIT,
        "seed": DICE_SEED,
        "admin": {
            "email": ADMIN_EMAIL,
            "password": admin_password,
            "url": f"{BASE_URL}/admin/audits/{AUDIT}",
            "rounds_url": f"{BASE_URL}/admin/audits/{AUDIT}/rounds",
        },
        "manager": {
            "email": MANAGER_EMAIL,
            "password": manager_password,
            "jurisdiction": HOME,
            "url": f"{BASE_URL}/audits/{AUDIT}/jurisdictions/{HOME}",
        },
        "board": {
            "name": PRINTED,
            "jurisdiction": place,
            "members": list(members),
            "join_url": f"{BASE_URL}/board/join/{made[PRINTED].join_token}",
            "passphrase": made[PRINTED].passphrase,
            "waiting": progress[place]["sampled"] - progress[place]["recorded"],
        },
        "public_url": f"{BASE_URL}/public/{AUDIT}",
        "round": number,
        "sample_size": size,
        "sampled": sampled,
        "recorded": recorded,
        "waiting": sampled - recorded,
        "progress": progress,
        "audited": min(c.audited for c in result.contests),
        "risks": {c.contest: c.risk for c in result.contests},
        "events": events,
        "accounts_file": str((out / "web-accounts.txt").resolve()),
    }
    _write_private(out / "web-accounts.txt", _account_lines(web))
    return web


def _join_and_record(
    store: Store, election: Path, made: dict[str, accounts.NewBoard], drawn: list[Draw]
) -> None:
    """Every board but :data:`PRINTED` joins and records its county's cards among the
    first :data:`RECORDED_SHARE` of ``drawn``, in retrieval order, off the paper."""
    paper = paper_ballots(election)
    allowed = {
        c.contest.name: c.contest.votes_allowed
        for c in read_contests(election / "contests.json").contests
        if c.contest.name in (TARGET, OPPORTUNISTIC)
    }
    first = sorted(drawn, key=lambda d: d.draw)[: round(len(drawn) * RECORDED_SHARE)]
    for name, place, _ in BOARDS:
        if name == PRINTED:
            continue
        with store.transaction() as s:
            joined = accounts.join_board(
                s, made[name].join_token, made[name].passphrase, datetime.now(UTC)
            )
        if joined is None:
            raise AssertionError(f"{name} could not join with its own passphrase")
        for draw in sorted((d for d in first if d.jurisdiction == place), key=_retrieval_order):
            record_card_with_retry(
                store, AUDIT, board=name,
                card=CardKey(draw.jurisdiction, draw.tabulator, draw.batch_name, draw.position),
                interpretations=_read_card(paper, draw, allowed), actor=_actor("board", name),
            )  # fmt: skip


def _account_lines(web: dict[str, Any]) -> list[str]:
    admin, manager, board = web["admin"], web["manager"], web["board"]
    return [
        "tallyguard web demo: the accounts of this run (random each run; keep this file private)",
        f"Serve it:  {web['serve']}",
        "",
        "Audit admin",
        f"  page       {admin['url']}",
        f"  email      {admin['email']}",
        f"  password   {admin['password']}",
        f"Jurisdiction manager of {manager['jurisdiction']}",
        f"  page       {manager['url']}",
        f"  email      {manager['email']}",
        f"  password   {manager['password']}",
        f"Audit board {board['name']} ({' and '.join(board['members'])})",
        f"  join link  {board['join_url']}  (works once)",
        f"  passphrase {board['passphrase']}",
        "Public (no sign-in)",
        f"  page       {web['public_url']}",
    ]


def _path(url: str) -> str:
    """The part of a URL after the server's address."""
    return url.removeprefix(BASE_URL)


def show_web_demo(web: dict[str, Any]) -> None:
    """Where each role goes and how it signs in, and how to start the server."""
    admin, manager, board = web["admin"], web["manager"], web["board"]
    table = Table(
        title=f"The web app: audit {escape(web['audit'])}, round {web['round']}, "
        f"{web['recorded']} of {web['sampled']} cards recorded",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    rows = [
        ("audit admin", _path(admin["url"]), f"{admin['email']}\npassword {admin['password']}"),
        (f"{manager['jurisdiction']} manager", _path(manager["url"]),
         f"{manager['email']}\npassword {manager['password']}"),
        (f"audit board\n{board['name']}", "the join link below\n"
         f"({board['waiting']} ballots wait)", f"passphrase\n{board['passphrase']}"),
        ("public", _path(web["public_url"]), "none"),
    ]  # fmt: skip
    table.add_column("role", overflow="fold")
    table.add_column("where to go", no_wrap=True)
    table.add_column("how to sign in", overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    stdout.print(table)
    stdout.print(
        f"  Start the server: {escape(web['serve'])}\n"
        f"  and open {escape(web['base_url'])} followed by the path above.\n"
        f"  The board's join link (it works once): {escape(board['join_url'])}\n"
        "  Passwords and the passphrase are random for each demo run and also stored in\n"
        f"  {escape(web['accounts_file'])} (readable by you only)."
    )
