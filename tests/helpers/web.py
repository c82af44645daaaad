"""The web console under test: a database with the sample season, accounts of every role, signed-in clients.

``sample_season(folder)`` builds once per test session (import the sample
fixtures, solve round 1, approve it) and each test copies the file, so a test
that changes the season never affects another.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from placement.accounts import add_user
from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.ingest import import_dir
from placement.rounds import RoundOptions, approve_round, solve_round
from placement.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "fixtures" / "sample"
PASSWORD = "correct horse battery staple"
ROLES = {"coord": "coordinator", "lead": "equality-lead", "viewer": "viewer"}
BASE_URL = "http://127.0.0.1"


def sample_season(folder: Path) -> Path:
    """A SQLite file with the sample scheme imported, round 1 solved and approved, and one account per role."""
    path = folder / "season.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    import_dir(engine, SAMPLE)
    solve_round(engine, RoundOptions(time_limit=20))
    approve_round(engine, 1, "Setup Person")
    for name, role in ROLES.items():
        add_user(engine, name, role, PASSWORD, full_name=f"{role.title()} Person")
    engine.dispose()
    return path


def copy_of(template: Path, folder: Path) -> str:
    target = folder / "copy.db"
    shutil.copyfile(template, target)
    target.chmod(0o600)
    return f"sqlite:///{target}"


def client_for(engine, **settings) -> TestClient:
    return TestClient(create_app(engine, **settings), base_url=BASE_URL)


def token_on(client: TestClient, path: str) -> str:
    """The CSRF token in the first form of the page at ``path``."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', client.get(path).text)
    assert found, f"no csrf_token on {path}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    token = token_on(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


def signed_in(engine, username: str, **settings) -> TestClient:
    client = client_for(engine, **settings)
    response = sign_in(client, username)
    assert response.status_code == 303, response.text
    return client
