"""Canonical JSON and SHA-256: the byte-level conventions every bundle relies on.

Two serialisations of the same JSON value are used:

* the *canonical* form (:func:`canonical_json`): sorted keys, no whitespace,
  UTF-8, no NaN or infinity. ``bundle_sha256`` is the SHA-256 of this form, so
  any third party with a JSON library can recompute it;
* the *file form* (:func:`file_form`): sorted keys, two-space indentation and a
  final newline, the exact bytes of ``bundle.json``. Because the file form is a
  function of the parsed content, a whitespace-only edit of ``bundle.json`` is
  detectable too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: Files are hashed in chunks of this many bytes, so memory use stays flat.
CHUNK_SIZE = 1 << 20


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` to canonical JSON bytes (the form that is hashed).

    Args:
        obj: A JSON value: dicts with string keys, lists, strings, numbers,
            booleans and ``None``.

    Returns:
        Sorted-key, whitespace-free UTF-8 JSON.

    Raises:
        ValueError: ``obj`` holds NaN or an infinity.
        TypeError: ``obj`` holds something JSON cannot represent.
    """
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def file_form(obj: Any) -> bytes:
    """Serialise ``obj`` the way ``bundle.json`` is stored on disk.

    Args:
        obj: A JSON value, as for :func:`canonical_json`.

    Returns:
        Sorted-key JSON indented by two spaces, ending in a newline, as UTF-8.
    """
    text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def normalise(obj: Any) -> Any:
    """Return ``obj`` as it reads back from JSON (tuples become lists, and so on).

    Args:
        obj: A value :func:`canonical_json` accepts.

    Returns:
        ``json.loads(canonical_json(obj))``, so what a bundle holds in memory is
        exactly what a reader of ``bundle.json`` gets.
    """
    return json.loads(canonical_json(obj))


def sha256_bytes(data: bytes) -> str:
    """Return the lowercase hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the lowercase hexadecimal SHA-256 of a file, read in 1 MiB chunks.

    Args:
        path: The file to hash.

    Returns:
        64 hexadecimal digits.

    Raises:
        OSError: The file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(document: dict[str, Any]) -> str:
    """Return the SHA-256 of every field of a bundle document except ``bundle_sha256``.

    Args:
        document: The parsed ``bundle.json`` (or the one about to be written).

    Returns:
        The value ``bundle_sha256`` must hold.
    """
    rest = {key: value for key, value in document.items() if key != "bundle_sha256"}
    return sha256_bytes(canonical_json(rest))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_strict(raw: bytes) -> Any:
    """Parse JSON bytes strictly: UTF-8 only, no NaN or infinity, no duplicate keys.

    Args:
        raw: The bytes of a JSON document.

    Returns:
        The parsed value.

    Raises:
        ValueError: The bytes are not strict JSON (the message says why).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text ({error.reason} at byte {error.start})") from error
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error
