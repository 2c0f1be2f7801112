"""The stored audit workflow at state scale: a comparison audit of about 1,000,000 cards.

A simulated election (``tallyguard.simulate``: about 1.4 k units in 40
jurisdictions, batches of 250 cards, a few discrepancies) is audited through the
command line, run in-process exactly as a user runs it (one store transaction
per command, ``--json`` output), on SQLite (a temporary file) and, when the
server answers, on PostgreSQL (127.0.0.1:5432, database ``test``, in a fresh
schema dropped afterwards). Timed, per backend:

=============  ====================================================================
``manifest``   ``audit manifest`` of every jurisdiction's batches (one file)
``cvrs``       ``audit cvrs``: every CVR placed in its batch and stored
``seed``       ``audit seed``: the inputs frozen (SHA-256 of their canonical text)
``plan``       ``audit plan`` (``--reps``, 100 by default)
``draw``       ``audit draw --size 300``: round 1, retrieval lists and templates
``status``     ``audit status`` right after the draw
``record``     ``audit record`` of every jurisdiction's filled-in template
``status*``    ``audit status`` once the round is read (risk measured)
``export``     ``audit export``: the verification bundle
``verify``     ``tallyguard verify`` of that bundle (no database)
=============  ====================================================================

Each row also shows the peak resident memory of the process during the step,
and the script prints, in the same run, references for what the store adds:
reading the CVR file alone (``read_cvrs(...).records()`` record by record, and
``read_cvr_frame`` as columns, which ``audit cvrs`` uses for this format),
hashing the CVR file, and the pure engine
(:func:`~tallyguard.audit.workflow.engine.evaluate` on in-memory inputs, what
``audit status`` computes: mostly drawing the sample from a million cards).

Run: ``.venv/bin/python benchmarks/bench_audit_workflow.py [--cards 1000000]``
(about three minutes at 1 M cards on two cores; ``--backend sqlite`` for one
backend, ``--election DIR`` to reuse a simulated election, ``--keep DIR`` to
keep each backend's round files and bundle).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = "31415926535897932384"
STEPS = ("manifest", "cvrs", "seed", "plan", "draw", "status", "record", "status*", "export",
         "verify")  # fmt: skip
POSTGRES = os.environ.get("TALLYGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MEAN_ELECTORATE, TURNOUT = 1200.0, 0.62


# --- memory -----------------------------------------------------------------------------


def _rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``; else the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Samples the resident set size every few milliseconds while a step runs."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = _rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        with PeakMemory() as memory:
            start = time.perf_counter()
            yield
            self.seconds[name] = time.perf_counter() - start
        self.peak[name] = memory.peak
        gib = memory.peak / 2**30
        print(f"    {name:<9} {self.seconds[name]:8.2f} s   peak RSS {gib:5.2f} GiB", flush=True)


# --- the election -----------------------------------------------------------------------


def simulate_election(cards: int, out: Path) -> None:
    """About ``cards`` ballot cards (in a child process, so its memory is not ours)."""
    units = max(1, round(1.03 * cards / (MEAN_ELECTORATE * TURNOUT)))
    jurisdictions = max(1, min(40, units))
    config = {
        "seed": "bench-audit-workflow",
        "units": units,
        "jurisdictions": jurisdictions,
        "regions": min(8, jurisdictions),
        "cvr_formats": ["csv"],
        "discrepancies": {"overstatement_1": 0.001, "overstatement_2": 0.0002},
    }
    source = out.with_suffix(".json")
    source.write_text(json.dumps(config), encoding="utf-8")
    code = (
        "import json, sys; from pathlib import Path; "
        "from tallyguard.simulate import parse_config, run_simulation; "
        "run_simulation(parse_config(json.loads(Path(sys.argv[1]).read_text()), "
        "source='bench'), Path(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", code, str(source), str(out)], check=True)


def paper_of(election: Path, cards: set[tuple[str, str, int]]) -> dict[Any, Any]:
    """The paper marks of ``cards`` only: their CVRs with the simulator's discrepancies."""
    import polars as pl

    from tallyguard.io.cvr_csv import read_cvr_csv

    header = read_cvr_csv(election / "cvrs.csv")
    wanted = pl.DataFrame(
        {
            "jurisdiction": [c[0] for c in cards],
            "batch_name": [c[1] for c in cards],
            "position": [c[2] for c in cards],
        },
        schema={"jurisdiction": pl.String, "batch_name": pl.String, "position": pl.Int64},
    )
    rows = (
        pl.scan_csv(election / "cvrs.csv", infer_schema=False)
        .with_columns(pl.col("position").cast(pl.Int64))
        .join(wanted.lazy(), on=["jurisdiction", "batch_name", "position"])
        .collect()
    )
    paper: dict[Any, Any] = {}
    ids: dict[str, Any] = {}
    for row in rows.iter_rows(named=True):
        card = (row["jurisdiction"], row["batch_name"], row["position"])
        votes = {}
        for contest, choices in header.contests.items():
            cells = [row[f"{contest}:{choice}"] for choice in choices]
            if any(cells):
                votes[contest] = tuple(c for c, v in zip(choices, cells, strict=True) if v == "1")
        paper[card] = votes
        ids[row["cvr_id"]] = card
    truth = pl.read_csv(election / "truth" / "discrepancies.csv", infer_schema=False)
    for row in truth.filter(pl.col("cvr_id").is_in(list(ids))).iter_rows(named=True):
        paper[ids[row["cvr_id"]]][row["contest"]] = tuple(filter(None, row["paper"].split("|")))
    return paper


# --- the command line, in-process -------------------------------------------------------


def tallyguard(*args: str) -> Any:
    """Run ``tallyguard ARGS --json`` in this process; its JSON output, or raise."""
    from tallyguard.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run([*args, "--json"])
        except SystemExit as done:
            code = done.code
    if code not in (0, None):
        raise RuntimeError(f"tallyguard {' '.join(args)}: exit {code}\n{err.getvalue()}")
    text = out.getvalue()
    return json.loads(text) if text.strip() else None


def run_audit(db: str, election: Path, work: Path, draws: int, reps: int) -> Timings:
    """The whole audit on one database; returns each step's time and peak memory."""
    from tallyguard.simulate.boards import fill_readings

    t = Timings()
    store = ["--db", db]
    jurisdictions = sorted(
        {line.split(",", 1)[0] for line in (election / "manifest.csv").read_text().splitlines()[1:]}
    )
    tallyguard("audit", "init", "--name", "Bench", "--election", "Bench", "--kind", "comparison",
               *store)  # fmt: skip
    tallyguard("audit", "add-jurisdiction", *jurisdictions, *store)
    with t.step("manifest"):
        tallyguard("audit", "manifest", str(election / "manifest.csv"), *store)
    with t.step("cvrs"):
        loaded = tallyguard("audit", "cvrs", str(election / "cvrs.csv"), *store)
    contests = str(election / "contests.json")
    tallyguard("audit", "contest", "--contests", contests, "--name", "Governor", *store)
    tallyguard("audit", "contest", "--contests", contests, "--name", "Measure A",
               "--opportunistic", *store)  # fmt: skip
    with t.step("seed"):
        tallyguard("audit", "seed", SEED, *store)
    with t.step("plan"):
        tallyguard("audit", "plan", "--reps", str(reps), *store)
    rounds = work / "round1"
    with t.step("draw"):
        drawn = tallyguard("audit", "draw", "--size", str(draws), "--out", str(rounds), *store)
    assert drawn["new_draws"] == draws, drawn
    with t.step("status"):
        before = tallyguard("audit", "status", *store)
    assert before["rounds"][0]["audited"] == 0
    templates = sorted(rounds.glob("readings-*.csv"))
    cards = set()
    for template in templates:
        for line in template.read_text(encoding="utf-8").splitlines()[1:]:
            jurisdiction, _, batch, position, *_ = line.split(",")
            cards.add((jurisdiction, batch, int(position)))
    paper = paper_of(election, cards)
    filled = []
    for template in templates:
        path = template.with_name("filled-" + template.name)
        path.write_text(fill_readings(template, election, paper=paper), encoding="utf-8")
        filled.append(path)
    with t.step("record"):
        recorded = sum(tallyguard("audit", "record", str(p), *store)["readings"] for p in filled)
    with t.step("status*"):
        after = tallyguard("audit", "status", *store)
    assert after["rounds"][0]["audited"] == draws, after["rounds"]
    bundle = work / "bundle"
    with t.step("export"):
        tallyguard("audit", "export", str(bundle), *store)
    with t.step("verify"):
        report = tallyguard("verify", str(bundle))
    assert report["ok"], report
    total = sum(v["cvrs"] for v in loaded.values())
    governor = next(c for c in after["contests"] if c["contest"] == "Governor")
    print(f"    {total:,} CVRs, {draws} draws, {recorded:,} readings, Governor risk "
          f"{governor['risk']:.3g}; bundle verified", flush=True)  # fmt: skip
    return t


@contextlib.contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A fresh schema on the benchmark's PostgreSQL server (``None`` if it is not there)."""
    try:
        import psycopg
        from psycopg import sql

        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except Exception as error:  # any failure means: skip PostgreSQL
        print(f"  PostgreSQL at {POSTGRES} unreachable ({str(error).strip().splitlines()[0]})")
        yield None
        return
    schema = f"tg_bench_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            joiner = "&" if "?" in POSTGRES else "?"
            yield f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# --- references -------------------------------------------------------------------------


def time_it(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def references(election: Path, bundle_inputs: Path) -> dict[str, float]:
    """What the store adds to: the CVR reader alone, hashing the file, the pure engine."""
    from tallyguard.audit.workflow.engine import evaluate
    from tallyguard.audit.workflow.files import read_inputs
    from tallyguard.evidence.canonical import sha256_file
    from tallyguard.io.cvr_csv import read_cvr_frame
    from tallyguard.io.detect import read_cvrs

    reader, count = time_it(lambda: sum(1 for _ in read_cvrs(election / "cvrs.csv").records()))
    frame, _ = time_it(lambda: read_cvr_frame(election / "cvrs.csv"))
    digest, _ = time_it(lambda: sha256_file(election / "cvrs.csv"))
    inputs = read_inputs(bundle_inputs)
    engine, _ = time_it(lambda: evaluate(inputs))
    print(f"  references: reading {count:,} CVRs alone {reader:.2f} s record by record, "
          f"{frame:.2f} s as columns; SHA-256 of cvrs.csv {digest:.2f} s; engine.evaluate on "
          f"in-memory inputs {engine:.2f} s")  # fmt: skip
    return {"reader": reader, "frame": frame, "sha256": digest, "engine": engine}


def print_table(results: dict[str, Timings], refs: dict[str, float]) -> None:
    backends = list(results)
    print()
    print(f"{'step':<10}" + "".join(f"{b:>14}{'peak GiB':>10}" for b in backends))
    for step in STEPS:
        cells = "".join(
            f"{results[b].seconds.get(step, float('nan')):>12.2f} s"
            f"{results[b].peak.get(step, 0) / 2**30:>10.2f}"
            for b in backends
        )
        print(f"{step:<10}{cells}")
    totals = "".join(f"{sum(results[b].seconds.values()):>12.2f} s{'':>10}" for b in backends)
    print(f"{'total':<10}{totals}")
    print()
    for b in backends:
        s = results[b].seconds
        print(
            f"{b}: audit cvrs {s['cvrs']:.1f} s vs the reader alone {refs['reader']:.1f} s "
            f"({s['cvrs'] / refs['reader']:.2f}x; {s['cvrs'] / refs['frame']:.2f}x the column "
            f"reader's {refs['frame']:.1f} s); audit status {s['status*']:.2f} s vs "
            f"engine.evaluate on in-memory inputs {refs['engine']:.2f} s; audit seed "
            f"{s['seed']:.1f} s vs SHA-256 of the CVR file {refs['sha256']:.2f} s"
        )
    peak = max(max(t.peak.values()) for t in results.values())
    print(f"peak resident memory of the whole run: {peak / 2**30:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=1_000_000, help="about this many cards")
    parser.add_argument("--draws", type=int, default=300, help="round 1's sample size")
    parser.add_argument("--reps", type=int, default=100, help="simulated audits in audit plan")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append",
                        help="run only this backend (repeatable) [default: both]")  # fmt: skip
    parser.add_argument("--election", type=Path, help="reuse (or create) this election folder")
    parser.add_argument("--keep", type=Path, help="copy each backend's round files and bundle here")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        election = args.election or work / "election"
        if not (election / "cvrs.csv").exists():
            start = time.perf_counter()
            simulate_election(args.cards, election)
            print(f"simulated election in {time.perf_counter() - start:.1f} s: {election}")
        cards = sum(1 for _ in (election / "cvrs.csv").open("rb")) - 1
        print(f"{cards:,} ballot cards, {(election / 'cvrs.csv').stat().st_size / 1e6:,.0f} MB "
              f"of CVR CSV; backends: {', '.join(backends)}")  # fmt: skip
        results: dict[str, Timings] = {}
        bundle_inputs: Path | None = None
        for backend in backends:
            folder = work / backend
            folder.mkdir()
            print(f"  {backend}:", flush=True)
            if backend == "sqlite":
                results[backend] = run_audit(
                    str(folder / "audit.db"), election, folder, args.draws, args.reps
                )
            else:
                with postgres_schema() as url:
                    if url is None:
                        continue
                    results[backend] = run_audit(url, election, folder, args.draws, args.reps)
            bundle_inputs = folder / "bundle" / "inputs"
            if args.keep is not None and backend in results:
                shutil.copytree(folder, args.keep / backend, dirs_exist_ok=True)
        if bundle_inputs is None:
            return
        refs = references(election, bundle_inputs)
        print_table(results, refs)
        if args.election is None:
            shutil.rmtree(election, ignore_errors=True)


if __name__ == "__main__":
    main()
