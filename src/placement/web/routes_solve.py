"""Solve (``placement solve``): the options, a background solve with live progress, cancel, and the result with
the diagnosis when no placement meets every hard constraint."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right
from ..errors import PlacementError
from ..rounds import RoundOptions
from . import jobs
from .auth import call, page, session
from .pages import cohort_of, done, problem, render

CHOICES = {
    "objective": {
        "rank-sum": "Least total rank (the usual)",
        "rank-maximal": "Most first choices, then second…",
        "generous": "Fewest worst choices",
    },
    "stability": {
        "none": "Ignore hosts' orders",
        "prefer": "Prefer stable (fewest blocking pairs)",
        "strict": "Require stable (no blocking pairs)",
    },
    "decline_policy": {
        "host": "A decline removes the candidate from that host only",
        "scheme": "A decline removes the candidate from the scheme",
    },
    "engine": {"auto": "Automatic (the faster per step)", "cp-sat": "CP-SAT", "highs": "HiGHS"},
}


async def _solve_page(
    request: Request, *, errors: list | None = None, values: dict | None = None, status: int = 200
) -> Response:
    from ..cohorts import resolve_in

    engine = request.app.state.engine
    try:
        scope = await call(request, resolve_in, engine, cohort_of(request))
        recent = await call(request, jobs.recent, engine, scope.name)
    except PlacementError as exc:
        return render(
            request,
            "solve.html",
            {"title": "Solve", "choices": CHOICES, "values": {}, "recent": [], "errors": problem(exc, "objective")},
            status=400,
        )
    return render(
        request,
        "solve.html",
        {"title": "Solve", "choices": CHOICES, "values": values or {}, "recent": recent, "errors": errors or []},
        status=status,
    )


@page(Right.CHANGE)
async def solve_form(request: Request) -> Response:
    return await _solve_page(request)


@page(Right.CHANGE)
async def solve_start(request: Request) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("objective", "stability", "decline_policy", "engine", "time_limit")}
    values.update({k: "1" if form.get(k) else "" for k in ("hard_min_placements", "allow_quota")})
    errors = [(k, f"Choose one of the {k.replace('_', ' ')} options") for k in CHOICES if values[k] not in CHOICES[k]]
    try:
        limit = float(values["time_limit"])
    except ValueError:
        limit = -1.0
    if not 1 <= limit <= 3600:
        errors.append(("time_limit", "Enter the time limit as a number of seconds from 1 to 3600, like 60"))
    if errors:
        return await _solve_page(request, errors=errors, values=values, status=400)
    try:
        options = RoundOptions(
            objective=values["objective"],  # type: ignore[arg-type]
            stability=values["stability"],  # type: ignore[arg-type]
            decline_policy=values["decline_policy"],  # type: ignore[arg-type]
            engine=values["engine"],  # type: ignore[arg-type]
            time_limit=limit,
            hard_min_placements=bool(values["hard_min_placements"]),
            allow_quota=bool(values["allow_quota"]),
        )
        job_id = await call(
            request,
            jobs.start_solve,
            request.app.state.engine,
            options,
            cohort=cohort_of(request),
            actor=session(request).account.actor,
        )
    except PlacementError as exc:
        return await _solve_page(request, errors=problem(exc, "objective"), values=values, status=400)
    return done(request, f"/solve/jobs/{job_id}", "The solve has started. This page follows its progress.")


@page(Right.CHANGE)
async def job_page(request: Request) -> Response:
    found = await call(request, jobs.job, request.app.state.engine, request.path_params["job_id"])
    if found is None:
        return render(
            request, "error.html", {"title": "Page not found", "message": "There is no such solve."}, status=404
        )
    result = found.result or {}
    return render(
        request,
        "job.html",
        {
            "title": "Solve",
            "job": found,
            "result": result.get("round"),
            "error": result.get("error"),
            "hint": result.get("hint"),
            "options": result.get("options", {}),
        },
    )


@page(Right.CHANGE)
async def job_cancel(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    asked = await call(request, jobs.cancel, request.app.state.engine, job_id)
    if not asked:
        return render(
            request,
            "error.html",
            {"title": "There is a problem", "message": "That solve is not running (it finished, or does not exist)."},
            status=400,
        )
    return done(request, f"/solve/jobs/{job_id}", "Cancelling: the solve stops within a second and stores nothing.")


ROUTES = [
    Route("/solve", solve_form, methods=["GET"]),
    Route("/solve", solve_start, methods=["POST"]),
    Route("/solve/jobs/{job_id}", job_page, methods=["GET"]),
    Route("/solve/jobs/{job_id}/cancel", job_cancel, methods=["POST"]),
]
