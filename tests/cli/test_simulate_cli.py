"""``tallyguard simulate election`` through the real entry point: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke


def test_json_summary_and_byte_identity(tmp_path: Path, cli: Invoke) -> None:
    args = ["simulate", "election", "--seed", "ß-🎲-7", "--units", "12", "--json"]
    code, out, _ = cli(*args, "--out", str(tmp_path / "a"))
    assert code == 0
    summary = json.loads(out)
    assert summary["units"] == 12
    assert summary["ballot_cards"] > 0
    assert all(c["outcome_correct"] for c in summary["contests"])
    cli(*args, "--out", str(tmp_path / "b"))
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_options_reach_the_simulation(tmp_path: Path, cli: Invoke) -> None:
    code, out, _ = cli(
        "simulate", "election", "--seed", "1", "--units", "30", "--out", str(tmp_path / "e"),
        "--wrong-outcome", "--stuffing", "0.5", "--region", "R01", "--cvr-format", "csv", "--json",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert summary["contests"][0]["outcome_correct"] is False
    assert summary["manipulated_units"] > 0
    assert not (tmp_path / "e" / "cvrs.nist.json").exists()
    bundle = json.loads((tmp_path / "e" / "bundle.json").read_text())
    assert bundle["parameters"]["manipulation"]["regions"] == ["R01"]


def test_config_file_is_read_and_recorded(tmp_path: Path, cli: Invoke) -> None:
    cfg = tmp_path / "params.json"
    cfg.write_text(json.dumps({"units": 9, "regions": 1, "jurisdictions": 3}), encoding="utf-8")
    code, out, _ = cli(
        "simulate", "election", "--seed", "1", "--config", str(cfg), "--out",
        str(tmp_path / "e"), "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["units"] == 9
    assert (tmp_path / "e" / "inputs" / "params.json").read_bytes() == cfg.read_bytes()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--units", "0"], "--units"),
        (["--overstatement-2", "2"], "--overstatement-2"),
        (["--region", "R77"], "unknown region"),
        (["--cvr-format", "xml"], "cvr_formats"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_options_exit_2_without_traceback(
    tmp_path: Path, cli: Invoke, extra: list[str], words: str
) -> None:
    code, out, err = cli(
        "simulate", "election", "--seed", "1", "--out", str(tmp_path / "e"), *extra
    )
    assert code == 2
    assert words in out + err
    assert "Traceback" not in out + err
    assert not (tmp_path / "e").exists()


def test_bad_config_file_names_file_and_line(tmp_path: Path, cli: Invoke) -> None:
    cfg = tmp_path / "params.json"
    cfg.write_text('{\n  "units": 9,\n  "regions": ,\n}', encoding="utf-8")
    code, _, err = cli(
        "simulate",
        "election",
        "--seed",
        "1",
        "--config",
        str(cfg),
        "--out",
        str(tmp_path / "e"),
    )
    assert code == 2
    assert "params.json" in err
    assert "line 3" in err
    assert "Traceback" not in err


def test_existing_output_is_refused_then_replaced_with_force(tmp_path: Path, cli: Invoke) -> None:
    out = tmp_path / "e"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    base = ["simulate", "election", "--seed", "1", "--units", "8", "--out", str(out)]
    code, _, err = cli(*base)
    assert code == 2
    assert "--force" in err
    assert (out / "keep.txt").read_text() == "mine"
    code, _, _ = cli(*base, "--force")
    assert code == 0
    assert not (out / "keep.txt").exists()
    assert (out / "bundle.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_version_and_help(cli: Invoke) -> None:
    code, out, _ = cli("--version")
    assert code == 0
    assert out.startswith("tallyguard ")
    for command in (
        ["--help"],
        ["simulate", "election", "--help"],
        ["verify", "--help"],
        ["demo", "--help"],
    ):
        code, out, _ = cli(*command)
        assert code == 0
        assert "Usage" in out


def test_internal_errors_are_short_unless_debug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cli: Invoke
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr("tallyguard.cli.simulate.run_simulation", boom)
    args = ["simulate", "election", "--seed", "1", "--out", str(tmp_path / "e")]
    code, _, err = cli(*args)
    assert code == 1
    assert "kaput" in err
    assert "Traceback" not in err
    code, _, err = cli("--debug", *args)
    assert code == 1
    assert "Traceback" in err
