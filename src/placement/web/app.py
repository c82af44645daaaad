"""The ASGI application of `placement serve`: routes, templates, security headers and error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..accounts import cookie_secret
from ..errors import NotFound, PlacementError
from .auth import Forbidden, Signed, login_form, login_submit, logout

HERE = Path(__file__).parent

# No inline script or style anywhere: the pages use /static only, so the policy can forbid everything else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SecurityHeaders:
    """Adds the security headers to every response; pages that carry personal data are never cached."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    from .pages import render

    return render(request, "error.html", {"title": title, "message": message}, status=status)


async def forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return _error_page(request, 403, "You cannot do this", exc.message)


async def library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlacementError)
    status = 404 if isinstance(exc, NotFound) else 400
    return _error_page(request, status, "There is a problem", f"{exc.message} {exc.hint or ''}".strip())


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Page not found", 405: "Not allowed"}
    return _error_page(
        request,
        exc.status_code,
        titles.get(exc.status_code, "There is a problem"),
        str(exc.detail) if exc.status_code != 404 else "Check the address, or use the menu.",
    )


def templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates are part of the installed package: no stat() of each file per page
    )
    from .pages import query_with

    env.globals["query_with"] = query_with
    return Jinja2Templates(env=env)


def routes() -> list[Route | Mount]:
    from . import (
        routes_audit,
        routes_candidates,
        routes_diff,
        routes_hosts,
        routes_import,
        routes_offers,
        routes_rounds,
        routes_scenario,
        routes_season,
        routes_solve,
    )

    out: list[Route | Mount] = [
        Route("/healthz", healthz),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
    for module in (
        routes_season,
        routes_rounds,
        routes_diff,
        routes_hosts,
        routes_offers,
        routes_candidates,
        routes_audit,
        routes_scenario,
        routes_import,
        routes_solve,
    ):
        out += module.ROUTES
    out.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    return out


def create_app(engine: Engine, *, cohort: str | None = None, secure_cookies: bool = False) -> Starlette:
    """The console on ``engine`` (already migrated): ``cohort`` is the default cohort, None for the only open one."""
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={Forbidden: forbidden, PlacementError: library_error, HTTPException: http_error},
    )
    app.state.engine = engine
    app.state.cohort = cohort
    app.state.secure_cookies = secure_cookies
    app.state.signed = Signed.with_key(cookie_secret(engine))
    app.state.templates = templates()
    app.state.cache = {}
    app.state.cache_locks = {}
    app.state.warm = {}  # key -> compute, for the kept values keep_warm may recompute in the background
    return app
