"""Printable downloads: a jurisdiction's ballot labels and the audit report, as PDF.

Audit X of the ``world`` fixture gets the same manifest in jurisdictions A and B
(tabulators T1 and T2, 750 cards each), the contests Mayor (vote for 1) and
Council (vote for 2), the public seed and a first round of 70 draws: 39 of them
fall in A, which makes two sheets of labels (30 + 9), and 31 in B.

The PDFs are read back with the small reader below (Flate streams, object
streams, ToUnicode maps and the few content-stream operators WeasyPrint writes),
so the tests need no PDF library: every label's box, text and position on the
page come from the file itself.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tallyguard.audit.workflow import service
from tallyguard.audit.workflow.inputs import CardKey
from tallyguard.audit.workflow.result import Draw
from tallyguard.audit.workflow.sample import SampledDraw
from tallyguard.errors import TallyguardError
from tallyguard.report.audit_html import format_risk
from tallyguard.report.pdf import audit_report_pdf
from tallyguard.web import routes_print
from tallyguard.web.routes_board import BoardList
from tallyguard.web.security import ROUTES
from tests.web.conftest import SEED, World, mayor_and_council, start_sampling

LABELS = "/audits/X/jurisdictions/A/labels.pdf"
REPORT = "/admin/audits/X/report.pdf"
#: The first cards of A in retrieval order: (tabulator, batch, position, ticket).
FIRST_CARDS = [
    ("T1", "B1", 7, "0.018141643413292510"),
    ("T1", "B1", 29, "0.044875207569396415"),
    ("T1", "B1", 45, "0.036362757942210292"),
    ("T1", "B1", 78, "0.043014729342185208"),
]
CARDS_IN_A = 39
CONTESTS = mayor_and_council(1500, {"Ann": 1000, "Bob": 500}, {"Cy": 1200, "Di": 1000, "Ed": 400})

# --- Avery 5160 geometry, in points (72 to the inch) --------------------------------------
PAGE = (612.0, 792.0)  # US Letter
LABEL_W, LABEL_H = 189.0, 72.0  # 2 5/8 in x 1 in
TOP, SIDE, PITCH = 36.0, 13.5, 198.0  # 0.5 in, 0.1875 in, 2.75 in


def label_box(index: int) -> tuple[float, float, float, float]:
    """(left, top, width, height) of the ``index``-th label of a sheet, row by row."""
    row, column = divmod(index, 3)
    return (SIDE + column * PITCH, TOP + row * LABEL_H, LABEL_W, LABEL_H)


# --- a small PDF reader -----------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.DOTALL)
_STREAM = re.compile(rb"^(.*?)stream\r?\n(.*)\r?\nendstream$", re.DOTALL)
_TOKEN = re.compile(
    rb"\[|\]|<[0-9A-Fa-f\s]*>|/[^\s/\[\]<>()]+|\((?:\\.|[^\\)])*\)|[-+]?(?:\d+\.?\d*|\.\d+)"
    rb"|[A-Za-z'\"*]+"
)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """The product m x n (PDF's row-vector convention: apply m, then n)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u)  # fmt: skip


def _matrix(numbers: list[float]) -> Matrix:
    """The matrix of an operator's last six operands (``cm``, ``Tm``)."""
    a, b, c, d, e, f = numbers[-6:]
    return (a, b, c, d, e, f)


def _point(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _objects(pdf: bytes) -> dict[int, tuple[str, bytes | None]]:
    """Every object: its dictionary text and its (inflated) stream, object streams opened."""
    found: dict[int, tuple[str, bytes | None]] = {}
    for number, body in _OBJECT.findall(pdf):
        streamed = _STREAM.match(body)
        if streamed is None:
            found[int(number)] = (body.decode("latin-1"), None)
            continue
        head, data = streamed.group(1).decode("latin-1"), streamed.group(2)
        if "/FlateDecode" in head:
            data = zlib.decompress(data)
        found[int(number)] = (head, data)
        if "/Type /ObjStm" in head:
            first = int(_group(r"/First (\d+)", head))
            pairs = [int(n) for n in data[:first].split()]
            numbers, offsets = pairs[0::2], [*pairs[1::2], len(data) - first]
            for i, inner in enumerate(numbers):
                text = data[first + offsets[i] : first + offsets[i + 1]].decode("latin-1")
                found[inner] = (text, None)
    return found


def _group(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text`` (which must match)."""
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return found.group(1)


def _ref(text: str, key: str) -> int:
    return int(_group(rf"/{key}\s*(\d+) 0 R", text))


def _dictionary(objects: dict[int, tuple[str, bytes | None]], text: str, key: str) -> str:
    """The dictionary under ``key`` in ``text``: the object it refers to, or ``text`` itself
    when the dictionary is written inline (a reader this small does not cut it out)."""
    found = re.search(rf"/{key}\s*(\d+) 0 R", text)
    return text if found is None else objects[int(found.group(1))][0]


def _unicode_map(cmap: bytes) -> dict[str, str]:
    """Glyph code (hex) -> text, from a ToUnicode CMap's bfchar and bfrange sections."""
    text = cmap.decode("latin-1")
    mapping: dict[str, str] = {}
    for section in re.findall(r"beginbfchar(.*?)endbfchar", text, re.DOTALL):
        for code, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            mapping[code.lower()] = bytes.fromhex(target).decode("utf-16-be")
    for section in re.findall(r"beginbfrange(.*?)endbfrange", text, re.DOTALL):
        for low, high, start in re.findall(r"<(\w+)>\s*<(\w+)>\s*<(\w+)>", section):
            for k in range(int(low, 16), int(high, 16) + 1):
                target = chr(int(start, 16) + k - int(low, 16))
                mapping[f"{k:0{len(low)}x}"] = target
    return mapping


@dataclass
class Page:
    """One page: its size, its text runs (left, baseline from the top, text) and clip boxes."""

    size: tuple[float, float]
    runs: list[tuple[float, float, str]] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(text for _, _, text in self.runs)

    def labels(self) -> list[tuple[tuple[float, float, float, float], str]]:
        """Each label-sized box, row by row, with the text whose origin lies inside it."""
        boxes = sorted(
            {b for b in self.boxes if (b[2], b[3]) == (LABEL_W, LABEL_H)},
            key=lambda b: (b[1], b[0]),
        )
        runs = sorted(self.runs, key=lambda run: (run[1], run[0]))  # top to bottom
        return [(b, "\n".join(t for x, y, t in runs if _inside(b, x, y))) for b in boxes]


def _inside(box: tuple[float, float, float, float], x: float, y: float) -> bool:
    left, top, width, height = box
    return left <= x <= left + width and top <= y <= top + height


def _read_page(objects: dict[int, tuple[str, bytes | None]], number: int) -> Page:
    head = objects[number][0]
    box = [float(v) for v in _group(r"/MediaBox \[([^\]]*)\]", head).split()]
    page = Page((box[2] - box[0], box[3] - box[1]))
    resources = _dictionary(objects, head, "Resources")
    fonts_text = _dictionary(objects, resources, "Font")
    fonts = {
        name: _unicode_map(objects[_ref(objects[int(ref)][0], "ToUnicode")][1] or b"")
        for name, ref in re.findall(r"/(\w+) (\d+) 0 R", fonts_text)
    }
    content = objects[_ref(head, "Contents")][1] or b""
    stack: list[Matrix] = []
    ctm, tm, font, operands = IDENTITY, IDENTITY, "", []
    height = page.size[1]
    for token in _TOKEN.findall(content):
        word = token.decode("latin-1")
        if not re.fullmatch(r"[A-Za-z'\"*]+", word):
            operands.append(word)
            continue
        numbers = [float(v) for v in operands if re.fullmatch(r"[-+.\d]+", v)]
        if word == "q":
            stack.append(ctm)
        elif word == "Q":
            ctm = stack.pop()
        elif word == "cm":
            ctm = _times(_matrix(numbers), ctm)
        elif word == "BT":
            tm = IDENTITY
        elif word == "Tm":
            tm = _matrix(numbers)
        elif word == "Td":
            tm = _times((1.0, 0.0, 0.0, 1.0, numbers[-2], numbers[-1]), tm)
        elif word == "Tf":
            font = operands[-2].lstrip("/")
        elif word in ("TJ", "Tj"):
            codes = "".join(v[1:-1] for v in operands if v.startswith("<"))
            codes = re.sub(r"\s", "", codes).lower()
            text = "".join(fonts[font].get(codes[i : i + 4], "?") for i in range(0, len(codes), 4))
            x, y = _point(_times(tm, ctm), 0.0, 0.0)
            page.runs.append((round(x, 2), round(height - y, 2), text))
        elif word == "re":
            x, y, w, h = numbers[-4:]
            (x0, y0), (x1, y1) = _point(ctm, x, y), _point(ctm, x + w, y + h)
            top = height - max(y0, y1)
            page.boxes.append(
                (round(min(x0, x1), 2), round(top, 2), round(abs(x1 - x0), 2),
                 round(abs(y1 - y0), 2))
            )  # fmt: skip
        operands = []
    return page


def read_pdf(pdf: bytes) -> list[Page]:
    """The pages of ``pdf`` in order."""
    assert pdf.startswith(b"%PDF-")
    objects = _objects(pdf)
    tree = next(text for text, _ in objects.values() if "/Type /Pages" in text)
    kids = [int(n) for n in re.findall(r"(\d+) 0 R", _group(r"/Kids \[([^\]]*)\]", tree))]
    return [_read_page(objects, number) for number in kids]


# --- the world ----------------------------------------------------------------------------


@pytest.fixture
def sampling(world: World, tmp_path: Path) -> World:
    """The world with audit X sampling its first round of 70 draws."""
    manifest = (
        "Container,Tabulator,Batch Name,Number of Ballots\n"
        "Box 1,T1,B1,300\nBox 1,T1,B2,200\nBox 2,T2,B1,250\n"
    )
    start_sampling(world, tmp_path, manifest, CONTESTS, 70)
    return world


def _drawn(world: World, place: str) -> list[Draw]:
    """Round 1's draws in ``place``, in retrieval order (tabulator, batch, position)."""
    with world.store.transaction() as session:
        sample = service.status(session, service.find_audit(session, "X")).sample
    mine = [d for d in sample if d.round == 1 and d.jurisdiction == place]
    return sorted(mine, key=lambda d: (d.tabulator, d.batch_name, d.position))


def _record_all(world: World, tmp_path: Path) -> None:
    """Every draw of round 1 read: every third draw (by draw number) for Bob, and Cy and Ed
    for Council, the others for Ann, and Cy and Di."""
    with world.store.transaction() as session:
        sample = service.status(session, service.find_audit(session, "X")).sample
    lines = ["Jurisdiction,Tabulator,Batch Name,Ballot Position,Contest,Interpretation,Comment"]
    for d in sample:
        mayor, council = ("Bob", "Cy;Ed") if d.draw % 3 == 0 else ("Ann", "Cy;Di")
        card = f"{d.jurisdiction},{d.tabulator},{d.batch_name},{d.position}"
        lines += [f"{card},Mayor,{mayor},", f"{card},Council,{council},"]
    readings = tmp_path / "readings.csv"
    readings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with world.store.transaction() as session:
        service.record_readings(session, service.find_audit(session, "X"), readings, "setup")


# --- the tests ----------------------------------------------------------------------------


def test_the_print_routes_and_their_roles() -> None:
    declared = {key: set(roles) for key, roles in ROUTES.items() if key[1].endswith(".pdf")}
    assert declared == {
        ("GET", "/audits/{audit}/jurisdictions/{jurisdiction}/labels.pdf"): {"admin", "manager"},
        ("GET", "/admin/audits/{audit}/report.pdf"): {"admin"},
    }


def test_a_manager_prints_the_labels_of_the_open_round(sampling: World) -> None:
    manager = sampling.session_for("manager:A")
    page = manager.get("/audits/X/jurisdictions/A").text
    link = f'<a href="{LABELS}">Ballot labels of the open round (PDF, 30 per US Letter sheet)</a>'
    assert link in page
    assert page.index("/retrieval.csv") < page.index(LABELS)  # next to the retrieval list
    response = manager.get(LABELS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="labels-round-1-A.pdf"' in response.headers["content-disposition"]
    pages = read_pdf(response.content)
    assert len(pages) == 2  # ceil(39 / 30)
    assert [page.size for page in pages] == [PAGE, PAGE]
    labels = [label for page in pages for label in page.labels()]
    assert [len(page.labels()) for page in pages] == [30, 9]
    drawn = _drawn(sampling, "A")
    assert len(drawn) == CARDS_IN_A
    assert [(d.tabulator, d.batch_name, d.position, d.ticket) for d in drawn[:4]] == FIRST_CARDS
    for k, ((box, text), d) in enumerate(zip(labels, drawn, strict=True)):
        assert box == label_box(k % 30), k
        assert text.splitlines() == [
            f"Audit X · Round 1 · {k + 1} of {CARDS_IN_A}",
            "Jurisdiction A",
            f"Tabulator {d.tabulator} · Batch {d.batch_name}",
            f"Position {d.position}",
            f"Container {d.container}",
            f"Ticket {d.ticket}",
        ]
    # the text sits inside its label, 0.1 in from the left edge and above the bottom edge
    first = sorted(r for r in pages[0].runs if _inside(label_box(0), r[0], r[1]))
    fourth = sorted(r for r in pages[0].runs if _inside(label_box(3), r[0], r[1]))
    assert {x for x, _, _ in first} == {x for x, _, _ in fourth} == {SIDE + 7.2}
    assert min(y for _, y, _ in first) > TOP
    assert max(y for _, y, _ in first) < TOP + LABEL_H - 5
    assert [round(y - LABEL_H, 2) for _, y, _ in fourth] == [y for _, y, _ in first]


def test_the_admin_prints_any_jurisdictions_labels(sampling: World) -> None:
    response = sampling.session_for("admin").get("/audits/X/jurisdictions/B/labels.pdf")
    assert response.status_code == 200
    pages = read_pdf(response.content)
    assert [len(page.labels()) for page in pages] == [30, 1]  # 31 cards in B
    tickets = [re.findall(r"Ticket (\S+)", text)[0] for page in pages for _, text in page.labels()]
    assert tickets == [d.ticket for d in _drawn(sampling, "B")]
    assert tickets[:2] == ["0.044565835425094216", "0.015898567036080579"]


def test_labels_are_refused_outside_the_managers_scope(sampling: World) -> None:
    for who in ("manager:B", "manager:C", "board:X"):
        response = sampling.session_for(who).get(LABELS)
        assert response.status_code == 403, who
        assert response.headers["content-type"].startswith("text/html")
    anonymous = sampling.new_client().get(LABELS)
    assert anonymous.status_code == 303
    assert (
        anonymous.headers["location"]
        == "/login?next=%2Faudits%2FX%2Fjurisdictions%2FA%2Flabels.pdf"
    )


def test_labels_without_an_open_round_are_404(world: World) -> None:
    manager = world.session_for("manager:C")
    assert "labels.pdf" not in manager.get("/audits/Y/jurisdictions/C").text  # no link either
    response = manager.get("/audits/Y/jurisdictions/C/labels.pdf")
    assert response.status_code == 404
    assert "No round of this audit is open, so there is nothing to label." in response.text
    unknown = world.session_for("admin").get("/audits/X/jurisdictions/Z/labels.pdf")
    assert unknown.status_code == 404
    assert "Audit &#39;X&#39; has no jurisdiction &#39;Z&#39;." in unknown.text


def test_a_label_shows_the_imprinted_id_and_fits_long_names() -> None:
    tabulator, batch = "ICP-2 Central Count Tabulator 14", "Mail batch 2026-11-04-0031"
    cards = (
        SampledDraw(3, "0.012345678901234567", CardKey("North", "T7", "B12", 41), None,
                    "7-12-0041"),
        SampledDraw(1, "0.002345678901234567", CardKey("North", "T7", "B12", 9), "Cage 4",
                    None),
        SampledDraw(2, "0.112345678901234567", CardKey("North", tabulator, batch, 7),
                    "Cage 4 / Shelf 12", "7-12-0041-33"),
    )  # fmt: skip
    html = routes_print.labels_html("County 2026", "North", BoardList(2, cards))
    [page] = read_pdf(audit_report_pdf(html))
    assert page.size == PAGE
    labels = page.labels()
    assert [box for box, _ in labels] == [label_box(0), label_box(1), label_box(2)]
    assert [text.splitlines() for _, text in labels[:2]] == [
        [
            "Audit County 2026 · Round 2 · 1 of 3",
            "Jurisdiction North",
            "Tabulator T7 · Batch B12",
            "Position 41",
            "Imprinted ID 7-12-0041",
            "Ticket 0.012345678901234567",
        ],
        [
            "Audit County 2026 · Round 2 · 2 of 3",
            "Jurisdiction North",
            "Tabulator T7 · Batch B12",
            "Position 9",
            "Container Cage 4",
            "Ticket 0.002345678901234567",
        ],
    ]
    # long names wrap in the smaller type, and every line stays on its label
    crowded = labels[2][1]
    assert " ".join(crowded.split()) == (
        f"Audit County 2026 · Round 2 · 3 of 3 Jurisdiction North Tabulator {tabulator} · "
        f"Batch {batch} Position 7 Container Cage 4 / Shelf 12 Imprinted ID 7-12-0041-33 "
        "Ticket 0.112345678901234567"
    )
    left, top, width, height = label_box(2)
    for x, y, _ in page.runs:
        if left <= x <= left + width:
            assert top < y < top + height - 3.6  # 0.05 in above the label's bottom edge


def test_the_admin_downloads_the_report_as_pdf(sampling: World, tmp_path: Path) -> None:
    _record_all(sampling, tmp_path)
    with sampling.store.transaction() as session:
        result = service.status(session, service.find_audit(session, "X"))
    risks = {c.contest: format_risk(c.risk, result.risk_limit) for c in result.contests}
    assert risks == {"Mayor": "0.01123", "Council": "0.01208"}
    admin = sampling.session_for("admin")
    page = admin.get("/admin/audits/X/rounds").text
    assert f'<li><a href="{REPORT}">Audit report (PDF)</a></li>' in page
    html = admin.get("/admin/audits/X/report.html").text
    response = admin.get(REPORT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="X-audit-report.pdf"' in response.headers["content-disposition"]
    pages = read_pdf(response.content)
    text = "\n".join(page.text for page in pages)
    for contest, risk in risks.items():
        assert contest in text
        assert f"risk {risk} " in html
        assert f"risk {risk} " in text
    assert sampling.session_for("manager:A").get(REPORT).status_code == 403
    # once the round is finished there is nothing left to label
    with sampling.store.transaction() as session:
        service.finish_round(session, service.find_audit(session, "X"), "setup")
    assert sampling.session_for("manager:A").get(LABELS).status_code == 404


def test_a_jurisdiction_without_a_ballot_in_the_round_gets_no_labels(
    world: World, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("Batch Name,Number of Ballots\nB1,60\n", encoding="utf-8")
    small = tmp_path / "small.csv"
    small.write_text("Batch Name,Number of Ballots\nB9,1\n", encoding="utf-8")
    contests = tmp_path / "contests.json"
    mayor = {"contest_id": "c1", "name": "Mayor", "kind": "plurality", "choices": ["Ann", "Bob"],
             "num_winners": 1, "votes_allowed": 1, "share_to_win": None, "ballots": 61,
             "totals": {"Ann": 41, "Bob": 20}, "winners": ["Ann"]}  # fmt: skip
    election = {"election": "E", "contests": [mayor]}
    contests.write_text(json.dumps(election), encoding="utf-8")
    with world.store.transaction() as session:
        audit = service.find_audit(session, "X")
        service.load_manifest(session, audit, manifest, "A", "setup")
        service.load_manifest(session, audit, small, "B", "setup")
        service.add_contest(session, audit, contests, "Mayor", targeted=True, actor="setup")
        service.set_seed(session, audit, SEED, "setup")
        service.start_round(session, audit, 5, "setup")
    assert len(_drawn(world, "A")) == 5
    assert _drawn(world, "B") == []  # B's one card is not in the sample
    response = world.session_for("manager:B").get("/audits/X/jurisdictions/B/labels.pdf")
    assert response.status_code == 404
    assert "Round 1 drew no ballot in B, so there is nothing to label." in response.text


def test_without_weasyprint_the_pages_say_so(
    sampling: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(html: str) -> bytes:
        raise TallyguardError("cannot write the PDF report: no module named 'weasyprint'.")

    monkeypatch.setattr(routes_print, "audit_report_pdf", missing)
    labels = sampling.session_for("manager:A").get(LABELS)
    assert labels.status_code == 503
    assert "cannot write the PDF report: no module named &#39;weasyprint&#39;." in labels.text
    report = sampling.session_for("admin").get(REPORT)
    assert report.status_code == 503
    assert "<h1>Rounds of X</h1>" in report.text
    assert "cannot write the PDF report: no module named &#39;weasyprint&#39;." in report.text
