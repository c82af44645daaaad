"""The season at a glance (``placement status``), the list of rounds (``placement round list``) and the choice
of cohort."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right, choose_cohort
from ..cohorts import list_cohorts, resolve_in
from ..errors import PlacementError
from ..season import season_status
from ..views import list_rounds
from .auth import call, page, session
from .pages import cached, cohort_of, done, problem, render


@page(Right.READ)
async def season(request: Request) -> Response:
    engine = request.app.state.engine
    cohorts = await call(request, cached, request, ("cohorts",), lambda: list_cohorts(engine), warm=True)
    try:
        engine, cohort = request.app.state.engine, cohort_of(request)
        status = await call(
            request, cached, request, ("status", cohort), lambda: season_status(engine, cohort=cohort), warm=True
        )
    except PlacementError as exc:
        # Several open cohorts and none chosen, or a chosen cohort renamed since: say so and offer the choice.
        return render(
            request,
            "season.html",
            {"title": "Season", "status": None, "cohorts": cohorts, "errors": problem(exc, "cohort")},
        )
    return render(request, "season.html", {"title": "Season", "status": status, "cohorts": cohorts})


@page(Right.READ)
async def pick_cohort(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("cohort") or "").strip() or None
    if name is not None:
        try:
            await call(request, resolve_in, request.app.state.engine, name)
        except PlacementError as exc:
            cohorts = await call(request, list_cohorts, request.app.state.engine)
            return render(
                request,
                "season.html",
                {"title": "Season", "status": None, "cohorts": cohorts, "errors": problem(exc, "cohort")},
                status=400,
            )
    await call(request, choose_cohort, request.app.state.engine, session(request).token, name)
    return done(request, "/", f"Working on cohort {name}." if name else "Working on the server's default cohort.")


@page(Right.READ)
async def rounds(request: Request) -> Response:
    engine, cohort = request.app.state.engine, cohort_of(request)
    rows = await call(
        request, cached, request, ("rounds", cohort), lambda: list_rounds(engine, cohort=cohort), warm=True
    )
    return render(request, "rounds.html", {"title": "Rounds", "rounds": list(reversed(rows))})


ROUTES = [
    Route("/", season, methods=["GET"]),
    Route("/cohort", pick_cohort, methods=["POST"]),
    Route("/rounds", rounds, methods=["GET"]),
]
