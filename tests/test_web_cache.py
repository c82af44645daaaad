"""The web layer's per-process cache: a round table's filtered, sorted rows are computed once per (data, round,
tab, filter, sort) and paging re-uses them; a change of the data recomputes them; the candidate page's
per-candidate slice of the encoding says exactly what the whole encoding says."""

from __future__ import annotations

from sqlalchemy import select

from placement.db.models import Candidate
from placement.db.session import transaction
from placement.season import encoding_now, show_candidate
from placement.web import routes_candidates, routes_rounds
from tests.helpers.web import season_fixture, season_template_fixture, signed_in, token_on  # noqa: F401  (the fixtures)


def test_paging_a_sorted_filtered_table_sorts_once_until_the_data_changes(season, monkeypatch) -> None:
    computed: list[tuple] = []
    real = routes_rounds._rows

    def counting(view, tab, filters):
        computed.append((tab, filters["sort"], filters["dir"]))
        return real(view, tab, filters)

    monkeypatch.setattr(routes_rounds, "_rows", counting)
    client = signed_in(season, "coord")
    first = client.get("/rounds/1?by=candidate&sort=name&dir=desc&page=1")
    again = client.get("/rounds/1?by=candidate&sort=name&dir=desc&page=2")
    assert first.status_code == again.status_code == 200
    assert computed == [("candidate", "name", "desc")]  # page 2 is a slice of the kept rows
    client.get("/rounds/1?by=candidate&sort=name&dir=asc")
    client.get("/rounds/1?by=host&sort=nonsense")  # an unknown sort is the default, kept under the default
    client.get("/rounds/1?by=host")
    assert computed[1:] == [("candidate", "name", "asc"), ("host", "host", "asc")]
    offered = client.get("/rounds/1?by=candidate&offer=offered").text
    cid = next(c for c in sorted(candidate_ids(season)) if f">{c}<" in offered)
    assert (
        client.post(
            "/offers/answer",
            data={"csrf_token": token_on(client, "/offers"), "candidate_id": cid, "answer": "accept"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    before = len(computed)
    accepted = client.get("/rounds/1?by=candidate&offer=accepted").text
    assert f">{cid}<" in accepted and len(computed) == before + 1  # the answer changed the data: recomputed
    assert f">{cid}<" not in client.get("/rounds/1?by=candidate&offer=offered").text


def candidate_ids(engine) -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(Candidate.candidate_id)))


def test_one_candidates_slice_of_the_encoding_shows_what_the_whole_encoding_shows(season) -> None:
    whole = encoding_now(season)
    indexed = routes_candidates.encoding_index(season, None)
    assert any(indexed.dropped.values())  # the sample has dropped preferences: the check below means something
    for cid in candidate_ids(season):
        assert show_candidate(season, cid, encoded=routes_candidates._for_candidate(indexed, cid)) == show_candidate(
            season, cid, encoded=whole
        ), cid


def test_a_change_of_the_data_recomputes_the_open_round_in_the_background(season, monkeypatch) -> None:
    """keep_warm's step (pages.refresh): after answers change the data, the round a coordinator had open is
    computed again before anyone asks, so the next visitor is served it without computing it themselves."""
    from placement.web import pages

    shown: list[int] = []
    real = routes_rounds.show_round

    def counting(engine, number, *, cohort=None):
        shown.append(number)
        return real(engine, number, cohort=cohort)

    monkeypatch.setattr(routes_rounds, "show_round", counting)
    client = signed_in(season, "coord")
    state = client.app.state
    assert "offered" in client.get("/rounds/1").text and shown == [1]
    assert pages.refresh(state) == 0  # nothing changed: nothing to do
    cid = next(c for c in sorted(candidate_ids(season)) if f">{c}<" in client.get("/rounds/1?offer=offered").text)
    assert (
        client.post(
            "/offers/answer",
            data={"csrf_token": token_on(client, "/offers"), "candidate_id": cid, "answer": "accept"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    computed = len(shown)
    assert pages.refresh(state) >= 1 and shown[computed:] == [1]  # the stale round view, computed again
    page = client.get("/rounds/1?offer=accepted").text
    assert f">{cid}<" in page and len(shown) == computed + 1  # served warm: the visitor computed nothing


def test_the_audit_log_pages_read_by_the_database_are_the_newest_entries_in_order(season) -> None:
    """The log page reads one page with LIMIT/OFFSET: the pages, one after another, are the newest entries newest
    first, as a single read of them all gives, with the same filter."""
    import re

    from placement.auditlog import entries
    from placement.db.session import write_session
    from placement.rounds import log_action

    with write_session(season) as s:
        for i in range(120):
            log_action(s, "note" if i % 3 else "export", f"line {i}")
    client = signed_in(season, "coord")
    for action, wanted in (("", entries(season, limit=1000)), ("note", entries(season, actions=["note"], limit=1000))):
        pages = (len(wanted) + 49) // 50
        shown = []
        for page in range(1, pages + 2):  # one beyond the last: shows the last
            text = client.get(f"/log?action={action}&page={page}").text
            rows = re.findall(
                r"<tr><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", text
            )
            assert f"Page {min(page, pages)} of {pages}" in text
            if page <= pages:
                shown += rows
        assert shown == [(e.action, e.detail) for e in wanted], action


def test_one_hosts_slice_of_the_encoding_shows_what_the_whole_encoding_shows(season) -> None:
    from placement.db.models import Host
    from placement.season import show_host

    whole = encoding_now(season)
    indexed = routes_candidates.encoding_index(season, None)
    assert any(indexed.dropped_at.values())
    with transaction(season) as s:
        hosts = list(s.scalars(select(Host.host_id)))
    for hid in hosts:
        assert show_host(season, hid, encoded=routes_candidates.for_host(indexed, hid)) == show_host(
            season, hid, encoded=whole
        ), hid
