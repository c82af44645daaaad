"""`placement serve` itself: uvicorn on 127.0.0.1 and a free port, answering /healthz and the sign-in page,
with one worker and with several (the session and the rate limit live in the database, so any worker will do)."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest

from placement.accounts import add_user
from placement.db.migrate import upgrade
from placement.db.session import make_engine
from tests.helpers.web import PASSWORD, Served


def opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_signs_in(sqlite_url, workers) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    add_user(engine, "alice", "coordinator", PASSWORD)
    engine.dispose()
    with Served(sqlite_url, workers=workers) as served:
        with urllib.request.urlopen(f"{served.url}/healthz") as r:
            assert r.status == 200 and r.read() == b"ok" and r.headers["x-frame-options"] == "DENY"
        for _ in range(3):  # several browsers, so with two workers both are likely to answer one
            browser = opener()
            form = browser.open(f"{served.url}/login").read().decode()
            token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            data = urllib.parse.urlencode({"username": "alice", "password": PASSWORD, "csrf_token": token}).encode()
            page = browser.open(f"{served.url}/login", data=data).read().decode()
            assert "<h1>Season" in page
            assert "Season" in browser.open(f"{served.url}/").read().decode()
