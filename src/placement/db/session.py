"""Engine and session: one place that knows how to open the database.

SQLite gets foreign keys on and a file readable by its owner only (it holds
special category data); PostgreSQL is used as is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigError, SchemaNotReady


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _secure_sqlite_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite creates it world-readable."""
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the SQLite database file {path}: {exc.strerror or exc}.",
            "Choose a folder you can write to with --db sqlite:///PATH (or PLACEMENT_DATABASE_URL).",
        ) from exc


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"Not a database URL: {url!r}.",
            "Use e.g. sqlite:///placement.db or postgresql+psycopg://user@host/dbname.",
        ) from exc
    if u.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"Unsupported database {u.get_backend_name()!r} in {u.render_as_string(hide_password=True)}.",
            "placement supports SQLite (sqlite:///placement.db) and PostgreSQL (postgresql+psycopg://user@host/db).",
        )
    path = sqlite_path(url)
    if path is not None:
        _secure_sqlite_file(path)
    kwargs: dict = {}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"No database driver for {u.drivername!r}.",
            "Use postgresql+psycopg://... (the driver installed with placement) or sqlite:///FILE.",
        ) from exc
    if u.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back whole on any error."""
    with make_sessionmaker(engine)() as session:
        with session.begin():
            yield session


def table_names(engine: Engine) -> set[str]:
    try:
        return set(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise ConfigError(
            f"Cannot open the database: {exc.orig}.",
            "Check the --db URL or PLACEMENT_DATABASE_URL, and that the server is running.",
        ) from exc
    except DatabaseError as exc:  # e.g. SQLite's "file is not a database"
        raise ConfigError(
            f"{engine.url.database or engine.url} is not a placement database ({exc.orig}).",
            "Point --db at a placement database, or at a new file name to create one.",
        ) from exc


def require_schema(engine: Engine) -> None:
    """Raise SchemaNotReady unless the database is at the newest migration."""
    from .migrate import current_revision, head_revision

    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaNotReady(
            "The database has no placement schema yet.",
            "Run `placement db upgrade` to create it.",
        )
    raise SchemaNotReady(
        f"The database schema is at revision {current}, this version of placement needs {head}.",
        "Back up the database, then run `placement db upgrade`.",
    )
