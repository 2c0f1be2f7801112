"""A small, deterministic evidence bundle for the evidence and CLI tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tallyguard.evidence import Bundle, content_sha256, file_form, write_bundle

RERUN_NAME = "test.tally"
COMMAND = "tallyguard test tally"
SEED = "12345678901234567890"
PARAMETERS: dict[str, Any] = {
    "contest": "Mayor",
    "choices": ["Alice", "Bob"],
    "units": 3,
    "turnout": 0.625,
}
RESULTS: dict[str, Any] = {"winner": "Alice", "margin": 0.125, "units": 3}
INPUT_NAME = "manifest.csv"
INPUT_TEXT = "Batch Name,Number of Ballots\nB-01,120\nB-02,80\n"

#: Every file of the bundle, bundle.json included (the nested one is the table).
FILES = (
    "bundle.json",
    "inputs/manifest.csv",
    "nested/deep/table.csv",
    "results.csv",
    "summary.json",
)
OUTPUTS = ("nested/deep/table.csv", "results.csv", "summary.json")


def make_outputs(parameters: Mapping[str, Any], out_dir: Path) -> None:
    """The 'computation' of the test bundle: deterministic in ``parameters``."""
    units = int(parameters["units"])
    choices = list(parameters["choices"])
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ["unit,choice,votes"]
    for unit in range(units):
        for index, choice in enumerate(choices):
            rows.append(f"U{unit:02d},{choice},{(unit + 1) * (10 + 7 * index)}")
    (out_dir / "results.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = {"contest": parameters["contest"], "units": units, "note": "Zürich ✓"}
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    nested = out_dir / "nested" / "deep"
    nested.mkdir(parents=True, exist_ok=True)
    table = "".join(f"{choice};{len(choice)}\n" for choice in choices)
    (nested / "table.csv").write_text(table, encoding="utf-8")


def make_input(folder: Path) -> Path:
    """Write the input file of the test bundle in ``folder`` (outside the bundle)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INPUT_NAME
    path.write_text(INPUT_TEXT, encoding="utf-8")
    return path


def build_bundle(
    directory: Path, *, rerun: str | None = RERUN_NAME, source: Path | None = None
) -> Bundle:
    """Write the outputs, then seal ``directory`` as a bundle with one input."""
    directory.mkdir(parents=True, exist_ok=True)
    make_outputs(PARAMETERS, directory)
    input_path = make_input(source or directory.parent / f"{directory.name}-source")
    return write_bundle(
        directory,
        command=COMMAND,
        parameters=PARAMETERS,
        seed=SEED,
        results=RESULTS,
        rerun=rerun,
        inputs=[input_path],
    )


def read_document(directory: Path) -> dict[str, Any]:
    """Parse a bundle's bundle.json."""
    document: dict[str, Any] = json.loads((directory / "bundle.json").read_bytes())
    return document


def rewrite_document(directory: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as bundle.json with a correctly recomputed bundle_sha256.

    This is what a careful forger would do, so only the other checks can catch it.
    """
    document = dict(document)
    document["bundle_sha256"] = content_sha256(document)
    (directory / "bundle.json").write_bytes(file_form(document))


def flip_byte(path: Path, position: int, value: int) -> None:
    """Overwrite the byte at ``position`` of ``path`` with ``value``."""
    data = bytearray(path.read_bytes())
    data[position] = value
    path.write_bytes(bytes(data))
