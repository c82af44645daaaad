"""A season's operations over HTTP: each page calls the library and the database agrees; every change names
the signed-in account; errors come back as a summary linking to the field; hostile names are escaped."""

from __future__ import annotations

import re
import time

from sqlalchemy import select, update

from placement.db.models import AuditLog, Candidate, Placement, Round, SeasonEvent
from placement.db.session import transaction
from tests.helpers.web import season_fixture, season_template_fixture, signed_in, token_on  # noqa: F401  (the fixtures)


def offers(engine, number: int) -> dict[str, str]:
    with transaction(engine) as s:
        rows = s.execute(
            select(Candidate.candidate_id, Placement.offer_status)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Round, Round.id == Placement.round_id)
            .where(Round.number == number)
        ).all()
    return dict(rows)


def last_log(engine, action: str) -> AuditLog:
    with transaction(engine) as s:
        found = s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc())).first()
        assert found is not None
        s.expunge(found)
        return found


def post(client, path: str, data: dict, files=None):
    return client.post(path, data={"csrf_token": token_on(client, "/"), **data}, files=files, follow_redirects=False)


def wait_for_job(client, url: str, seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get(url).text
        if "<h1>Solve: running" not in page:
            return page
        time.sleep(0.5)
    raise AssertionError(f"the solve at {url} did not finish in {seconds} s")


def test_answers_and_corrections_name_the_account(season) -> None:
    client = signed_in(season, "coord")
    offered = sorted(c for c, st in offers(season, 1).items() if st == "offered")
    first, second, third = offered[:3]
    page = client.get("/offers").text
    assert first in page and 'name="answer" value="accept"' in page
    assert post(client, "/offers/answer", {"candidate_id": first, "answer": "accept"}).status_code == 303
    assert post(client, "/offers/answer", {"candidate_id": second, "answer": "decline"}).status_code == 303
    assert offers(season, 1)[first] == "accepted" and offers(season, 1)[second] == "declined"
    assert last_log(season, "decline").os_user == "web:coord"
    # A second answer is refused with the library's message, in the error summary.
    again = post(client, "/offers/answer", {"candidate_id": first, "answer": "decline"})
    assert again.status_code == 400 and 'class="error-summary"' in again.text
    # A correction needs a reason: the summary links to the field.
    missing = post(
        client, "/offers/correct", {"correct_candidate_id": first, "action": "decline", "correct_reason": ""}
    )
    assert missing.status_code == 400 and 'href="#correct_reason"' in missing.text
    changed = post(
        client,
        "/offers/correct",
        {"correct_candidate_id": first, "action": "decline", "correct_reason": "phoned back: declines after all"},
    )
    assert changed.status_code == 303 and offers(season, 1)[first] == "declined"
    released = post(
        client,
        "/offers/correct",
        {"correct_candidate_id": third, "action": "release", "correct_reason": "failed pre-employment checks"},
    )
    assert released.status_code == 303 and offers(season, 1)[third] == "released"
    with transaction(season) as s:
        events = s.execute(
            select(SeasonEvent.action, SeasonEvent.os_user, SeasonEvent.reason).where(
                SeasonEvent.action.in_(["change", "release"])
            )
        ).all()
    assert {(a, u) for a, u, _ in events} == {("change", "web:coord"), ("release", "web:coord")}
    shown = client.get(f"/candidates/{first}").text
    assert "phoned back: declines after all" in shown and "web:coord" in shown


def test_withdraw_a_candidate_with_a_reason(season) -> None:
    client = signed_in(season, "coord")
    cid = sorted(c for c, st in offers(season, 1).items() if st == "offered")[0]
    assert post(client, f"/candidates/{cid}/withdraw", {"reason": ""}).status_code == 400
    assert post(client, f"/candidates/{cid}/withdraw", {"reason": "left the scheme"}).status_code == 303
    assert offers(season, 1)[cid] == "released"
    assert "withdrawn" in client.get(f"/candidates/{cid}").text


def test_solve_in_the_background_then_approve_as_the_account_and_revoke(season) -> None:
    client = signed_in(season, "coord")
    # Offers outstanding: the next round holds them and places whom it can (the infeasible case shows its
    # diagnosis on the same page: see test_an_infeasible_solve_shows_its_diagnosis).
    bad = post(
        client,
        "/solve",
        {"objective": "rank-sum", "stability": "none", "decline_policy": "host", "engine": "auto", "time_limit": "abc"},
    )
    assert bad.status_code == 400 and 'href="#time_limit"' in bad.text
    started = post(
        client,
        "/solve",
        {"objective": "rank-sum", "stability": "none", "decline_policy": "host", "engine": "auto", "time_limit": "20"},
    )
    assert started.status_code == 303
    job_url = started.headers["location"].split("?")[0]
    assert client.get("/").status_code == 200  # the server answers while the solve runs
    page = wait_for_job(client, job_url)
    assert "<h1>Solve: done" in page and "Round 2 is a proposal" in page, page[-3000:]
    round_page = client.get("/rounds/2").text
    assert "you, Coordinator Person (coord)" in round_page
    approve_form = re.search(r'<form method="post" action="/rounds/2/approve">(.*?)</form>', round_page, re.S).group(1)
    assert re.findall(r'name="([^"]+)"', approve_form) == ["csrf_token"]  # never a typed name
    # Even a forged field does not change who is recorded.
    assert post(client, "/rounds/2/approve", {"by": "Someone Else"}).status_code == 303
    with transaction(season) as s:
        assert s.scalar(select(Round.approved_by).where(Round.number == 2)) == "Coordinator Person (coord)"
    assert last_log(season, "approve").os_user == "web:coord"
    assert post(client, "/rounds/2/revoke", {"reason": ""}).status_code == 400
    assert post(client, "/rounds/2/revoke", {"reason": "approved too early"}).status_code == 303
    with transaction(season) as s:
        assert s.scalar(select(Round.state).where(Round.number == 2)) == "proposal"


def test_an_infeasible_solve_shows_its_diagnosis(season) -> None:
    client = signed_in(season, "coord")
    for cid, st in offers(season, 1).items():  # the sample's hard career-changer target cannot hold after these
        if st == "offered":
            post(client, "/offers/answer", {"candidate_id": cid, "answer": "decline" if cid < "C020" else "accept"})
    started = post(
        client,
        "/solve",
        {"objective": "rank-sum", "stability": "none", "decline_policy": "host", "engine": "auto", "time_limit": "20"},
    )
    page = wait_for_job(client, started.headers["location"].split("?")[0])
    assert "No round stored: INFEASIBLE" in page and "Relaxing any one of them removes this conflict" in page
    with transaction(season) as s:
        assert s.scalar(select(Round.number).order_by(Round.number.desc())) == 1


def test_a_solve_can_be_cancelled(season) -> None:
    client = signed_in(season, "coord")
    started = post(
        client,
        "/solve",
        {
            "objective": "rank-sum",
            "stability": "strict",
            "decline_policy": "host",
            "engine": "auto",
            "time_limit": "600",
        },
    )
    job_url = started.headers["location"].split("?")[0]
    assert post(client, f"{job_url}/cancel", {}).status_code == 303
    page = wait_for_job(client, job_url, seconds=60)
    assert "<h1>Solve: cancelled" in page
    with transaction(season) as s:
        assert s.scalar(select(Round.number).order_by(Round.number.desc())) == 1  # nothing stored
    assert "cancelled" in last_log(season, "solve").detail and last_log(season, "solve").os_user == "web:coord"
    assert post(client, f"{job_url}/cancel", {}).status_code == 400  # not running any more


def test_import_checks_first_and_lists_every_row_error(season) -> None:
    client = signed_in(season, "coord")
    header = (
        "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,"
        "willing_to_relocate,sex,ethnic_category,disability,career_changer,linked_with\n"
    )
    bad = header + (
        "N001,Ann,Lee,ann@example.org,abc,data,London,yes,female,A,no,no,\n"
        "N002,Bo,Ng,bo@example.org,70,data,Atlantis,yes,male,A,no,no,\n"
    )
    checked = post(
        client,
        "/import",
        {"kind": "candidates", "step": "check"},
        files={"data_file": ("new.csv", bad.encode(), "text/csv")},
    )
    assert checked.status_code == 400
    table = checked.text[checked.text.index('id="row-errors"') :]
    assert "assessment_score" in table and "home_region" in table and ">2<" in table and ">3<" in table
    with transaction(season) as s:
        assert s.scalar(select(Candidate.id).where(Candidate.candidate_id == "N001")) is None
    good = header + "N001,Ann,Lee,ann@example.org,71,data,London,yes,female,A,no,no,\n"
    checked = post(
        client,
        "/import",
        {"kind": "candidates", "step": "check"},
        files={"data_file": ("new.csv", good.encode(), "text/csv")},
    )
    assert (
        checked.status_code == 200 and "ready to import" in checked.text and "Nothing has been written" in checked.text
    )
    with transaction(season) as s:
        assert s.scalar(select(Candidate.id).where(Candidate.candidate_id == "N001")) is None
    token = re.search(r'name="token" value="([^"]+)"', checked.text).group(1)
    imported = post(client, "/import", {"kind": "candidates", "step": "import", "token": token})
    assert imported.status_code == 303
    with transaction(season) as s:
        assert s.scalar(select(Candidate.id).where(Candidate.candidate_id == "N001")) is not None
    assert last_log(season, "import").os_user == "web:coord"
    # The kept file is gone once imported: the same token imports nothing twice.
    again = post(client, "/import", {"kind": "candidates", "step": "import", "token": token})
    assert again.status_code == 400


def test_answers_by_upload_all_or_none(season) -> None:
    client = signed_in(season, "coord")
    offered = sorted(c for c, st in offers(season, 1).items() if st == "offered")
    bad = f"candidate_id,response\n{offered[0]},accept\n{offered[1]},Yes\nNOBODY,decline\n"
    response = post(client, "/offers/import", {}, files={"answers_file": ("answers.csv", bad.encode(), "text/csv")})
    assert response.status_code == 400 and 'id="row-errors"' in response.text
    assert offers(season, 1)[offered[0]] == "offered"
    good = f"candidate_id,response\n{offered[0]},accept\n{offered[1]},decline\n"
    response = post(client, "/offers/import", {}, files={"answers_file": ("answers.csv", good.encode(), "text/csv")})
    assert response.status_code == 303
    assert offers(season, 1)[offered[0]] == "accepted" and offers(season, 1)[offered[1]] == "declined"


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>']


def test_hostile_names_are_shown_escaped(season) -> None:
    placed = sorted(offers(season, 1))[:2]
    with season.begin() as conn:
        for cid, name in zip(placed, HOSTILE):
            conn.execute(update(Candidate).where(Candidate.candidate_id == cid).values(given_name=name))
    for username in ("coord", "viewer"):
        client = signed_in(season, username)
        for path in (
            "/rounds/1",
            "/offers?offer=",
            f"/candidates/{placed[0]}",
            f"/candidates/{placed[1]}",
            "/rounds/1?q=script",
            "/rounds/1?q=%22%3E%3Cimg",
        ):
            html = client.get(path).text
            assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/candidates/{placed[0]}").text
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in client.get(f"/candidates/{placed[1]}").text


def test_round_tables_filter_sort_and_page(season) -> None:
    client = signed_in(season, "viewer")
    page = client.get("/rounds/1?by=candidate&sort=choice&dir=desc").text
    choices = [int(x) for x in re.findall(r'<td class="num">(\d+)</td><td><span class="tag">', page)]
    assert choices == sorted(choices, reverse=True) and choices
    hosts = client.get("/rounds/1?by=host&flagged=1").text
    assert "Places by host" in hosts
    unplaced = client.get("/rounds/1?by=unplaced").text
    assert "Candidates left unplaced" in unplaced
    csv = client.get("/rounds/1/placements.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    assert "ethnic" not in csv.text.splitlines()[0]  # no special category data in a download
    assert last_log(season, "export").os_user == "web:viewer"
