"""Rendering pages: the shared context (account, CSRF token, cohort, message), redirects after a change with a
signed one-line message, pagination, and library errors shown as an error summary linking to the field."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..accounts import Right, can
from ..errors import PlacementError
from .auth import current_session

FLASH_AGE = 600
PAGE_SIZE = 50


def cohort_of(request: Request) -> str | None:
    """The cohort the console works on: the one chosen in this session, else the server's, else the only open one."""
    info = current_session(request)
    if info is not None and info.cohort:
        return info.cohort
    return request.app.state.cohort


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    info = current_session(request)
    ctx: dict[str, Any] = {
        "account": info.account if info else None,
        "csrf_token": info.csrf_token if info else "",
        "can_change": bool(info and can(info.account.role, Right.CHANGE)),
        "can_internal": bool(info and can(info.account.role, Right.READ_INTERNAL)),
        "cohort": cohort_of(request) if info else None,
        "done": _flash(request),
        "errors": [],
        "path": request.url.path,
    }
    ctx.update(context or {})
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


def _flash(request: Request) -> str | None:
    raw = request.query_params.get("done")
    if not raw:
        return None
    try:
        return request.app.state.signed.flash.unsign(raw, max_age=FLASH_AGE).decode()
    except BadSignature:
        return None


def done(request: Request, path: str, message: str) -> Response:
    """After a change: back to a page (POST-redirect-GET) with a signed message saying what was done."""
    signed = request.app.state.signed.flash.sign(message).decode()
    sep = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{sep}{urlencode({'done': signed})}", status_code=303)


def problem(exc: PlacementError, field: str = "") -> list[tuple[str, str]]:
    """A library error as one error-summary entry (linked to ``field``): what went wrong, then how to fix it."""
    return [(field, f"{exc.message} {exc.hint or ''}".strip())]


Again = Callable[[list[tuple[str, str]], str], Awaitable[Response]]


async def with_reason(
    request: Request,
    *,
    field: str,
    missing: str,
    act: Callable[[str], Awaitable[Any]],
    again: Again,
    back: str,
    errors: Sequence[tuple[str, str]] = (),
    error_field: str | None = None,
    message: Callable[[Any], str] | None = None,
) -> Response:
    """A change that needs a reason (withdraw, revoke, correct an offer): the one shape of those forms.

    The reason is form field ``field``; empty, the form comes back (``again(errors, reason)``, status 400
    its business) with ``missing`` at that field, beside any ``errors`` the caller found in its other fields.
    Then ``act(reason)`` runs the library operation; the library's refusal comes back at ``error_field``
    (default ``field``) with the reason kept, and success redirects to ``back`` saying what was done
    (``message(result)``, default the result's ``summary``: the library's own words).
    """
    form = await request.form()
    reason = str(form.get(field) or "").strip()
    found = list(errors)
    if not reason:
        found.append((field, missing))
    if found:
        return await again(found, reason)
    try:
        result = await act(reason)
    except PlacementError as exc:
        return await again(problem(exc, error_field or field), reason)
    return done(request, back, message(result) if message else result.summary)


@dataclass
class Paged:
    """One page of a long table, with the links' query strings."""

    rows: Sequence[Any]
    page: int
    pages: int
    total: int
    size: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * self.size, self.total)


def paginate(request: Request, rows: Sequence[Any], size: int = PAGE_SIZE) -> Paged:
    page, pages = page_of(request, len(rows), size)
    return Paged(rows[(page - 1) * size : page * size], page, pages, len(rows), size)


def page_of(request: Request, total: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    """The page the query string asks for (1 if none or not a number, the last if beyond it) and how many pages
    ``total`` rows make: for a table whose page the database reads (LIMIT/OFFSET)."""
    try:
        page = max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        page = 1
    pages = max((total + size - 1) // size, 1)
    return min(page, pages), pages


def query_with(request: Request, **changes: Any) -> str:
    """This page's query string with some parameters changed (None removes one); ``done`` is never carried on."""
    params = {k: v for k, v in request.query_params.items() if k != "done"}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


# ----------------------------------------------------------------------------- the data version and a small cache

# Round views and encodings (a few MB each at 20,000 candidates) and the filtered, sorted row lists of the
# round tables (references into a view: 160 kB each); least recently used goes first.
CACHE_SIZE = 64


# Audit-log lines that change nothing a page shows (reading, signing in): they leave the data version alone.
READ_ONLY_ACTIONS = ("sign-in", "sign-out", "export", "audit", "user")


def data_version(engine: Any) -> tuple[int, int, int]:
    """Changes whenever anything a page shows may have changed: every change writes an audit-log line or a
    season event (imports, solves, answers, corrections, purges) or a round."""
    from sqlalchemy import func, select

    from ..db.models import AuditLog, Round, SeasonEvent
    from ..db.session import transaction

    with transaction(engine) as s:
        row = s.execute(
            select(
                # The newest line that changes something, found from the newest down (the primary key's index):
                # max() under a WHERE would read the whole log, which every page asks and every sign-in grows.
                select(AuditLog.id)
                .where(AuditLog.action.not_in(READ_ONLY_ACTIONS))
                .order_by(AuditLog.id.desc())
                .limit(1)
                .scalar_subquery(),
                select(func.max(SeasonEvent.id)).scalar_subquery(),
                select(func.max(Round.id)).scalar_subquery(),
            )
        ).one()
    return (row[0] or 0, row[1] or 0, row[2] or 0)


def cached(request: Request, key: tuple, compute: Any, *, warm: bool = False) -> Any:
    """``compute()``'s result for ``key`` at the current data version, kept per worker process.

    A page at 20,000 candidates reads the same round again and again while the
    coordinator pages and sorts; the library's answer only changes when the
    data does. Call from a worker thread (it queries the database).

    ``warm``: ``compute`` reads only the database (not another cached value),
    so the server may run it again in the background as soon as the data
    changes (``keep_warm``), before anyone opens the page.
    """
    state = request.app.state
    version = _version_of(request)
    kept = state.cache.get(key)
    if kept is not None and kept[0] == version:
        _touch(state.cache, key, kept)
        return kept[1]
    if warm:
        state.warm[key] = compute
    return _compute(state, key, version, compute)


def _compute(state: Any, key: tuple, version: tuple, compute: Any) -> Any:
    store: dict = state.cache
    # One computation per key at a time: twenty people opening a large round just after a change wait for
    # one show_round, rather than running twenty side by side on two cores.
    with _lock_for(state, key):
        kept = store.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        value = compute()  # an older version of the same key is replaced, never kept beside it
        with _LOCKS_GUARD:
            store.pop(key, None)
            while len(store) >= CACHE_SIZE:
                oldest = next(iter(store))  # least recently used: evicted, and no longer kept warm
                state.warm.pop(oldest, None)
                store.pop(oldest, None)
            store[key] = (version, value)
    return value


def refresh(state: Any) -> int:
    """Recompute, at the current data version, the kept values marked ``warm`` that a change made stale; returns
    how many. A value that cannot be computed any more (its round purged) is forgotten, not raised."""
    version = data_version(state.engine)
    done = 0
    for key, compute in list(state.warm.items()):
        kept = state.cache.get(key)
        if kept is None:  # evicted meanwhile
            state.warm.pop(key, None)
            continue
        if kept[0] == version:
            continue
        try:
            _compute(state, key, version, compute)
            done += 1
        except Exception:  # noqa: BLE001 - a page that asks again shows the error
            state.warm.pop(key, None)
    return done


WARM_EVERY = 1.0  # seconds between two looks at the data version


def keep_warm(state: Any, *, every: float = WARM_EVERY) -> threading.Thread:
    """A daemon thread of this worker process that looks at the data version every ``every`` seconds and, when it
    changed (a solve stored a round, someone recorded answers), recomputes the large views people had open (a
    round at 20,000 candidates takes seconds): the first person to open them after the change does not wait."""

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                refresh(state)
            except Exception:  # noqa: BLE001 - the database busy or gone for a moment: look again later
                continue

    thread = threading.Thread(target=run, name="placement-keep-warm", daemon=True)
    thread.start()
    return thread


def _version_of(request: Request) -> tuple[int, int, int]:
    """The data version, read once per GET (a page reads several cached values; each asking the database again
    cost a query apiece). A POST reads it afresh each time: what it changed must show on the page it renders."""
    if request.method != "GET":
        return data_version(request.app.state.engine)
    version = request.scope.get("placement_data_version")
    if version is None:
        version = request.scope["placement_data_version"] = data_version(request.app.state.engine)
    return version


def _touch(store: dict, key: tuple, kept: Any) -> None:
    """Move ``key`` to the end (most recently used), so that a round view in use is never the one evicted
    by the row lists of its own tables."""
    with _LOCKS_GUARD:
        if store.get(key) is kept:
            del store[key]
            store[key] = kept


_LOCKS_GUARD = threading.Lock()


def _lock_for(state: Any, key: tuple) -> threading.Lock:
    locks: dict = state.cache_locks
    with _LOCKS_GUARD:
        return locks.setdefault(key, threading.Lock())
