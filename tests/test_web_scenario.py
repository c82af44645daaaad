"""Scenario comparison in the console: started by a coordinator or an equality lead, run in a background process
(the server keeps answering), shown side by side with the library's figures, logged under the account, and
never open to a viewer (its relative likelihoods are figures on special categories)."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from placement.db.models import AuditLog
from placement.db.session import transaction
from placement.scenario import compare_scenarios
from tests.helpers.web import season_fixture, season_template_fixture, signed_in, token_on  # noqa: F401  (the fixtures)

VARIANTS = ["no targets", "objective=generous"]


def post(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": token_on(client, "/"), **data}, follow_redirects=False)


def wait(client, url: str, seconds: float = 240) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get(url).text
        if "<h1>Scenario comparison: running" not in page:
            return page
        time.sleep(0.5)
    raise AssertionError(f"the comparison at {url} did not finish in {seconds} s")


def logs(engine, action: str) -> list[AuditLog]:
    with transaction(engine) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        for r in rows:
            s.expunge(r)
        return rows


def cells(page: str, measure: str) -> list[str]:
    row = re.search(rf'<tr><th scope="row">{measure}</th>(.*?)</tr>', page, re.S)
    assert row, measure
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_a_comparison_runs_in_the_background_and_shows_the_librarys_figures(season) -> None:
    client = signed_in(season, "coord")
    started = post(client, "/scenarios", {"base": "1", "variants": "\n".join(VARIANTS) + "\n\n", "edition": "internal"})
    assert started.status_code == 303
    url = started.headers["location"].split("?")[0]
    assert client.get("/rounds/1").status_code == 200  # the server answers while the variants are solved
    page = wait(client, url)
    assert "<h1>Scenario comparison: done" in page, page[-3000:]
    expected = compare_scenarios(season, 1, VARIANTS, workers=1)
    columns = expected["variants"]
    assert cells(page, "Placed") == [
        f"{c['summary']['placed']} ({c['headline']['placement_rate'] * 100:.1f}%)" for c in columns
    ]
    assert cells(page, "Blocking pairs") == [str(c["summary"]["blocking_pairs"]) for c in columns]
    assert [c.split(":")[0] for c in cells(page, "Would move")] == ["–"] + [
        str(c["moved_summary"]["moved"]) for c in columns[1:]
    ]
    assert "OFFICIAL-SENSITIVE" in page
    shown = logs(season, "scenario")[-1]
    assert shown.os_user == "web:coord" and "shown in the web console" in shown.detail
    assert "“no targets”" in shown.detail
    # The library's own page (charts) and its JSON, each delivery logged; the page runs no script.
    full = client.get(f"{url}/comparison.html")
    assert full.status_code == 200 and "script-src" not in full.headers["content-security-policy"]
    data = client.get(f"{url}/comparison.json")
    assert data.json()["edition"] == "internal" and "attachment" in data.headers["content-disposition"]
    assert "downloaded from the web console" in logs(season, "scenario")[-1].detail
    assert url.rsplit("/", 1)[1] in client.get("/scenarios").text  # listed among the recent comparisons
    assert client.get(url.replace("/scenarios/", "/solve/")).status_code == 404  # not a solve


def test_an_equality_lead_compares_the_publication_edition(season) -> None:
    lead = signed_in(season, "lead")
    started = post(lead, "/scenarios", {"base": "1", "variants": "no targets", "edition": "publication"})
    url = started.headers["location"].split("?")[0]
    page = wait(lead, url)
    assert "<h1>Scenario comparison: done" in page and "OFFICIAL-SENSITIVE" not in page
    comparison = lead.get(f"{url}/comparison.json").json()
    assert comparison["edition"] == "publication"
    # Each relative likelihood carries the library's verdict, or "not flagged" as the library's own page says
    # where the publication edition names no flag (not a blank that reads as "not assessed").
    for i, rl in enumerate(comparison["variants"][0]["relative_likelihoods"]):
        measure = re.escape(f"Relative likelihood: {rl['label']}, {rl['outcome'].replace('_', ' ')}")
        shown = cells(page, measure)
        for col, cell in zip(comparison["variants"], shown):
            if col["solved"]:
                assert cell.endswith(col["relative_likelihoods"][i]["verdict"] or "not flagged"), (measure, cell)
    assert logs(season, "scenario")[-1].os_user == "web:lead"


def test_a_viewer_cannot_compare(season) -> None:
    lead = signed_in(season, "lead")
    url = (
        post(lead, "/scenarios", {"base": "1", "variants": "no targets", "edition": "publication"})
        .headers["location"]
        .split("?")[0]
    )
    viewer = signed_in(season, "viewer")
    assert "/scenarios" not in viewer.get("/").text.split("</nav>")[0]
    for path in ("/scenarios", url, f"{url}/comparison.html", f"{url}/comparison.json"):
        assert viewer.get(path).status_code == 403, path
    assert (
        post(viewer, "/scenarios", {"base": "1", "variants": "no targets", "edition": "publication"}).status_code == 403
    )
    assert post(viewer, f"{url}/cancel", {}).status_code == 403
    wait(lead, url)


def test_mistakes_link_to_the_field_and_nothing_starts(season) -> None:
    client = signed_in(season, "coord")
    empty = post(client, "/scenarios", {"base": "", "variants": " \n", "edition": "nope"})
    assert empty.status_code == 400
    assert all(f'href="#{f}"' in empty.text for f in ("base", "variants", "edition"))
    unread = post(client, "/scenarios", {"base": "1", "variants": "no targets\nfrobnicate <b>", "edition": "internal"})
    assert unread.status_code == 400 and 'href="#variants"' in unread.text
    assert "frobnicate &lt;b&gt;" in unread.text and "<b>" not in unread.text.split('id="variants"')[1]
    assert "frobnicate" in unread.text.split("</textarea>")[0].rsplit(">", 1)[1]  # kept as typed
    assert "<td>running</td>" not in client.get("/scenarios").text
    # A variant the library reads but the round refuses (no such target): the job says why.
    url = (
        post(client, "/scenarios", {"base": "1", "variants": "drop no-such-target", "edition": "internal"})
        .headers["location"]
        .split("?")[0]
    )
    page = wait(client, url)
    assert "<h1>Scenario comparison: failed" in page and "no-such-target" in page


def test_a_comparison_can_be_cancelled(season) -> None:
    client = signed_in(season, "coord")
    url = (
        post(client, "/scenarios", {"base": "1", "variants": "no targets\nstability=strict", "edition": "internal"})
        .headers["location"]
        .split("?")[0]
    )
    assert post(client, f"{url}/cancel", {}).status_code == 303
    page = wait(client, url, seconds=60)
    assert "<h1>Scenario comparison: cancelled" in page
    cancelled = logs(season, "scenario")[-1]
    assert "cancelled" in cancelled.detail and cancelled.os_user == "web:coord"
    assert post(client, f"{url}/cancel", {}).status_code == 400
