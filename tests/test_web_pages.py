"""The round diff and host pages: what they show is the library's answer (``diff_rounds``, ``show_host``,
``show_round``), their forms' mistakes come back as an error summary linking to the field, and names are
escaped."""

from __future__ import annotations

import re

from sqlalchemy import update

from placement.db.models import Candidate, Host
from placement.rounds import RoundOptions, record_response, solve_round
from placement.views import diff_rounds, show_round
from tests.helpers.web import season_fixture, season_template_fixture, signed_in  # noqa: F401  (the fixtures)

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>']


def second_round(engine) -> str:
    """Round 2 after one candidate of round 1 declines: that candidate is no longer placed."""
    first = sorted(p.candidate_id for p in show_round(engine, 1).placements)[0]
    record_response(engine, first, "decline")
    solve_round(engine, RoundOptions(time_limit=20))
    return first


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>")[-1].split("</tbody>")[0]
    return re.findall(r'<tr><td><a href="/candidates/([^"]+)">', body)


def test_round_diff_lists_the_librarys_moves(season) -> None:
    declined = second_round(season)
    expected = diff_rounds(season, 1, 2)
    client = signed_in(season, "viewer")  # a viewer reads rounds: the diff has no special category data
    page = client.get("/rounds/diff?a=1&b=2")
    assert page.status_code == 200
    assert rows_of(page.text) == [m.candidate_id for m in expected.moves]
    assert f"At the same host</dt><dd>{expected.same}</dd>" in page.text
    gone = client.get("/rounds/diff?a=1&b=2&kind=no+longer+placed").text
    assert declined in rows_of(gone)
    assert set(rows_of(gone)) == {m.candidate_id for m in expected.moves if m.after is None}
    assert next(m.why for m in expected.moves if m.candidate_id == declined).replace("'", "&#39;") in gone
    # Without a choice the page compares the newest round with the one it continues.
    assert rows_of(client.get("/rounds/diff").text) == rows_of(page.text)


def test_round_diff_mistakes_link_to_the_field(season) -> None:
    second_round(season)
    client = signed_in(season, "coord")
    same = client.get("/rounds/diff?a=2&b=2")
    assert same.status_code == 400 and '<a href="#b">Choose two different rounds</a>' in same.text
    assert 'aria-describedby="b-error"' in same.text
    missing = client.get("/rounds/diff?a=&b=2")
    assert missing.status_code == 400 and 'href="#a"' in missing.text
    unknown = client.get("/rounds/diff?a=1&b=9")
    assert unknown.status_code == 404 and "There is no round 9" in unknown.text and 'href="#a"' in unknown.text


def test_host_page_shows_who_is_placed_there_in_a_round(season) -> None:
    view = show_round(season, 1)
    host = max(view.hosts, key=lambda h: h.placed)
    client = signed_in(season, "lead")
    round_page = client.get("/rounds/1?by=host").text
    assert f'href="/hosts/{host.host_id}?round=1"' in round_page  # linked from the round's by-host tab
    page = client.get(f"/hosts/{host.host_id}?round=1")
    assert page.status_code == 200
    assert rows_of(page.text) == [p.candidate_id for p in view.placements if p.host_id == host.host_id]
    assert f"<dt>Places</dt><dd>{host.capacity}</dd>" in page.text
    assert f"<dt>Empty</dt><dd>{host.empty}</dd>" in page.text
    # Targets on the host's region (the sample's women-per-region) are shown with the round's figures.
    region_target = next(t for t in view.targets if t["scope"] == f"region={host.region}")
    assert f"<td>{region_target['name']}</td><td>region={host.region}</td>" in page.text
    assert "<td>cohort</td>" not in page.text  # cohort-wide targets are the round page's
    assert client.get("/hosts/NO-SUCH-HOST").status_code == 404
    bad_round = client.get(f"/hosts/{host.host_id}?round=9")
    assert bad_round.status_code == 404 and 'href="#round"' in bad_round.text


def test_hostile_names_on_the_diff_and_host_pages_are_escaped(season) -> None:
    moved = second_round(season)
    host = show_round(season, 1).placements[0].host_id
    with season.begin() as conn:
        conn.execute(update(Candidate).where(Candidate.candidate_id == moved).values(given_name=HOSTILE[0]))
        conn.execute(update(Host).where(Host.host_id == host).values(name=HOSTILE[1]))
    for username in ("coord", "viewer"):
        client = signed_in(season, username)
        for path in (
            "/rounds/diff?a=1&b=2",
            f"/hosts/{host}?round=1",
            "/rounds/diff?a=1&b=2&q=%3Cscript%3E",
            "/rounds/diff?a=%22%3E%3Cimg&b=2",
            "/rounds/1?by=host",
        ):
            html = client.get(path).text
            assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/rounds/diff?a=1&b=2").text
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in client.get(f"/hosts/{host}?round=1").text


def test_every_reason_form_has_one_shape(season) -> None:
    """Withdraw, revoke and correct (``pages.with_reason``): an empty reason is named at its field; a refusal by
    the library comes back with the reason as typed; nothing changes."""
    from tests.helpers.web import token_on

    client = signed_in(season, "coord")
    token = token_on(client, "/")
    cid = show_round(season, 1).placements[0].candidate_id
    forms = [
        (f"/candidates/{cid}/withdraw", "reason", {}),
        ("/rounds/1/revoke", "reason", {}),
        ("/offers/correct", "correct_reason", {"correct_candidate_id": cid, "action": "release"}),
    ]
    for path, field, extra in forms:
        empty = client.post(path, data={"csrf_token": token, field: "  ", **extra})
        assert empty.status_code == 400 and f'<a href="#{field}">' in empty.text, path
    refused = client.post(
        "/offers/correct",
        data={
            "csrf_token": token,
            "correct_candidate_id": "NO-SUCH",
            "action": "release",
            "correct_reason": "typed <b>reason</b>",
        },
    )
    assert refused.status_code == 400 and 'href="#correct_candidate_id"' in refused.text
    assert "typed &lt;b&gt;reason&lt;/b&gt;</textarea>" in refused.text
    both = client.post("/offers/correct", data={"csrf_token": token, "correct_candidate_id": "", "action": "x"})
    assert all(f'href="#{f}"' in both.text for f in ("correct_candidate_id", "correct_action", "correct_reason"))
    assert show_round(season, 1).state == "approved"  # the revoke without a reason changed nothing
    assert "withdrawn" not in client.get(f"/candidates/{cid}").text.split("</h1>")[0]


def test_show_host_with_the_cohorts_encoding_is_show_host(season) -> None:
    """The host page passes the cached encoding (``encoded=``): the view is the one show_host makes alone."""
    from placement.season import encoding_now, show_host

    encoded = encoding_now(season)
    for host in show_round(season, 1).hosts:
        assert show_host(season, host.host_id, encoded=encoded) == show_host(season, host.host_id)
