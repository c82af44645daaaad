"""Signing in and out, the session cookie, CSRF tokens and each page's right.

The rules (roles and rights, password hashing, session expiry, rate limits)
are :mod:`placement.accounts`; this module only carries them over HTTP:

- the session cookie holds the session's random token signed with the
  console's key (itsdangerous), HttpOnly, SameSite=Strict, Secure behind TLS;
  the server keeps the token's hash, so a session can be revoked;
- every form carries a CSRF token: the session's own once signed in, and
  before that (the sign-in form) a signed token in a short-lived cookie that
  the form must repeat;
- ``page(right)`` wraps each route: no session → the sign-in page; a session
  without the right → 403; a POST without the right CSRF token → 403.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..accounts import SESSION_LIFETIME, Right, SessionInfo, SignInRefused, can, session_for, sign_in, sign_out
from ..config import acting_as

SESSION_COOKIE = "placement_session"
LOGIN_CSRF_COOKIE = "placement_login_csrf"
LOGIN_CSRF_AGE = 3600

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Signed:
    """The console's signers (one key, two purposes, so a value signed for one is refused by the other)."""

    session: TimestampSigner
    form: TimestampSigner
    flash: TimestampSigner

    @classmethod
    def with_key(cls, key: str) -> Signed:
        return cls(
            TimestampSigner(key, salt="placement-session"),
            TimestampSigner(key, salt="placement-login-csrf"),
            TimestampSigner(key, salt="placement-flash"),
        )


def _state(request: Request) -> Any:
    return request.app.state


def current_session(request: Request) -> SessionInfo | None:
    """The signed-in session of the request, looked up once per request."""
    if "session_info" in request.scope:
        return request.scope["session_info"]
    info = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            token = _state(request).signed.session.unsign(raw, max_age=int(SESSION_LIFETIME.total_seconds())).decode()
        except BadSignature:
            token = None
        if token:
            info = session_for(_state(request).engine, token)
            if info is not None:
                info = SessionInfo(token, info.account, info.csrf_token, info.expires_at, info.cohort)
    request.scope["session_info"] = info
    return info


def session(request: Request) -> SessionInfo:
    info = current_session(request)
    assert info is not None, "page() lets only signed-in requests through"
    return info


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //evil.example or https://...): an open redirect would help phishing."""
    # Browsers read a backslash as a slash, so "/\\evil.example" is "//evil.example" to them.
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or urlsplit(target).netloc
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target


class Forbidden(Exception):
    """The signed-in account's role lacks the page's right, or a form's CSRF token is missing or wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def page(right: Right) -> Callable[[Handler], Handler]:
    """A route that needs a session with ``right`` (and, for a POST, the session's CSRF token in the form)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            info = await run_in_threadpool(current_session, request)
            if info is None:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(here)}", status_code=303)
            if not can(info.account.role, right):
                raise Forbidden(f"Your role ({info.account.role}) cannot open this page.")
            if request.method == "POST":
                form = await request.form()
                sent = form.get("csrf_token")
                if not isinstance(sent, str) or not secrets.compare_digest(sent, info.csrf_token):
                    raise Forbidden(
                        "The form's security token is missing or out of date. Go back, reload the page "
                        "and send the form again."
                    )
            return await handler(request)

        guarded.right = right  # type: ignore[attr-defined]  # read by the route x role test
        return guarded

    return wrap


async def call(request: Request, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a library operation in a worker thread, as the signed-in account (so the audit log names it)."""
    actor = session(request).account.actor

    def run() -> Any:
        with acting_as(actor):
            return fn(*args, **kwargs)

    return await run_in_threadpool(run)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _state(request).signed.session.sign(token).decode(),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_state(request).secure_cookies,
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_state(request).secure_cookies
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ----------------------------------------------------------------------------- /login, /logout


def _login_page(
    request: Request,
    *,
    errors: list[tuple[str, str]] | None = None,
    username: str = "",
    status: int = 200,
    fresh_token: str | None = None,
) -> Response:
    token = fresh_token or secrets.token_urlsafe(24)
    response = _state(request).templates.TemplateResponse(
        request,
        "login.html",
        {
            "csrf_token": token,
            "errors": errors or [],
            "username": username,
            "next": _safe_next(request.query_params.get("next")),
            "title": "Sign in",
        },
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        _state(request).signed.form.sign(token).decode(),
        max_age=LOGIN_CSRF_AGE,
        httponly=True,
        samesite="strict",
        secure=_state(request).secure_cookies,
        path="/login",
    )
    return response


async def login_form(request: Request) -> Response:
    if await run_in_threadpool(current_session, request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    sent = str(form.get("csrf_token") or "")
    try:
        expected = (
            _state(request)
            .signed.form.unsign(request.cookies.get(LOGIN_CSRF_COOKIE, ""), max_age=LOGIN_CSRF_AGE)
            .decode()
        )
    except BadSignature:
        expected = ""
    if not expected or not secrets.compare_digest(sent, expected):
        raise Forbidden(
            "The sign-in form's security token is missing or out of date. Reload the sign-in page and "
            "try again (cookies must be allowed for this site)."
        )
    errors = []
    if not username.strip():
        errors.append(("username", "Enter your account name"))
    if not password:
        errors.append(("password", "Enter your password"))
    if errors:
        return _login_page(request, errors=errors, username=username, status=400)
    try:
        info = await run_in_threadpool(
            sign_in, _state(request).engine, username, password, client=client_address(request)
        )
    except SignInRefused as exc:
        message = f"{exc.message} {exc.hint or ''}".strip()
        return _login_page(
            request, errors=[("username", message)], username=username, status=429 if exc.throttled else 400
        )
    target = _safe_next(str(form.get("next") or "/"))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, info.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    info = await run_in_threadpool(current_session, request)
    if info is not None:
        form = await request.form()
        sent = form.get("csrf_token")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, info.csrf_token):
            raise Forbidden(
                "The sign-out form's security token is missing or out of date. Reload the page and try again."
            )
        await run_in_threadpool(sign_out, _state(request).engine, info.token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response
