"""Property tests: garbage and near-valid files give an InputError, never another exception.

Every vendor reader, :func:`detect_format` and :func:`inspect_file` are fed (a)
random bytes under each file name they accept and (b) small valid files of our
own making, mutated: bytes flipped, deleted, inserted or cut, lines dropped or
repeated, CSV cells and JSON values replaced by awkward values, ZIP archives
damaged. A few hundred cases per test by default; ``HYPOTHESIS_PROFILE=fuzz``
runs 10,000 each (issue 4: "≥ 10⁴ cases each in a fuzz run").
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyguard.errors import InputError
from tallyguard.io.detect import detect_format, inspect_file
from tallyguard.io.vendors import (
    read_clearballot,
    read_dominion_csv,
    read_dominion_json,
    read_ess,
    read_hart,
    read_nist_cvr_xml,
)

EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 300
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

DOMINION = (
    b"Election,5.2.16.1,,,,,,,\r\n"
    b",,,,,,,Mayor (Vote For=1),Mayor (Vote For=1),Board (Vote For=2)\r\n"
    b",,,,,,,Ann,Bo,Cy\r\n"
    b"CvrNumber,TabulatorNum,BatchId,RecordId,ImprintedId,CountingGroup,BallotType,,,\r\n"
    b'1,T1,B1,1,="T1-B1-1",Mail,S1,1,0,1\r\n'
    b"2,T1,B1,2,T1-B1-2,Mail,S1,0,1,0\r\n"
    b"3,T2,B1,1,T2-B1-1,Mail,S2,,,1\r\n"
)
CLEARBALLOT = (
    b"RowNumber,BoxID,BoxPosition,BallotID,PrecinctID,BallotStyleID,PrecinctStyleName,"
    b"ScanComputerName,Status,Remade,Choice_1_1:Mayor:Vote For 1:Ann:D,"
    b"Choice_2_1:Mayor:Vote For 1:Bo:R\n1,B1,1,X1,P,S,ps,T1,s,r,1,0\n2,B1,2,X2,P,S,ps,T1,s,r,,\n"
)
ESS_CVR = b"Cast Vote Record,Precinct,Ballot Style,Mayor\n1,P,S,Ann\n2,P,S,overvote\n"
ESS_BALLOTS = (
    b"Ballots\nGEN\nCounty\nDate\n\nCast Vote Record,Batch,Tabulator CVR,Machine\n"
    b"1,B1,0001000001,0001\n2,B1,02bc1dc7bc1e7774,0001\n"
)
HART = (
    b'<?xml version="1.0" encoding="utf-8"?><Cvr xmlns="http://tempuri.org/CVRDesign.xsd">'
    b"<Contests><Contest><Name>Mayor</Name><Id>1</Id><Options><Option><Name>Ann</Name>"
    b"<Id>2</Id><Value>1</Value></Option></Options></Contest></Contests>"
    b"<BatchSequence>1</BatchSequence><SheetNumber>1</SheetNumber><PrecinctSplit><Name>1"
    b"</Name><Id>p</Id></PrecinctSplit><BatchNumber>B1</BatchNumber><CvrGuid>g1</CvrGuid></Cvr>"
)
NIST = (
    b'<CastVoteRecordReport xmlns="http://itl.nist.gov/ns/voting/1500-103/v1" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CVR><BallotStyleId>s</BallotStyleId>'
    b'<CurrentSnapshotId>c1</CurrentSnapshotId><CVRSnapshot ObjectId="c1"><CVRContest>'
    b"<ContestId>k</ContestId><CVRContestSelection><ContestSelectionId>k1</ContestSelectionId>"
    b"<SelectionPosition><HasIndication>yes</HasIndication><NumberVotes>1</NumberVotes>"
    b"</SelectionPosition></CVRContestSelection></CVRContest><Type>original</Type></CVRSnapshot>"
    b'<ElectionId>e</ElectionId><UniqueId>1</UniqueId></CVR><Election ObjectId="e">'
    b'<Candidate ObjectId="a"><Name>Ann</Name></Candidate><Contest ObjectId="k" '
    b'xsi:type="CandidateContest"><Name>Mayor</Name><ContestSelection ObjectId="k1" '
    b'xsi:type="CandidateSelection"><CandidateIds>a</CandidateIds></ContestSelection>'
    b"<VotesAllowed>1</VotesAllowed></Contest></Election></CastVoteRecordReport>"
)
DOMINION_JSON: dict[str, Any] = {
    "Version": "5.10.50.85",
    "Sessions": [
        {
            "TabulatorId": 1,
            "BatchId": 2,
            "RecordId": "X",
            "CountingGroupId": 1,
            "ImageMask": "D:\\00001_00002_000013*.*",
            "Original": {
                "PrecinctPortionId": 3,
                "BallotTypeId": 4,
                "IsCurrent": False,
                "Cards": [{"Id": 1, "Contests": [{"Id": 7, "Marks": [
                    {"CandidateId": 5, "Rank": 1, "IsVote": True}]}]}],
            },
            "Modified": {
                "PrecinctPortionId": 3,
                "BallotTypeId": 4,
                "IsCurrent": True,
                "Contests": [{"Id": 7, "Marks": []}],
            },
        }
    ],
}  # fmt: skip
AWKWARD = [
    b"", b'"', b",", b";", b"\n", b"\r\n", b'="', b"\x00", b"\xff\xfe", b"\xe9", b"-1", b"0",
    b"9" * 25, b"9" * 5000, b"<", b">", b"&", b"<![CDATA[", b"{", b"}", b"[", b"]", b"null",
    b"Vote For=", b"(Vote For=0)", b"Choice_", b"overvote", b"Ballots", b"#FormatVersion",
]  # fmt: skip
JSON_VALUES = st.sampled_from(
    [None, "", "X", -1, 0, 1, 10**30, 1.5, True, False, [], {}, [None], {"a": 1}, "9" * 30]
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with one to four byte-, line- or cell-level mutations."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        at = draw(st.integers(0, max(size - 1, 0)))
        op = draw(st.sampled_from(["flip", "delete", "insert", "cut", "lines", "cell"]))
        if op == "flip" and size:
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(AWKWARD) | st.binary(max_size=8))
        elif op == "cut":
            del data[at:]
        elif op == "lines":
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines[k:k] = [lines[k]] if draw(st.booleans()) else []
            if not draw(st.booleans()):
                del lines[k]
            data = bytearray(b"\n".join(lines))
        else:
            cells = bytes(data).split(b",")
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = draw(st.sampled_from(AWKWARD))
            data = bytearray(b",".join(cells))
    return bytes(data)


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> bytes:
    """``document`` with one to three values (anywhere in the tree) replaced."""
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        node = document
        for _depth in range(8):
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            if not children:
                break
            key, child = draw(st.sampled_from(children))
            if isinstance(child, dict | list) and draw(st.booleans()):
                node = child
                continue
            if isinstance(node, dict) and draw(st.booleans()):
                node.pop(key)
            else:
                node[key] = json.loads(json.dumps(draw(JSON_VALUES)))
            break
    return json.dumps(document).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def consume(read: Callable[[Path], Any], path: Path) -> None:
    """Open and read everything; an InputError is the only acceptable failure."""
    with contextlib.suppress(InputError):
        for _record in read(path).records():
            pass


READERS: dict[str, tuple[str, Callable[[Path], Any], bytes]] = {
    "dominion-csv": ("CVR_Export.csv", read_dominion_csv, DOMINION),
    "clearballot": ("cvr.csv", read_clearballot, CLEARBALLOT),
    "hart": ("ballot.xml", read_hart, HART),
    "hart-zip": (
        "hart.zip",
        read_hart,
        zipped({"a.xml": HART, "b/c.xml": HART.replace(b">g1<", b">g2<")}),
    ),
    "nist-xml": ("report.xml", read_nist_cvr_xml, NIST),
    "dominion-json": ("CvrExport.json", read_dominion_json, json.dumps(DOMINION_JSON).encode()),
    "ess-zip": ("ess.zip", read_ess, zipped({"c.csv": ESS_CVR, "b.csv": ESS_BALLOTS})),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_seeds_are_valid(scratch: Path) -> None:
    for name, read, seed in READERS.values():
        path = scratch / name
        path.write_bytes(seed)
        assert list(read(path).records())
    ess = scratch / "ess"
    ess.mkdir(exist_ok=True)
    (ess / "cvr.csv").write_bytes(ESS_CVR)
    (ess / "ballots.csv").write_bytes(ESS_BALLOTS)
    assert len(list(read_ess(ess).records())) == 2


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=600))
def test_garbage_bytes(scratch: Path, kind: str, data: bytes) -> None:
    name, read, _seed = READERS[kind]
    path = scratch / f"garbage-{name}"
    path.write_bytes(data)
    consume(read, path)


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_near_valid_files(scratch: Path, kind: str, data: st.DataObject) -> None:
    name, read, seed = READERS[kind]
    path = scratch / f"mutated-{name}"
    path.write_bytes(data.draw(mutated(seed)))
    consume(read, path)


@FUZZ
@given(document=mutated_json(DOMINION_JSON))
def test_near_valid_dominion_json(scratch: Path, document: bytes) -> None:
    path = scratch / "CvrExport_json_tree.json"
    path.write_bytes(document)
    consume(read_dominion_json, path)


@FUZZ
@given(cvr=mutated(ESS_CVR), ballots=mutated(ESS_BALLOTS))
def test_near_valid_ess_pair(scratch: Path, cvr: bytes, ballots: bytes) -> None:
    folder = scratch / "ess-pair"
    folder.mkdir(exist_ok=True)
    (folder / "cvr.csv").write_bytes(cvr)
    (folder / "ballots.csv").write_bytes(ballots)
    consume(read_ess, folder)


SUFFIXES = [".csv", ".json", ".xml", ".zip", ".txt"]


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.sampled_from([seed for _n, _r, seed in READERS.values()]).flatmap(mutated),
    ),
    suffix=st.sampled_from(SUFFIXES),
)
def test_detect_and_inspect(scratch: Path, data: bytes, suffix: str) -> None:
    path = scratch / f"detect{suffix}"
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        detect_format(path)
    with contextlib.suppress(InputError):
        inspect_file(path)
