"""The forensics report: honest wording, the stated numbers, inline SVG figures, determinism."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from tallyguard import __version__
from tallyguard.forensics.battery import ForensicsRun, Settings, Stratum
from tallyguard.forensics.load import EXCLUSION_RULES, LoadedUnits, RowIssue
from tallyguard.forensics.result import Component, TestResult
from tallyguard.forensics.table import UnitTable
from tallyguard.report.forensics_html import (
    calibration_rows,
    forensics_report_html,
    format_number,
)
from tallyguard.report.forensics_plots import digit_svg, fingerprint_svg, integer_histogram_svg

SVG = "{http://www.w3.org/2000/svg}"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SEED = "31415926535897932384"
EVIL = "<script>alert(1)</script>"
INTEGER_NULL = "issued ballots ~ Binomial(electorate, observed turnout), independently"
BENFORD = np.log10(1 + 1 / np.arange(1, 10))


def table(region: str = "North") -> UnitTable:
    electorate = np.array([1000, 1200, 800, 950, 1100, 1010], dtype=np.int64)
    issued = np.array([600, 700, 500, 610, 640, 606], dtype=np.int64)
    leader = np.array([300, 420, 260, 305, 330, 303], dtype=np.int64)
    other = issued - leader - 10
    return UnitTable(
        unit_id=np.array([f"U{k}" for k in range(1, 7)]),
        electorate=electorate,
        ballots_issued=issued,
        ballots_cast=issued,
        votes={"Alice": leader, "Bob": other},
        leader="Alice",
        region=np.array([region, region, region, "South", "South", "South"]),
        source="results-2024.csv",
    )


def histogram_panel(centre: float, spike: int) -> dict[str, list[float]]:
    edges = np.round(np.arange(1001) / 10, 1)
    mids = edges[:-1] + 0.05
    mean = 40 * np.exp(-0.5 * ((mids - centre) / 8) ** 2)
    observed = np.round(mean)
    observed[spike * 10] += 25  # a peak on a whole percent
    return {
        "bin_edges_pct": edges.tolist(),
        "observed": observed.tolist(),
        "null_mean": mean.tolist(),
        "null_low": np.maximum(mean - 2 * np.sqrt(mean), 0).tolist(),
        "null_high": (mean + 2 * np.sqrt(mean)).tolist(),
    }


def heatmap() -> dict[str, object]:
    t, s = np.meshgrid(np.arange(20), np.arange(25), indexing="ij")
    counts = np.floor(200 * np.exp(-((t - 11) ** 2) / 18 - ((s - 13) ** 2) / 30))
    return {
        "turnout_edges": (np.arange(21) / 20).tolist(),
        "share_edges": (np.arange(26) / 25).tolist(),
        "counts": counts.tolist(),  # 20 turnout rows × 25 share columns
    }


def distribution(law: np.ndarray) -> dict[str, list[float]]:
    k = law.size
    observed = law + np.linspace(-0.01, 0.01, k)
    return {
        "digits": list(range(10 - k, 10)),
        "observed": observed.tolist(),
        "null_mean": law.tolist(),
        "null_low": (law - 0.004).tolist(),
        "null_high": (law + 0.004).tolist(),
        "fixed_law": law.tolist(),
    }


def integer(p: float = 0.000999, details: bool = True) -> TestResult:
    voters = {"observed": 51000.0, "null_mean": 48210.5, "null_sd": 950.25, "p_value": 0.0029}
    return TestResult(
        name="integer_percentages",
        title="Integer percentages",
        citation="Kobak, Shpilkin & Pshenichnikov (2016), Annals of Applied Statistics.",
        null=f"each station's leader votes ~ Binomial(ballots cast, share) and {INTEGER_NULL}",
        components=(
            Component("turnout", {"observed": 70, "null_mean": 52.25, "null_sd": 7.1}, 0.0123),
            Component("leader_share", {"observed": 49, "null_mean": 50.0, "null_sd": 7.0}, 0.52),
            Component(
                "either",
                {
                    "observed": 117,
                    "null_mean": 101.5,
                    "null_sd": 9.9,
                    "excess": 15.5,
                    "by_voters": voters,
                },
                p,
            ),
        ),
        headline="either",
        caveats=("Detects protocols written to round percentages only.",),
        details={
            "histograms": {
                "turnout": histogram_panel(62, 70),
                "leader_share": histogram_panel(55, 60),
            }
        }
        if details
        else {},
    )


def fingerprint_test(details: bool = True) -> TestResult:
    return TestResult(
        name="fingerprint_corner",  # not its key in the battery: the page goes by the key
        title="Turnout and share fingerprint",
        citation="Klimek, Yegorov, Hanel & Thurner (2012), PNAS 109(41):16469-73.",
        null="turnout and the leader's share are independent within each region.",
        components=(
            Component(
                "correlation",
                {"statistic": 0.1234567, "null_mean": 0.0, "null_sd": 0.02, "n_strata": 2},
                0.2,
            ),
        ),
        headline="correlation",
        caveats=("Urban and rural units differ honestly.",),
        details={"heatmap": heatmap()} if details else {},
    )


def last_digit(details: bool = True) -> TestResult:
    return TestResult(
        name="last_digit",
        title="Last digits",
        citation="Beber & Scacco (2012), Political Analysis 20(2):211-234.",
        null="each count ~ Binomial(ballots cast, observed share) of its unit",
        components=(Component("chi2", {"chi2": 14.25, "null_chi2_mean": 9.1, "units": 6}, 0.31),),
        headline="chi2",
        details={"distribution": distribution(np.full(10, 0.1))} if details else {},
    )


def outliers() -> TestResult:
    reason = "no prior election given (and no covariates)"
    return TestResult(
        name="outliers",
        title="Outliers against a prior election",
        citation="Huber (1964).",
        null="residuals are symmetric about zero",
        components=(
            Component("positive_outliers", {}, None, skipped=reason),
            Component("tail_asymmetry", {}, None, skipped=reason),
        ),
        headline="positive_outliers",
    )


def benford(details: bool = True) -> TestResult:
    explanation = {"chi2": 572.25, "df": 8, "median_precinct_size": 1450}
    return TestResult(
        name="first_digit_benford",
        title="First-digit Benford (known invalid)",
        citation="Deckert, Myagkov & Ordeshook (2011), Political Analysis 19(3):245-268.",
        null="first digits of the leader's counts follow Benford's law",
        components=(Component("chi2", {"statistic": 572.25}, 2e-118),),
        headline="chi2",
        valid=False,
        caveats=("The first digit is set by the distribution of precinct sizes.",),
        details={"distribution": distribution(BENFORD), "claim_explanation": explanation}
        if details
        else {},
    )


def rate(hits: int, runs: int, low: float, high: float) -> dict[str, object]:
    """A rate as ``Rate.to_json()`` writes it."""
    return {
        "rate": hits / runs,
        "ci95": [low, high],
        "rejections": hits,
        "runs": runs,
        "skipped": 0,
    }


CALIBRATION = {  # the shape of Calibration.to_json()
    "alpha": 0.05,
    "runs": 100,
    "replicates": 200,
    "share": 0.05,
    "region": None,
    "manipulations": ["stuffing", "rounding"],
    "interval": "Clopper-Pearson 95 %",
    "null_model": {"groups": []},
    "tests": {
        "integer_percentages": {
            "false_positive": rate(4, 100, 0.011, 0.0993),
            "exceeds_alpha": False,
            "power": {
                "stuffing": rate(93, 100, 0.861, 0.9714),
                "rounding": rate(100, 100, 0.9638, 1.0),
            },
        },
        "fingerprint": {
            "false_positive": {**rate(12, 98, 0.0648, 0.2038), "skipped": 2},
            "exceeds_alpha": True,
            "power": {},
        },
    },
}


def forensics_run(
    *,
    details: bool = True,
    regions: bool = True,
    excluded: int = 2,
    calibration: dict[str, object] | None = CALIBRATION,
    unit: str = "U1",
) -> ForensicsRun:
    units = table()
    units = replace(units, unit_id=np.array([unit, *units.unit_id[1:]]))
    overall = {
        "integer_percentages": integer(details=details),
        "fingerprint": fingerprint_test(details=details),
        "last_digit": last_digit(details=details),
        "outliers": outliers(),
    }
    strata = [Stratum("all units", 6, overall)]
    q = {
        ("all units", "integer_percentages"): 0.0029970029970029974,
        ("all units", "fingerprint"): 0.4,
        ("all units", "last_digit"): 0.4133,
        ("all units", "outliers"): None,
    }
    if regions:
        for name, p in (("North", 0.004), ("South", 0.61)):
            results = {"integer_percentages": integer(p, details=False), "outliers": outliers()}
            strata.append(Stratum(name, 3, results))
            q[(name, "integer_percentages")] = p * 3 / 2
            q[(name, "outliers")] = None
    issues = tuple(
        RowIssue(f"X{k}", 10 + k, "missing" if k % 2 else "not_a_count", "electorate")
        for k in range(excluded)
    )
    loaded = LoadedUnits(
        table=units,
        path=Path("results-2024.csv"),
        rows=6 + excluded,
        columns={"unit_id": "uik", "electorate": "voters"},
        excluded=issues,
        flagged=(RowIssue("U3", 5, "cast_exceed_issued", "ballots_cast"),),
        notes=("no ballots_issued column: ballots issued = ballots cast.",),
    )
    return ForensicsRun(
        loaded=loaded,
        settings=Settings(seed=SEED, replicates=999, alpha=0.05, min_region_units=3),
        strata=tuple(strata),
        q_values=q,
        negative={"first_digit_benford": benford(details=details)},
        calibration=calibration,
        input_sha256=SHA,
    )


class Page(HTMLParser):
    """Tags, headings and text of a page."""

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
    def headings(self) -> list[int]:
        return [int(name[1]) for name, _ in self.tags if re.fullmatch(r"h[1-6]", name)]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def html() -> str:
    return forensics_report_html(forensics_run())


@pytest.fixture(scope="module")
def text(html: str) -> str:
    return Page(html).plain


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)


def test_same_run_same_bytes(html: str) -> None:
    assert forensics_report_html(forensics_run()) == html


def test_honest_wording_and_no_script(html: str, text: str) -> None:
    assert "fraud" not in html.lower()
    assert "<script" not in html.lower()
    assert Page(html).all("script") == []
    assert "anomaly relative to the stated null at FDR α = 0.05" in text
    assert "no anomaly detected at FDR α = 0.05 — which does not show the count is clean" in text
    assert "1 of 3 tests find an anomaly relative to the stated null at FDR α = 0.05." in text
    assert "1 test could not be run on this input." in text


def test_header_states_inputs_and_settings(text: str) -> None:
    assert f"SHA-256 {SHA}" in text
    assert "Input file results-2024.csv" in text
    assert "Leader Alice" in text
    assert "Units 8 read, 6 tested, 2 excluded by the stated rules, 1 flagged and kept" in text
    assert f"Random seed {SEED}" in text
    assert "Null replicates 999 per test and stratum" in text
    assert "FDR level α 0.05" in text
    assert "the whole table and 2 regions with at least 3 units" in text
    assert f"Software tallyguard {__version__}" in text


def test_summary_p_and_q_values_and_multiplicity(html: str, text: str) -> None:
    assert "Integer percentages either 0.000999 0.002997 anomaly relative" in text
    assert "Turnout and share fingerprint correlation 0.2 0.4 no anomaly detected" in text
    assert "Last digits chi2 0.31 0.4133 no anomaly detected" in text
    expected = "Outliers against a prior election positive_outliers — — not tested: no prior"
    assert expected in text
    assert "tests × strata, m = 5" in text  # 3 tests on the table, 1 in each of 2 regions
    assert "1 region-level hypothesis also has q ≤ α" in text
    summary = html.split('data-testid="summary-table"')[1].split("</table>")[0]
    assert "First-digit Benford" not in summary  # the negative example is not a finding


def test_each_test_states_null_components_and_caveats(text: str) -> None:
    stated = "Null model: each station's leader votes ~ Binomial(ballots cast, share) and "
    assert f"{stated}{INTEGER_NULL}." in text
    assert "Null model: turnout and the leader's share are independent within each region." in text
    # observed, null mean, null SD, excess, p; the nested by_voters dict as a sub-row
    assert "turnout 70 52.25 7.1 0.0123" in text
    assert "either headline 117 101.5 9.9 15.5 0.000999" in text
    assert "either · by voters 51,000 48,210.5 950.2 0.0029" in text
    assert "correlation headline 0.1235 0 0.02 0.2 n strata = 2" in text
    assert "chi2 headline 14.25 9.1 0.31 units = 6" in text  # other names of observed, null mean
    assert "positive_outliers headline not computed: no prior election given" in text
    assert "Detects protocols written to round percentages only." in text
    assert "Urban and rural units differ honestly." in text
    assert "Method: Beber & Scacco (2012)" in text


def test_calibration_figures(html: str, text: str) -> None:
    assert "false-positive rate (clean elections) 0.04 0.011 – 0.0993 4 of 100" in text
    assert "power: stuffing 0.93 0.861 – 0.9714 93 of 100" in text
    assert "power: rounding 1 0.9638 – 1 100 of 100" in text
    assert (
        "false-positive rate (clean elections) 0.1224 0.0648 – 0.2038 12 of 98 (2 skipped)" in text
    )
    design = (
        "100 simulated elections fitted to this input; 200 null replicates per test; "
        "manipulations (stuffing, rounding) injected at 5% of the units; "
        "Clopper-Pearson 95 % intervals"
    )
    assert f"Calibration run ({design})" in text
    # the tests it does not cover say so rather than leave a blank
    assert text.count("Not measured for this report") == 2


def test_a_test_whose_false_positive_rate_exceeds_alpha_is_marked(html: str) -> None:
    warnings = re.findall(r'data-testid="exceeds-alpha"', html)
    assert len(warnings) == 1
    fingerprint = html.split('id="test-fingerprint"')[1].split("</article>")[0]
    assert 'data-testid="exceeds-alpha"' in fingerprint
    summary = Page(html.split('data-testid="summary-table"')[1].split("</table>")[0]).plain
    assert (
        "clean (calibration: its false-positive rate on elections like this one is above α)"
        in summary
    )
    assert summary.count("calibration:") == 1


def test_without_calibration() -> None:
    text = Page(forensics_report_html(forensics_run(calibration=None, details=False))).plain
    assert "Calibration not run" in text
    assert text.count("Not measured for this report") == 4


@pytest.mark.parametrize(
    "calibration",
    [
        None,
        {},
        {"tests": []},
        {"tests": {"integer_percentages": None}},
        {"tests": {"integer_percentages": {"false_positive": 0.04, "power": [1, 2]}}},
    ],
)
def test_missing_or_malformed_calibration_gives_no_rows(calibration: object) -> None:
    assert calibration_rows(calibration, "integer_percentages") == ()


def test_calibration_rate_without_runs() -> None:
    entry = {"false_positive": {"rate": None, "ci95": None, "rejections": 0, "runs": 0}}
    (row,) = calibration_rows({"tests": {"t": entry}}, "t")
    assert (row.rate, row.interval, row.runs) == ("—", "", "0 of 0")


def test_region_table_bolds_anomalies(html: str) -> None:
    regions = html.split('data-testid="regions"')[1].split("</table>")[0]
    north = regions.split("North")[1].split("</tr>")[0]
    south = regions.split("South")[1].split("</tr>")[0]
    assert "<strong>0.004 / 0.006</strong>" in north
    assert "0.61 / 0.915" in south
    assert "<strong>" not in south
    assert "not tested" in north  # outliers had no prior; the other tests were not run there


def test_no_region_section_without_region_strata() -> None:
    html = forensics_report_html(forensics_run(regions=False, details=False))
    assert 'id="regions-heading"' not in html
    assert "tests × strata, m = 3" in Page(html).plain


def test_input_checks(text: str) -> None:
    for rule, description in EXCLUSION_RULES.items():
        assert f"{rule} {description} excluded" in text
    assert "missing a count the tests read is empty excluded 1" in text
    assert "not_a_count a count is not a whole number >= 0 excluded 1" in text
    assert "cast_exceed_issued more ballots in the boxes than ballots issued (kept)" in text
    assert "X0 10 not_a_count electorate" in text
    assert "X1 11 missing electorate" in text
    assert "U3 5 cast_exceed_issued ballots_cast" in text
    assert "no ballots_issued column: ballots issued = ballots cast." in text


def test_only_the_first_50_excluded_rows_are_listed() -> None:
    text = Page(forensics_report_html(forensics_run(excluded=60, details=False))).plain
    assert "The first 50 of 60 rows" in text
    assert "X49 59" in text
    assert "X50" not in text
    assert "missing a count the tests read is empty excluded 30" in text


def test_negative_example_box(html: str) -> None:
    box = html.split('data-testid="negative"')[1].split("</section>")[0]
    text = Page(box).plain
    assert "Known-invalid method: First-digit Benford (known invalid)" in text
    assert "This method is shown only to explain why it misleads." in text
    assert "rejects its null, p = 2e-118." in text
    assert "The first digit is set by the distribution of precinct sizes." in text
    assert "chi2 572.2 df 8 median precinct size 1,450" in text
    assert len(svgs(box)) == 1
    assert "bars) and the fixed law the claim compares them with (dashed)." in text


def test_limits_and_how_to_rederive(text: str) -> None:
    for limit in ("Regional heterogeneity.", "Small units.", "E-voting, postal and pseudo"):
        assert limit in text
    assert "Administrative rounding" in text
    assert "Data errors." in text
    assert "tallyguard verify BUNDLE re-runs the computation from the bundle" in text


def test_every_figure_is_well_formed_svg_with_unique_ids(html: str) -> None:
    figures = svgs(html)
    assert len(figures) == 4  # histograms, fingerprint, last digits, negative example's digits
    ids: Counter[str] = Counter()
    for svg in figures:
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.find(f"{SVG}title") is not None
        ids.update(e.get("id") for e in root.iter() if e.get("id"))
    assert len(ids) > 100
    assert max(ids.values()) == 1  # several figures, one page: no id twice
    page_ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(page_ids) == len(set(page_ids))
    for target in re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html):
        assert target in set(page_ids), target


def test_accessible_structure(html: str) -> None:
    page = Page(html)
    assert page.all("html") == [{"lang": "en"}]
    assert page.headings[0] == 1
    assert page.headings.count(1) == 1
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    for attrs in page.all("th"):
        assert attrs.get("scope") in {"col", "row"}
    assert len(page.all("caption")) == len(page.all("table"))
    for name in ("link", "iframe", "img", "image"):
        assert page.all(name) == []
    assert "data:" not in html  # no embedded raster either: every figure is vector
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            assert (attrs.get(name) or "#").startswith("#")
    assert "http" not in "".join(str(a.get("href")) for a in page.all("a"))


def test_each_figure_has_its_caption(html: str) -> None:
    captions = [Page(c).plain for c in re.findall(r"<figcaption>.*?</figcaption>", html, re.S)]
    assert [c.split(". ")[0] for c in captions] == [
        "Units per 0.1-point bin (dark line) against the null model's mean (orange line) and "
        "interval (shaded)",
        "Each cell counts the units with that turnout and leader's share, on a logarithmic "
        "colour scale; white cells have none",
        "Observed proportion of each digit (bars) against the size-matched null's mean and "
        "interval (points with error bars)",
        "Observed proportion of each digit (bars) and the fixed law the claim compares them "
        "with (dashed)",
    ]


def test_a_skipped_component_keeps_its_statistics() -> None:
    partial = Component("either", {"observed": 117}, None, skipped="too few units")
    result = replace(integer(details=False), components=(partial,))
    run = forensics_run(details=False, regions=False)
    overall = Stratum("all units", 6, {"integer_percentages": result})
    text = Page(forensics_report_html(replace(run, strata=(overall,)))).plain
    assert "either headline 117 — not computed: too few units" in text
    assert "not tested: too few units" in text


def test_figures_are_left_out_when_details_are_missing() -> None:
    html = forensics_report_html(forensics_run(details=False))
    assert "<svg" not in html
    assert "<figure" not in html
    text = Page(html).plain  # the rest is all there
    assert text.count("Null model:") == 4
    assert text.count("What this test does not show") == 4
    assert "Known-invalid method: First-digit Benford (known invalid)" in text


def test_user_text_is_escaped() -> None:
    html = forensics_report_html(forensics_run(unit=EVIL, excluded=0, details=False))
    assert EVIL not in html
    loaded = forensics_run(details=False).loaded
    evil = replace(loaded, flagged=(RowIssue(EVIL, 2, "cast_exceed_issued", EVIL),))
    html = forensics_report_html(replace(forensics_run(details=False), loaded=evil))
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (True, "yes"),
        (1450, "1,450"),
        (51000.0, "51,000"),
        (48210.54, "48,210.5"),
        (0.1234567, "0.1235"),
        (2e-118, "2e-118"),
        (float("nan"), "—"),
        ([1, 2.5], "1, 2.5"),
        (list(range(20)), "20 values"),
        ("text", "text"),
    ],
)
def test_format_number(value: object, text: str) -> None:
    assert format_number(value) == text


# The figures on their own ------------------------------------------------------------------


def comments(svg: str) -> list[str]:
    """The texts matplotlib draws, which it also writes as XML comments."""
    return re.findall(r"<!-- (.*?) -->", svg)


def test_fingerprint_svg() -> None:
    svg = fingerprint_svg(heatmap(), ident="fp")
    assert svg is not None
    root = ET.fromstring(svg)
    assert root.get("width") is None
    assert root.get("viewBox")
    assert root.get("aria-labelledby") == "fp-title"
    texts = comments(svg)
    assert "turnout (%)" in texts
    assert "leader's share (%)" in texts
    assert "units in the cell (log scale)" in texts
    counts = np.asarray(heatmap()["counts"])
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text is not None
    assert f"A heat map of {counts.sum():,.0f} units" in desc.text
    assert "20 × 25 cells" in desc.text
    assert fingerprint_svg(heatmap(), ident="fp") == svg


@pytest.mark.parametrize(
    "broken",
    [
        None,
        {},
        {"turnout_edges": [0, 0.5, 1], "share_edges": [0, 1]},  # no counts
        {"turnout_edges": [0, 0.5, 1], "share_edges": [0, 0.5, 1], "counts": [[1, 2, 3]]},
        {"turnout_edges": [0, 0.5, 1], "share_edges": [0, 1], "counts": [[0], [0]]},  # empty
        {"turnout_edges": [0, 1, 0.5], "share_edges": [0, 1], "counts": [[1], [1]]},
        {"turnout_edges": [0, 0.5, 1], "share_edges": [0, 1], "counts": [["a"], [1]]},
    ],
)
def test_fingerprint_without_usable_details(broken: object) -> None:
    assert fingerprint_svg(broken) is None


def test_integer_histogram_svg() -> None:
    both = {"turnout": histogram_panel(62, 70), "leader_share": histogram_panel(55, 60)}
    svg = integer_histogram_svg(both)
    assert svg is not None
    ET.fromstring(svg)
    texts = comments(svg)
    assert texts.count("observed") == 2
    assert texts.count("null mean") == 2
    assert texts.count("null interval") == 2
    assert "Turnout" in texts
    assert "Leader's share" in texts
    one = integer_histogram_svg({"turnout": histogram_panel(62, 70), "leader_share": {}})
    assert one is not None
    assert "Leader's share" not in comments(one)
    no_null = histogram_panel(62, 70)
    del no_null["null_low"]
    partial = integer_histogram_svg({"turnout": no_null})
    assert partial is not None
    assert "null interval" not in comments(partial)
    assert "null mean" in comments(partial)


@pytest.mark.parametrize(
    "broken",
    [None, [], {}, {"turnout": {"bin_edges_pct": [0, 0.1], "observed": [1, 2]}}],
)
def test_integer_histogram_without_usable_details(broken: object) -> None:
    assert integer_histogram_svg(broken) is None


def test_digit_svg() -> None:
    svg = digit_svg(distribution(BENFORD), "First digits <of> Alice")
    assert svg is not None
    root = ET.fromstring(svg)
    texts = comments(svg)
    assert "fixed law" in texts
    assert "null mean and interval" in texts
    assert [t for t in texts if t in {str(d) for d in range(10)}][:9] == list("123456789")
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "First digits <of> Alice"
    bare = distribution(np.full(10, 0.1))
    for key in ("fixed_law", "null_low"):
        del bare[key]
    plain = digit_svg(bare, "Last digits")
    assert plain is not None
    assert "fixed law" not in comments(plain)
    assert "null mean" in comments(plain)
    assert digit_svg({"digits": [1, 2], "observed": [0.5]}, "x") is None
    assert digit_svg(None, "x") is None


def test_matplotlib_state_is_untouched() -> None:
    before = dict(matplotlib.rcParams)
    with matplotlib.rc_context({"lines.linewidth": 7.0}):
        styled = digit_svg(distribution(BENFORD), "Digits")
    assert dict(matplotlib.rcParams) == before
    assert styled == digit_svg(distribution(BENFORD), "Digits")
    pyplot = pytest.importorskip("matplotlib.pyplot")
    open_before = pyplot.get_fignums()
    fingerprint_svg(heatmap())
    assert pyplot.get_fignums() == open_before


def test_a_fine_fingerprint_is_summed_into_coarser_cells() -> None:
    counts = np.ones((401, 3))
    counts[400, 2] = 7  # the last, partial block keeps its units
    fine = {
        "turnout_edges": np.linspace(0, 1, 402).tolist(),
        "share_edges": [0.0, 0.3, 0.6, 1.0],
        "counts": counts.tolist(),
    }
    svg = fingerprint_svg(fine)
    assert svg is not None
    desc = ET.fromstring(svg).find(f"{SVG}desc")
    assert desc is not None
    assert desc.text is not None
    assert "A heat map of 1,209 units" in desc.text
    assert "134 × 3 cells" in desc.text  # 401 rows summed in blocks of 3 (MAX_BINS = 200)
    assert "from 2 to 8 units per cell" in desc.text  # last block: rows 399-400, 1 + 7 = 8
