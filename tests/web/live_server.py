"""The web app served over real HTTP on loopback, for tests that drive a browser.

:func:`live_server` starts uvicorn with ``create_app(db_url, secure_cookies=False, ...)``
in a background thread on ``127.0.0.1`` and a free port, waits until the app
answers, yields its base URL and stops the server afterwards. The server runs in
the test's own process, so a ``monkeypatch`` of the app's modules applies to it.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tallyguard.web.app import create_app

#: How long to wait for the server to answer, and for it to stop, in seconds.
STARTUP_SECONDS = 15.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def live_server(db_url: str, **options: Any) -> Iterator[str]:
    """Serve the app over the store at ``db_url``; yields ``http://127.0.0.1:<port>``.

    ``options`` go to :func:`tallyguard.web.app.create_app`.

    The listening socket is bound before the server starts (port 0, so the
    system picks a free port), which leaves no window for another process to
    take the port. Cookies are not ``Secure``: the server speaks plain HTTP.
    """
    app = create_app(db_url, secure_cookies=False, **options)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-server", daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (server.started and _answers(f"{base}/login")):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not answer at {base} within the time")
            time.sleep(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
        listener.close()
