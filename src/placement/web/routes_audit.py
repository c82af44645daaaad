"""The audit report of a round (``placement audit N``) in the edition the role may read, and the audit log
(``placement log``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Right, can
from ..audit import audit_round, log_delivery, render
from ..audit.editions import Edition
from ..auditlog import actions, count_entries, entries
from .auth import Forbidden, call, page, session
from .pages import PAGE_SIZE, Paged, cached, cohort_of, page_of
from .pages import render as render_page

MEDIA = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The report is the library's own self-contained page: its styles are inline and it has no script at all.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
LOG_LIMIT = 1000


@page(Right.READ)
async def report(request: Request) -> Response:
    number = int(request.path_params["number"])
    fmt = request.query_params.get("format", "html")
    if fmt not in MEDIA:
        fmt = "html"
    internal_allowed = can(session(request).account.role, Right.READ_INTERNAL)
    asked = request.query_params.get("edition", "internal" if internal_allowed else "publication")
    edition = Edition.parse(asked if asked in ("internal", "publication") else "publication")
    if edition is Edition.INTERNAL and not internal_allowed:
        # A viewer reads the publication edition only: no exact figure on a protected characteristic.
        raise Forbidden("Your role reads the publication edition of the audit only.")
    cohort = cohort_of(request)
    engine = request.app.state.engine
    audit = await call(
        request,
        cached,
        request,
        ("audit", cohort, number, edition.value),
        lambda: audit_round(engine, number, edition=edition, cohort=cohort),
        warm=True,
    )
    body = render(audit, fmt)
    await call(
        request,
        log_delivery,
        engine,
        number,
        fmt,
        edition=edition,
        cohort=cohort,
        to="shown in the web console" if fmt == "html" else "downloaded from the web console",
    )
    headers = {"content-security-policy": REPORT_CSP}
    if fmt != "html":
        headers["content-disposition"] = f'attachment; filename="round-{number}-audit-{edition.value}.{fmt}"'
    return Response(body, media_type=MEDIA[fmt], headers=headers)


@page(Right.READ_INTERNAL)
async def audit_log(request: Request) -> Response:
    engine = request.app.state.engine
    action = request.query_params.get("action", "")
    chosen = [action] if action else []
    # The page is read by the database (LIMIT/OFFSET within the newest LOG_LIMIT), not the whole 1,000 each time.
    total = min(await call(request, count_entries, engine, actions=chosen), LOG_LIMIT)
    number, pages = page_of(request, total)
    skip = (number - 1) * PAGE_SIZE
    found = await call(request, entries, engine, actions=chosen, limit=min(PAGE_SIZE, total - skip), offset=skip)
    known = await call(request, actions, engine)
    return render_page(
        request,
        "log.html",
        {
            "title": "Audit log",
            "paged": Paged(found, number, pages, total, PAGE_SIZE),
            "action": action,
            "actions": known,
            "limit": LOG_LIMIT,
        },
    )


ROUTES = [
    Route("/rounds/{number:int}/audit", report, methods=["GET"]),
    Route("/log", audit_log, methods=["GET"]),
]
