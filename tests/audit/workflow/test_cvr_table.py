"""CVRs as columns render and read back exactly as the per-card code does.

:func:`~tallyguard.audit.workflow.files.cvrs_text` on a plain ``dict`` of CVRs is
the reference: the frame renderer must give the same bytes (the seed's digests
depend on them), and an export's canonical ``cvrs.csv`` read as columns
(:class:`~tallyguard.audit.workflow.cvr_table.FileCvrs`) must behave as the
``dict`` the row-by-row reader builds.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tallyguard.audit.workflow.cvr_table import (
    KEY_COLUMNS,
    CvrTable,
    FileCvrs,
    read_canonical_cvrs,
    vote_column,
)
from tallyguard.audit.workflow.engine import evaluate
from tallyguard.audit.workflow.files import (
    CVRS_FILE,
    _read_cvrs,
    cvrs_text,
    frozen_digests,
    read_inputs,
    write_inputs,
)
from tallyguard.audit.workflow.inputs import AuditContest, AuditInputs, CardKey, Reading
from tallyguard.errors import InputError
from tallyguard.io.contests import ReportedContest
from tallyguard.model import Contest, ContestKind, ManifestBatch

GOVERNOR = ReportedContest(
    Contest("c1", "Governor", ContestKind.PLURALITY, ("Alice", "Bob, Jr.")),
    ballots=7,
    totals={"Alice": 5, "Bob, Jr.": 2},
    winners=("Alice",),
)
COUNCIL = ReportedContest(
    Contest("c2", 'Council "At Large"', ContestKind.PLURALITY, ("Érin", "Farid", "Grace"), 2, 2),
    ballots=4,
    totals={"Érin": 3, "Farid": 2, "Grace": 1},
    winners=("Érin", "Farid"),
)
# Names that csv.writer quotes (comma, quote, line break) and text outside ASCII.
AWKWARD = ("Colusa, the county", 'Mail "A"', "Łódź", "line\nbreak")


def _inputs(jurisdictions: tuple[str, ...] = AWKWARD, **changes: Any) -> AuditInputs:
    batches = []
    cvrs: dict[CardKey, dict[str, tuple[str, ...]]] = {}
    imprinted: dict[CardKey, str] = {}
    for j, name in enumerate(jurisdictions):
        for tabulator in ("", "T,2"):
            batches.append(ManifestBatch(name, f"B {j}", 3, tabulator=tabulator or None))
            for p in (1, 3):  # position 2 has no CVR (a phantom)
                key = CardKey(name, tabulator, f"B {j}", p)
                cvrs[key] = (
                    {"Governor": ("Alice",), 'Council "At Large"': ("Érin", "Grace")}
                    if p == 1
                    else {"Governor": ("Alice", "Bob, Jr.")}
                )
                if p == 1:
                    imprinted[key] = f"{j}-{tabulator}-{p}"
    inputs = AuditInputs(
        name="Columns",
        election="Test election",
        kind="comparison",
        risk_limit=0.05,
        method="alpha",
        seed="12345678901234567890",
        batches=tuple(sorted(batches, key=lambda b: b.jurisdiction)),
        contests=(AuditContest(GOVERNOR, True), AuditContest(COUNCIL, False)),
        cvrs=cvrs,
        imprinted_ids=imprinted,
        rounds=(4,),
    )
    if cvrs:
        inputs = dataclasses.replace(inputs, readings=_readings(inputs))
    return dataclasses.replace(inputs, **changes)


def _columns(inputs: AuditInputs) -> list[tuple[str, str]]:
    return [
        (c.reported.contest.name, choice)
        for c in inputs.contests
        for choice in c.reported.contest.choices
    ]


class DictTable(CvrTable):
    """A :class:`CvrTable` over plain dicts, to test the frame renderer on its own."""

    def __init__(self, inputs: AuditInputs) -> None:
        super().__init__()
        self._cvrs, self._imprinted = inputs.cvrs, inputs.imprinted_ids

    @property
    def imprinted_ids(self) -> Mapping[CardKey, str]:
        return self._imprinted

    def __getitem__(self, key: CardKey) -> dict[str, tuple[str, ...]]:
        return dict(self._cvrs[key])

    def __iter__(self) -> Any:
        return iter(self._cvrs)

    def __len__(self) -> int:
        return len(self._cvrs)

    def cvr_frame(self, columns: Any) -> pl.DataFrame:
        keys = sorted(self._cvrs)
        data: dict[str, list[Any]] = {
            "jurisdiction": [k.jurisdiction for k in keys],
            "tabulator": [k.tabulator for k in keys],
            "batch_name": [k.batch_name for k in keys],
            "position": [k.position for k in keys],
            "imprinted_id": [self._imprinted.get(k, "") for k in keys],
        }
        for n, (contest, choice) in enumerate(columns):
            data[vote_column(n)] = [
                None if (m := self._cvrs[k].get(contest)) is None else int(choice in m)
                for k in keys
            ]
        schema = dict.fromkeys(KEY_COLUMNS, pl.String) | {"position": pl.Int64}
        votes = {vote_column(n): pl.UInt8 for n in range(len(columns))}
        return pl.DataFrame(data, schema_overrides=schema | votes)


@pytest.mark.parametrize(
    "jurisdictions",
    [AWKWARD, (" spaced ", "Plain"), ("carriage\rreturn", "Plain"), ()],
    ids=["awkward", "spaced", "carriage-return", "empty"],
)
def test_the_frame_renders_the_bytes_csv_writer_writes(jurisdictions: tuple[str, ...]) -> None:
    inputs = _inputs(jurisdictions)
    table = DictTable(inputs)
    reference = cvrs_text(inputs)
    assert cvrs_text(dataclasses.replace(inputs, cvrs=table, imprinted_ids=table.imprinted_ids))
    assert table.canonical_text(_columns(inputs)) == reference


def test_a_table_with_other_imprinted_ids_is_rendered_card_by_card() -> None:
    inputs = _inputs()
    table = DictTable(inputs)
    other = dataclasses.replace(inputs, cvrs=table, imprinted_ids={})
    assert cvrs_text(other) == cvrs_text(dataclasses.replace(inputs, imprinted_ids={}))


def _readings(inputs: AuditInputs) -> dict[CardKey, dict[str, Reading]]:
    first = min(inputs.cvrs)
    return {
        first: {"Governor": Reading("vote", ("Alice",)), 'Council "At Large"': Reading("blank")}
    }


@pytest.mark.parametrize("jurisdictions", [AWKWARD, ("Plain", "Zürich", "a:b")])
def test_an_export_reads_back_as_columns_equal_to_the_dict(
    tmp_path: Path, jurisdictions: tuple[str, ...]
) -> None:
    inputs = _inputs(jurisdictions)
    write_inputs(inputs, tmp_path)
    back = read_inputs(tmp_path)
    assert isinstance(back.cvrs, FileCvrs)
    assert back.cvrs == inputs.cvrs
    assert dict(back.cvrs) == dict(inputs.cvrs)
    assert list(back.cvrs) == sorted(inputs.cvrs)
    assert back.imprinted_ids == inputs.imprinted_ids
    assert len(back.imprinted_ids) == len(inputs.imprinted_ids)
    missing = CardKey(jurisdictions[0], "", "B 0", 2)
    assert missing not in back.cvrs
    assert back.cvrs.get(missing) is None
    assert back.imprinted_ids.get(missing, "none") == "none"
    assert back.cvrs.get(CardKey("Nowhere", "", "B 0", 1)) is None
    assert frozen_digests(back) == frozen_digests(inputs)
    assert evaluate(back) == evaluate(inputs)


def test_a_table_renders_other_columns_as_the_dict_would(tmp_path: Path) -> None:
    inputs = _inputs()
    write_inputs(inputs, tmp_path)
    table = read_inputs(tmp_path).cvrs
    assert isinstance(table, FileCvrs)
    extra = ReportedContest(
        Contest("c3", "Measure", ContestKind.PLURALITY, ("Yes", "No")), 1, {"Yes": 1}, ("Yes",)
    )
    bigger = Contest("c1", "Governor", ContestKind.PLURALITY, ("Alice", "Bob, Jr.", "Zed"))
    contests = (
        AuditContest(dataclasses.replace(GOVERNOR, contest=bigger), True),
        AuditContest(extra, False),
    )
    changed = dataclasses.replace(inputs, contests=contests)
    assert table.canonical_text(_columns(changed)) == cvrs_text(changed)


def _rewrite(path: Path, change: Any) -> None:
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("\n", "\r\n"),  # CRLF line ends
        lambda t: t.replace(",1,", ",01,", 1),  # a cell as "01"
        lambda t: t + t.splitlines(keepends=True)[-1],  # the last card twice
        lambda t: "".join([*t.splitlines(True)[:1], *reversed(t.splitlines(True)[1:])]),
        lambda t: t.replace("jurisdiction,", "Jurisdiction,", 1),  # another header
        lambda t: t.replace(",1\n", ",2\n", 1),  # a count, read as a mark
        lambda t: t.rstrip("\n"),  # no final line end
    ],
    ids=["crlf", "zero-padded", "twice", "reversed", "header", "two", "no-final-newline"],
)
def test_any_other_file_is_read_row_by_row_as_before(tmp_path: Path, change: Any) -> None:
    inputs = _inputs(("Plain", "Zürich"))
    write_inputs(inputs, tmp_path)
    path = tmp_path / CVRS_FILE
    _rewrite(path, change)
    columns = _columns(inputs)
    assert read_canonical_cvrs(path.read_bytes(), columns) is None
    choices = {c.reported.contest.name: c.reported.contest.choices for c in inputs.contests}
    try:
        cvrs, imprinted = _read_cvrs(path, choices)
    except InputError as error:
        expected = str(error)
    else:
        expected = ""
    if expected:
        with pytest.raises(InputError) as raised:
            read_inputs(tmp_path)
        assert str(raised.value) == expected
        return
    back = read_inputs(tmp_path)
    assert not isinstance(back.cvrs, FileCvrs)
    assert back.cvrs == cvrs
    assert back.imprinted_ids == imprinted


def test_the_canonical_file_is_read_as_columns(tmp_path: Path) -> None:
    inputs = _inputs(("Plain",))
    write_inputs(inputs, tmp_path)
    data = (tmp_path / CVRS_FILE).read_bytes()
    table = read_canonical_cvrs(data, _columns(inputs))
    assert table is not None
    assert table.canonical_text(_columns(inputs)).encode() == data
    expected = hashlib.sha256(cvrs_text(inputs).encode()).hexdigest()
    assert hashlib.sha256(data).hexdigest() == expected
    assert read_canonical_cvrs(b"\xff" + data, _columns(inputs)) is None
    assert read_canonical_cvrs(data, _columns(inputs)[:-1]) is None


@pytest.mark.parametrize(
    "jurisdictions",
    [(" spaced ",), ('="guarded"',), ("tab\t",), ("carriage\rreturn",)],
    ids=["spaced", "excel-guard", "tab", "carriage-return"],
)
def test_texts_the_reader_would_clean_are_read_row_by_row(
    tmp_path: Path, jurisdictions: tuple[str, ...]
) -> None:
    inputs = _inputs(jurisdictions)
    (tmp_path / CVRS_FILE).write_text(cvrs_text(inputs), encoding="utf-8", newline="")
    data = (tmp_path / CVRS_FILE).read_bytes()
    assert read_canonical_cvrs(data, _columns(inputs)) is None


def test_no_card_or_a_contest_with_a_colon_is_read_row_by_row() -> None:
    inputs = _inputs(("Plain",))
    empty = cvrs_text(dataclasses.replace(inputs, cvrs={}, imprinted_ids={}))
    assert read_canonical_cvrs(empty.encode(), _columns(inputs)) is None
    colon = [("A:B", "x"), ("A:B", "y"), *_columns(inputs)]
    cells = {CardKey("Plain", "", "B 0", 1): {"A:B": ("x",)}}
    choices = ("x", "y")
    contest = ReportedContest(Contest("c9", "A:B", ContestKind.PLURALITY, choices), 1, {}, ())
    contests = (AuditContest(contest, True), *inputs.contests)
    odd = dataclasses.replace(inputs, cvrs=cells, imprinted_ids={}, contests=contests)
    assert read_canonical_cvrs(cvrs_text(odd).encode(), colon) is None
