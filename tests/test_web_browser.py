"""A whole season in headless Chromium as a coordinator, from an empty database and the sample fixtures, with a
screenshot of every page; a viewer cannot reach what it must not; no page logs a console error or a CSP
violation.

Drives Debian's /usr/bin/chromium through Playwright (its own browser download is never used). Screenshots go
to the test's tmp dir, and are copied to $PLACEMENT_SCREENSHOTS when that is set.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from placement.accounts import add_user
from placement.db.migrate import upgrade
from placement.db.session import make_engine
from tests.helpers.web import PASSWORD, SAMPLE, Served

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is not installed"),
]

IMPORT_ORDER = ["hosts", "candidates", "preferences", "host_rankings", "targets", "pairs"]


class Browser:
    """One signed-in browser tab with screenshots and a record of console errors."""

    def __init__(self, context, base: str, shots: Path):
        self.page = context.new_page()
        self.base = base
        self.shots = shots
        self.problems: list[str] = []
        self.taken: list[Path] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def _console(self, message) -> None:
        # A form sent with mistakes answers 400 on purpose (the page shows the error summary): Chromium logs
        # that as a failed load. Anything else (a 404, a CSP violation, a script error) is a problem.
        if (
            message.type in ("error", "warning")
            and "status of 400" not in message.text
            and "status of 403" not in message.text
        ):
            self.problems.append(message.text)

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        path = self.shots / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.go("/login")
        self.page.get_by_label("Account name").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_selector("h1")

    def flash(self) -> str:
        return self.page.locator(".notice").first.inner_text()

    def h1(self) -> str:
        return self.page.locator("h1").first.inner_text()


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'season.db'}"
    engine = make_engine(url)
    upgrade(engine)
    add_user(engine, "coord", "coordinator", PASSWORD, full_name="Casey Coordinator")
    add_user(engine, "viewer", "viewer", PASSWORD, full_name="Vic Viewer")
    engine.dispose()
    with Served(url) as served:
        yield served


@pytest.fixture
def chromium():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    keep = os.environ.get("PLACEMENT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in folder.iterdir():
            shutil.copyfile(shot, Path(keep) / f"web-{shot.name}")


def wait_for_solve(b: Browser) -> str:
    # The job page refreshes itself every 2 s while the solve runs.
    # The job page reloads itself every 2 s: between two loads there may be no <h1> yet, so wait on.
    b.page.wait_for_function(
        "() => { const h = document.querySelector('h1'); return h !== null && !h.innerText.includes('running'); }",
        timeout=240_000,
    )
    return b.h1()


def test_a_season_in_the_browser(server, chromium, shots) -> None:
    b = Browser(chromium.new_context(viewport={"width": 1280, "height": 900}), server.url, shots)
    # Sign-in errors: the summary is focused and links to the field.
    b.go("/login")
    b.page.get_by_role("button", name="Sign in").click()
    # autofocus takes effect when the new page is rendered, which may come after the click returns.
    b.page.wait_for_function("() => document.activeElement?.classList.contains('error-summary')", timeout=10_000)
    assert b.page.locator('.error-summary a[href="#username"]').count() == 1
    b.shot("login-errors")
    # Keyboard only: Tab from the top reaches the skip link first, then the form.
    b.go("/login")
    b.page.keyboard.press("Tab")
    assert b.page.evaluate("document.activeElement.textContent") == "Skip to main content"
    b.page.get_by_label("Account name").focus()
    b.page.keyboard.type("coord")
    b.page.keyboard.press("Tab")
    b.page.keyboard.type(PASSWORD)
    b.page.keyboard.press("Enter")
    b.page.wait_for_selector("h1")
    assert b.h1().startswith("Season")
    b.shot("season-empty")

    # Import: a bad file first (every row error in a table, nothing written), then the sample, checked then imported.
    bad = shots.parent / "bad-hosts.csv"
    bad.write_text(
        "host_id,name,org_type,region,capacity,specialisms,min_score,min_placements\n"
        "H1,One,acute,Atlantis,2,data,,\nH2,Two,acute,London,-3,data,,\n"
    )
    b.go("/import")
    b.page.get_by_label("What the file holds").select_option("hosts")
    b.page.get_by_label("File (CSV").set_input_files(str(bad))
    b.page.get_by_role("button", name="Check the file").click()
    assert b.page.locator("#row-errors tbody tr").count() >= 2
    b.shot("import-row-errors")
    for kind in IMPORT_ORDER:
        b.go("/import")
        b.page.get_by_label("What the file holds").select_option(kind)
        b.page.get_by_label("File (CSV").set_input_files(str(SAMPLE / f"{kind}.csv"))
        b.page.get_by_role("button", name="Check the file").click()
        assert "ready to import" in b.page.locator("#checked-title").inner_text()
        if kind == "hosts":
            b.shot("import-checked")
        b.page.locator("#import-now").click()
        assert f"Imported {kind}.csv" in b.flash()
    b.shot("import-done")

    # Solve round 1 in the background, follow it, review, approve as the signed-in account.
    b.go("/solve")
    b.shot("solve-form")
    b.page.get_by_label("Time limit (seconds)").fill("30")
    b.page.get_by_role("button", name="Start the solve").click()
    b.shot("solve-running")
    assert wait_for_solve(b) == "Solve: done"
    b.shot("solve-done")
    b.page.get_by_role("link", name="Review round 1").click()
    b.shot("round-by-candidate")
    b.page.get_by_role("link", name="By host").click()
    b.shot("round-by-host")
    b.page.get_by_role("link", name="Unplaced").first.click()
    b.shot("round-unplaced")
    b.go("/rounds/1")
    assert "you, Casey Coordinator (coord)" in b.page.locator("#approve-title + p").inner_text()
    b.page.locator("#approve").click()
    assert "approved by Casey Coordinator (coord)" in b.flash()
    b.shot("round-approved")

    # Offers: answers by button, a correction with a reason.
    b.go("/offers")
    b.shot("offers")
    rows = b.page.locator("tbody tr")
    first = rows.nth(0).locator("td").first.inner_text()
    rows.nth(0).get_by_role("button", name="Accepted").click()
    assert f"{first}'s offer" in b.flash() and "accepted" in b.flash()
    second = b.page.locator("tbody tr").nth(0).locator("td").first.inner_text()
    b.page.locator("tbody tr").nth(0).get_by_role("button", name="Declined").click()
    assert "declined" in b.flash()
    b.page.get_by_label("Candidate id", exact=True).fill(first)
    b.page.get_by_label("Release the offer").check()
    b.page.get_by_label("Reason", exact=True).fill("failed pre-employment checks")
    b.page.get_by_role("button", name="Make the correction").click()
    assert "released" in b.flash()
    b.shot("offers-after-answers")

    # A candidate, with explain in plain words.
    b.go(f"/candidates/{second}")
    b.shot("candidate")
    b.page.get_by_role("link", name="Explain their placement").click()
    b.page.wait_for_selector("pre.explain", timeout=240_000)
    b.shot("candidate-explain")

    # The audit report (internal edition for a coordinator) and the audit log naming the account.
    b.go("/rounds/1/audit")
    b.shot("audit-internal")
    b.go("/log")
    assert "web:coord" in b.page.locator("table").inner_text()
    b.shot("audit-log")

    # Round 2 with the answers so far; then sign out.
    b.go("/solve")
    b.page.get_by_label("Time limit (seconds)").fill("30")
    b.page.get_by_role("button", name="Start the solve").click()
    assert wait_for_solve(b) == "Solve: done"
    b.shot("solve-round-2")
    # The sample's hard career-changer target and the offers still open conflict: the diagnosis names the
    # offers to release; release the first it names (a correction with a reason) and solve again.
    named = re.search(r"placement offer release (\S+) --reason", b.page.locator("main").inner_text())
    if named:
        b.go("/offers")
        b.page.get_by_label("Candidate id", exact=True).fill(named.group(1))
        b.page.get_by_label("Release the offer").check()
        b.page.get_by_label("Reason", exact=True).fill("the solve's diagnosis: frees the conflicting target")
        b.page.get_by_role("button", name="Make the correction").click()
        assert "released" in b.flash()
        b.go("/solve")
        b.page.get_by_label("Time limit (seconds)").fill("30")
        b.page.get_by_role("button", name="Start the solve").click()
        assert wait_for_solve(b) == "Solve: done"
    assert b.page.get_by_role("link", name="Review round 2").count() == 1, b.page.locator("main").inner_text()

    # Two rounds side by side (from the rounds list), then a host's page from the round's by-host tab.
    b.go("/rounds")
    b.page.get_by_role("link", name="Compare two rounds").click()
    assert b.h1() == "Compare two rounds" and "Round 1 → round 2" in b.page.locator("#moves").inner_text()
    b.shot("round-diff")
    b.go("/rounds/diff?a=2&b=2")
    assert b.page.locator('.error-summary a[href="#b"]').count() == 1
    b.go("/rounds/2?by=host")
    b.page.get_by_role("table", name="Places by host").locator("tbody a").first.click()
    assert "In round 2" in b.page.locator("#in-round").inner_text()
    b.shot("host")

    # A scenario comparison: in the background like a solve, then side by side.
    b.go("/scenarios")
    b.page.get_by_label("Round", exact=True).select_option("1")
    b.page.get_by_label("Variants, one a line").fill("no targets\nobjective=generous")
    b.page.get_by_label("Publication", exact=False).check()
    b.shot("scenario-form")
    b.page.get_by_role("button", name="Compare").click()
    assert wait_for_solve(b) == "Scenario comparison: done"
    assert b.page.locator("#comparison-table thead th").count() == 4  # measure, the round, two variants
    b.shot("scenario-done")
    b.page.get_by_role("link", name="The full comparison, with charts").click()
    b.shot("scenario-full-page")
    b.go("/")
    b.shot("season-after")
    b.page.get_by_role("button", name="Sign out").click()
    assert b.h1() == "Sign in"
    assert b.problems == [], b.problems
    assert len(b.taken) >= 23 and all(p.stat().st_size > 5000 for p in b.taken)


def test_a_viewer_cannot_reach_what_it_must_not(server, chromium, shots) -> None:
    coord = Browser(chromium.new_context(), server.url, shots)
    coord.sign_in("coord")
    for kind in IMPORT_ORDER:  # a round to look at, through the pages
        coord.go("/import")
        coord.page.get_by_label("What the file holds").select_option(kind)
        coord.page.get_by_label("File (CSV").set_input_files(str(SAMPLE / f"{kind}.csv"))
        coord.page.get_by_role("button", name="Check the file").click()
        coord.page.locator("#import-now").click()
    coord.go("/solve")
    coord.page.get_by_role("button", name="Start the solve").click()
    wait_for_solve(coord)

    b = Browser(chromium.new_context(), server.url, shots)
    b.sign_in("viewer")
    nav = b.page.get_by_role("navigation", name="Main").inner_text()
    assert "Import" not in nav and "Solve" not in nav and "Audit log" not in nav
    assert "Scenarios" not in nav
    for path in ("/import", "/solve", "/log", "/rounds/1/audit?edition=internal", "/scenarios"):
        response = b.go(path)
        assert response.status == 403, path
        assert b.h1() == "You cannot do this"
    b.shot("viewer-forbidden")
    b.go("/rounds/1")
    assert b.page.locator("#approve").count() == 0
    b.shot("viewer-round")
    b.go("/rounds/1/audit")
    b.shot("viewer-audit-publication")
    b.go("/rounds/1?by=host")
    b.page.get_by_role("table", name="Places by host").locator("tbody a").first.click()
    assert "In round 1" in b.page.locator("#in-round").inner_text()
    b.shot("viewer-host")
    assert b.problems == [], b.problems
