"""Hart InterCivic Verity cast vote records: one XML file per ballot card.

Structure (namespace ``http://tempuri.org/CVRDesign.xsd``; Arlo
``server/util/hart_parse.py`` and ``parse_hart_cvrs``, SHANGRLA
``shangrla/formats/Hart.py``, their test files)::

    <Cvr><Contests><Contest><Name/><Id/>
           <Options><Option><Name/><Id/><Value>1</Value><WriteInData/></Option></Options>
           <Undervotes/></Contest></Contests>
         <BatchSequence/><SheetNumber/><PrecinctSplit><Name/><Id/></PrecinctSplit>
         <BatchNumber/><CvrGuid/></Cvr>

A contest listed on the card is on its ballot style; only options that
received a vote are listed (an option with ``WriteInData`` is the choice
``Write-In``). An export is a ZIP or folder of these files, or a wrapper ZIP
holding one ZIP per tabulator, optionally with "scanned ballot information"
CSVs: a ``#FormatVersion 1`` line, then ``#BatchId, Workstation, ...,
UniqueIdentifier, ..., CvrId``.

Mapping (as Arlo): the batch is ``BatchNumber``, the position
``BatchSequence``; the tabulator is the per-tabulator ZIP's name when there are
several, else the scanned ballot information's ``Workstation``;
``imprinted_id`` is its ``UniqueIdentifier``, else the ``CvrGuid``; ``unit_id``
is the ``PrecinctSplit`` name. ``cvr_id`` is the ``CvrGuid``, followed by
``-<SheetNumber>`` for every card when some ``CvrGuid`` is shared by the sheets
of one ballot (SHANGRLA's test files). Contest choices are the ones seen on
any card, sorted (as Arlo does); Hart states no votes allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from tallyguard.errors import InputError
from tallyguard.io.csvfile import clean_cell
from tallyguard.io.vendors._common import IdRegistry, VendorCvrRecord, normalise_name, whole
from tallyguard.io.vendors._sources import Member, expand, iter_bytes
from tallyguard.io.vendors._table import Table, column_index, data_rows, open_table

NAMESPACE = "http://tempuri.org/CVRDesign.xsd"
WRITE_IN = "Write-In"
_NS = f"{{{NAMESPACE}}}"
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_FIX = "export the CVRs again from Verity; a Hart CVR is <Cvr> in the CVRDesign.xsd namespace."


@dataclass(frozen=True)
class _Card:
    guid: str
    sheet: str | None
    batch: str
    sequence: int
    precinct: str | None
    votes: dict[str, tuple[str, ...]]


def parse_xml(member: Member, data: bytes) -> tuple[Element, bool]:
    """Parse untrusted XML with ``defusedxml`` (no DTDs, entities or external references).

    Returns:
        The root element, and whether the bytes had to be read as Windows-1252
        because they are not the UTF-8 their declaration (or XML's default) says.
    """
    try:
        return fromstring(data, forbid_dtd=True), False
    except ParseError as error:
        latin = _as_cp1252(data)
        if latin is not None:
            try:
                return fromstring(latin, forbid_dtd=True), True
            except (ParseError, DefusedXmlException, ValueError, LookupError, RecursionError):
                pass
        line = error.position[0] if getattr(error, "position", None) else None
        raise InputError(
            f"is not well-formed XML ({error}).",
            file=member.name,
            line=line,
            fix="export the file again (it may be cut short).",
        ) from None
    except DefusedXmlException as error:
        raise InputError(
            f"contains a forbidden XML construct ({error}).",
            file=member.name,
            fix="CVR files have no DTD or entities; export the file again.",
        ) from None
    except (ValueError, LookupError, RecursionError) as error:
        raise InputError(f"cannot be parsed as XML ({error}).", file=member.name) from None


def _as_cp1252(data: bytes) -> bytes | None:
    """UTF-8 bytes of ``data`` read as Windows-1252, if ``data`` is not UTF-8 at all."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return None
        return _DECLARATION.sub("", text, count=1).encode("utf-8")
    return None


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


class _CardReader:
    def __init__(self, member: Member) -> None:
        self.member = member

    def fail(self, message: str, where: str, fix: str = _FIX) -> InputError:
        return InputError(message, file=self.member.name, field=where, fix=fix)

    def child(self, element: Element, tag: str) -> Element | None:
        found = element.find(_NS + tag)
        return found if found is not None else element.find(tag)

    def text(self, element: Element, tag: str, where: str, required: bool = True) -> str | None:
        found = self.child(element, tag)
        value = normalise_name(found.text or "") if found is not None else ""
        if not value and required:
            raise self.fail(f"<{tag}> is missing or empty.", f"{where}/{tag}")
        return value or None

    def card(self, root: Element) -> _Card:
        if _local(root.tag) != "Cvr":
            raise self.fail(f"the root element is <{_local(root.tag)}>, not <Cvr>.", "/")
        guid = self.text(root, "CvrGuid", "Cvr") or ""
        sequence_text = self.text(root, "BatchSequence", "Cvr") or ""
        sequence = whole(sequence_text)
        if sequence is None or sequence < 1:
            raise self.fail(
                f"BatchSequence {sequence_text!r} is not a whole number >= 1.", "Cvr/BatchSequence"
            )
        split = self.child(root, "PrecinctSplit")
        precinct = (
            self.text(split, "Name", "Cvr/PrecinctSplit", False) if split is not None else None
        )
        return _Card(
            guid=guid,
            sheet=self.text(root, "SheetNumber", "Cvr", required=False),
            batch=self.text(root, "BatchNumber", "Cvr") or "",
            sequence=sequence,
            precinct=precinct,
            votes=self.votes(root),
        )

    def votes(self, root: Element) -> dict[str, tuple[str, ...]]:
        votes: dict[str, tuple[str, ...]] = {}
        contests = self.child(root, "Contests")
        if contests is None:
            return votes
        for c, contest in enumerate(x for x in contests if _local(x.tag) == "Contest"):
            where = f"Cvr/Contests/Contest[{c + 1}]"
            name = self.text(contest, "Name", where) or ""
            if name in votes:
                raise self.fail(f"contest {name!r} appears twice on the card.", where)
            marked: list[str] = []
            options = self.child(contest, "Options")
            listed = list(options) if options is not None else []
            for o, option in enumerate(x for x in listed if _local(x.tag) == "Option"):
                place = f"{where}/Options/Option[{o + 1}]"
                if self.child(option, "WriteInData") is not None:
                    choice = WRITE_IN
                else:
                    choice = self.text(option, "Name", place) or ""
                value = self.text(option, "Value", place, required=False) or "1"
                number = whole(value)
                if number is None:
                    raise self.fail(f"Value {value!r} is not a whole number.", f"{place}/Value")
                if number >= 1 and choice not in marked:
                    marked.append(choice)
            votes[name] = tuple(marked)
        return votes


@dataclass(frozen=True)
class _Scanned:
    workstation: str
    unique_id: str
    place: str


def _read_scanned(table: Table) -> dict[str, _Scanned]:
    with closing(table.records()) as records:
        first = next(records, None)
        if first is None or "#formatversion" not in " ".join(first[1]).casefold():
            raise table.error(
                "the first line is not '#FormatVersion 1'.",
                1,
                None,
                "use the scanned ballot information CSV exported by Verity.",
            )
        header_row = next(records, None)
        if header_row is None:
            raise table.error("the header row is missing.", 2, None, "export the file again.")
        line, raw = header_row
        header = [clean_cell(cell).lstrip("#") for cell in raw]
        width = len(header)
        while width and not header[width - 1]:
            width -= 1
        cvr, station, unique = (
            column_index(header, name, table, line)
            for name in ("CvrId", "Workstation", "UniqueIdentifier")
        )
        assert cvr is not None
        assert station is not None
        assert unique is not None
        found: dict[str, _Scanned] = {}
        for row_line, cells in data_rows(table, records, width):
            key = clean_cell(cells[cvr])
            entry = _Scanned(
                clean_cell(cells[station]),
                clean_cell(cells[unique]),
                f"{table.member.basename}, line {row_line}",
            )
            before = found.setdefault(key, entry)
            if (before.workstation, before.unique_id) != (entry.workstation, entry.unique_id):
                raise table.error(
                    f"CVR {key} has conflicting scanned ballot information ({before.place} "
                    f"says {before.workstation}/{before.unique_id}).",
                    row_line,
                    "CvrId",
                    "each CvrId must have one Workstation and UniqueIdentifier.",
                )
    return found


@dataclass(frozen=True)
class HartCvrs:
    """A Hart Verity export: per-card XML files, contests and records."""

    files: tuple[Member, ...]
    contests: dict[str, tuple[str, ...]]
    votes_allowed: dict[str, int]
    notes: list[str]
    _scanned: dict[str, _Scanned] = field(repr=False)
    _per_sheet: bool = field(repr=False)
    _zip_tabulators: bool = field(repr=False)

    def cards(self) -> Iterator[tuple[Member, _Card, bool]]:
        """Every card, parsed and checked, in file order (and if read as Windows-1252)."""
        for member, data in iter_bytes(self.files):
            root, latin = parse_xml(member, data)
            yield member, _CardReader(member).card(root), latin

    def records(self) -> Iterator[VendorCvrRecord]:
        """Yield one :class:`VendorCvrRecord` per XML file.

        Raises:
            InputError: naming the file and the element (e.g.
                ``Cvr/Contests/Contest[2]/Name``) for malformed XML, a missing
                element, a bad ``BatchSequence`` or ``Value``, or a repeated id.
        """
        ids = IdRegistry("CVR id", "each card must appear once in the export.")
        unmatched = 0
        guids: set[str] = set()
        for member, card, _latin in self.cards():
            guids.add(card.guid)
            cvr_id = f"{card.guid}-{card.sheet}" if self._per_sheet and card.sheet else card.guid
            ids.add(cvr_id, member.name, file=member.name, line=None, field="Cvr/CvrGuid")
            scanned = self._scanned.get(card.guid)
            unmatched += bool(self._scanned) and scanned is None
            tabulator = (
                member.container.rsplit(".", 1)[0]
                if self._zip_tabulators and member.container
                else (scanned.workstation if scanned else None)
            )
            yield VendorCvrRecord(
                cvr_id=cvr_id,
                votes=card.votes,
                batch_name=card.batch,
                position=card.sequence,
                imprinted_id=(scanned.unique_id if scanned else None) or card.guid,
                unit_id=card.precinct,
                tabulator=tabulator,
            )
        extra = len(self._scanned.keys() - guids)
        if extra:
            self.notes.append(f"the scanned ballot information lists {extra} CVR(s) not in the XML")
        if unmatched:
            self.notes.append(
                f"{unmatched} card(s) are not in the scanned ballot information; "
                "their CvrGuid is used as imprinted id and their tabulator is unknown"
            )


def read_hart(
    source: str | Path | Sequence[str | Path], *, scanned: Sequence[str | Path] = ()
) -> HartCvrs:
    """Open a Hart Verity CVR export (XML files in a ZIP, a wrapper ZIP or a folder).

    Args:
        source: the export: one XML file, several, a folder, a ZIP of XML files,
            or a ZIP of per-tabulator ZIPs (and scanned ballot information CSVs).
        scanned: scanned ballot information CSVs kept outside ``source``.

    Returns:
        A :class:`HartCvrs` whose ``contests`` lists every contest and choice
        seen on any card (a first pass over all files).

    Raises:
        InputError: no XML file, malformed XML (file and line named), a CVR
            missing a required element (its path named), or a bad scanned
            ballot information CSV.
    """
    members = expand(source) + (expand(list(scanned)) if scanned else [])
    xml = [m for m in members if m.suffix() == ".xml"]
    csvs = [m for m in members if m.suffix() in (".csv", ".txt")]
    if not xml:
        raise InputError(
            "no Hart CVR (.xml) files found.",
            file=str(source),
            fix="point at the Verity CVR export (ZIP or folder of XML files).",
        )
    notes: list[str] = []
    ignored = len(members) - len(xml) - len(csvs)
    if ignored:
        notes.append(f"ignored {ignored} file(s) that are neither XML CVRs nor CSVs")
    found: dict[str, _Scanned] = {}
    for member in csvs:
        table = open_table(member)
        notes.extend(table.notes)
        for key, entry in _read_scanned(table).items():
            before = found.setdefault(key, entry)
            if before.workstation != entry.workstation or before.unique_id != entry.unique_id:
                raise InputError(
                    f"CVR {key} has conflicting scanned ballot information "
                    f"({before.place} and {entry.place}).",
                    file=member.name,
                    field="CvrId",
                    fix="use the CSVs of one export.",
                )
    zip_tabulators = len({(m.path, m.inner[:-1]) for m in xml if m.inner}) > 1
    export = HartCvrs(tuple(xml), {}, {}, notes, found, False, zip_tabulators)
    contests: dict[str, set[str]] = {}
    sheets: dict[str, int] = {}
    latin = 0
    for _member, card, cp1252 in export.cards():
        latin += cp1252
        sheets[card.guid] = sheets.get(card.guid, 0) + 1
        for contest, choices in card.votes.items():
            contests.setdefault(contest, set()).update(choices)
    if latin:
        notes.append(f"{latin} XML file(s) are not UTF-8; read as Windows-1252 (cp1252)")
    per_sheet = any(count > 1 for count in sheets.values())
    if per_sheet:
        notes.append(
            "some CvrGuid values are shared by several sheets; "
            "CVR ids are '<CvrGuid>-<SheetNumber>'"
        )
    return HartCvrs(
        tuple(xml),
        {c: tuple(sorted(ch)) for c, ch in contests.items()},
        {},
        notes,
        found,
        per_sheet,
        zip_tabulators,
    )
