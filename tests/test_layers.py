"""The architecture's rule: arrows point down (DESIGN.md, "Three pillars, one spine")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tallyguard"
SPINE = {"model", "io", "evidence", "store", "simulate", "errors"}
PILLARS = {"audit", "forensics", "rolls"}
INTERFACES = {"cli", "web", "report"}
ALLOWED = {
    **dict.fromkeys(SPINE, SPINE),
    **{pillar: SPINE | {pillar} for pillar in PILLARS},
    "report": SPINE | PILLARS | {"report"},
    "web": SPINE | PILLARS | {"report", "web"},
    "cli": SPINE | PILLARS | INTERFACES,
}


def imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "tallyguard" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_point_down(part: str) -> None:
    root = SRC / part
    files = sorted(root.rglob("*.py")) if root.is_dir() else [SRC / f"{part}.py"]
    for path in files:
        wrong = imported_parts(path) - ALLOWED[part] - {"__init__"}
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)}"
