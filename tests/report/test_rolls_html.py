"""The voter-roll report: leads for review, honest figures, escaped data, masked dates, SVG."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import numpy as np
import polars as pl
import pytest

from tallyguard import __version__
from tallyguard.errors import InputError
from tallyguard.report.rolls_html import LISTED_EXCLUDED, LISTED_LEADS, render_rolls_report
from tallyguard.report.rolls_plots import (
    format_probability,
    probability_of,
    waterfall_bars,
    waterfall_svg,
    weight_histogram_svg,
    weight_of,
)
from tallyguard.rolls.linkage import level_labels
from tallyguard.rolls.safeguards import check_quiet_period

SVG = "{http://www.w3.org/2000/svg}"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EVIL = "<script>alert(1)</script>"
LAMBDA = 0.001
PRIOR = math.log2(LAMBDA / (1 - LAMBDA))  # -9.9643
STEP = "confirm with the registrant (notice) before merging records; no removal"
SET_ASIDE = "none: set aside by the exclusion rule (family look-alike)"
#: The only places "fraud" and "remov" may appear: negations chosen for the page, and the
#: step text the run supplies.
NEGATED = (
    "They are not findings of ineligibility or fraud, and this is not a removal list.",
    STEP,
)


def level(label: str, m: float | None, u: float | None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": label, "label_for_charts": label, **extra}
    if m is not None:
        out["m_probability"], out["u_probability"] = m, u
    return out


def null(name: str) -> dict[str, Any]:
    return level(f"{name} is NULL", None, None, is_null_level=True)


#: A Splink model dict as save_model_to_json writes it, cut to what the report reads.
MODEL: dict[str, Any] = {
    "link_type": "dedupe_only",
    "probability_two_random_records_match": LAMBDA,
    "blocking_rules_to_generate_predictions": [
        {"blocking_rule": "l.last_name = r.last_name and l.dob = r.dob", "sql_dialect": "duckdb"}
    ],
    "comparisons": [
        {
            "output_column_name": "first_name",
            "comparison_levels": [
                null("first_name"),
                level("Exact match on first_name", 0.9, 0.01, tf_adjustment_column="first_name"),
                level("Jaro-Winkler >= 0.92", 0.06, 0.02),
                level("All other comparisons", 0.04, 0.97),
            ],
        },
        {
            "output_column_name": "last_name",
            "comparison_levels": [
                null("last_name"),
                level("Exact match on last_name", 0.95, 0.005),
                level("All other comparisons", 0.05, 0.995),
            ],
        },
        {
            "output_column_name": "dob",
            "comparison_levels": [
                null("dob"),
                level("Exact match on dob", 0.85, 0.0001),
                level("Same birth year", 0.1, 0.02),
                level("All other comparisons", 0.05, 0.98),
            ],
        },
    ],
}
W_FIRST = {2: math.log2(0.9 / 0.01), 1: math.log2(0.06 / 0.02), 0: math.log2(0.04 / 0.97)}
W_LAST = {1: math.log2(0.95 / 0.005), 0: math.log2(0.05 / 0.995)}
W_DOB = {2: math.log2(0.85 / 0.0001), 1: math.log2(0.1 / 0.02), 0: math.log2(0.05 / 0.98)}


def lead_row(i: int, *, first_l: str = "MARIA", id_l: str | None = None) -> dict[str, Any]:
    """Lead ``i``: odd i spell the first name differently; i % 4 == 2 differ in birth date."""
    g_first = 2 if i % 2 == 0 else 1
    g_dob = 1 if i % 4 == 2 else 2
    tf = round(0.5 - 0.01 * i, 4) if g_first == 2 else None
    weight = PRIOR + W_FIRST[g_first] + (tf or 0.0) + W_LAST[1] + W_DOB[g_dob]
    return {
        "id_l": id_l or f"A{i:03d}",
        "id_r": f"B{i:03d}",
        "match_probability": probability_of(weight),
        "match_weight": weight,
        "exclusion": None,
        "exclusion_reason": None,
        "step": STEP,
        "first_name_l": first_l,
        "first_name_r": "MARIA" if g_first == 2 else "MARIE",
        "middle_name_l": "ROSA",
        "middle_name_r": None,
        "last_name_l": "GARCIA",
        "last_name_r": "GARCIA",
        "dob_l": "1975-03-04",
        "dob_r": "1975-03-04" if g_dob == 2 else "1975-07-04",
        "zip_l": "01101",
        "zip_r": "01102" if i % 5 == 4 else "01101",
        "gamma_first_name": g_first,
        "mw_first_name": W_FIRST[g_first],
        "mw_tf_adj_first_name": tf,
        "gamma_last_name": 1,
        "mw_last_name": W_LAST[1],
        "gamma_dob": g_dob,
        "mw_dob": W_DOB[g_dob],
    }


def excluded_row(j: int) -> dict[str, Any]:
    row = lead_row(1000 + j)
    row.update(
        id_l=f"X{j:03d}",
        id_r=f"Y{j:03d}",
        match_probability=0.97 - 0.0001 * j,
        exclusion="same_dob_different_first_name",
        exclusion_reason="both born 1980-01-02, named ANNA and HANNA: likely twins",
        step=SET_ASIDE,
        first_name_l="ANNA",
        first_name_r="HANNA",
        dob_l="1980-01-02",
        dob_r="1980-01-02",
    )
    return row


def leads_frame(n: int, excluded: int, **first: Any) -> pl.DataFrame:
    rows = [lead_row(i, **(first if i == 0 else {})) for i in range(n)]
    rows += [excluded_row(j) for j in range(excluded)]
    return pl.DataFrame(rows, infer_schema_length=None)


def summary(n: int = 12, excluded: int = 2, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mode": "dedupe",
        "threshold": 0.95,
        "seed": 20240917,
        "engine": "duckdb",
        "created": "2026-11-25T10:00:00+00:00",
        "inputs": [
            {
                "path": "roll-2026.csv",
                "kind": "voters",
                "rows": 5012,
                "kept": 5009,
                "issues": {"no_name": 3, "part_name": 11, "bad_dob": 27},
                "sha256": SHA,
            }
        ],
        "pairs_scored": n + excluded,
        "pairs_flagged": n,
        "pairs_excluded": excluded,
        "exclusions": {"same_dob_different_first_name": excluded} if excluded else {},
        "expected_false_matches": 0.0421,
        "false_match_interval": [0, 1],
        "expected_chance_matches": 2.38,
        "chance_interval": [0, 6],
        "chance_rule": ["first_name", "last_name", "dob"],
        "naive_rule_pairs": 9,
        "clusters": n,
        "probability_two_random_records_match": LAMBDA,
        "show_pii": False,
        "election_date": None,
        "quiet_period": None,
        "caveats": ["The lists were exported on different days."],
        "steps": [STEP],
    }
    out.update(changes)
    return out


WEIGHTS = np.array([-12.0] * 40 + [-3.5] * 7 + [5.0] * 3 + [16.0] * 2)


class Page(HTMLParser):
    """Tags and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def part(html: str, testid: str, end: str = "</table>") -> str:
    inside = html.split(f'data-testid="{testid}"', 1)[1].split(">", 1)[1]
    return inside.split(end, 1)[0]


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)


@pytest.fixture(scope="module")
def html() -> str:
    return render_rolls_report(summary(), leads_frame(12, 2), MODEL, WEIGHTS)


@pytest.fixture(scope="module")
def text(html: str) -> str:
    return Page(html).plain


def test_same_inputs_same_bytes(html: str) -> None:
    assert render_rolls_report(summary(), leads_frame(12, 2), MODEL, WEIGHTS) == html


def test_headline_states_leads_false_and_chance_matches(html: str) -> None:
    box = Page(part(html, "headline", "</div>")).plain
    assert box.startswith("12 leads for review at match probability ≥ 0.95.")
    assert "14 pairs of registrations in one roll scored at or above the threshold; 2 of" in box
    assert "the leads link the records into 12 groups" in box
    assert "Expected false matches among the leads: 0.0421 (95% interval 0–1)." in box
    assert "This is Σ(1 − p) over the leads" in box
    assert "over-confident on family look-alikes" in box
    assert "a clerical review of a random sample of the leads is the real check" in box
    chance = (
        "the rule “same first name, last name and date of birth” finds 9 pairs in the input; "
        "between different people, by coincidence alone, it is expected to find 2.38 "
        "(95% interval 0–6)"
    )
    assert chance in box
    assert "Pairs beyond chance exist, but the rule does not say which" in box  # 9 > 6
    assert "Goel et al. (2020, “One Person, One Vote”, APSR 114(2):456–469)" in box
    assert "about 300 legitimate votes for each double vote" in box


def test_a_naive_count_within_chance_says_so() -> None:
    page = render_rolls_report(summary(naive_rule_pairs=4), leads_frame(2, 0), MODEL, WEIGHTS)
    box = Page(part(page, "chance", "</p>")).plain
    assert "finds 4 pairs in the input" in box
    assert "within what chance alone produces: the rule by itself cannot tell" in box


def test_no_fraud_and_no_removal_wording(html: str) -> None:
    words = " ".join(html.split())
    for phrase in NEGATED:
        assert phrase in words
        words = words.replace(phrase, "")
    assert "fraud" not in words.lower()
    assert "remov" not in words.lower()
    assert "<script" not in html.lower()
    assert "leads for review" in words
    assert "the recommended next step for each is a confirmation notice" in words


def test_inputs_and_exclusion_tables(html: str) -> None:
    inputs = Page(part(html, "inputs")).plain
    assert f"roll-2026.csv voters 5,012 5,009 3 11 27 {SHA}" in inputs
    assert "bad dob : date of birth empty or not a date" in inputs
    rules = Page(part(html, "exclusions")).plain
    assert "suffix_conflict 0 generational suffixes differ" in rules
    assert "distant_birth_years 0 birth years more than 11 years apart" in rules
    assert "same_dob_different_first_name 2 same date of birth with a different first name" in (
        rules
    )


def test_leads_table_fields_side_by_side(html: str) -> None:
    table = part(html, "leads")
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], flags=re.DOTALL)
    assert len(rows) == 12
    first = Page(rows[0]).plain
    # lead i = 0 (every field exact, tf adjustment +0.5) has the highest weight
    w0 = PRIOR + W_FIRST[2] + 0.5 + W_LAST[1] + W_DOB[2]
    assert first.startswith(f"1 A000 B000 {format_probability(probability_of(w0))} {w0:.2f}")
    assert first.startswith("1 A000 B000 0.9999951 17.65 MARIA MARIA same ROSA — missing")
    assert "GARCIA GARCIA same" in first
    assert "1975-**-** 1975-**-** same date" in first  # the model scored the full dates equal
    assert STEP not in first  # the step is the same for every lead: stated once, above
    assert f"Recommended step for each: {STEP}." in Page(table).plain
    odd = Page(next(r for r in rows if "A001" in r)).plain
    assert "MARIA MARIE differs" in odd
    cells = re.findall(r'class="field (\w+)"', rows[0])
    assert cells == ["agree", "missing", "agree", "agree", "agree"]  # first..zip columns
    lead9 = next(r for r in rows if "A009" in r)  # odd, and i % 5 == 4: ZIP codes differ
    assert re.findall(r'class="field (\w+)"', lead9) == [
        "differ",
        "missing",
        "agree",
        "agree",
        "differ",
    ]
    headers = Page(table.split("</thead>")[0]).plain
    assert "First name Middle name Last name Date of birth ZIP" in headers
    # lead i = 2: birth dates differ in month, masked to the same year
    lead2 = next(r for r in rows if "A002" in r)
    assert "1975-**-** 1975-**-** same year" in Page(lead2).plain
    assert "All 12 leads, by descending match probability." in Page(table).plain
    probabilities = [float(re.findall(r'<td class="num">([\d.]+)</td>', r)[0]) for r in rows]
    assert probabilities == sorted(probabilities, reverse=True)


def test_dates_of_birth_masked_unless_show_pii(html: str) -> None:
    assert "1975-03-04" not in html
    assert "1980-01-02" not in html  # also inside the exclusion reasons
    assert "both born 1980-**-**, named ANNA and HANNA: likely twins" in html
    assert "Dates of birth are masked to the year (1975-**-**)" in Page(html).plain
    shown = render_rolls_report(summary(show_pii=True), leads_frame(3, 1), MODEL, WEIGHTS)
    assert "1975-03-04" in shown
    assert "both born 1980-01-02, named ANNA and HANNA" in shown
    assert "Full dates of birth are shown" in Page(shown).plain
    # a run that forgot to mask (or another date format) is still masked by the page
    odd = leads_frame(1, 0).with_columns(dob_l=pl.lit("04/03/1975"), dob_r=pl.lit(None))
    page = render_rolls_report(summary(n=1, excluded=0), odd, MODEL, WEIGHTS)
    assert "04/03/1975" not in page
    assert "1975-**-** — missing" in Page(part(page, "leads")).plain


def test_user_data_is_escaped() -> None:
    frame = leads_frame(3, 1, first_l=EVIL, id_l=EVIL)
    page = render_rolls_report(summary(n=3, excluded=1), frame, MODEL, WEIGHTS)
    assert EVIL not in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for svg in svgs(page):  # the id is in a waterfall's title: still well-formed
        ET.fromstring(svg)


def test_excluded_pairs_listed_with_reasons(html: str) -> None:
    table = Page(part(html, "excluded")).plain
    assert "All 2 pairs set aside, by descending match probability. None of them is a lead." in (
        table
    )
    assert "X000 Y000 0.97 same_dob_different_first_name both born 1980-**-**" in table
    assert "X001 Y001 0.9699 same_dob_different_first_name" in table
    leads = part(html, "leads")
    assert "X000" not in leads


def test_tables_are_capped() -> None:
    n, excluded = LISTED_LEADS + 5, LISTED_EXCLUDED + 3
    page = render_rolls_report(
        summary(n=n, excluded=excluded), leads_frame(n, excluded), MODEL, WEIGHTS
    )
    leads = part(page, "leads")
    assert len(re.findall(r"<tr>", leads.split("<tbody>")[1])) == LISTED_LEADS
    caption = "The 200 leads with the highest match probability, of 205: leads.csv lists them all."
    assert caption in Page(leads).plain
    excluded_table = part(page, "excluded")
    assert len(re.findall(r"<tr>", excluded_table.split("<tbody>")[1])) == LISTED_EXCLUDED
    assert "The 100 pairs set aside with the highest match probability, of 103" in (
        Page(excluded_table).plain
    )
    assert "X102" not in excluded_table  # the lowest probabilities are the ones left out
    # 10 waterfalls: the 5 highest and the 5 lowest probabilities of all 205 leads
    captions = re.findall(r"<figcaption>Lead (\d+):", page)
    assert [int(c) for c in captions] == [1, 2, 3, 4, 5, 201, 202, 203, 204, 205]
    assert page.count('data-testid="waterfall"') == 10
    text = Page(page).plain
    assert "Highest match probability" in text
    assert "Lowest match probability" in text


def test_waterfalls_link_from_the_leads_table(html: str) -> None:
    assert html.count('data-testid="waterfall"') == 10  # 12 leads: 5 highest, 5 lowest
    anchors = re.findall(r'<a href="#(waterfall-\d+)">', part(html, "leads"))
    assert anchors == [f"waterfall-{k}" for k in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12)]
    for anchor in anchors:
        assert f'id="{anchor}"' in html


def test_waterfall_of_one_lead_adds_up() -> None:
    lead = lead_row(2)  # exact first name with tf adjustment 0.48, same birth year only
    labels = level_labels(MODEL)
    comparisons = ["first_name", "last_name", "dob"]
    bars = waterfall_bars(lead, comparisons, labels, PRIOR)
    assert [b.label for b in bars] == [
        "prior (λ = 0.001)",
        "first_name: Exact match on first_name",
        "first_name (term frequency)",
        "last_name: Exact match on last_name",
        "dob: Same birth year",
        "Final match weight",
    ]
    assert bars[1].value == pytest.approx(math.log2(90))
    assert bars[2].value == pytest.approx(0.48)
    for before, after in itertools.pairwise(bars[:-1]):
        assert after.start == pytest.approx(before.end)
    assert bars[-2].end == pytest.approx(lead["match_weight"], abs=1e-12)
    assert bars[-1].value == lead["match_weight"]
    svg = waterfall_svg(lead, comparisons, labels, PRIOR, ident="wf")
    root = ET.fromstring(svg)
    assert root.get("aria-labelledby") == "wf-title"
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == (
        "Waterfall of the match weight of the pair A002 and B002. It starts at the prior "
        "match weight −9.96 bits; then first_name: Exact match on first_name: +6.49; "
        "first_name (term frequency): +0.48; last_name: Exact match on last_name: +7.57; "
        "dob: Same birth year: +2.32; the final match weight is 6.90 bits, a match "
        "probability of 0.9917."
    )
    comments = re.findall(r"<!-- (.*?) -->", svg)
    assert "match probability" in comments
    assert "+6.49" in comments
    assert "Final match weight" in comments
    # a null tf adjustment (odd leads) gets no bar
    odd = waterfall_bars(lead_row(1), comparisons, labels, PRIOR)
    assert "first_name (term frequency)" not in [b.label for b in odd]
    assert odd[1].label == "first_name: Jaro-Winkler >= 0.92"


def test_histogram_counts_pairs_against_the_threshold() -> None:
    threshold = weight_of(0.95)
    assert threshold == pytest.approx(4.2479, abs=1e-4)
    svg = weight_histogram_svg(np.append(WEIGHTS, np.nan), threshold, ident="h")
    desc = ET.fromstring(svg).find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == (
        "A histogram of the match weights of 52 scored pairs: 5 at or above the threshold "
        "weight 4.25 bits (match probability 0.95), drawn as a dashed line, and 47 below it. "
        "1 pair with no finite weight left out."
    )
    empty = weight_histogram_svg(np.array([]), threshold, ident="h")
    assert "no scored pairs" in re.findall(r"<!-- (.*?) -->", empty)
    page = render_rolls_report(summary(), leads_frame(2, 0), MODEL, np.array([]))
    assert "No match weights were recorded for this run." in Page(page).plain


def test_every_figure_is_well_formed_svg_with_unique_ids(html: str) -> None:
    figures = svgs(html)
    assert len(figures) == 11  # the histogram and 10 waterfalls
    ids: Counter[str] = Counter()
    for svg in figures:
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.get("width") is None
        assert root.get("viewBox")
        assert root.find(f"{SVG}title") is not None
        ids.update(str(e.get("id")) for e in root.iter() if e.get("id"))
    assert max(ids.values()) == 1
    page_ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(page_ids) == len(set(page_ids))
    for target in re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html):
        assert target in set(page_ids), target


def test_self_contained_and_accessible(html: str) -> None:
    page = Page(html)
    assert page.all("html") == [{"lang": "en"}]
    assert page.all("script") == []
    for name in ("link", "iframe", "img", "image"):
        assert page.all(name) == []
    assert "data:" not in html
    assert "http" not in "".join(str(a.get("href")) for a in page.all("a"))
    assert len(page.all("caption")) == len(page.all("table"))
    for attrs in page.all("th"):
        assert attrs.get("scope") in {"col", "row"}
    headings = [int(n[1]) for n, _ in page.tags if re.fullmatch(r"h[1-6]", n)]
    assert headings.count(1) == 1
    for before, after in itertools.pairwise(headings):
        assert after <= before + 1


def test_safeguards_limits_and_reproducibility(html: str, text: str) -> None:
    safeguards = Page(part(html, "safeguards", "</section>")).plain
    assert f"Due-process steps {STEP} Send a confirmation notice before any change" in safeguards
    assert "No systematic list-maintenance program may run within 90 days" in safeguards
    assert "(52 U.S.C. §20507(c)(2)(A))" in safeguards
    assert "No election date was given for this run" in safeguards
    assert "no record was sent anywhere" in safeguards
    limits = Page(part(html, "limits", "</section>")).plain
    assert "A lead is not a finding that two records are one person" in limits
    assert "The lists were exported on different days." in limits
    repro = Page(part(html, "reproducibility", "</dl>")).plain
    assert "Random seed 20240917" in repro
    assert "Threshold 0.95 Engine duckdb Prior λ 0.001" in repro
    assert "Comparisons first_name, last_name, dob" in repro
    assert f"SHA-256 of roll-2026.csv {SHA}" in repro
    assert "l.last_name = r.last_name and l.dob = r.dob" in text
    assert f"Generated by tallyguard {__version__}." in text
    model = Page(part(html, "model")).plain
    assert "dob Exact match on dob 0.85 0.0001 +13.05" in model
    assert "first_name All other comparisons 0.04 0.97 −4.60" in model


def test_quiet_period_banner() -> None:
    with pytest.raises(InputError) as refused:
        check_quiet_period(dt.date(2026, 11, 3), dt.date(2026, 9, 1))
    note = refused.value.message
    page = render_rolls_report(
        summary(election_date="2026-11-03", quiet_period=note), leads_frame(2, 0), MODEL, WEIGHTS
    )
    banner = Page(part(page, "quiet-period", "</div>")).plain
    assert banner.startswith("NVRA quiet period. the election on 2026-11-03 is 63 days after")
    rule = Page(part(page, "quiet-rule", "</p>")).plain
    assert "Election date given for this run: 2026-11-03. This run is inside the quiet" in rule


def test_a_sparse_summary_still_renders() -> None:
    sparse = {"mode": "deceased", "threshold": 0.9, "seed": 1, "engine": "duckdb"}
    frame = leads_frame(1, 0).drop("exclusion", "exclusion_reason")
    page = render_rolls_report(sparse, frame, {}, np.array([]))
    text = Page(page).plain
    assert "Possible deceased registrants" in text
    assert "Expected false matches among the leads: not computed" in text
    assert "Prior λ not recorded" in text
    assert page.count('data-testid="waterfall"') == 1  # prior from the lead's own weights
    bars = re.findall(r"<!-- (.*?) -->", svgs(page)[0])
    assert "−9.96" in bars  # log2(0.001/0.999), recovered from the weights
    for frame in (leads_frame(1, 0).head(0), pl.DataFrame()):
        empty = render_rolls_report(summary(n=0, excluded=0), frame, MODEL, WEIGHTS)
        assert "there are no leads" in Page(empty).plain
        assert "No pair at or above the threshold was set aside." in Page(empty).plain


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.95, "0.95"), (0.999953, "0.999953"), (0.5, "0.5"), (0.001, "0.001"), (1.0, "1")],
)
def test_format_probability(p: float, text: str) -> None:
    assert format_probability(p) == text


def test_a_real_model_renders() -> None:
    """Splink's own model dict and pairs from a small seeded roll with 30 duplicates."""
    from tallyguard.rolls.linkage import link

    rng = np.random.default_rng(7)
    firsts = ["JOHN", "MARY", "ANA", "LUIS", "KIM", "PAUL", "ROSE", "OMAR", "ZOE", "IVAN"]
    lasts = ["SMITH", "GARCIA", "NGUYEN", "BROWN", "KHAN", "LOPEZ", "WHITE", "OKAFOR"]
    rows = []
    for i in range(250):
        rows.append(
            {
                "voter_id": f"V{i}",
                "first_name": firsts[rng.integers(len(firsts))],
                "last_name": lasts[rng.integers(len(lasts))],
                "dob": f"{rng.integers(1940, 2000)}-{rng.integers(1, 13):02d}-"
                f"{rng.integers(1, 29):02d}",
                "middle_name": firsts[rng.integers(len(firsts))],
                "address": f"{rng.integers(1, 999)} MAIN ST",
                "zip": f"{rng.integers(10000, 10020)}",
                "city": ["SPRINGFIELD", "SHELBY"][rng.integers(2)],
            }
        )
    rows += [{**rows[i], "voter_id": f"D{i}"} for i in range(30)]
    roll = pl.DataFrame(rows)
    result = link(roll, None, mode="dedupe", seed=42, threshold=0.9)
    records = roll.select("voter_id", "first_name", "last_name", "dob")
    leads = result.pairs.join(
        records.rename({c: f"{c}_l" for c in records.columns[1:]}),
        left_on="id_l",
        right_on="voter_id",
    ).join(
        records.rename({c: f"{c}_r" for c in records.columns[1:]}),
        left_on="id_r",
        right_on="voter_id",
    )
    page = render_rolls_report(
        summary(n=result.leads.height, excluded=result.excluded.height, threshold=0.9),
        leads.with_columns(step=pl.lit(STEP)),
        result.model,
        result.pairs.get_column("match_weight").to_numpy(),
    )
    assert result.leads.height >= 30
    assert page.count('data-testid="waterfall"') == 10
    lam = result.model["probability_two_random_records_match"]
    prior = f"{math.log2(lam / (1 - lam)):.2f}".replace("-", "−")
    first = ET.fromstring(svgs(page)[1]).find(f"{SVG}desc")
    assert first is not None
    assert first.text is not None
    assert f"prior match weight {prior} bits" in first.text
    assert "residence: Address and ZIP or city exact" in first.text
    top = result.leads.sort("match_probability", descending=True).row(0, named=True)
    assert f"final match weight is {top['match_weight']:.2f}" in first.text.replace("−", "-")
    assert "-**-**" in part(page, "leads")
    for svg in svgs(page):
        ET.fromstring(svg)


def test_claims_mode_states_what_the_roll_supports() -> None:
    claims = {
        "claims": 120,
        "supported_by_model": 7,
        "with_naive_match": 31,
        "expected_coincidences": 24.5,
        "coincidence_interval": [19, 30],
        "chance_expected_naive_matches": 28.44,
    }
    page = render_rolls_report(
        summary(mode="check-claims", claims=claims), leads_frame(2, 0), MODEL, WEIGHTS
    )
    text = Page(page).plain
    assert "Check of a claimed list" in text
    box = Page(part(page, "claims", "</dl>")).plain
    assert box.startswith("Entries claimed 120 With a lead in the roll 7 (the model scores")
    assert "With a naive match 31 (a registration with the same first name" in box
    assert "Claims expected to name nobody on the roll 24.5 (19–30, 95 %)" in box
    assert "Naive matches expected by coincidence 28.4, if none of the claimed people" in box
    assert "pairs of a claimed entry and a registration scored at or above" in text
