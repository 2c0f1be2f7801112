"""``tallyguard serve`` run as a process of its own on loopback, for tests over real HTTP.

:class:`ServedApp` starts the command's console script (``tallyguard serve --db URL
--host 127.0.0.1 --port P --insecure-cookies``) directly, with no shell in between,
so the process it holds is the server itself and a ``SIGKILL`` to its pid kills the
server. The port is a free one the system picked; should another process take it
before the server binds it, the server exits and the next free port is tried. The
server's output goes to a log file, shown when it fails to start. :func:`serving`
stops the server (and kills it, if it does not stop in time) whatever happens.

It also holds what both tests of the served app need around it: the ballot form a
board posts (:func:`ballot_form`) and every card's interpretations as stored
(:func:`~tests.audit.workflow.test_boards_load.stored_cards`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.audit.workflow.test_boards_load import Seen

#: How long the server may take to answer ``/login``, and to stop, in seconds.
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0
#: Ports tried before giving up (each a free one at the time it is picked).
PORT_TRIES = 3
#: One card's interpretations, by contest name.


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command(db_url: str, port: int, workers: int = 1) -> list[str]:
    """The command line that serves the store at ``db_url`` on loopback port ``port``."""
    script = Path(sys.executable).with_name("tallyguard")
    start = [str(script)] if script.is_file() else [sys.executable, "-m", "tallyguard.cli.main"]
    return [*start, "serve", "--db", db_url, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--insecure-cookies"]  # fmt: skip


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class ServedApp:
    """One ``tallyguard serve`` process at a time over the store at ``db_url``."""

    def __init__(self, db_url: str, log: Path, workers: int = 1) -> None:
        self.db_url = db_url
        self.log = log
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def start(self) -> str:
        """Start the server and wait until ``/login`` answers 200; its base URL."""
        assert self.process is None or self.process.poll() is not None, "already serving"
        for _ in range(PORT_TRIES):
            port = _free_port()
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    serve_command(self.db_url, port, self.workers),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_SECONDS
            while self.process.poll() is None and time.monotonic() < deadline:
                if _answers(f"{self.base}/login"):
                    return self.base
                time.sleep(0.1)
            self.stop()
        text = self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise RuntimeError(f"tallyguard serve did not answer on loopback; its output:\n{text}")

    def kill(self) -> int:
        """SIGKILL the server at once; its exit status (``-SIGKILL``)."""
        assert self.process is not None, "the server is not running"
        os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=STOP_SECONDS)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers); nothing if not running."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


@contextmanager
def serving(db_url: str, log: Path, workers: int = 1) -> Iterator[ServedApp]:
    """A started :class:`ServedApp`, stopped on the way out however the block ends."""
    app = ServedApp(db_url, log, workers)
    try:
        app.start()
        yield app
    finally:
        app.stop()


def ballot_form(token: str, contests: tuple[str, ...], seen: Seen) -> dict[str, str | list[str]]:
    """The fields a board's ballot form posts for ``seen``; ``contests`` in the form's order."""
    fields: dict[str, str | list[str]] = {"csrf_token": token}
    for n, contest in enumerate(contests):
        item = seen[contest]
        fields[f"c{n}-result"] = item.result
        fields[f"c{n}-choice"] = list(item.choices)
        fields[f"c{n}-comment"] = item.comment
    return fields
