"""Every route of the web console × every role: allowed, or refused with 403 (or sent to sign in).

The examples below fill each route's path parameters on the sample season;
a route without an example fails the test, so a new page cannot slip in
unchecked. What each role may do is ``placement.accounts.RIGHTS``; the
expectations here are written out by hand from the issue, not read from it.
"""

from __future__ import annotations

import pytest
from starlette.routing import Mount, Route

from placement.web.app import create_app
from tests.helpers.web import season_fixture, season_template_fixture, signed_in, token_on  # noqa: F401  (the fixtures)

PUBLIC = {"/healthz", "/login"}

# path template -> a concrete path on the sample season
EXAMPLES = {
    "/": "/",
    "/cohort": "/cohort",
    "/logout": "/logout",
    "/rounds": "/rounds",
    "/rounds/{number:int}": "/rounds/1",
    "/rounds/{number:int}/placements.{fmt}": "/rounds/1/placements.csv",
    "/rounds/{number:int}/approve": "/rounds/1/approve",
    "/rounds/{number:int}/revoke": "/rounds/1/revoke",
    "/rounds/{number:int}/audit": "/rounds/1/audit?edition=publication",
    "/rounds/diff": "/rounds/diff?a=1&b=1",
    "/hosts/{host_id}": "/hosts/RX4?round=1",
    "/log": "/log",
    "/offers": "/offers",
    "/offers/answer": "/offers/answer",
    "/offers/import": "/offers/import",
    "/offers/correct": "/offers/correct",
    "/candidates": "/candidates",
    "/candidates/{candidate_id}": "/candidates/C001",
    "/candidates/{candidate_id}/explain": "/candidates/C001/explain",
    "/candidates/{candidate_id}/withdraw": "/candidates/C001/withdraw",
    "/import": "/import",
    "/solve": "/solve",
    "/solve/jobs/{job_id}": "/solve/jobs/none",
    "/solve/jobs/{job_id}/cancel": "/solve/jobs/none/cancel",
    "/scenarios": "/scenarios",
    "/scenarios/jobs/{job_id}": "/scenarios/jobs/none",
    "/scenarios/jobs/{job_id}/cancel": "/scenarios/jobs/none/cancel",
    "/scenarios/jobs/{job_id}/comparison.{fmt}": "/scenarios/jobs/none/comparison.html",
}

# What the issue says each role may do: coordinator everything; equality lead reads everything and the
# internal audit edition, changes nothing; viewer reads rounds and the publication edition only.
CHANGES = {"/cohort": False, "/logout": False}  # choosing a cohort and signing out are anyone's
# A scenario comparison stores nothing: an equality lead may run (and cancel) one.
CHANGES |= {"/scenarios": False, "/scenarios/jobs/{job_id}/cancel": False}
# explain and a scenario comparison re-solve, and a comparison's relative likelihoods are figures on special
# categories: not for a viewer.
SCENARIOS = {
    "/scenarios",
    "/scenarios/jobs/{job_id}",
    "/scenarios/jobs/{job_id}/cancel",
    "/scenarios/jobs/{job_id}/comparison.{fmt}",
}
INTERNAL_ONLY = {"/log", "/candidates/{candidate_id}/explain"} | SCENARIOS
COORDINATOR_ONLY = {"/import", "/solve", "/solve/jobs/{job_id}"}  # importing and solving are the coordinator's


def allowed(role: str, template: str, method: str) -> bool:
    if role == "coordinator":
        return True
    if template in COORDINATOR_ONLY:
        return False
    if template in INTERNAL_ONLY:
        return role == "equality-lead" and not (method == "POST" and CHANGES.get(template, True))
    return not (method == "POST" and CHANGES.get(template, True))


def routes(engine) -> list[tuple[str, str]]:
    out = []
    for route in create_app(engine).routes:
        if isinstance(route, Mount) or not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append((route.path, method))
    return out


def test_every_route_has_an_example_and_a_guard(season) -> None:
    app = create_app(season)
    for route in app.routes:
        if isinstance(route, Route) and route.path not in PUBLIC:
            assert route.path in EXAMPLES, f"add an example for {route.path}"
            assert hasattr(route.endpoint, "right") or route.path == "/logout", f"{route.path} has no page(right)"


def test_signed_out_every_page_redirects_to_sign_in(season) -> None:
    from tests.helpers.web import client_for

    client = client_for(season)
    for template, method in routes(season):
        if template in PUBLIC or template == "/logout":
            continue
        response = client.request(method, EXAMPLES[template], follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), (template, method)


@pytest.mark.parametrize("username,role", [("coord", "coordinator"), ("lead", "equality-lead"), ("viewer", "viewer")])
def test_route_by_role(season, username, role) -> None:
    client = signed_in(season, username)
    token = token_on(client, "/")
    seen = []
    for template, method in routes(season):
        if template in PUBLIC or template == "/logout":
            continue
        path = EXAMPLES[template]
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        ok = allowed(role, template, method)
        if ok:
            # Allowed: the page answers (a form sent empty may be refused as bad input, never as forbidden).
            assert response.status_code in (200, 303, 400, 404), (role, method, template, response.status_code)
            if response.status_code == 303:
                assert not response.headers["location"].startswith("/login"), (role, template)
        else:
            assert response.status_code == 403, (role, method, template, response.status_code)
        seen.append((template, method, ok))
    assert len(seen) >= 20


def test_viewer_never_gets_the_internal_audit_edition(season) -> None:
    viewer = signed_in(season, "viewer")
    assert viewer.get("/rounds/1/audit?edition=internal").status_code == 403
    assert viewer.get("/rounds/1/audit?edition=internal&format=json").status_code == 403
    assert viewer.get("/rounds/1/audit?format=json").json()["edition"] == "publication"
    assert viewer.get("/rounds/1/audit").status_code == 200
    assert signed_in(season, "lead").get("/rounds/1/audit?format=json").json()["edition"] == "internal"
    lead = signed_in(season, "lead").get("/rounds/1/audit")
    assert lead.status_code == 200
    # The report's own page has inline styles but may run no script at all.
    assert "script-src" not in lead.headers["content-security-policy"]
    assert "default-src 'none'" in lead.headers["content-security-policy"]


def test_forms_need_the_csrf_token_on_every_post_route(season) -> None:
    client = signed_in(season, "coord")
    for template, method in routes(season):
        if method != "POST" or template in PUBLIC:
            continue
        response = client.post(EXAMPLES[template], data={"csrf_token": "forged"}, follow_redirects=False)
        assert response.status_code == 403, template
        response = client.post(EXAMPLES[template], data={}, follow_redirects=False)
        assert response.status_code == 403, template
