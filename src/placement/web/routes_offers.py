"""Offers of the latest approved round: record answers one by one (``placement offer accept|decline``) or by
upload (``placement offer import``), and correct them with a reason (``offer change``, ``offer release``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right
from ..corrections import change_answer, release_offer
from ..errors import InputError, PlacementError
from ..ingest import load_mapping
from ..offers import import_answers
from ..rounds import record_response
from ..season import season_status
from .auth import call, page
from .pages import cached, cohort_of, done, paginate, problem, render, with_reason
from .routes_rounds import facts, load
from .uploads import saved, upload_of

CORRECTIONS = {
    "accept": "change the answer to accepted",
    "decline": "change the answer to declined",
    "release": "release the offer (the scheme withdraws it)",
}


async def _offers_page(
    request: Request,
    *,
    errors: list | None = None,
    row_errors: list | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Response:
    engine, cohort = request.app.state.engine, cohort_of(request)
    season = await call(
        request, cached, request, ("status", cohort), lambda: season_status(engine, cohort=cohort), warm=True
    )
    number = season.latest_approved
    view = None
    rows: list = []
    state = request.query_params.get("offer", "offered")
    q = request.query_params.get("q", "").strip().casefold()
    counts: dict[str, int] = {}
    if number is not None:
        view = await load(request, number)
        counts = (await facts(request, view)).offer_counts
        rows = await call(
            request, cached, request, ("offer rows", cohort, number, state, q), lambda: _rows(view, state, q)
        )
    return render(
        request,
        "offers.html",
        {
            "title": "Offers",
            "number": number,
            "view": view,
            "paged": paginate(request, rows),
            "state": state,
            "q": request.query_params.get("q", ""),
            "counts": counts,
            "errors": errors or [],
            "row_errors": row_errors or [],
            "values": values or {},
            "corrections": CORRECTIONS,
        },
        status=status,
    )


def _rows(view: Any, state: str, q: str) -> tuple:
    """The placements in offer state ``state`` (any when empty) whose id or name holds ``q``; kept per data version,
    so paging through 20,000 placements costs a slice."""
    return tuple(
        p
        for p in view.placements
        if (not state or p.offer == state)
        and (not q or q in p.candidate_id.casefold() or q in (p.candidate_name or "").casefold())
    )


@page(Right.READ)
async def offers(request: Request) -> Response:
    return await _offers_page(request)


@page(Right.CHANGE)
async def answer(request: Request) -> Response:
    form = await request.form()
    cid = str(form.get("candidate_id") or "").strip()
    response = str(form.get("answer") or "")
    if not cid or response not in ("accept", "decline"):
        return await _offers_page(
            request, errors=[("candidate_id", "Choose a candidate and accept or decline")], status=400
        )
    try:
        number, host = await call(
            request, record_response, request.app.state.engine, cid, response, cohort=cohort_of(request)
        )
    except PlacementError as exc:
        return await _offers_page(request, errors=problem(exc, "candidate_id"), status=400)
    back = str(form.get("back") or "/offers")
    back = back if back.startswith("/offers") else "/offers"
    verb = "accepted" if response == "accept" else "declined"
    return done(request, back, f"{cid}'s offer at {host} (round {number}) is {verb}.")


@page(Right.CHANGE)
async def import_page(request: Request) -> Response:
    form = await request.form()
    answers, mapping = upload_of(form, "answers_file"), upload_of(form, "mapping_file")
    if answers is None:
        return await _offers_page(request, errors=[("answers_file", "Choose a CSV file of answers")], status=400)
    uploads = {"answers": answers, **({"mapping": mapping} if mapping else {})}
    try:
        with saved(uploads) as paths:
            loaded = load_mapping(paths["mapping"]) if "mapping" in paths else None
            changes = await call(
                request, import_answers, request.app.state.engine, paths["answers"], loaded, cohort=cohort_of(request)
            )
    except InputError as exc:
        return await _offers_page(
            request, errors=[("answers_file", exc.message.splitlines()[0])], row_errors=exc.problems, status=400
        )
    except PlacementError as exc:
        return await _offers_page(request, errors=problem(exc, "answers_file"), status=400)
    accepted = sum(1 for c in changes if c.after == "accepted")
    return done(
        request,
        "/offers",
        f"Recorded {len(changes)} answers (round {changes[0].round}): {accepted} accepted, "
        f"{len(changes) - accepted} declined.",
    )


@page(Right.CHANGE)
async def correct(request: Request) -> Response:
    form = await request.form()
    cid, action = (str(form.get(f) or "").strip() for f in ("correct_candidate_id", "action"))
    errors = []
    if not cid:
        errors.append(("correct_candidate_id", "Enter the candidate's id"))
    if action not in CORRECTIONS:
        errors.append(("correct_action", "Choose what to do"))
    engine, cohort = request.app.state.engine, cohort_of(request)

    async def again(errors: list, reason: str) -> Response:
        values = {"candidate_id": cid, "action": action, "reason": reason}
        return await _offers_page(request, errors=errors, values=values, status=400)

    async def act(reason: str) -> Any:
        if action == "release":
            return await call(request, release_offer, engine, cid, reason, cohort=cohort)
        return await call(request, change_answer, engine, cid, action, reason, cohort=cohort)

    def message(said: Any) -> str:
        if not said.superseded:
            return str(said.summary)
        return (
            f"{said.summary} Proposal {', '.join(map(str, said.superseded))} no longer starts from the offers "
            "as they stand and is superseded: solve again."
        )

    return await with_reason(
        request,
        field="correct_reason",
        missing="Enter the reason (it is kept in the audit log)",
        act=act,
        again=again,
        back="/offers",
        errors=errors,
        error_field="correct_candidate_id",
        message=message,
    )


ROUTES = [
    Route("/offers", offers, methods=["GET"]),
    Route("/offers/answer", answer, methods=["POST"]),
    Route("/offers/import", import_page, methods=["POST"]),
    Route("/offers/correct", correct, methods=["POST"]),
]
