"""Shared fixtures: a migrated SQLite database per test, and PostgreSQL when configured.

PostgreSQL tests read ``PLACEMENT_TEST_POSTGRES_URL`` (``.ci/run`` sets it) and
skip without it. Each test session gets a fresh database on that server,
dropped at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from placement.db.migrate import upgrade
from placement.db.session import make_engine

PG_ENV = "PLACEMENT_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'placement.db'}"


@pytest.fixture
def engine(sqlite_url: str):
    """A migrated, empty SQLite database."""
    eng = make_engine(sqlite_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def scheme_template(tmp_path_factory) -> Path:
    """A migrated SQLite file holding tests/helpers/ingest's small valid scheme (C1-C4, H1-H3), built once."""
    from tests.helpers.ingest import make_template

    return make_template(tmp_path_factory.mktemp("scheme-template"), with_scheme=True)


@pytest.fixture
def loaded(scheme_template: Path, tmp_path: Path):
    """The small valid scheme in a fresh database of this test's own (a copy of ``scheme_template``)."""
    from tests.helpers.ingest import sqlite_copy

    eng = sqlite_copy(scheme_template, tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"placement_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path: Path) -> str:
    """Both backends: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'placement.db'}"
    return request.getfixturevalue("pg_url")
