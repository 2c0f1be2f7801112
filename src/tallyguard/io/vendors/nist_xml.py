"""NIST SP 1500-103 v1 cast vote records in XML (namespace ``http://itl.nist.gov/ns/voting/1500-103/v1``).

The XML form carries the same classes as the JSON form read by
:mod:`tallyguard.io.nist_cvr` (NIST SP 1500-103 §2; XSD
``NIST_V0_cast_vote_records.xsd``; examples ``example_1.xml`` and
``example_2.xml`` of usnistgov/CastVoteRecords). This reader turns each XML
element into the JSON object the schema's JSON form would have - ``ObjectId``
becomes ``@id``, ``xsi:type`` becomes ``@type`` (``CVR.<type>``), repeatable
elements become arrays, ``IDREFS`` lists (``CandidateIds``) are split - and
hands it to the JSON reader's models, so both forms give the same contests,
records and error locations (``CVR[3].CVRSnapshot[0].CVRContest[1]``: the
element path, 0-based).

Differences from the JSON reader, all for documents the XSD allows:

* white space in names (``<Name>`` split over lines) is collapsed to one space;
* a ``CVRContestSelection`` without ``SelectionPosition`` (allowed when there
  is no indication) is dropped;
* a marked ``CVRContestSelection`` without ``ContestSelectionId`` (a write-in
  that is not a listed selection, as in ``example_2.xml``) is counted for the
  contest's write-in selection (``IsWriteIn``), else for an added choice
  ``Write-in``; this is noted.

The file is read twice, streaming (``defusedxml`` ``iterparse``): once for the
election definitions (they follow the CVRs in the examples), once for the CVRs.
Validation against the XSD with ``xmlschema`` is done only when a schema file
is passed; the XSD is not shipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from pydantic import ValidationError

from tallyguard.errors import InputError
from tallyguard.io.jsonfile import validation_error
from tallyguard.io.nist_cvr import NistCvrReport, ReportModel, report_contests
from tallyguard.io.vendors._common import normalise_name
from tallyguard.model import CvrRecord

NAMESPACE = "http://itl.nist.gov/ns/voting/1500-103/v1"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_LISTS = frozenset(
    {
        "CVR", "Election", "Contest", "ContestSelection", "Candidate", "Party", "GpUnit",
        "CVRSnapshot", "CVRContest", "CVRContestSelection", "SelectionPosition", "Code",
        "ReportingDevice", "BallotImage", "Image", "Annotation", "ExternalIdentifier",
    }
)  # fmt: skip
_IDREFS = frozenset({"CandidateIds", "PartyIds", "ReportGeneratingDeviceIds", "GpUnitIds"})
_INTEGERS = frozenset({"NumberVotes", "BatchSequenceId", "VotesAllowed", "NumberElected"})
_WRITE_IN = "Write-in"


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _type_name(value: str) -> str:
    return "CVR." + value.rpartition(":")[2]


def to_json(element: Element) -> Any:
    """The JSON form of one element (see the module docstring)."""
    children = list(element)
    name = _local(element.tag)
    if not children and not element.attrib:
        text = normalise_name(element.text or "")
        if name in _IDREFS:
            return text.split()
        if name in _INTEGERS and len(text) <= 15 and text.lstrip("-").isdigit() and text.isascii():
            return int(text)
        return text
    node: dict[str, Any] = {}
    if "ObjectId" in element.attrib:
        node["@id"] = element.attrib["ObjectId"]
    if _XSI_TYPE in element.attrib:
        node["@type"] = _type_name(element.attrib[_XSI_TYPE])
    for child in children:
        key = _local(child.tag)
        if key == "CVRContestSelection" and not any(
            _local(c.tag) == "SelectionPosition" for c in child
        ):
            continue
        value = to_json(child)
        if key in _LISTS or key in node:
            if key in node and not isinstance(node[key], list):
                node[key] = [node[key]]
            node.setdefault(key, []).append(value)
        else:
            node[key] = value
    if not children and element.text and element.text.strip():
        node["#text"] = normalise_name(element.text)
    return node


def _marked_without_id(cvr: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """(CVRContestSelection, ContestId) of marked selections that name no selection."""
    if not isinstance(cvr, dict):
        return
    for snapshot in _items(cvr.get("CVRSnapshot")):
        for contest in _items(snapshot.get("CVRContest") if isinstance(snapshot, dict) else None):
            if not isinstance(contest, dict):
                continue
            for selection in _items(contest.get("CVRContestSelection")):
                if not isinstance(selection, dict) or selection.get("ContestSelectionId"):
                    continue
                positions = _items(selection.get("SelectionPosition"))
                if any(
                    isinstance(p, dict)
                    and p.get("HasIndication") == "yes"
                    and isinstance(p.get("NumberVotes"), int)
                    and p["NumberVotes"] >= 1
                    for p in positions
                ):
                    yield selection, str(contest.get("ContestId", ""))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Stream:
    """Streaming passes over the top-level children of the report."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def children(self) -> Iterator[Element]:
        depth, root = 0, None
        try:
            for event, element in iterparse(
                str(self.path), events=("start", "end"), forbid_dtd=True
            ):
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = self._check_root(element)
                    continue
                depth -= 1
                if depth == 1 and root is not None:
                    yield element
                    element.clear()
                    root.remove(element)
        except ParseError as error:
            line = error.position[0] if getattr(error, "position", None) else None
            raise InputError(
                f"is not well-formed XML ({error}).",
                file=self.path,
                line=line,
                fix="export the file again (it may be cut short).",
            ) from None
        except DefusedXmlException as error:
            raise InputError(
                f"contains a forbidden XML construct ({error}).",
                file=self.path,
                fix="CVR reports have no DTD or entities.",
            ) from None
        except (ValueError, LookupError, RecursionError, OSError) as error:
            raise InputError(f"cannot be parsed as XML ({error}).", file=self.path) from None

    def _check_root(self, root: Element) -> Element:
        if _local(root.tag) != "CastVoteRecordReport":
            raise InputError(
                f"the root element is <{_local(root.tag)}>, not <CastVoteRecordReport>.",
                file=self.path,
                fix="this is not a NIST SP 1500-103 CVR report.",
            )
        return root

    def cvrs(self, write_ins: dict[str, str]) -> Iterator[dict[str, Any]]:
        for element in self.children():
            if _local(element.tag) != "CVR":
                continue
            cvr = to_json(element)
            for selection, contest_id in _marked_without_id(cvr):
                if contest_id in write_ins:
                    selection["ContestSelectionId"] = write_ins[contest_id]
            yield cvr


class _LazyCvrs:
    """The CVRs, read again from the file whenever they are iterated."""

    def __init__(self, stream: _Stream, count: int, write_ins: dict[str, str]) -> None:
        self._stream, self._count, self._write_ins = stream, count, write_ins

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._stream.cvrs(self._write_ins)


def _add_write_ins(head: dict[str, Any], contest_ids: Iterable[str]) -> dict[str, str]:
    """Map each contest id to the selection its unlisted write-ins count for."""
    wanted, mapping = set(contest_ids), {}
    for election in _items(head.get("Election")):
        for contest in _items(election.get("Contest") if isinstance(election, dict) else None):
            if not isinstance(contest, dict) or contest.get("@id") not in wanted:
                continue
            selections = contest.setdefault("ContestSelection", [])
            if not isinstance(selections, list):
                continue
            listed = [s for s in selections if isinstance(s, dict)]
            writein = next((s for s in listed if s.get("IsWriteIn") == "true"), None)
            if writein is None:
                names = {s.get("Selection") for s in listed}
                writein = {
                    "@id": f"{contest['@id']}#write-in",
                    "@type": "CVR.ContestSelection",
                    "Selection": _WRITE_IN if _WRITE_IN not in names else f"{_WRITE_IN} (unlisted)",
                }
                selections.append(writein)
            mapping[contest["@id"]] = str(writein.get("@id"))
    return mapping


@dataclass(frozen=True)
class NistXmlReport:
    """A parsed CastVoteRecordReport XML: the same contests and records as the JSON reader."""

    path: Path
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _report: NistCvrReport = field(repr=False)

    def __len__(self) -> int:
        return len(self._report)

    def records(self) -> Iterator[CvrRecord]:
        """Yield one :class:`CvrRecord` per ``CVR`` (see :meth:`NistCvrReport.records`)."""
        return self._report.records()


def validate_with_schema(path: Path, schema: Path) -> None:
    """Check ``path`` against the NIST XSD at ``schema`` with ``xmlschema``.

    Raises:
        InputError: the schema cannot be loaded, or the first violation (its
            element path and reason).
    """
    import xmlschema

    try:
        xsd = xmlschema.XMLSchema(str(schema))
    except (xmlschema.XMLSchemaException, ParseError, OSError, ValueError, LookupError) as error:
        raise InputError(f"is not a usable XML schema ({error}).", file=schema) from None
    try:
        resource = xmlschema.XMLResource(str(path), defuse="always")
        first = next(iter(xsd.iter_errors(resource)), None)
    except (xmlschema.XMLSchemaException, ParseError, OSError, ValueError, LookupError) as error:
        raise InputError(f"cannot be checked against the schema ({error}).", file=path) from None
    if first is not None:
        reason = normalise_name(str(first.reason or first.message))
        raise InputError(
            f"does not conform to {schema.name}: {reason}",
            file=path,
            field=first.path,
            fix="correct the element named (see NIST SP 1500-103).",
        )


def read_nist_cvr_xml(path: str | Path, *, schema: str | Path | None = None) -> NistXmlReport:
    """Load a NIST SP 1500-103 v1 CastVoteRecordReport XML file.

    Args:
        path: the XML report.
        schema: the NIST XSD (``NIST_V0_cast_vote_records.xsd``); when given,
            the file is validated against it first.

    Returns:
        A :class:`NistXmlReport` whose ``contests`` and records equal what
        :func:`~tallyguard.io.nist_cvr.read_nist_cvr_json` gives for the same
        report in JSON; ``votes_allowed`` holds each contest's ``VotesAllowed``.

    Raises:
        InputError: malformed XML (line named), a root that is not
            ``CastVoteRecordReport``, a schema violation, or the JSON reader's
            structural errors (element path named).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found.", file=path, fix="check the path and the file name.")
    if schema is not None:
        validate_with_schema(path, Path(schema))
    stream = _Stream(path)
    head: dict[str, Any] = {"@type": "CVR.CastVoteRecordReport"}
    count, unlisted = 0, dict[str, int]()
    for element in stream.children():
        name = _local(element.tag)
        if name == "CVR":
            count += 1
            for _selection, contest_id in _marked_without_id(to_json(element)):
                unlisted[contest_id] = unlisted.get(contest_id, 0) + 1
            continue
        value = to_json(element)
        if name in _LISTS:
            head.setdefault(name, []).append(value)
        else:
            head[name] = value
    notes: list[str] = []
    write_ins = _add_write_ins(head, unlisted)
    if unlisted:
        notes.append(
            f"{sum(unlisted.values())} marked write-in(s) without ContestSelectionId in "
            f"{len(unlisted)} contest(s) are counted for the contest's write-in choice"
        )
    try:
        report = ReportModel.model_validate(head)
    except ValidationError as error:
        raise validation_error(error, file=path) from None
    contests, keys = report_contests(report, path)
    units = {unit.id: unit.name or unit.id for unit in report.gp_units}
    lazy = _LazyCvrs(stream, count, write_ins)
    json_report = NistCvrReport(path, contests, keys, units, cast(list[Any], lazy))
    allowed = _allowed(head)
    return NistXmlReport(path, contests, allowed, notes, json_report)


def _allowed(head: dict[str, Any]) -> dict[str, int]:
    allowed: dict[str, int] = {}
    for election in _items(head.get("Election")):
        for contest in _items(election.get("Contest") if isinstance(election, dict) else None):
            if isinstance(contest, dict) and isinstance(contest.get("VotesAllowed"), int):
                name = contest.get("Name") or contest.get("@id")
                allowed[str(name)] = contest["VotesAllowed"]
    return allowed
