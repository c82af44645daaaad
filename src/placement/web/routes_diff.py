"""Two rounds side by side (``placement round diff A B``): who is placed differently, who is newly placed and who
is no longer placed, with the library's reason for each."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right
from ..errors import PlacementError
from ..views import MOVE_KINDS, RoundDiff, RoundRow, diff_rounds, list_rounds
from .auth import call, page
from .pages import cached, cohort_of, paginate, problem, render


def _default_pair(rounds: list[RoundRow]) -> tuple[int | None, int | None]:
    """The newest round against the round it continues (else the one before it): what changed last."""
    if len(rounds) < 2:
        return None, None
    newest = rounds[-1]
    return (newest.parent or rounds[-2].round), newest.round


def _number(raw: str, field: str, label: str, errors: list[tuple[str, str]]) -> int | None:
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    errors.append((field, f"Choose {label}"))
    return None


def _rows(diff: RoundDiff, kind: str, q: str) -> tuple:
    q = q.strip().casefold()
    return tuple(
        m
        for m in diff.moves
        if (not kind or m.kind == kind)
        and (not q or any(q in (v or "").casefold() for v in (m.candidate_id, m.candidate_name, m.before, m.after)))
    )


@page(Right.READ)
async def diff_page(request: Request) -> Response:
    engine, cohort = request.app.state.engine, cohort_of(request)
    rounds: list[RoundRow] = await call(request, list_rounds, engine, cohort=cohort)
    asked_a, asked_b = request.query_params.get("a"), request.query_params.get("b")
    context: dict[str, Any] = {
        "title": "Compare two rounds",
        "rounds": list(reversed(rounds)),
        "kinds": MOVE_KINDS,
        "kind": request.query_params.get("kind", ""),
        "q": request.query_params.get("q", ""),
        "diff": None,
    }
    errors: list[tuple[str, str]] = []
    if asked_a is None and asked_b is None:
        a, b = _default_pair(rounds)  # what changed last, shown at once
        if a is None or b is None:
            return render(request, "diff.html", context)
    else:
        a = _number(asked_a or "", "a", "the round to compare from", errors)
        b = _number(asked_b or "", "b", "the round to compare with", errors)
    if a is not None and a == b:
        errors.append(("b", "Choose two different rounds"))
    context.update(a=a, b=b)
    if errors or a is None or b is None:
        return render(request, "diff.html", {**context, "errors": errors}, status=400)
    try:
        # At 20,000 candidates the diff reads two rounds' placements: kept until the data changes.
        diff: RoundDiff = await call(
            request, cached, request, ("diff", cohort, a, b), lambda: diff_rounds(engine, a, b, cohort=cohort)
        )
    except PlacementError as exc:
        return render(request, "diff.html", {**context, "errors": problem(exc, "a")}, status=404)
    kind = context["kind"] if context["kind"] in MOVE_KINDS else ""
    rows = _rows(diff, kind, context["q"])
    counts = {k: sum(1 for m in diff.moves if m.kind == k) for k in MOVE_KINDS}
    return render(
        request,
        "diff.html",
        {**context, "kind": kind, "diff": diff, "counts": counts, "paged": paginate(request, rows)},
    )


ROUTES = [Route("/rounds/diff", diff_page, methods=["GET"])]
