"""A whole two-round comparison audit in Chromium, by the people who run it.

The admin signs in, creates audit Z, adds jurisdictions J01 and J02 and their
managers; each manager signs in with the temporary password read off the page,
uploads their manifest and CVRs through the file inputs and creates an audit
board; the admin adds the contest Governor, sets the seed, opens the plan and
starts round 1 with 8 cards; each board joins on its own device (a fresh browser
context) and records what the simulated paper ballots show. Governor's reported
margin (145 to 101 of 268 cards) needs more than 8 clean cards at a 10% risk
limit, so round 1 ends at risk 0.4996 and round 2 (28 cards in all) confirms it
at 0.0796. The admin finishes the audit and downloads the bundle, which verifies.

Every page visited is checked: one ``h1``, a ``lang``, a label for every form
field, no console error, no page error, no Content-Security-Policy violation, and
no violation of WCAG 2.2 A/AA that axe-core finds (contrast, names, landmarks,
headings, ARIA; axe comes from package-lock.json and is injected by the browser,
not served).
One ballot is entered with the keyboard only (Tab, Space, Enter). With htmx
installed (``make`` does it), ballot forms are sent in the background and the
next ballot swapped in: no page of a board's round reloads, and the admin's open
rounds page follows the boards' progress by itself. Screenshots go
under ``tmp_path`` or ``$TALLYGUARD_ARTIFACTS/browser-audit``. Chromium comes from
the system, as in ``tests/report/test_browser.py``, whose fixture this reuses.
"""

from __future__ import annotations

import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tallyguard.evidence import verify_bundle
from tallyguard.simulate.boards import Paper, paper_ballots
from tallyguard.web import render, routes_rounds
from tallyguard.web.admin import create_admin
from tests.report.test_browser import browser
from tests.web.live_server import live_server
from tests.web.test_files import PLACES, Upload, upload

__all__ = ["browser", "upload"]  # the fixtures this module borrows

ADMIN = "admin@example.org"
ADMIN_PASSWORD = "a long admin passphrase"
SEED = "31415926535897932384"
AUDIT = "Z"
CONTEST = "Governor"
ROUND_SIZES = (8, 28)  # cumulative
RISKS = ("0.4996", "0.0796")  # Governor's risk after each round, as the rounds page shows it

#: Records the page's CSP violations (the script is injected by the browser, not the page).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile);
});
"""
#: Arms a flag that htmx raises once it has swapped in and settled the next page.
ARM_SETTLED = """() => {
  window.__settled = false;
  document.addEventListener('htmx:afterSettle', () => { window.__settled = true; }, {once: true});
}"""
#: axe-core, the accessibility engine (a development package in package-lock.json).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: Runs axe on the page: the WCAG 2.0–2.2 A and AA rules; a violation reads
#: "rule (impact): selector, selector".
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
  });
  return result.violations.map((v) => `${v.id} (${v.impact}): ` +
    v.nodes.map((n) => n.target.join(' ')).join(', '));
}"""
#: Whether htmx runs on the page (the Makefile installs it from package-lock.json).
HTMX = render.HTMX.is_file()
#: How often the admin's open pages poll the audit's status, in seconds.
POLL_SECONDS = 1

#: What the accessibility pass reads off the DOM.
A11Y = """() => ({
  lang: document.documentElement.lang,
  h1: document.querySelectorAll('h1').length,
  unlabelled: Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length > 0))
    .map((el) => el.outerHTML),
  fields: document.querySelectorAll('input:not([type=hidden]), select, textarea').length,
  csp: window.__cspViolations || [],
})"""


@dataclass
class Shots:
    """Where screenshots go, and how many pages passed the accessibility pass."""

    folder: Path
    taken: list[Path] = field(default_factory=list)
    pages: set[str] = field(default_factory=set)
    fields: int = 0
    inspected: int = 0


@dataclass
class Person:
    """One browser context (a device) and its page, with every problem it reported."""

    who: str
    context: Any
    page: Any
    shots: Shots
    problems: list[str] = field(default_factory=list)
    boosted: int = 0  # forms sent by htmx

    def goto(self, path: str) -> None:
        """Open ``path`` (or a full URL) and check the page."""
        self.page.goto(path)
        self.inspect()

    def inspect(self) -> None:
        """The accessibility pass on the current page; every page visited goes through it."""
        page = self.page
        page.wait_for_load_state("load")
        found = page.evaluate(A11Y)
        where = f"{self.who} on {page.url}"
        assert found["lang"] == "en", where
        assert found["h1"] == 1, where
        assert found["unlabelled"] == [], where
        assert found["csp"] == [], where
        if AXE.is_file():
            assert page.evaluate(AXE_RUN) == [], where
        assert self.problems == [], where
        self.shots.pages.add(re.sub(r"/[0-9a-f.]{12,}", "/…", page.url.split("?")[0]))
        self.shots.fields += int(found["fields"])
        self.shots.inspected += 1

    def check(self, name: str) -> None:
        """A full-page screenshot of the current page (checked when it loaded)."""
        page = self.page
        assert self.problems == [], f"{self.who} on {page.url}"
        shot = self.shots.folder / f"{len(self.shots.taken) + 1:02d}-{self.who}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        self.shots.taken.append(shot)


def open_person(browser: Any, who: str, shots: Shots, base: str) -> Person:
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": 800})
    context.add_init_script(CSP_LISTENER)
    if AXE.is_file():
        context.add_init_script(path=AXE)
    page = context.new_page()
    person = Person(who, context, page, shots)
    page.on(
        "console",
        lambda m: (
            person.problems.append(f"{m.text} ({m.location.get('url')})")
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: person.problems.append(str(error)))
    page.on(
        "response",
        lambda r: person.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return person


def press(person: Person, control: Any, key: str | None = None) -> None:
    """Click a link or submit button (or press ``key`` on it), wait for the page it leads
    to, whether loaded or swapped in by htmx, and check that page."""
    page = person.page
    boosted = control.evaluate("(el) => !!(window.htmx && el.closest('[hx-boost=true]'))")
    act = (lambda: page.keyboard.press(key)) if key else control.click
    if boosted:
        person.boosted += 1
        page.evaluate(ARM_SETTLED)
        act()
        page.wait_for_function("() => window.__settled === true", timeout=15_000)
    else:
        with page.expect_navigation():
            act()
    person.inspect()


def button(person: Person, name: str | re.Pattern[str]) -> None:
    press(person, person.page.get_by_role("button", name=name, exact=isinstance(name, str)))


def link(person: Person, name: str) -> None:
    press(person, person.page.get_by_role("link", name=name))


def sign_in(person: Person, email: str, password: str) -> None:
    person.goto("/login")
    person.check("login")
    person.page.get_by_label("Email").fill(email)
    person.page.get_by_label("Password").fill(password)
    button(person, "Sign in")


def facts(page: Any) -> dict[str, str]:
    """The ``dt``/``dd`` pairs of the page's first fact list."""
    pairs: list[list[str]] = page.evaluate(
        """() => Array.from(document.querySelectorAll('dl.facts dt')).map(
             (dt) => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()])"""
    )
    return {pair[0]: pair[1] for pair in pairs}


def risk_row(page: Any) -> list[str]:
    """Governor's row of the status table: contest, targeted, winners, audited, risk, confirmed."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=CONTEST, exact=True))
    cells: list[str] = row.get_by_role("cell").all_inner_texts()
    return cells


def tab_to(page: Any, target: str, limit: int = 60) -> int:
    """Press Tab until the element with id ``target`` has focus; returns the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == target:
            return presses
    raise AssertionError(f"Tab never reached #{target}")


def record_ballots(
    board: Person, paper: Paper, number: int, *, keyboard: bool
) -> list[tuple[str, int]]:
    """Step through the board's open ballots and record the paper; returns (batch, position)."""
    page = board.page
    board.goto(f"/audits/{AUDIT}/board/ballots")
    board.check("ballots")
    progress = page.locator("#progress").inner_text()
    found = re.fullmatch(rf"Round {number}: 0 of (\d+) ballots recorded\.", progress)
    assert found is not None, progress
    total = int(found.group(1))
    enter = page.get_by_role("link", name=re.compile(r"^Enter ballot "))
    assert enter.count() == total > 0
    press(board, enter.first)
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if a page loads
    boosted = board.boosted
    recorded: list[tuple[str, int]] = []
    for n in range(total):
        assert page.evaluate("() => document.activeElement.tagName") == "H1"
        shown = facts(page)
        card = (shown["Jurisdiction"], shown["Batch"], int(shown["Position in batch"]))
        assert shown["Status"] == "not yet recorded"
        marks = paper[card][CONTEST]
        assert len(marks) <= 1  # the simulation has no overvotes in Governor
        if keyboard and n == 0:
            # Keyboard only: Tab from the top of the page to the mark, Space, Tab on to Enter.
            if marks:
                choice = page.get_by_label(marks[0], exact=True).get_attribute("id")
            else:
                choice = "c0-result-blank"
            presses = tab_to(page, choice)
            assert presses >= 2  # from the heading past the list link to the mark
            page.keyboard.press("Space")
            assert page.locator(f"#{choice}").is_checked()
            if not marks:
                assert not page.locator("#c0-result-vote").is_checked()
            tab_to(page, "c0-comment")
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.type") == "submit"
            board.check("ballot-keyboard")
            press(
                board, page.get_by_role("button", name=re.compile(r"^Record ballot ")), key="Enter"
            )
        else:
            if marks:
                page.get_by_label(marks[0], exact=True).check()
            else:
                page.get_by_label("Blank (no choice marked)").check()
            if n == 0:
                board.check("ballot")
            button(board, re.compile(r"^Record ballot "))
        assert page.get_by_role("status").inner_text().endswith(": recorded.")
        recorded.append(card[1:])
    assert page.url.endswith("outcome=recorded")
    # With htmx every ballot was sent in the background and the page never reloaded.
    assert board.boosted - boosted == (total if HTMX else 0)
    assert page.evaluate("() => window.__sameDocument === true") is HTMX
    assert page.locator("#progress").inner_text() == (
        f"Round {number}: {total} of {total} ballots recorded."
    )
    board.check("ballots-done")
    return recorded


def finish_round(admin: Person, number: int) -> list[str]:
    page = admin.page
    admin.goto(f"/admin/audits/{AUDIT}/rounds")
    button(admin, f"Finish round {number}")
    page.wait_for_url(re.compile(r"/rounds$"))
    assert page.get_by_role("heading", name=f"Round {number} (finished)").count() == 1
    admin.check(f"round-{number}-finished")
    return risk_row(page)


def test_a_two_round_audit_in_chromium(
    browser: Any,
    upload: Upload,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.environ.get("CI") == "true" and not (AXE.is_file() and HTMX):
        pytest.fail("CI installs htmx and axe-core (make runs npm ci); they are missing")
    began = time.monotonic()
    monkeypatch.setattr(routes_rounds, "PLAN_REPS", 200)
    artifacts = os.environ.get("TALLYGUARD_ARTIFACTS")
    folder = Path(artifacts) / "browser-audit" if artifacts else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots of the browser audit: {folder}")
    shots = Shots(folder)
    paper = paper_ballots(upload.election)
    db_url = f"sqlite:///{tmp_path / 'audits.db'}"
    assert create_admin(db_url, ADMIN, ADMIN_PASSWORD) == ADMIN

    with live_server(db_url, poll_seconds=POLL_SECONDS) as base:
        people: list[Person] = []
        try:
            # The admin creates the audit and the two jurisdictions with their managers.
            admin = open_person(browser, "admin", shots, base)
            people.append(admin)
            page = admin.page
            sign_in(admin, ADMIN, ADMIN_PASSWORD)
            page.wait_for_url(re.compile(r"/admin$"))
            admin.check("audits")
            page.get_by_label("Name").fill(AUDIT)
            page.get_by_label("Election").fill("Simulated General Election")
            page.get_by_label("Kind").select_option("comparison")
            page.get_by_label("Risk limit").fill("0.1")
            button(admin, "Create the audit")
            page.wait_for_url(re.compile(f"/admin/audits/{AUDIT}$"))
            admin.check("audit")
            passwords: dict[str, str] = {}
            for place in PLACES:
                page.get_by_label("Jurisdiction", exact=True).fill(place)
                page.get_by_label("Manager's email").fill(f"{place.lower()}@example.org")
                button(admin, "Add")
                assert page.get_by_role("heading", level=1).inner_text() == (
                    f"Jurisdiction {place} added"
                )
                admin.check(f"manager-{place}")
                passwords[place] = page.locator("code.secret").inner_text().strip()
                assert len(passwords[place]) >= 12
                link(admin, f"Back to {AUDIT}")
            rows = page.locator("section[aria-labelledby=jurisdictions-heading] tbody tr")
            assert rows.all_inner_texts() == [
                f"{p}\t{p.lower()}@example.org New temporary password\t" for p in PLACES
            ], rows.all_inner_texts()

            # Each manager uploads their files and creates an audit board.
            joins: dict[str, tuple[str, str]] = {}
            for place in PLACES:
                manager = open_person(browser, f"manager-{place}", shots, base)
                people.append(manager)
                mpage = manager.page
                sign_in(manager, f"{place.lower()}@example.org", passwords[place])
                # A temporary password: the manager chooses their own first.
                mpage.wait_for_url(re.compile("/account/password$"))
                manager.check("change-password")
                own = f"{place} manager's own password"
                mpage.get_by_label("Current password").fill(passwords[place])
                mpage.get_by_label("New password (at least 12 characters)").fill(own)
                mpage.get_by_label("New password again").fill(own)
                button(manager, "Change the password")
                assert (
                    mpage.get_by_role("status")
                    .inner_text()
                    .startswith("Your password was changed.")
                )
                link(manager, "Continue to your start page")
                mpage.wait_for_url(re.compile(f"/audits/{AUDIT}/jurisdictions/{place}$"))
                manager.check("jurisdiction")
                link(manager, "Upload the ballot manifest")
                manager.check("files")
                mpage.get_by_label("Manifest CSV").set_input_files(upload.manifest[place])
                button(manager, "Load the manifest")
                assert mpage.get_by_role("status").inner_text() == "The manifest file is loaded."
                mpage.get_by_label("CVR export").set_input_files(upload.cvrs[place])
                assert mpage.get_by_label("Format").input_value() == "auto"
                button(manager, "Load the CVRs")
                assert mpage.get_by_role("status").inner_text() == "The cvrs file is loaded."
                cards = sum(1 for card in paper if card[0] == place)
                assert facts(mpage)["Ballot cards"] == str(cards)
                manager.check("files-loaded")
                link(manager, "Jurisdiction page")
                mpage.get_by_label("Board name").fill(f"Board {place}")
                mpage.get_by_label("First member").fill("Ann Lee")
                mpage.get_by_label("Second member").fill("Bo Diaz")
                button(manager, "Create the board")
                manager.check("board-created")
                shown = facts(mpage)
                joins[place] = (shown["Join link"], shown["Passphrase"])
                assert joins[place][0].startswith(f"{base}/board/join/")
                manager.context.close()

            # The admin adds the contest, sets the seed, reads the plan, starts round 1.
            admin.goto(f"/admin/audits/{AUDIT}")
            link(admin, "Contests, seed and rounds")
            admin.check("rounds-setup")
            contests = upload.election / "contests.json"
            page.get_by_label("contests.json with the reported results").set_input_files(contests)
            page.get_by_label("Contest names, one per line").fill(CONTEST)
            button(admin, "Add the contests")
            assert risk_row(page)[:3] == [CONTEST, "yes", "Alice Avery"]
            link(admin, "The seed: dice-roll ceremony")
            admin.check("seed-ceremony")
            page.get_by_label("The digits rolled").fill(SEED[:10] + " " + SEED[10:])
            button(admin, "Set the seed and freeze the inputs")
            assert page.get_by_role("status").inner_text() == (
                f"The seed is set: {SEED}. The inputs are frozen; publish the seed with the "
                "digests below."
            )
            admin.check("seed-set")
            link(admin, "Back to the rounds")
            link(admin, "Sample-size options")
            page.wait_for_url(re.compile(r"/plan$"))
            admin.check("plan")
            sizes = [
                int(s) for s in page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
            ]
            assert len(sizes) == 3
            assert sizes == sorted(sizes)
            assert sizes[0] > ROUND_SIZES[0]  # round 1 is deliberately too small
            page.get_by_label("Cumulative sample size").fill(str(ROUND_SIZES[0]))
            button(admin, "Start the round")
            page.wait_for_url(re.compile(r"/rounds$"))
            admin.check("round-1")

            # Each board joins on its own device and records round 1.
            boards: dict[str, Person] = {}
            recorded: dict[str, list[tuple[str, int]]] = {}
            for place in PLACES:
                board = open_person(browser, f"board-{place}", shots, base)
                people.append(board)
                boards[place] = board
                join_link, passphrase = joins[place]
                board.goto(join_link)
                board.check("join")
                board.page.get_by_label("Passphrase").fill(passphrase)
                button(board, "Join")
                board.page.wait_for_url(re.compile(f"/audits/{AUDIT}/board$"))
                board.check("board")
                recorded[place] = record_ballots(board, paper, 1, keyboard=place == PLACES[0])
            assert sum(len(r) for r in recorded.values()) == ROUND_SIZES[0]

            # Round 1 falls short of the risk limit: a second round.
            assert finish_round(admin, 1) == [
                CONTEST, "yes", "Alice Avery", str(ROUND_SIZES[0]), RISKS[0], "no",
            ]  # fmt: skip
            page.get_by_label("Cumulative sample size").fill(str(ROUND_SIZES[1]))
            button(admin, "Start the round")
            page.wait_for_url(re.compile(r"/rounds$"))
            admin.check("round-2")
            page.evaluate("() => { window.__sameDocument = true; }")  # gone if a page loads
            for place in PLACES:
                more = record_ballots(boards[place], paper, 2, keyboard=False)
                assert not set(more) & set(recorded[place])
                recorded[place] += more
            assert sum(len(r) for r in recorded.values()) == ROUND_SIZES[1]
            if HTMX:
                # The rounds page, open since round 2 began, shows the boards' work by itself.
                deadline = time.monotonic() + 10 * POLL_SECONDS
                while risk_row(page)[3] != str(ROUND_SIZES[1]):
                    assert time.monotonic() < deadline, risk_row(page)
                    page.wait_for_timeout(200)
                assert page.evaluate("() => window.__sameDocument === true")
                admin.check("round-2-live")
            assert finish_round(admin, 2) == [
                CONTEST, "yes", "Alice Avery", str(ROUND_SIZES[1]), RISKS[1], "yes",
            ]  # fmt: skip

            # The admin finishes the audit and downloads the bundle.
            button(admin, re.compile("^Finish the audit"))
            page.wait_for_url(re.compile(r"/rounds$"))
            assert facts(page)["State"] == "finished"
            admin.check("finished")
            with page.expect_download() as download:
                page.get_by_role("link", name="Verification bundle (ZIP)").click()
            zipped = tmp_path / "bundle.zip"
            download.value.save_as(zipped)
            assert download.value.suggested_filename.endswith(".zip")
            assert admin.problems == []
        finally:
            for person in people:
                person.context.close()

    unpacked = tmp_path / "bundle"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(unpacked)
    verified = verify_bundle(unpacked)
    assert verified.ok, verified.discrepancies
    readings = (unpacked / "inputs" / "readings.csv").read_text(encoding="utf-8").splitlines()
    assert len(readings) == 1 + ROUND_SIZES[1]  # one Governor reading per card, and a header

    assert len(shots.taken) == len(set(shots.taken)) >= 30
    assert all(shot.stat().st_size > 5_000 for shot in shots.taken)
    elapsed = time.monotonic() - began
    print(
        f"{len(shots.taken)} screenshots; {shots.inspected} page loads of {len(shots.pages)} "
        f"distinct pages checked ({shots.fields} form fields, axe-core "
        f"{'on' if AXE.is_file() else 'absent'}) in {elapsed:.1f} s"
    )


def test_the_accessibility_probe_finds_what_it_looks_for(browser: Any) -> None:
    """axe, as the audit test runs it, names an unlabelled field and a missing language."""
    if not AXE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("CI installs axe-core (make runs npm ci); it is missing")
        pytest.skip(f"axe-core is not installed ({AXE.name} absent; run make)")
    context = browser.new_context()
    try:
        context.add_init_script(path=AXE)
        page = context.new_page()
        page.set_content("<html><head><title>t</title></head><body><main><h1>t</h1>"
                         '<input type="text" name="q"></main></body></html>')  # fmt: skip
        found = page.evaluate(AXE_RUN)
    finally:
        context.close()
    assert [line.split(" ")[0] for line in found] == ["html-has-lang", "label"]
    assert found[1] == "label (critical): input"
