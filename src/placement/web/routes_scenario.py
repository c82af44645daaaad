"""Scenario comparison (``placement scenario compare``): a round's stored inputs solved again under variants, in
a background process as a solve is (progress, cancel; the server keeps answering), and the comparison side by
side. Nothing is stored but the audit-log entries.

For the coordinator and the equality lead, who choose the edition: internal (exact, lists the candidates who
would move) or publication (disclosure control, names nobody; for the scheme board). A viewer reads neither:
a comparison solves the round again, and its relative likelihoods are figures on special categories.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right
from ..errors import PlacementError
from ..scenario import log_scenarios
from ..scenario import render as render_comparison
from ..views import list_rounds
from . import jobs
from .auth import call, page, session
from .pages import cohort_of, done, problem, render
from .routes_audit import MEDIA, REPORT_CSP
from .routes_rounds import load

MAX_VARIANTS = 8  # each is a solve of the round: a page's worth, not a batch job
EDITIONS = {
    "internal": "Internal: exact figures, and who would move (OFFICIAL-SENSITIVE)",
    "publication": "Publication: disclosure control, names nobody (for the scheme board)",
}
EXAMPLES = ("no targets", "women-per-region min 0.45", "objective=generous", "drop minority-ethnic-cohort")


async def _form(
    request: Request, *, errors: list | None = None, values: dict | None = None, status: int = 200
) -> Response:
    from ..cohorts import resolve_in

    engine, cohort = request.app.state.engine, cohort_of(request)
    try:
        scope = await call(request, resolve_in, engine, cohort)
        rounds = await call(request, list_rounds, engine, cohort=cohort)
        recent = await call(request, jobs.recent, engine, scope.name, jobs.SCENARIO)
    except PlacementError as exc:
        rounds, recent, errors, status = [], [], problem(exc, "base"), 400
    values = values or {}
    if not values.get("base") and rounds:
        values["base"] = str(rounds[-1].round)
    names: list[str] = []
    if rounds:  # the newest round's targets, named in the hint (what a variant may change)
        try:
            view = await load(request, rounds[-1].round)
            names = sorted({t["name"] for t in view.targets})
        except PlacementError:
            names = []  # a hint only: the comparison itself says what is wrong with the round
    return render(
        request,
        "scenarios.html",
        {
            "title": "Scenario comparison",
            "rounds": [(r.round, f"Round {r.round} ({r.state})") for r in reversed(rounds)],
            "editions": EDITIONS,
            "examples": EXAMPLES,
            "target_names": names,
            "max_variants": MAX_VARIANTS,
            "values": values,
            "recent": recent,
            "errors": errors or [],
        },
        status=status,
    )


@page(Right.READ_INTERNAL)
async def scenario_form(request: Request) -> Response:
    return await _form(request)


@page(Right.READ_INTERNAL)
async def scenario_start(request: Request) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("base", "variants", "edition")}
    values["allow_quota"] = "1" if form.get("allow_quota") else ""
    variants = [line.strip() for line in values["variants"].splitlines() if line.strip()]
    errors = []
    if not values["base"].isdigit() or int(values["base"]) < 1:
        errors.append(("base", "Choose the round to compare"))
    if not variants:
        errors.append(("variants", 'Enter at least one variant, one a line, like "no targets"'))
    elif len(variants) > MAX_VARIANTS:
        errors.append(("variants", f"Enter at most {MAX_VARIANTS} variants (each is a solve of the round)"))
    if values["edition"] not in EDITIONS:
        errors.append(("edition", "Choose the edition"))
    if errors:
        return await _form(request, errors=errors, values=values, status=400)
    try:
        job_id = await call(
            request,
            jobs.start_scenario,
            request.app.state.engine,
            int(values["base"]),
            variants,
            edition=values["edition"],
            allow_quota=bool(values["allow_quota"]),
            cohort=cohort_of(request),
            actor=session(request).account.actor,
        )
    except PlacementError as exc:
        return await _form(request, errors=problem(exc, "variants"), values=values, status=400)
    return done(request, f"/scenarios/jobs/{job_id}", "The comparison has started. This page follows its progress.")


async def _job(request: Request) -> Any:
    found = await call(request, jobs.job, request.app.state.engine, request.path_params["job_id"], jobs.SCENARIO)
    return found


def _missing(request: Request) -> Response:
    return render(
        request, "error.html", {"title": "Page not found", "message": "There is no such comparison."}, status=404
    )


@page(Right.READ_INTERNAL)
async def job_page(request: Request) -> Response:
    found = await _job(request)
    if found is None:
        return _missing(request)
    result = found.result or {}
    return render(
        request,
        "scenario_job.html",
        {
            "title": "Scenario comparison",
            "job": found,
            "spec": result.get("scenario", {}),
            "comparison": result.get("comparison"),
            "error": result.get("error"),
            "hint": result.get("hint"),
        },
    )


@page(Right.READ_INTERNAL)
async def job_cancel(request: Request) -> Response:
    found = await _job(request)
    asked = found is not None and await call(request, jobs.cancel, request.app.state.engine, found.id)
    if not asked:
        return render(
            request,
            "error.html",
            {
                "title": "There is a problem",
                "message": "That comparison is not running (it finished, or does not exist).",
            },
            status=400,
        )
    return done(request, f"/scenarios/jobs/{found.id}", "Cancelling: the comparison stops within a second.")


@page(Right.READ_INTERNAL)
async def download(request: Request) -> Response:
    """The library's own page of the comparison (charts of the trade-off) or its JSON; the delivery is logged."""
    fmt = request.path_params["fmt"]
    found = await _job(request)
    comparison = (found.result or {}).get("comparison") if found is not None else None
    if fmt not in ("html", "json") or comparison is None:
        return _missing(request)
    body = render_comparison(comparison, fmt)
    where = "shown in the web console" if fmt == "html" else "downloaded from the web console"
    await call(request, log_scenarios, request.app.state.engine, comparison, fmt, where, cohort=found.cohort)
    headers = {"content-security-policy": REPORT_CSP}
    if fmt == "json":
        name = f"round-{comparison['base_round']}-scenarios-{comparison['edition']}.json"
        headers["content-disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA[fmt], headers=headers)


ROUTES = [
    Route("/scenarios", scenario_form, methods=["GET"]),
    Route("/scenarios", scenario_start, methods=["POST"]),
    Route("/scenarios/jobs/{job_id}", job_page, methods=["GET"]),
    Route("/scenarios/jobs/{job_id}/cancel", job_cancel, methods=["POST"]),
    Route("/scenarios/jobs/{job_id}/comparison.{fmt}", download, methods=["GET"]),
]
