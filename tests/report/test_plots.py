"""The risk plot: deterministic, accessible inline SVG that leaves matplotlib's state alone."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import matplotlib
import pytest

from tallyguard.audit.workflow.result import AuditResult
from tallyguard.report.plots import LABELLED_ASSERTIONS, plotted_contests, risk_plot_svg

from .results import comparison_result, polling_result

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def comparison_svg() -> str:
    """The comparison audit's plot, drawn once for the tests that only read it."""
    svg = risk_plot_svg(comparison_result())
    assert svg is not None
    return svg


def comments(svg: str) -> list[str]:
    """The texts matplotlib draws, which it also writes as XML comments."""
    return re.findall(r"<!-- (.*?) -->", svg)


def test_byte_identical_across_calls(comparison: AuditResult, comparison_svg: str) -> None:
    assert risk_plot_svg(comparison) == comparison_svg


def test_inline_svg_with_title_and_label(comparison_svg: str) -> None:
    svg = comparison_svg
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg
    assert "<!DOCTYPE" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "State comparison audit" in (root.get("aria-label") or "")
    assert root.get("viewBox")
    assert root.get("width") is None  # the page's CSS sets the size
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    assert title.text.startswith("Risk of each assertion against ballot cards audited")
    assert root.find(f"{SVG}desc") is not None
    assert root.find(f"{SVG}metadata") is None


def test_one_panel_per_contest_with_rounds_and_limit(comparison_svg: str) -> None:
    svg = comparison_svg
    texts = comments(svg)
    assert "Governor" in texts
    assert "Library Board" in texts
    assert texts.count("risk limit 0.05") == 2
    assert texts.count("end of round 1") == 2
    assert texts.count("end of round 2") == 2
    assert "ballot cards audited (in sample order)" in texts


def test_only_the_tightest_assertions_are_named(comparison_svg: str) -> None:
    svg = comparison_svg
    named = [t for t in comments(svg) if t.startswith(("Ann beats", "Ben beats"))]
    # Six assertions: the four smallest margins are named, two are grey.
    assert named == [
        "Ben beats Cy (margin 0.04)",
        "Ann beats Cy (margin 0.12)",
        "Ben beats Di (margin 0.22)",
        "Ann beats Di (margin 0.3)",
    ]
    assert len(named) == LABELLED_ASSERTIONS
    assert "2 other assertions" in comments(svg)


def test_the_riskiest_assertion_is_always_named(comparison: AuditResult) -> None:
    # Make a wide-margin assertion the one that sets the contest's risk.
    assertions = tuple(
        replace(a, p_value=1.0, p_values=(1.0,) * len(a.p_values))
        if a.assertion == "Library Board: Ann beats Ed"
        else a
        for a in comparison.assertions
    )
    svg = risk_plot_svg(replace(comparison, assertions=assertions))
    assert svg is not None
    assert "Ann beats Ed (margin 0.49)" in comments(svg)


def test_batch_axis_counts_batches(batch: AuditResult) -> None:
    svg = risk_plot_svg(batch)
    assert svg is not None
    assert "batches audited (in sample order)" in comments(svg)


def test_nothing_to_plot_before_the_first_audited_draw(unfinished: AuditResult) -> None:
    fresh = replace(
        unfinished,
        assertions=tuple(replace(a, p_values=()) for a in unfinished.assertions),
    )
    assert plotted_contests(fresh) == []
    assert risk_plot_svg(fresh) is None


def test_names_are_escaped_and_not_parsed_as_tex() -> None:
    result = polling_result(mayor="<script>alert(1)</script> $5 & $6 bond", choice="_Alice")
    svg = risk_plot_svg(result)
    assert svg is not None
    assert "<script>" not in svg
    ET.fromstring(svg)  # still well-formed XML
    assert "_Alice beats Bob (margin 0.267)" in comments(svg)  # a leading "_" is kept


def test_p_value_zero_is_drawn(polling: AuditResult) -> None:
    mayor = replace(
        polling.assertions[0], p_value=0.0, p_values=(*polling.assertions[0].p_values[:-1], 0.0)
    )
    svg = risk_plot_svg(replace(polling, assertions=(mayor, polling.assertions[1])))
    assert svg is not None


def test_matplotlib_state_is_untouched(comparison: AuditResult, comparison_svg: str) -> None:
    before = dict(matplotlib.rcParams)
    with matplotlib.rc_context({"lines.linewidth": 7.0, "svg.hashsalt": "user"}):
        styled = risk_plot_svg(comparison)
        assert matplotlib.rcParams["lines.linewidth"] == 7.0
        assert matplotlib.rcParams["svg.hashsalt"] == "user"
    assert dict(matplotlib.rcParams) == before
    assert styled == comparison_svg  # the user's style does not leak in either


def test_pyplot_is_not_used(batch: AuditResult) -> None:
    pyplot = pytest.importorskip("matplotlib.pyplot")
    open_before = pyplot.get_fignums()
    risk_plot_svg(batch)
    assert pyplot.get_fignums() == open_before
