"""Shared helpers for JSON inputs: loading, JSON paths, pydantic errors.

A location inside a JSON document is written as a JSON path in the style of
NIST SP 1500-103's JSON examples, e.g. ``CVR[12].CVRSnapshot[0].CVRContest[1]``
(array indices 0-based); it is passed as the ``field`` of an
:class:`~tallyguard.errors.InputError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tallyguard.errors import InputError


def json_path(*parts: str | int) -> str:
    """Join keys and indices into a path: ``("CVR", 3, "UniqueId")`` -> ``CVR[3].UniqueId``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def load_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file; a syntax error names its line and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found.", file=path, fix="check the path and the file name.")
    try:
        with path.open(encoding="utf-8-sig") as stream:
            return json.load(stream)
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text.", file=path, fix="save the file as UTF-8.") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"is not valid JSON: {error.msg} (column {error.colno}).",
            file=path,
            line=error.lineno,
            fix="correct the JSON syntax (a JSON validator shows the spot).",
        ) from None
    except (RecursionError, ValueError) as error:  # nesting too deep; an integer too long
        raise InputError(
            f"cannot be read as JSON ({type(error).__name__}: {str(error)[:80]}).",
            file=path,
            fix="check that this is the file you meant; CVR and contest files are not like this.",
        ) from None


def validation_error(
    error: ValidationError, *, file: str | Path, prefix: Sequence[str | int] = ()
) -> InputError:
    """The first problem pydantic found, as an :class:`InputError` naming its JSON path."""
    first = error.errors()[0]
    loc: list[str | int] = [*prefix, *first["loc"]]
    kind = first["type"]
    if kind == "missing":
        message = f"the required field {loc[-1]!r} is missing."
        fix = f"add {loc[-1]!r}."
    elif kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}."
        fix = "remove it, or check its spelling."
    else:
        shown = json.dumps(first.get("input"), ensure_ascii=False)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        message = f"{first['msg']} (found {shown})."
        fix = "correct the value."
    more = len(error.errors()) - 1
    if more:
        message = message.removesuffix(".") + f"; {more} more problem(s) after this one."
    return InputError(message, file=file, field=json_path(*loc) or None, fix=fix)
