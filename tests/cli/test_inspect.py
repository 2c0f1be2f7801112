"""``tallyguard inspect FILE`` through a Typer app as ``cli/main.py`` will register it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer

from tallyguard.cli.inspect import inspect
from tallyguard.errors import EXIT_INPUT, TallyguardError
from tests.io.vendors.helpers import data_file

app = typer.Typer(pretty_exceptions_enable=False)
app.command("inspect")(inspect)


@app.callback()
def _main() -> None:
    """A group, so that the command is called as ``inspect``."""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run like ``tallyguard.cli.main.run``: an InputError exits with its code (2)."""
    try:
        app(args=args, prog_name="tallyguard", standalone_mode=False)
        code = 0
    except TallyguardError as error:
        print(f"error: {error}", file=sys.stderr)
        code = error.exit_code
    out, err = capsys.readouterr()
    return code, out, err


def test_human_summary(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_file(
        shared_data, "formats", "coloradorla", "arapahoe-regent-3-clear-d52-CVR_Export.csv"
    )
    code, out, _err = run(["inspect", str(path)], capsys)
    assert code == 0
    assert "format:  dominion-csv" in out
    assert "records: 165" in out
    assert "Clear Winner" in out
    assert "123" in out
    assert "no problems found." in out


def test_json_output(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_file(shared_data, "formats", "nist-cvr-1500-103", "example_2.xml")
    code, out, _err = run(["inspect", str(path), "--format", "nist", "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert set(summary) == {"format", "records", "contests", "problems"}
    assert (summary["format"], summary["records"]) == ("nist-xml", 2)
    assert summary["contests"]["For Member of County Council at Large"]["votes_allowed"] == 3


def test_problems_are_listed(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_file(shared_data, "formats", "arlo-vendor-cvr-examples", "clearballot_cvr.csv")
    code, out, _err = run(["inspect", str(path)], capsys)
    assert code == 0
    assert "note: 1 batch(es) have gaps" in out


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cvr.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    code, out, err = run(["inspect", str(path)], capsys)
    assert code == EXIT_INPUT
    assert out == ""
    assert "could not tell which format this is" in err
    code, _out, err = run(["inspect", str(path), "--format", "domnion"], capsys)
    assert code == EXIT_INPUT
    assert "did you mean 'dominion'" in err
