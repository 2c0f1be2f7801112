"""Run the real ``tallyguard`` entry point as a user would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tallyguard.cli.main import run

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """``cli(*args)`` runs the command and returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as caught:
            run(list(args))
        out, err = capsys.readouterr()
        code = caught.value.code
        return (0 if code is None else int(code)), out, err

    return invoke
