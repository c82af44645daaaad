"""Signing in to the web console: passwords, sessions that expire and can be revoked, CSRF, rate limits,
security headers, and what the command line does to accounts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from placement.accounts import (
    MAX_FAILURES_PER_ACCOUNT,
    AccountError,
    add_user,
    disable_user,
    list_users,
    now,
    set_password,
)
from placement.cli import cli
from placement.db.models import AuditLog, WebSession, WebUser
from tests.helpers.web import PASSWORD, client_for, sign_in, signed_in, token_on


@pytest.fixture
def accounts(engine):
    add_user(engine, "alice", "coordinator", PASSWORD, full_name="Alice Smith")
    add_user(engine, "vic", "viewer", PASSWORD)
    return engine


def test_healthz_needs_no_session(engine) -> None:
    response = client_for(engine).get("/healthz")
    assert response.status_code == 200 and response.text == "ok"


def test_every_page_but_login_needs_a_session(accounts) -> None:
    client = client_for(accounts)
    response = client.get("/rounds?x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/rounds%3Fx%3D1"
    form = client.get("/login").text
    for field in ("username", "password", "csrf_token"):
        assert f'name="{field}"' in form
    assert '<label class="label" for="username">' in form and '<label class="label" for="password">' in form


def test_sign_in_sets_a_signed_httponly_strict_cookie_and_goes_where_asked(accounts) -> None:
    client = client_for(accounts)
    token = token_on(client, "/login?next=/rounds")
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/rounds"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/rounds"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("placement_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    with accounts.connect() as conn:  # the server keeps a hash, never the token the cookie carries
        ids = [r[0] for r in conn.execute(select(WebSession.id))]
    assert len(ids) == 1 and ids[0] not in value and value.split(".")[0] not in ids
    assert client.get("/").status_code == 200


def test_a_forged_or_tampered_cookie_is_no_session(accounts) -> None:
    client = signed_in(accounts, "alice")
    good = client.cookies["placement_session"]
    client.cookies.set("placement_session", good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_offsite_next_is_ignored(accounts) -> None:
    client = client_for(accounts)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil"):
        token = token_on(client, "/login")
        response = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"
        client.cookies.clear()


def test_wrong_password_and_unknown_account_say_the_same_and_are_logged(accounts) -> None:
    client = client_for(accounts)
    wrong = sign_in(client, "alice", "not the password at all")
    nobody = sign_in(client, "nobody", "not the password at all")
    assert wrong.status_code == nobody.status_code == 400
    message = "The account name or password is not right."
    assert message in wrong.text and message in nobody.text
    # GOV.UK error summary at the top, linking to the field.
    assert 'class="error-summary"' in wrong.text and 'href="#username"' in wrong.text
    with accounts.connect() as conn:
        details = [d for (d,) in conn.execute(select(AuditLog.detail).where(AuditLog.action == "sign-in"))]
    assert any("refused sign-in for 'alice'" in d for d in details)
    assert not any("not the password" in d or "nobody" in d for d in details)
    assert any("unknown account name" in d for d in details)


def test_empty_fields_are_named_in_the_error_summary(accounts) -> None:
    client = client_for(accounts)
    token = token_on(client, "/login")
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert 'href="#username">Enter your account name' in response.text
    assert 'href="#password">Enter your password' in response.text
    assert 'aria-describedby="password-error"' in response.text


def test_sign_in_is_rate_limited_per_account(accounts) -> None:
    client = client_for(accounts)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(client, "alice", "wrong password here").status_code == 400
    # Even the right password is refused now, without being checked.
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-in attempts" in refused.text
    # Other accounts are not locked out by it.
    assert sign_in(client, "vic").status_code == 303


def test_login_without_its_csrf_token_is_refused(accounts) -> None:
    client = client_for(accounts)
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "made-up"})
    assert response.status_code == 403
    other = client_for(accounts)  # a token from another browser's form (its cookie is not ours)
    stolen = token_on(other, "/login")
    fresh = client_for(accounts)
    assert (
        fresh.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": stolen}).status_code == 403
    )


def test_forms_without_the_session_csrf_token_are_refused(accounts) -> None:
    client = signed_in(accounts, "alice")
    assert client.post("/cohort", data={"cohort": "default"}).status_code == 403
    assert client.post("/cohort", data={"cohort": "default", "csrf_token": "x" * 43}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    token = token_on(client, "/")
    assert (
        client.post("/cohort", data={"cohort": "default", "csrf_token": token}, follow_redirects=False).status_code
        == 303
    )


def test_sign_out_revokes_the_session_server_side(accounts) -> None:
    client = signed_in(accounts, "alice")
    cookie = client.cookies["placement_session"]
    client.post("/logout", data={"csrf_token": token_on(client, "/")})
    replay = client_for(accounts)
    replay.cookies.set("placement_session", cookie)
    assert replay.get("/", follow_redirects=False).status_code == 303


def test_a_session_expires(accounts) -> None:
    client = signed_in(accounts, "alice")
    assert client.get("/").status_code == 200
    with accounts.begin() as conn:
        conn.execute(update(WebSession).values(expires_at=now() - timedelta(seconds=1)))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_idle_session_expires(accounts) -> None:
    client = signed_in(accounts, "alice")
    with accounts.begin() as conn:
        conn.execute(update(WebSession).values(last_seen_at=now() - timedelta(hours=1)))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_disabling_or_a_new_password_ends_open_sessions(accounts) -> None:
    client = signed_in(accounts, "alice")
    assert set_password(accounts, "alice", "another long passphrase") == 1
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client_for(accounts), "alice").status_code == 400  # the old password no longer works
    vic = signed_in(accounts, "vic")
    assert disable_user(accounts, "vic") == 1
    assert vic.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client_for(accounts), "vic").status_code == 400


def test_security_headers_on_every_response(accounts) -> None:
    client = signed_in(accounts, "alice")
    for path in ("/", "/login", "/healthz", "/no-such-page", "/static/style.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/").headers["cache-control"] == "no-store"


def test_no_inline_script_or_style_in_pages(accounts) -> None:
    client = signed_in(accounts, "alice")
    for path in ("/", "/login", "/rounds"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert " style=" not in html and "<style" not in html and " on" + "click=" not in html


def test_hostile_account_name_is_escaped(engine) -> None:
    add_user(engine, "mallory", "viewer", PASSWORD, full_name='<script>alert(1)</script>"><img src=x onerror=alert(2)>')
    html = signed_in(engine, "mallory").get("/").text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html


def test_accounts_are_checked(engine) -> None:
    with pytest.raises(AccountError, match="shorter than 12"):
        add_user(engine, "bob", "viewer", "short")
    with pytest.raises(AccountError, match="not a role"):
        add_user(engine, "bob", "admin", PASSWORD)
    with pytest.raises(AccountError, match="cannot be an account name"):
        add_user(engine, "bob smith", "viewer", PASSWORD)
    add_user(engine, "bob", "viewer", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        add_user(engine, "bob", "viewer", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(select(WebUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_user_commands(sqlite_url) -> None:
    runner = CliRunner()

    def run(*args, input=None, code=0):
        result = runner.invoke(cli, ["--db", sqlite_url, "user", *args], input=input)
        assert result.exit_code == code, result.output
        return result.output

    assert "added (coordinator)" in run(
        "add", "carol", "--role", "coordinator", "--full-name", "Carol Jones", "--password-stdin", input=PASSWORD + "\n"
    )
    assert "shorter than 12" in run("add", "dan", "--role", "viewer", "--password-stdin", input="short\n", code=1)
    assert "--password-stdin" in run("add", "dan", "--role", "viewer", code=1)  # never a password argument
    listed = run("list")
    assert "carol" in listed and "Carol Jones" in listed and "active" in listed
    assert "ended" in run("passwd", "carol", "--password-stdin", input="a brand new passphrase\n")
    assert "disabled" in run("disable", "carol")
    assert "did you mean 'carol'" in run("disable", "carl", code=1).lower()
    from placement.db.session import make_engine

    users = list_users(make_engine(sqlite_url))
    assert [(u.username, u.role, u.disabled) for u in users] == [("carol", "coordinator", True)]
