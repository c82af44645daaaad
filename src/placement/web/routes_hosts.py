"""A host organisation (``placement host show``): its record and places, and in a round its places, who is placed
there, its minimum and the targets on its scopes, and empty places while an eligible candidate was left
unplaced. Linked from a round's *by host* tab."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right, can
from ..errors import PlacementError
from ..masking import WITHHELD, is_special
from ..season import HostDetail, show_host
from ..solver.encode import scopes_of
from ..views import RoundView, list_rounds
from ..views import _target_json as target_json
from .auth import call, page, session
from .pages import cached, cohort_of, paginate, render
from .routes_candidates import encoding_index, for_host
from .routes_rounds import Facts, facts, load


@page(Right.READ)
async def host_page(request: Request) -> Response:
    host_id = request.path_params["host_id"]
    engine, cohort = request.app.state.engine, cohort_of(request)
    # The cohort's eligibility is encoded once per change of the data (shared with the candidate pages), not
    # once per host shown.
    indexed = await call(
        request, cached, request, ("encoding", cohort), lambda: encoding_index(engine, cohort), warm=True
    )
    detail: HostDetail = await call(
        request,
        cached,
        request,
        ("host", cohort, host_id),
        lambda: show_host(engine, host_id, cohort=cohort, encoded=for_host(indexed, host_id)),
    )
    rounds = await call(
        request, cached, request, ("rounds", cohort), lambda: list_rounds(engine, cohort=cohort), warm=True
    )
    raw = request.query_params.get("round", "")
    number = int(raw) if raw.isdigit() else (detail.round or detail.proposal)
    errors = []
    view: RoundView | None = None
    if number is not None:
        try:
            view = await load(request, number)
        except PlacementError as exc:
            errors = [("round", f"{exc.message} {exc.hint or ''}".strip())]
    summary: Facts | None = await facts(request, view) if view else None
    here = summary.hosts.get(host_id) if summary else None
    placed = summary.placed_at.get(host_id, []) if summary else []
    # The targets whose scope holds this host (cohort-wide ones are on the round's page); a viewer sees no
    # figure on a special category, and small ethnicity/disability scopes are withheld for everyone.
    internal = can(session(request).account.role, Right.READ_INTERNAL)
    scopes = scopes_of(detail.host_id, detail.region, detail.org_type)
    targets = [
        target_json(t)
        for t in (view.targets if view else [])
        if t.get("scope") in scopes and (internal or not is_special(t.get("attribute")))
    ]
    return render(
        request,
        "host.html",
        {
            "title": f"Host {detail.host_id}",
            "h": detail,
            "number": number if view else None,
            "rounds": list(reversed(rounds)),
            "view": view,
            "here": here,
            "paged": paginate(request, placed),
            "targets": targets,
            "withheld": WITHHELD,
            "errors": errors,
        },
        status=404 if errors else 200,
    )


ROUTES = [Route("/hosts/{host_id}", host_page, methods=["GET"])]
