"""A candidate: the record, preferences with eligibility and reasons, offers over the rounds with every change
(``placement candidate show``), ``explain`` in plain words, and withdrawal with a reason
(``placement candidate withdraw``). Special category data is never shown here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..accounts import Right
from ..corrections import withdraw_candidate
from ..errors import PlacementError
from ..explain import explain
from ..season import encoding_now, show_candidate
from .auth import call, page
from .pages import cached, cohort_of, problem, render, with_reason

EXPLAIN_SECONDS = 10.0  # per what-if re-solve; the page waits for them (the server keeps answering others)


@dataclass(frozen=True)
class _Indexed:
    """The cohort's encoding with its dropped preferences indexed by candidate and by host (made once per data
    version)."""

    encoded: Any
    pool: frozenset[str]
    dropped: dict[str, list]
    dropped_at: dict[str, list]  # by host id


def encoding_index(engine: Any, cohort: str | None) -> _Indexed:
    """The cohort's encoding, indexed: cached per data version and shared by the candidate and host pages."""
    encoded = encoding_now(engine, cohort=cohort)
    by_candidate: dict[str, list] = defaultdict(list)
    by_host: dict[str, list] = defaultdict(list)
    for d in encoded.dropped:
        by_candidate[d.candidate_id].append(d)
        by_host[d.host_id].append(d)
    return _Indexed(encoded, frozenset(encoded.candidate_ids), dict(by_candidate), dict(by_host))


def _for_candidate(indexed: _Indexed, cid: str) -> Any:
    """The encoding as one candidate's page reads it: their own dropped preferences, and whether they are in the
    pool. ``show_candidate`` looks only at those two, and scanning every dropped preference of 20,000
    candidates per page view cost more than the rest of the page."""
    return replace(
        indexed.encoded, candidate_ids=[cid] if cid in indexed.pool else [], dropped=indexed.dropped.get(cid, [])
    )


def for_host(indexed: _Indexed, host_id: str) -> Any:
    """The encoding as one host's page reads it: the preferences for this host that were dropped (``show_host``
    counts their reasons; scanning all 180,000 at 20,000 candidates per host shown cost most of the page)."""
    return replace(indexed.encoded, dropped=indexed.dropped_at.get(host_id, []))


@page(Right.READ)
async def find(request: Request) -> Response:
    wanted = request.query_params.get("q", "").strip()
    if not wanted:
        return render(request, "candidates.html", {"title": "Candidates", "q": ""})
    try:
        await call(request, show_candidate, request.app.state.engine, wanted, cohort=cohort_of(request))
    except PlacementError as exc:
        return render(
            request, "candidates.html", {"title": "Candidates", "q": wanted, "errors": problem(exc, "q")}, status=404
        )
    from urllib.parse import quote

    return RedirectResponse(f"/candidates/{quote(wanted, safe='')}", status_code=303)


async def _candidate_page(
    request: Request, *, errors: list | None = None, reason: str = "", status: int = 200, explanation: str | None = None
) -> Response:
    cid = request.path_params["candidate_id"]
    engine, cohort = request.app.state.engine, cohort_of(request)
    # The cohort's eligibility is encoded once per change of the data, not once per candidate shown.
    indexed = await call(
        request, cached, request, ("encoding", cohort), lambda: encoding_index(engine, cohort), warm=True
    )
    view = await call(request, show_candidate, engine, cid, cohort=cohort, encoded=_for_candidate(indexed, cid))
    return render(
        request,
        "candidate.html",
        {"title": f"Candidate {cid}", "c": view, "errors": errors or [], "reason": reason, "explanation": explanation},
        status=status,
    )


@page(Right.READ)
async def candidate(request: Request) -> Response:
    return await _candidate_page(request)


@page(Right.READ_INTERNAL)
async def explain_page(request: Request) -> Response:
    cid = request.path_params["candidate_id"]
    raw = request.query_params.get("round", "")
    number = int(raw) if raw.isdigit() else None
    try:
        said = await call(
            request,
            explain,
            request.app.state.engine,
            cid,
            number,
            time_limit=EXPLAIN_SECONDS,
            cohort=cohort_of(request),
        )
    except PlacementError as exc:
        return await _candidate_page(request, errors=problem(exc, "explain"), status=400)
    return await _candidate_page(request, explanation=said.render())


@page(Right.CHANGE)
async def withdraw(request: Request) -> Response:
    from urllib.parse import quote

    cid = request.path_params["candidate_id"]
    engine, cohort = request.app.state.engine, cohort_of(request)

    async def again(errors: list, reason: str) -> Response:
        return await _candidate_page(request, errors=errors, reason=reason, status=400)

    return await with_reason(
        request,
        field="reason",
        missing="Enter why the candidate leaves the scheme",
        act=lambda reason: call(request, withdraw_candidate, engine, cid, reason, cohort=cohort),
        again=again,
        back=f"/candidates/{quote(cid, safe='')}",
    )


ROUTES = [
    Route("/candidates", find, methods=["GET"]),
    Route("/candidates/{candidate_id}", candidate, methods=["GET"]),
    Route("/candidates/{candidate_id}/explain", explain_page, methods=["GET"]),
    Route("/candidates/{candidate_id}/withdraw", withdraw, methods=["POST"]),
]
