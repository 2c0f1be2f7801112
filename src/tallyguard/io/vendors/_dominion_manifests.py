"""The manifest files of a Dominion Democracy Suite export: names for the ids in CVRs.

``ContestManifest.json``, ``CandidateManifest.json``, ``CountingGroupManifest.json``,
``BallotTypeManifest.json``, ``PrecinctPortionManifest.json``, ... each hold
``{"Version": ..., "List": [{"Id": ..., "Description": ..., ...}]}``; contests
add ``VoteFor`` (votes allowed) and ``NumOfRanks``, candidates ``ContestId``
and ``Type`` (SHANGRLA ``shangrla/formats/Dominion.py::get_contest_data``;
SHANGRLA ``examples/data/SFDA2019/SFDA2019_CandidateManifest.json``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tallyguard.io.jsonfile import json_path
from tallyguard.io.vendors._common import normalise_name
from tallyguard.io.vendors._json import JsonDoc
from tallyguard.io.vendors._sources import Member

MANIFEST = re.compile(r"^(?P<kind>[a-z]+)manifest\.json$", re.IGNORECASE)
_FIX = "use the manifest files exported with the CVRs, unedited."


@dataclass(frozen=True)
class Names:
    """Names from the manifests (or, without them, the ids themselves).

    ``contests``: contest id -> name, in manifest order; ``choices``: contest id
    -> candidate id -> choice name; ``lookups``: manifest kind (``ballottype``,
    ``precinctportion``, ``countinggroup``, ...) -> id -> description.
    """

    contests: dict[str, str]
    choices: dict[str, dict[str, str]]
    votes_allowed: dict[str, int]
    lookups: dict[str, dict[str, str]]
    from_manifest: bool


def _items(doc: JsonDoc, data: Any) -> list[dict[str, Any]]:
    items = doc.get(data, "List", "", list)
    for k, item in enumerate(items):
        doc.get(item, "Id", json_path("List", k), (int, str))
        doc.get(item, "Description", json_path("List", k), str)
    return list(items)


def read_manifests(members: Sequence[tuple[Member, Any]], notes: list[str]) -> Names:
    """Collect the names of every loaded manifest ``(member, document)``.

    Raises:
        InputError: a manifest without ``List`` or whose entries lack ``Id``,
            ``Description`` (or ``ContestId`` for candidates), JSON path named.
    """
    contests: dict[str, str] = {}
    allowed: dict[str, int] = {}
    choices: dict[str, dict[str, str]] = {}
    lookups: dict[str, dict[str, str]] = {}
    has_candidates = False
    for member, data in members:
        doc = JsonDoc(member, _FIX)
        items = _items(doc, data)
        kind = MANIFEST.match(member.basename)
        label = kind.group("kind").casefold() if kind else ""
        for k, item in enumerate(items):
            key, name = str(item["Id"]), normalise_name(item["Description"])
            if label == "contest":
                contests[key] = name
                if "VoteFor" in item:
                    allowed[key] = doc.get(item, "VoteFor", json_path("List", k), int)
            elif label == "candidate":
                contest = str(doc.get(item, "ContestId", json_path("List", k), (int, str)))
                choices.setdefault(contest, {})[key] = name
            else:
                lookups.setdefault(label, {})[key] = name
        has_candidates = has_candidates or label == "candidate"
    if contests and not has_candidates:
        notes.append("no CandidateManifest.json: choices are named by their candidate ids")
    order = list(contests) + [cid for cid in choices if cid not in contests]
    named = {cid: contests.get(cid, cid) for cid in order}
    return Names(named, choices, allowed, lookups, has_candidates)
