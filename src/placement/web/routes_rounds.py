"""A round: placements by candidate and by host, the unplaced and why (``placement round show``), download
(``placement export``), approve (``placement round approve``, as the signed-in account) and revoke
(``placement round revoke``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right, can
from ..approval import approve_round
from ..corrections import revoke_approval
from ..errors import PlacementError
from ..export import export_round
from ..masking import WITHHELD, is_special
from ..views import HostView, PlacementView, RoundView, show_round
from ..views import _target_json as target_json  # the masking of to_json, without the 20,000 rows
from .auth import call, page, session
from .pages import cached, cohort_of, done, paginate, problem, render, with_reason

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
SORTS: dict[str, dict[str, Any]] = {"candidate": CANDIDATE_SORTS, "host": HOST_SORTS, "unplaced": UNPLACED_SORTS}


def _number(request: Request) -> int:
    return int(request.path_params["number"])


def load(request: Request, number: int) -> Any:
    """Round ``number`` as the library shows it (cached until the data changes)."""
    engine, cohort = request.app.state.engine, cohort_of(request)
    return call(
        request,
        cached,
        request,
        ("round", cohort, number),
        lambda: show_round(engine, number, cohort=cohort),
        warm=True,
    )


@dataclass(frozen=True)
class Facts:
    """What a round's page shows about the whole round beside the table (the offer states and their counts, the
    hosts flagged), and a host's page looks up in it (the host's row, who is placed there): counted and indexed
    once per data version, not over 20,000 placements per request."""

    offer_states: list[str]
    offer_counts: dict[str, int]
    flagged_hosts: int
    hosts: dict[str, HostView]  # by host id
    placed_at: dict[str, list[PlacementView]]  # by host id, in the round's order

    @classmethod
    def of(cls, view: RoundView) -> Facts:
        counts = dict(sorted(view.offers().items()))
        placed_at: dict[str, list[PlacementView]] = {}
        for p in view.placements:
            placed_at.setdefault(p.host_id, []).append(p)
        hosts = {h.host_id: h for h in reversed(view.hosts)}  # the first of an id, as a scan would find
        return cls(sorted(counts), counts, sum(1 for h in view.hosts if h.flagged), hosts, placed_at)


def facts(request: Request, view: RoundView) -> Any:
    """``Facts`` of ``view`` (round ``view.round`` of the request's cohort), cached with it."""

    def count() -> Facts:
        return Facts.of(view)

    return call(request, cached, request, ("facts", cohort_of(request), view.round), count)


def _matches(query: str, *values: str | None) -> bool:
    return any(query in (v or "").casefold() for v in values)


def _filters(request: Request) -> dict[str, Any]:
    """The table's filter and sort as the query string asks (an unknown sort or direction is the default)."""
    return {
        "q": request.query_params.get("q", ""),
        "offer": request.query_params.get("offer", ""),
        "flagged": request.query_params.get("flagged") == "1",
        "sort": request.query_params.get("sort", ""),
        "dir": "desc" if request.query_params.get("dir") == "desc" else "asc",
    }


def _rows(view: RoundView, tab: str, filters: dict[str, Any]) -> tuple:
    """The rows of one tab, filtered and sorted (``filters["sort"]`` already a known sort of the tab)."""
    q, offer, flagged = filters["q"].strip().casefold(), filters["offer"], filters["flagged"]
    rows: list
    if tab == "candidate":
        rows = [
            p
            for p in view.placements
            if (not q or _matches(q, p.candidate_id, p.candidate_name, p.host_id, p.host_name))
            and (not offer or p.offer == offer)
        ]
    elif tab == "host":
        rows = [
            h
            for h in view.hosts
            if (not q or _matches(q, h.host_id, h.host_name, h.region)) and (not flagged or h.flagged)
        ]
    else:
        rows = [u for u in view.unplaced if not q or _matches(q, u.candidate_id, u.candidate_name, u.reason)]
    rows.sort(key=SORTS[tab][filters["sort"]], reverse=filters["dir"] == "desc")
    return tuple(rows)  # kept in the cache and shared by requests: never changed in place


def _table(request: Request, view: RoundView, number: int, tab: str) -> tuple[tuple, dict[str, Any]]:
    """The rows of one tab as the query string asks, and the filter values. At 20,000 candidates filtering and
    sorting costs tens of milliseconds of one core per request, so the result is kept per (data, round, tab,
    filter, sort): paging through it, or twenty people reading the same table, costs a slice."""
    filters = _filters(request)
    if filters["sort"] not in SORTS[tab]:
        filters["sort"] = next(iter(SORTS[tab]))
    key = (
        "rows",
        cohort_of(request),
        number,
        tab,
        filters["q"].strip().casefold(),
        filters["offer"],
        filters["flagged"] and tab == "host",
        filters["sort"],
        filters["dir"],
    )
    return cached(request, key, lambda: _rows(view, tab, filters)), filters


@page(Right.READ)
async def round_page(request: Request) -> Response:
    return await _round_page(request)


async def _round_page(request: Request, *, errors: list | None = None, reason: str = "", status: int = 200) -> Response:
    number = _number(request)
    view: RoundView = await load(request, number)
    tab = request.query_params.get("by", "candidate")
    tab = tab if tab in TABS else "candidate"
    rows, filters = await call(request, _table, request, view, number, tab)
    summary: Facts = await facts(request, view)
    # Ethnicity and disability scopes of 1-7 people are withheld for everyone (masking); a viewer sees no
    # figure on a special category at all (the publication edition is theirs).
    internal = can(session(request).account.role, Right.READ_INTERNAL)
    targets = [target_json(raw) for raw in view.targets if internal or not is_special(raw.get("attribute"))]
    return render(
        request,
        "round.html",
        {
            "title": f"Round {number}",
            "view": view,
            "tab": tab,
            "paged": paginate(request, rows),
            "filters": filters,
            "offers": summary.offer_states,
            "offer_counts": summary.offer_counts,
            "targets": targets,
            "withheld": WITHHELD,
            "flagged_hosts": summary.flagged_hosts,
            "approver": session(request).account.approver,
            "errors": errors or [],
            "reason": reason,
        },
        status=status,
    )


@page(Right.READ)
async def download(request: Request) -> Response:
    """The round's placements as CSV or a workbook: the export's own writer, never special category data."""
    number = _number(request)
    suffix = request.path_params["fmt"]
    if suffix not in ("csv", "xlsx"):
        return render(
            request, "error.html", {"title": "Page not found", "message": "Download as .csv or .xlsx."}, status=404
        )
    name = f"placements-round-{number}.{suffix}"
    with tempfile.TemporaryDirectory(prefix="placement-export-") as folder:
        out = Path(folder) / name
        await call(request, export_round, request.app.state.engine, number, out, cohort=cohort_of(request))
        body = out.read_bytes()
    media = (
        "text/csv; charset=utf-8"
        if suffix == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@page(Right.CHANGE)
async def approve(request: Request) -> Response:
    number = _number(request)
    approver = session(request).account.approver  # the signed-in person, never a typed name (UK GDPR Art. 22)
    try:
        offers = await call(
            request, approve_round, request.app.state.engine, number, approver, cohort=cohort_of(request)
        )
    except PlacementError as exc:
        return await _round_page(request, errors=problem(exc, "approve"), status=400)
    return done(request, f"/rounds/{number}", f"Round {number} approved by {approver}: {offers} offers made.")


@page(Right.CHANGE)
async def revoke(request: Request) -> Response:
    number = _number(request)
    engine, cohort = request.app.state.engine, cohort_of(request)

    async def again(errors: list, reason: str) -> Response:
        return await _round_page(request, errors=errors, reason=reason, status=400)

    return await with_reason(
        request,
        field="reason",
        missing="Enter why the approval is withdrawn",
        act=lambda reason: call(request, revoke_approval, engine, number, reason, cohort=cohort),
        again=again,
        back=f"/rounds/{number}",
    )


ROUTES = [
    Route("/rounds/{number:int}", round_page, methods=["GET"]),
    Route("/rounds/{number:int}/placements.{fmt}", download, methods=["GET"]),
    Route("/rounds/{number:int}/approve", approve, methods=["POST"]),
    Route("/rounds/{number:int}/revoke", revoke, methods=["POST"]),
]
