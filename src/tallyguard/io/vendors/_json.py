"""JSON members of vendor exports: parsing and checked field access.

Errors follow :mod:`tallyguard.io.jsonfile`: a syntax error names the line and
column, a structural one the JSON path (``Sessions[3].Original.IsCurrent``,
array indices 0-based) in the ``field`` of the :class:`InputError`.
"""

from __future__ import annotations

import json
from typing import Any

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import json_path
from tallyguard.io.vendors._common import closest
from tallyguard.io.vendors._sources import Member

_WORDS = {int: "a number", str: "text", bool: "true/false", list: "an array", dict: "an object"}


def load_member_json(member: Member, data: bytes) -> Any:
    """Parse JSON bytes (UTF-8, BOM allowed); errors name the member, the line and the column."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text.", file=member.name, fix="export it again.") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"is not valid JSON: {error.msg} (column {error.colno}).",
            file=member.name,
            line=error.lineno,
            fix="export it again (the file may be cut short).",
        ) from None
    except RecursionError:
        raise InputError("nests too deeply to be read.", file=member.name) from None
    except ValueError as error:  # e.g. an integer longer than Python reads (4300 digits)
        raise InputError(f"cannot be read as JSON ({error}).", file=member.name) from None


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


class JsonDoc:
    """Checked access to the fields of one loaded JSON document.

    Args:
        member: the file, named in every error.
        fix: the fix offered for a field that is missing or of the wrong type.
    """

    def __init__(self, member: Member, fix: str) -> None:
        self.member = member
        self.fix = fix

    def fail(self, message: str, path: str, fix: str | None = None) -> InputError:
        """An :class:`InputError` at JSON path ``path``."""
        return InputError(message, file=self.member.name, field=path or None, fix=fix or self.fix)

    def get(self, obj: Any, key: str, path: str, kind: type | tuple[type, ...]) -> Any:
        """``obj[key]``, checked to be of ``kind`` (``bool`` is not taken for ``int``)."""
        where = json_path(path, key) if path else key
        if not isinstance(obj, dict):
            raise self.fail(f"expected an object, found {type(obj).__name__}.", path)
        if key not in obj:
            near = closest(key, obj)
            fix = f"add {key!r}" + (f" (the file has {near!r})." if near else ".")
            raise self.fail(f"the required field {key!r} is missing.", where, fix)
        value = obj[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            wanted = " or ".join(_WORDS.get(k, k.__name__) for k in _kinds(kind))
            raise self.fail(f"expected {wanted}, found {json.dumps(value)[:40]}.", where)
        return value

    def ident(self, obj: Any, key: str, path: str) -> str:
        """An id field (a number or non-empty text) as text."""
        text = str(self.get(obj, key, path, (int, str))).strip()
        if not text:
            raise self.fail(f"{key} is empty.", json_path(path, key))
        return text
