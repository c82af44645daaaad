"""A round: placements by candidate and by host, the unplaced and why (``placement round show``), download
(``placement export``), approve (``placement round approve``, as the signed-in account) and revoke
(``placement round revoke``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right, can
from ..corrections import revoke_approval
from ..errors import PlacementError
from ..export import export_round
from ..masking import WITHHELD, is_special
from ..rounds import approve_round
from ..views import RoundView, show_round
from ..views import _target_json as target_json  # the masking of to_json, without the 20,000 rows
from .auth import call, page, session
from .pages import cached, cohort_of, done, paginate, problem, render

TABS = ("candidate", "host", "unplaced")
CANDIDATE_SORTS = {
    "candidate": lambda p: p.candidate_id,
    "name": lambda p: (p.candidate_name or "").casefold(),
    "host": lambda p: (p.host_name.casefold(), p.host_id),
    "choice": lambda p: p.choice,
    "offer": lambda p: p.offer,
}
HOST_SORTS = {
    "host": lambda h: h.host_id,
    "name": lambda h: h.host_name.casefold(),
    "region": lambda h: h.region,
    "places": lambda h: h.capacity,
    "placed": lambda h: h.placed,
    "empty": lambda h: h.empty,
}
UNPLACED_SORTS = {
    "candidate": lambda u: u.candidate_id,
    "name": lambda u: (u.candidate_name or "").casefold(),
    "reason": lambda u: u.reason,
}


def _number(request: Request) -> int:
    return int(request.path_params["number"])


def load(request: Request, number: int) -> Any:
    """Round ``number`` as the library shows it (cached until the data changes)."""
    cohort = cohort_of(request)
    return call(request, cached, request, ("round", cohort, number),
                lambda: show_round(request.app.state.engine, number, cohort=cohort))


def _matches(query: str, *values: str | None) -> bool:
    return any(query in (v or "").casefold() for v in values)


def _table(request: Request, view: RoundView, tab: str) -> tuple[list, dict[str, Any]]:
    """The rows of one tab, filtered and sorted as the query string asks, and the filter values."""
    q = request.query_params.get("q", "").strip().casefold()
    offer = request.query_params.get("offer", "")
    flagged = request.query_params.get("flagged") == "1"
    direction = "desc" if request.query_params.get("dir") == "desc" else "asc"
    rows: list
    if tab == "candidate":
        sorts: dict = CANDIDATE_SORTS
        rows = [p for p in view.placements if (not q or _matches(q, p.candidate_id, p.candidate_name, p.host_id, p.host_name))
                and (not offer or p.offer == offer)]
    elif tab == "host":
        sorts = HOST_SORTS
        rows = [h for h in view.hosts if (not q or _matches(q, h.host_id, h.host_name, h.region))
                and (not flagged or h.flagged)]
    else:
        sorts = UNPLACED_SORTS
        rows = [u for u in view.unplaced if not q or _matches(q, u.candidate_id, u.candidate_name, u.reason)]
    sort = request.query_params.get("sort", "")
    if sort not in sorts:
        sort = next(iter(sorts))
    rows.sort(key=sorts[sort], reverse=direction == "desc")
    return rows, {"q": request.query_params.get("q", ""), "offer": offer, "flagged": flagged, "sort": sort,
                  "dir": direction}


@page(Right.READ)
async def round_page(request: Request) -> Response:
    return await _round_page(request)


async def _round_page(request: Request, *, errors: list | None = None, reason: str = "", status: int = 200) -> Response:
    number = _number(request)
    view: RoundView = await load(request, number)
    tab = request.query_params.get("by", "candidate")
    tab = tab if tab in TABS else "candidate"
    rows, filters = _table(request, view, tab)
    offers = sorted({p.offer for p in view.placements})
    # Ethnicity and disability scopes of 1-7 people are withheld for everyone (masking); a viewer sees no
    # figure on a special category at all (the publication edition is theirs).
    internal = can(session(request).account.role, Right.READ_INTERNAL)
    targets = [target_json(raw) for raw in view.targets if internal or not is_special(raw.get("attribute"))]
    return render(request, "round.html", {
        "title": f"Round {number}", "view": view, "tab": tab, "paged": paginate(request, rows), "filters": filters,
        "offers": offers, "offer_counts": dict(sorted(view.offers().items())), "targets": targets,
        "withheld": WITHHELD, "flagged_hosts": sum(1 for h in view.hosts if h.flagged),
        "approver": session(request).account.approver, "errors": errors or [], "reason": reason,
    }, status=status)


@page(Right.READ)
async def download(request: Request) -> Response:
    """The round's placements as CSV or a workbook: the export's own writer, never special category data."""
    number = _number(request)
    suffix = request.path_params["fmt"]
    if suffix not in ("csv", "xlsx"):
        return render(request, "error.html", {"title": "Page not found", "message": "Download as .csv or .xlsx."},
                      status=404)
    name = f"placements-round-{number}.{suffix}"
    with tempfile.TemporaryDirectory(prefix="placement-export-") as folder:
        out = Path(folder) / name
        await call(request, export_round, request.app.state.engine, number, out, cohort=cohort_of(request))
        body = out.read_bytes()
    media = ("text/csv; charset=utf-8" if suffix == "csv"
             else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@page(Right.CHANGE)
async def approve(request: Request) -> Response:
    number = _number(request)
    approver = session(request).account.approver  # the signed-in person, never a typed name (UK GDPR Art. 22)
    try:
        offers = await call(request, approve_round, request.app.state.engine, number, approver,
                            cohort=cohort_of(request))
    except PlacementError as exc:
        return await _round_page(request, errors=problem(exc, "approve"), status=400)
    return done(request, f"/rounds/{number}", f"Round {number} approved by {approver}: {offers} offers made.")


@page(Right.CHANGE)
async def revoke(request: Request) -> Response:
    number = _number(request)
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return await _round_page(request, errors=[("reason", "Enter why the approval is withdrawn")], status=400)
    try:
        said = await call(request, revoke_approval, request.app.state.engine, number, reason, cohort=cohort_of(request))
    except PlacementError as exc:
        return await _round_page(request, errors=problem(exc, "reason"), reason=reason, status=400)
    return done(request, f"/rounds/{number}", said.summary)


ROUTES = [
    Route("/rounds/{number:int}", round_page, methods=["GET"]),
    Route("/rounds/{number:int}/placements.{fmt}", download, methods=["GET"]),
    Route("/rounds/{number:int}/approve", approve, methods=["POST"]),
    Route("/rounds/{number:int}/revoke", revoke, methods=["POST"]),
]
