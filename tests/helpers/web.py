"""The web console under test: a database with the sample season, accounts of every role, signed-in clients.

``sample_season(folder)`` builds once per test session (import the sample
fixtures, solve round 1, approve it) and each test copies the file, so a test
that changes the season never affects another. The fixtures ``season_template``
(built once per module) and ``season`` (an engine on a fresh copy) are used by
importing ``season_template_fixture, season_fixture`` into a test module.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from placement.accounts import add_user
from placement.approval import approve_round
from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.ingest import import_dir
from placement.rounds import RoundOptions, solve_round
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


# Named fixtures (``name=``) so that a test's ``season`` argument does not shadow the imported function.
@pytest.fixture(scope="module", name="season_template")
def season_template_fixture(tmp_path_factory):
    """The sample season, built once per test module."""
    return sample_season(tmp_path_factory.mktemp("season"))


@pytest.fixture(name="season")
def season_fixture(season_template, tmp_path):
    """An engine on a fresh copy of the sample season: a test may change it freely."""
    engine = make_engine(copy_of(season_template, tmp_path))
    yield engine
    engine.dispose()


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
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )


def signed_in(engine, username: str, **settings) -> TestClient:
    client = client_for(engine, **settings)
    response = sign_in(client, username)
    assert response.status_code == 303, response.text
    return client


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`placement serve` in a subprocess on 127.0.0.1 and a free port, stopped on exit (by its own pid)."""

    def __init__(self, db_url: str, *, workers: int = 1, timeout: float = 60):
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from placement.cli import main; main()",
                "--db",
                db_url,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"placement serve exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("placement serve did not answer /healthz in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except Exception:  # noqa: BLE001 - a stuck server is killed
                self.process.kill()
                self.process.wait(timeout=15)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
