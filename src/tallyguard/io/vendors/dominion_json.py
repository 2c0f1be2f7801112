"""Dominion Democracy Suite ``CvrExport*.json``: one file, several, a folder or a ZIP.

Structure (SHANGRLA ``shangrla/formats/Dominion.py::read_cvrs`` and its test
files ``tests/core/data/Dominion_CVRs/``)::

    {"Version": "5.10.50.85", "ElectionId": "...",
     "Sessions": [{"TabulatorId": 1, "BatchId": 2, "RecordId": 13,
                   "CountingGroupId": 1, "ImageMask": "...00001_00002_000013*.*",
                   "UniqueVotingIdentifier": "", "Original": {...}, "Modified": {...}}]}

A session's ``Original`` (the scan) and optional ``Modified`` (after
adjudication) each carry ``PrecinctPortionId``, ``BallotTypeId``, ``IsCurrent``
and the contests on the card: directly as ``Contests`` (version 5.2.x) or per
sheet as ``Cards[].Contests`` (5.10.x). A contest lists ``Marks`` with
``CandidateId``, ``Rank`` and ``IsVote``; a mark counts when ``IsVote`` is
true. The current interpretation is the one with ``IsCurrent`` true. A large
export is split into ``CvrExport_0.json``, ``CvrExport_1.json``, ...

Names live in separate manifest files of the same export (SHANGRLA
``Dominion.get_contest_data``): ``ContestManifest.json`` and
``CandidateManifest.json`` (``{"List": [{"Id", "Description", ...}]}``, with
``VoteFor`` per contest and ``ContestId`` per candidate), and likewise
``CountingGroupManifest.json``, ``BallotTypeManifest.json`` and
``PrecinctPortionManifest.json``. Without them, contests and choices are
named by their ids.

Mapping: ``cvr_id`` is ``TabulatorId-BatchId-RecordId``; the batch is
(``TabulatorId``, ``BatchId``) and the position ``RecordId``. An obfuscated
``RecordId`` (``"X"``) is recovered from the ``ImageMask`` file name
(``<tabulator>_<batch>_<record>``), as SHANGRLA does. Cards of one session are
one record (SHANGRLA joins the contests of all ``Cards``); ranked marks are
listed in rank order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import json_path
from tallyguard.io.vendors._common import (
    IdRegistry,
    VendorCvrRecord,
    closest,
    unique_names,
    whole,
)
from tallyguard.io.vendors._dominion_manifests import MANIFEST, Names, read_manifests
from tallyguard.io.vendors._json import JsonDoc, load_member_json
from tallyguard.io.vendors._sources import Member, expand, iter_bytes, open_member

_EXPORT = re.compile(r"^cvrexport.*\.json$", re.IGNORECASE)
_IMAGE_MASK = re.compile(r"(\d+)_(\d+)_(\d+)")
_NUMBER = re.compile(r"(\d+)")
_SPEC = "a Dominion CvrExport JSON"
_FIX = f"check the file is {_SPEC} export and has not been edited."


def _natural(member: Member) -> list[Any]:
    return [int(p) if p.isdigit() else p.casefold() for p in _NUMBER.split(member.name)]


@dataclass(frozen=True)
class _Session:
    record: VendorCvrRecord
    recovered: bool
    cards: int


class _SessionReader:
    """Turns one session object into a record, with the contest/choice naming."""

    def __init__(self, names: Names, contests: dict[str, tuple[str, ...]]) -> None:
        self.names = names
        self.order = {cid: {c: k for k, c in enumerate(ch)} for cid, ch in contests.items()}

    def current(self, doc: JsonDoc, session: Any, path: str) -> tuple[str, Any]:
        if not isinstance(session, dict):
            raise doc.fail(f"expected an object, found {type(session).__name__}.", path, _FIX)
        versions = [(key, session[key]) for key in ("Modified", "Original") if key in session]
        if not versions:
            raise doc.fail("the session has neither 'Original' nor 'Modified'.", path, _FIX)
        for key, version in versions:
            if doc.get(version, "IsCurrent", json_path(path, key), bool) is True:
                return key, version
        return versions[0]

    def contests(self, doc: JsonDoc, version: Any, path: str) -> list[tuple[Any, str]]:
        if isinstance(version, dict) and "Cards" in version:
            found = []
            for c, card in enumerate(doc.get(version, "Cards", path, list)):
                where = json_path(path, "Cards", c)
                for k, contest in enumerate(doc.get(card, "Contests", where, list)):
                    found.append((contest, json_path(where, "Contests", k)))
            return found
        items = doc.get(version, "Contests", path, list)
        return [(contest, json_path(path, "Contests", k)) for k, contest in enumerate(items)]

    def record_id(self, doc: JsonDoc, session: Any, path: str) -> tuple[int, bool]:
        value = doc.get(session, "RecordId", path, (int, str))
        number = whole(str(value).strip())
        if number is not None and number >= 1:
            return number, False
        mask = session.get("ImageMask") if isinstance(session, dict) else None
        match = _IMAGE_MASK.search(mask) if isinstance(mask, str) else None
        recovered = whole(match.group(3)) if match else None
        if recovered is None or recovered < 1:
            raise doc.fail(
                f"RecordId is {json.dumps(value)} and the ImageMask gives no record number.",
                json_path(path, "RecordId"),
                "export the CVRs with record ids (Democracy Suite obfuscates them on request).",
            )
        return recovered, True

    def read(self, doc: JsonDoc, session: Any, path: str) -> _Session:
        tabulator = doc.ident(session, "TabulatorId", path)
        batch = doc.ident(session, "BatchId", path)
        position, recovered = self.record_id(doc, session, path)
        key, version = self.current(doc, session, path)
        where = json_path(path, key)
        votes: dict[str, list[tuple[int, int, str]]] = {}
        entries = self.contests(doc, version, where)
        for contest, cpath in entries:
            cid = doc.ident(contest, "Id", cpath)
            name = self.names.contests.get(cid)
            if name is None:
                raise doc.fail(
                    f"contest Id {cid} is not in ContestManifest.json.",
                    json_path(cpath, "Id"),
                    _closest_fix(cid, self.names.contests),
                )
            marks = votes.setdefault(name, [])
            for m, mark in enumerate(doc.get(contest, "Marks", cpath, list)):
                mpath = json_path(cpath, "Marks", m)
                if not doc.get(mark, "IsVote", mpath, bool):
                    continue
                candidate = doc.ident(mark, "CandidateId", mpath)
                choice = self.names.choices.get(cid, {}).get(candidate, candidate)
                index = self.order[name].get(choice)
                if index is None:
                    raise doc.fail(
                        f"CandidateId {candidate} is not a candidate of contest {name!r}.",
                        json_path(mpath, "CandidateId"),
                        _closest_fix(candidate, self.names.choices.get(cid, {})),
                    )
                rank = mark.get("Rank", 1)
                rank = rank if isinstance(rank, int) and not isinstance(rank, bool) else 1
                marks.append((rank, index, choice))
        cards = len(version.get("Cards", [])) if isinstance(version, dict) else 1
        lookups = self.names.lookups
        record = VendorCvrRecord(
            cvr_id=f"{tabulator}-{batch}-{position}",
            votes={name: _ordered(marks) for name, marks in votes.items()},
            batch_name=batch,
            position=position,
            imprinted_id=_text(session.get("UniqueVotingIdentifier")),
            ballot_style=_lookup(lookups, "ballottype", version.get("BallotTypeId")),
            unit_id=_lookup(lookups, "precinctportion", version.get("PrecinctPortionId")),
            tabulator=tabulator,
            counting_group=_lookup(lookups, "countinggroup", session.get("CountingGroupId")),
        )
        return _Session(record, recovered, cards)


def _closest_fix(value: str, options: dict[str, str]) -> str:
    near = closest(value, options)
    if near is not None:
        hint = f" (the closest id is {near}: {options[near]!r})"
    else:
        shown = ", ".join(f"{key} ({name})" for key, name in list(options.items())[:8])
        hint = f" (the valid ids are {shown}{', ...' if len(options) > 8 else ''})" if shown else ""
    return f"check that the manifests come from the same export as the CVRs{hint}."


def _ordered(marks: list[tuple[int, int, str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _rank, _index, choice in sorted(marks):
        seen.setdefault(choice, None)
    return tuple(seen)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


def _lookup(lookups: dict[str, dict[str, str]], kind: str, value: Any) -> str | None:
    text = _text(value)
    return None if text is None else lookups.get(kind, {}).get(text, text)


def _sessions(member: Member, data: Any) -> tuple[JsonDoc, list[Any]]:
    doc = JsonDoc(member, _FIX)
    if isinstance(data, dict) and "Sessions" not in data and "@type" in data:
        raise doc.fail(
            f"this is a NIST SP 1500-103 CVR report, not {_SPEC} export.",
            "",
            "read it as NIST JSON (--format nist-json).",
        )
    return doc, list(doc.get(data, "Sessions", "", list))


@dataclass(frozen=True)
class DominionJson:
    """Dominion ``CvrExport*.json`` files: contests (named by the manifests) and records."""

    exports: tuple[Member, ...]
    versions: tuple[str, ...]
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _names: Names = field(repr=False)

    def records(self) -> Iterator[VendorCvrRecord]:
        """Yield one record per session, in file order, checking each as it goes.

        Raises:
            InputError: naming the file and the JSON path (e.g.
                ``Sessions[4].Original.Cards[0].Contests[1].Marks[0].IsVote``)
                for a missing or mistyped field, an unknown contest or
                candidate id, or a ``Tabulator-Batch-Record`` id seen twice.
        """
        reader = _SessionReader(self._names, self.contests)
        ids = IdRegistry("the CVR id (TabulatorId-BatchId-RecordId)", "each card appears once.")
        recovered = multi = 0
        for member, data in iter_bytes(self.exports):
            doc, sessions = _sessions(member, load_member_json(member, data))
            for s, session in enumerate(sessions):
                path = json_path("Sessions", s)
                found = reader.read(doc, session, path)
                where = f"{member.basename} {path}"
                ids.add(found.record.cvr_id, where, file=member.name, line=None, field=path)
                recovered += found.recovered
                multi += found.cards > 1
                yield found.record
        if recovered:
            self.notes.append(f"{recovered} RecordId(s) were obfuscated; read from the ImageMask")
        if multi:
            self.notes.append(f"{multi} session(s) span several cards; each is one record")


def _discover(exports: Sequence[Member], names: Names) -> dict[str, dict[str, None]]:
    """Pass 1 without a CandidateManifest: every contest and candidate id in the CVRs."""
    found: dict[str, set[str]] = {}
    reader = _SessionReader(names, {})
    for member, data in iter_bytes(exports):
        doc, sessions = _sessions(member, load_member_json(member, data))
        for s, session in enumerate(sessions):
            path = json_path("Sessions", s)
            reader.current(doc, session, path)
            for key in ("Original", "Modified"):
                if key not in session:
                    continue
                for contest, cpath in reader.contests(doc, session[key], json_path(path, key)):
                    cid = doc.ident(contest, "Id", cpath)
                    ids = found.setdefault(cid, set())
                    for m, mark in enumerate(doc.get(contest, "Marks", cpath, list)):
                        ids.add(doc.ident(mark, "CandidateId", json_path(cpath, "Marks", m)))
    return {cid: dict.fromkeys(sorted(ids, key=_id_key)) for cid, ids in found.items()}


def _id_key(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isascii() and value.isdigit() else (1, value)


def read_dominion_json(
    source: str | Path | Sequence[str | Path], *, manifests: Sequence[str | Path] = ()
) -> DominionJson:
    """Open Dominion ``CvrExport*.json`` CVRs with the export's manifests, if present.

    Args:
        source: a ``CvrExport.json`` file, several, a folder or a ZIP of the
            export. In a folder or ZIP, ``CvrExport*.json`` are the CVR files
            (natural order: ``_2`` before ``_10``) and ``*Manifest.json`` the
            manifests; other files are ignored.
        manifests: manifest files kept elsewhere (``ContestManifest.json``,
            ``CandidateManifest.json``, ...).

    Returns:
        A :class:`DominionJson`. With a candidate manifest, ``contests`` maps
        contest name to candidate names in manifest order; without one, every
        contest and candidate id found in the CVRs (numeric order).

    Raises:
        InputError: no CVR file, invalid JSON, a field missing or of the wrong
            type (JSON path named), or - on reading - a CVR that names a
            contest or candidate the manifests do not have.
    """
    explicit = isinstance(source, str | Path) and Path(source).is_file()
    members = expand(source) + (expand(list(manifests)) if manifests else [])
    manifest_members = [m for m in members if MANIFEST.match(m.basename)]
    exports = [m for m in members if m not in manifest_members and m.suffix() == ".json"]
    named = [m for m in exports if _EXPORT.match(m.basename)]
    exports = sorted(exports if explicit or not named else named, key=_natural)
    notes: list[str] = []
    if not exports:
        raise InputError(
            "no CvrExport*.json file found.",
            file=", ".join(str(Path(p)) for p in _as_list(source)),
            fix="point at the CvrExport.json file(s), their folder or the export ZIP.",
        )
    ignored = [m.basename for m in members if m not in exports and m not in manifest_members]
    if ignored:
        notes.append(f"ignored {len(ignored)} other file(s), e.g. {ignored[0]}")
    loaded = [(m, load_member_json(m, data)) for m, data in iter_bytes(manifest_members)]
    names = read_manifests(loaded, notes)
    if not names.from_manifest:
        discovered = _discover(exports, names)
        names = Names(
            {cid: names.contests.get(cid, cid) for cid in sorted(discovered, key=_id_key)},
            {cid: {c: c for c in ids} for cid, ids in discovered.items()},
            names.votes_allowed,
            names.lookups,
            False,
        )
        if not manifest_members:
            notes.append("no Dominion manifest files: contests and choices are named by their ids")
    names, contests, allowed = _finish(names, notes, manifest_members)
    return DominionJson(tuple(exports), _versions(exports), contests, allowed, notes, names)


def _finish(
    names: Names, notes: list[str], manifests: Sequence[Member]
) -> tuple[Names, dict[str, tuple[str, ...]], dict[str, int]]:
    """Contests with unique choice names, and the candidate-id mapping to those names."""
    contests: dict[str, tuple[str, ...]] = {}
    allowed: dict[str, int] = {}
    choices: dict[str, dict[str, str]] = {}
    for cid, name in names.contests.items():
        if name in contests:
            raise InputError(
                f"two contests are named {name!r}.",
                file=manifests[0].name if manifests else None,
                fix="give every contest its own Description in ContestManifest.json.",
            )
        candidates = names.choices.get(cid, {})
        unique = unique_names(candidates.values(), name, notes)
        choices[cid] = dict(zip(candidates, unique, strict=True))
        contests[name] = unique
        if cid in names.votes_allowed:
            allowed[name] = names.votes_allowed[cid]
    named = Names(names.contests, choices, names.votes_allowed, names.lookups, names.from_manifest)
    return named, contests, allowed


_VERSION = re.compile(rb'"Version"\s*:\s*"([^"]{1,40})"')


def _versions(exports: Sequence[Member]) -> tuple[str, ...]:
    """The ``Version`` of the first export, read from its first bytes."""
    if not exports:
        return ()
    with open_member(exports[0]) as stream:
        match = _VERSION.search(stream.read(4096))
    return (match.group(1).decode("utf-8", "replace"),) if match else ()


def _as_list(source: str | Path | Sequence[str | Path]) -> list[str | Path]:
    return [source] if isinstance(source, str | Path) else list(source)
