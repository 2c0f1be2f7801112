"""The HTML report as a person sees it: rendered by headless Chromium through Playwright.

Playwright cannot download its own browsers here, so the tests drive the
system's Chromium: ``/usr/bin/chromium`` unless ``TALLYGUARD_CHROMIUM`` names
another. Without it the tests skip, except on CI (``CI=true``), which installs
Chromium and must run them. The full-page screenshot is kept under pytest's
``tmp_path`` and, when ``TALLYGUARD_ARTIFACTS`` names a folder, copied there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tallyguard.audit.workflow.result import AuditResult
from tallyguard.report import audit_report_html

from .results import polling_result

CHROMIUM = os.environ.get("TALLYGUARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI installs Chromium, so the browser tests must run there")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(
            f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) or point "
            "TALLYGUARD_CHROMIUM at one"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def keep(path: Path) -> None:
    """Copy an artifact to ``TALLYGUARD_ARTIFACTS`` when it is set."""
    folder = os.environ.get("TALLYGUARD_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(folder) / path.name)


def open_report(browser: Any, result: AuditResult, path: Path) -> tuple[Any, Any, list[str]]:
    """Open the report of ``result`` from a file; returns (context, page, problems seen)."""
    path.write_text(audit_report_html(result), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda r: None if r.url == path.as_uri() else problems.append(f"request {r.url}"),
    )
    page.goto(path.as_uri())
    return context, page, problems


def test_report_renders_in_chromium(browser: Any, comparison: AuditResult, tmp_path: Path) -> None:
    from PIL import Image

    context, page, problems = open_report(browser, comparison, tmp_path / "audit-report.html")
    try:
        shot = tmp_path / "audit-report-comparison.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)

        plot = page.locator("svg.risk-plot")
        box = plot.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 200
        assert page.get_by_role("img", name="Risk of each assertion").count() == 1

        verdicts = page.get_by_test_id("verdict")
        assert verdicts.count() == 2
        assert verdicts.first.is_visible()
        assert "Governor" in verdicts.first.inner_text()
        assert "Outcome confirmed" in verdicts.first.inner_text()
        assert "Not confirmed yet" in verdicts.nth(1).inner_text()
        assert page.get_by_test_id("seed").inner_text() == comparison.seed

        sample_rows = page.locator("table.sample tbody tr")
        assert sample_rows.count() == len(comparison.sample)
        assert problems == []
    finally:
        context.close()

    with Image.open(shot) as image:
        width, height = image.size
        assert width >= 800
        assert height > 900  # a long page, captured in full
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # None: more colours than that


def test_escaped_names_stay_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    context, page, problems = open_report(
        browser, polling_result(mayor=evil), tmp_path / "audit-report.html"
    )
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        assert page.locator("script").count() == 0
        assert page.locator("img").count() == 0
        heading = page.get_by_test_id("verdict").first.locator("h3")
        assert heading.inner_text() == evil
        assert dialogs == []
        assert problems == []
    finally:
        context.close()
