"""The HTML audit report: self-contained, escaped, accessible, saying what it shows."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from tallyguard.audit.workflow.result import AuditResult
from tallyguard.report.audit_html import audit_report_html, format_risk

from .results import (
    COMPARISON_SEED,
    batch_result,
    comparison_result,
    polling_result,
    unfinished_result,
)

EVIL = "<script>alert(1)</script>"


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def comparison_html() -> str:
    return audit_report_html(comparison_result())


@pytest.fixture(
    scope="module", params=[polling_result, comparison_result, batch_result, unfinished_result]
)
def any_html(request: pytest.FixtureRequest) -> str:
    """The report of each hand-built result, rendered once for the tests that only read it."""
    return audit_report_html(request.param())


def test_contest_names_are_escaped() -> None:
    html = audit_report_html(polling_result(mayor=EVIL, choice="<b>Alice</b>"))
    assert EVIL not in html
    assert "<b>Alice</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = Page(html)
    assert page.all("script") == []
    assert EVIL in page.plain  # shown to the reader as text


def test_no_external_resources_and_no_javascript(any_html: str) -> None:
    html = any_html
    page = Page(html)
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = attrs.get(name) or ""
            assert "http" not in value
            assert "//" not in value
        assert not any(name.startswith("on") for name in attrs)
    assert page.all("script") == []
    assert page.all("link") == []
    assert page.all("iframe") == []
    assert "@import" not in html
    for name in ("href", "xlink:href"):  # only references within the page
        assert all((attrs.get(name) or "#").startswith("#") for _, attrs in page.tags)
    for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html):
        assert target.startswith("#"), target  # the plot's clip paths, nothing else
    assert "javascript:" not in html


def test_contains_the_inline_plot(comparison_html: str) -> None:
    page = Page(comparison_html)
    svgs = page.all("svg")
    assert len(svgs) == 1
    assert svgs[0]["role"] == "img"
    assert "State comparison audit" in (svgs[0]["aria-label"] or "")
    assert '<title id="risk-plot-title">' in comparison_html


def test_no_plot_before_anything_is_audited(unfinished: AuditResult) -> None:
    fresh = replace(
        unfinished,
        seed=None,
        rounds=(),
        sample=(),
        assertions=tuple(replace(a, p_values=(), p_value=1.0) for a in unfinished.assertions),
    )
    page = Page(audit_report_html(fresh))
    assert page.all("svg") == []
    assert "Nothing to plot yet" in page.plain
    assert "No random seed has been set yet" in page.plain
    assert "No round has been drawn yet." in page.plain


def test_accessible_structure(any_html: str) -> None:
    page = Page(any_html)
    html_tag = page.all("html")
    assert html_tag == [{"lang": "en"}]
    assert page.headings[0] == 1
    assert page.headings.count(1) == 1
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    for attrs in page.all("th"):
        assert attrs.get("scope") in {"col", "row"}
    assert len(page.all("caption")) == len(page.all("table"))
    assert page.all("title")  # the page's <title> (and the plot's, when there is one)


def test_verdicts(comparison_html: str) -> None:
    page = Page(comparison_html)
    verdicts = [a for a in page.all("article") if "verdict" in (a.get("class") or "")]
    assert [a["class"] for a in verdicts] == ["verdict confirmed", "verdict not-confirmed"]
    text = page.plain
    assert "Governor Outcome confirmed risk 0.03142 ≤ risk limit 0.05" in text
    assert "Library Board Not confirmed yet risk 1 > risk limit 0.05" in text
    assert "Every targeted contest is confirmed at risk limit 5%." in text


def test_unfinished_is_not_confirmed_and_says_what_next(unfinished: AuditResult) -> None:
    text = Page(audit_report_html(unfinished)).plain
    assert "Not every targeted contest is confirmed at risk limit 10% yet." in text
    assert "Mayor Not confirmed yet risk 0.5787 > risk limit 0.1" in text
    assert "This is not evidence that the outcome is wrong" in text
    assert "Round 1: 6 of 10 sampled cards still need readings." in text
    assert "No contest is confirmed yet." in text


def test_says_what_the_audit_shows_and_does_not(comparison_html: str) -> None:
    text = Page(comparison_html).plain
    assert (
        "if its reported outcome (who won) were wrong, the chance that this audit would "
        "have confirmed it anyway is at most the risk limit, 0.05 (5%)"
    ) in text
    assert f"public random seed {COMPARISON_SEED} with Rivest's consistent sampler" in text
    assert "tallyguard verify" in text
    assert "That every vote was counted correctly." in text
    assert "Anything about contests not listed in this report" in text
    assert "Stark & Wagner 2012, “Evidence-based elections”" in text
    assert "That an unconfirmed contest has the wrong outcome." in text


def test_settings_rounds_assertions_and_discrepancies(comparison_html: str) -> None:
    text = Page(comparison_html).plain
    assert "Random seed " + COMPARISON_SEED in text
    assert "Risk method ALPHA" in text
    assert "Kind ballot-level comparison" in text
    assert "1 Governor 6 6 0.2135 no" in text
    assert "2 Governor 14 14 0.03142 yes" in text
    assert "Governor Governor: Carol beats Dave 0.2 0.03142 yes 14" in text
    assert "Library Board Library Board: Ann beats Ed 0.49 0.04998 yes 14" in text
    assert "2 discrepancies, reported result first, audited second." in text
    assert "3 1 Baker County TAB-2 Batch 13 10 2-13-10 Governor Carol BLANK +1" in text
    assert "9 2 Baker County TAB-2 Batch 11 28 Governor Dave Carol -2" in text


def test_every_sampled_ballot_is_listed(comparison: AuditResult, comparison_html: str) -> None:
    page = Page(comparison_html)
    sample_rows = comparison_html.split('<table class="sample">')[1].split("</table>")[0]
    assert sample_rows.count("<tr>") == 1 + len(comparison.sample)
    for draw in comparison.sample:
        assert draw.ticket in page.plain


def test_batch_and_polling_wording(batch: AuditResult, polling: AuditResult) -> None:
    batch_text = Page(audit_report_html(batch)).plain
    assert "Sampled batches" in batch_text
    assert "each sampled batch was counted by hand" in batch_text
    assert "Population 12 batches" in batch_text
    polling_text = Page(audit_report_html(polling)).plain
    assert "no cast vote records to compare against" in polling_text
    assert "58 of the 60 cards in the manifest carry this contest" in polling_text
    assert "Opportunistic contest" in polling_text


@pytest.mark.parametrize(
    ("value", "limit", "text"),
    [
        (0.031415926535897934, 0.05, "0.03142"),
        (0.050004, 0.05, "0.050004"),
        (0.0499999, 0.05, "0.0499999"),
        (0.05, 0.05, "0.05"),
        (1.0, 0.05, "1"),
        (0.0, 0.05, "0"),
    ],
)
def test_risks_are_never_rounded_onto_the_limit(value: float, limit: float, text: str) -> None:
    assert format_risk(value, limit) == text
