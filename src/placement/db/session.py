"""Engine and session: one place that knows how to open the database.

SQLite gets foreign keys on, a file readable by its owner only (it holds
special category data) and a busy timeout; PostgreSQL is used as is.

Transactions on SQLite. pysqlite (in its default, legacy transaction mode,
which every ``transaction()`` here keeps) sends ``BEGIN`` only before the
first INSERT/UPDATE/DELETE, so the reads before it run outside the
transaction and take no lock. ``write_transaction`` starts with
``BEGIN IMMEDIATE`` instead: the write lock is taken before the first read,
so a command that validates and then writes (an import) sees and changes one
state of the database, and a second writer waits for the lock (up to the busy
timeout) rather than validating against rows about to change. It is not the
default for every transaction on purpose: a plain deferred ``BEGIN`` before
the reads would give snapshot reads, but a transaction that has read cannot
wait for the write lock (SQLite fails it at once with "database is locked",
to avoid a deadlock), so read-then-write transactions must either start
IMMEDIATE or keep pysqlite's lazy BEGIN, which waits.

Transactions on PostgreSQL run at read committed, so a check followed by a
write locks nothing by itself. Writers that must see one state of the rounds
(store a solve, approve a round, record answers) pass ``lock="rounds"``: on
PostgreSQL the transaction first takes a transaction-scoped advisory lock
(``pg_advisory_xact_lock``) that those writers share, so they run one at a
time and each reads what the previous one committed; on SQLite BEGIN
IMMEDIATE already serialises every writer. Imports and purges pass
``lock="scheme"`` (a purge also ``"rounds"``: it reads who was in which round):
two imports, or an import and a purge, never validate against the same
state. A writer waits for an advisory lock at most ``BUSY_TIMEOUT`` seconds
(``lock_timeout``), then fails with a clear message, as on SQLite.

Reads that must see one state of the database (loading the scheme for a
solve, a dry run, an export) use ``read_transaction``/``read_session``: a
deferred ``BEGIN`` on SQLite (one snapshot from the first read), REPEATABLE
READ on PostgreSQL.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConcurrencyError, ConfigError, SchemaNotReady

BUSY_TIMEOUT = 30.0  # seconds a SQLite command waits for another command's write lock

# PostgreSQL advisory lock keys (one bigint per kind of writer), taken by ``write_transaction(lock=...)``.
ADVISORY_LOCKS = {
    "rounds": 0x706C_6163_726F_756E,  # "placroun": solve's store, approval, answers, purge
    "scheme": 0x706C_6163_7363_686D,  # "placschm": imports and purge
}
# Taken in this order when a writer needs several, so two writers never wait for each other.
_LOCK_ORDER = ("scheme", "rounds")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_target(path: Path) -> bool:
    """Whether ``path`` exists; refuse (touching nothing) anything that is not a SQLite database or an empty file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(
            f"Cannot open the SQLite database file {path}: {exc.strerror or exc}.",
            "Check the path given with --db sqlite:///PATH (or PLACEMENT_DATABASE_URL).",
        ) from exc
    not_db = ConfigError(
        f"{path} is not a placement database"
        + (
            " (it is a folder)"
            if stat.S_ISDIR(st.st_mode)
            else " (it is not a regular file)"
            if not stat.S_ISREG(st.st_mode)
            else " (it is not a SQLite file)"
        )
        + "; it was left untouched.",
        "Point --db at a placement database, or at a new file name to create one (e.g. sqlite:///placement.db).",
    )
    if not stat.S_ISREG(st.st_mode):
        raise not_db
    if st.st_size == 0:
        return True  # an empty file: SQLite makes it a database
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the SQLite database file {path}: {exc.strerror or exc}.",
            "Check the file's permissions, or point --db at another database.",
        ) from exc
    if head != SQLITE_HEADER:
        raise not_db
    return True


def _secure_sqlite_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600, in a 0700 folder if new) before SQLite creates it world-readable.

    An existing path is checked first and changed only if it is a SQLite
    database (or an empty file): ``--db`` pointing at a text file or a folder
    is refused without touching it.
    """
    from ..files import make_private_folders

    try:
        if not _check_sqlite_target(path):
            make_private_folders(path.parent)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            os.close(fd)
        if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
            os.chmod(path, 0o600)
    except FileExistsError:  # created by another command a moment ago
        _secure_sqlite_file(path)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the SQLite database file {path}: {exc.strerror or exc}.",
            "Choose a folder you can write to with --db sqlite:///PATH (or PLACEMENT_DATABASE_URL).",
        ) from exc


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def make_engine(url: str, *, busy_timeout: float | None = None) -> Engine:
    """An engine for ``url``; a writer waits up to ``busy_timeout`` s (default BUSY_TIMEOUT) for another's lock."""
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
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT if busy_timeout is None else busy_timeout}
    elif busy_timeout is not None:  # PostgreSQL: how long a writer waits for an advisory lock
        kwargs["execution_options"] = {"placement_lock_timeout": busy_timeout}
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
    # A plain Session, not a sessionmaker's: each sessionmaker makes a Session subclass of its own, whose event
    # dispatch set-up cost about half a millisecond per transaction (several per page of the web console).
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        yield session


def _is_busy(exc: OperationalError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlite_errorname", None) == "SQLITE_BUSY" or "database is locked" in str(orig)


def _busy_error(waited: float) -> ConcurrencyError:
    return ConcurrencyError(
        f"Another placement command is writing to this database (the database's write lock was still held "
        f"after waiting {waited:g} s); nothing was written.",
        "Wait for it to finish and run the command again.",
    )


def _locks(lock: str | tuple[str, ...] | None) -> list[str]:
    wanted = (lock,) if isinstance(lock, str) else tuple(lock or ())
    unknown = [k for k in wanted if k not in ADVISORY_LOCKS]
    if unknown:
        raise ValueError(f"unknown lock {unknown[0]!r}")
    return [k for k in _LOCK_ORDER if k in wanted]


@contextmanager
def write_transaction(
    engine: Engine, *, write: bool = True, lock: str | tuple[str, ...] | None = None
) -> Iterator[Connection]:
    """A Core transaction whose reads and writes see one state of the database; committed at the end.

    On SQLite it starts with ``BEGIN IMMEDIATE`` (``write=False``: ``BEGIN``,
    a read snapshot that does not hold off other writers), so everything read
    in it is read under the write lock it writes with; while another command
    holds that lock it waits up to the engine's busy timeout, then raises
    ConcurrencyError. On PostgreSQL it is ``engine.begin()`` (``write=False``:
    at REPEATABLE READ, one snapshot); with ``lock`` (a key of ADVISORY_LOCKS,
    or several) its first statements take those transaction-scoped advisory
    locks, waiting up to BUSY_TIMEOUT while another transaction holds one
    (then ConcurrencyError); they are released when the transaction ends.
    """
    keys = _locks(lock)
    if keys and not write:
        raise ValueError("a lock is for writers: write=False takes none")
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql" and not write:
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "sqlite":
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
                except OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                    waited = conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0
                    raise _busy_error(waited / 1000) from None
            elif keys and conn.dialect.name == "postgresql":
                # lock_timeout bounds the wait for the advisory lock (SET LOCAL: this transaction only).
                wait = float(conn.get_execution_options().get("placement_lock_timeout", BUSY_TIMEOUT))
                conn.execute(text(f"SET LOCAL lock_timeout = '{max(1, int(wait * 1000))}ms'"))
                try:
                    for key in keys:
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCKS[key]})
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                        raise
                    raise _busy_error(wait) from None
                conn.execute(text("SET LOCAL lock_timeout = 0"))
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only view of one state of the database (SQLite: one read transaction; PostgreSQL: REPEATABLE READ).

    Several queries that belong together (the scheme a solve loads, the rows
    an export writes) never mix the states before and after another command's
    commit. It takes no write lock and holds off no writer for long.
    """
    with write_transaction(engine, write=False) as conn:
        yield conn


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """``read_transaction`` as an ORM session (nothing it changes is meant to be written)."""
    with read_transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def write_session(engine: Engine, *, lock: str | tuple[str, ...] | None = None) -> Iterator[Session]:
    """``transaction`` under ``write_transaction``: an ORM session whose reads are made under the write lock.

    The session joins the connection's transaction; its changes are flushed at
    the end and committed with it, or rolled back whole on any error.
    """
    with (
        write_transaction(engine, lock=lock) as conn,
        Session(bind=conn, expire_on_commit=False) as session,
        session.begin(),
    ):
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
        if getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_CORRUPT":
            from .failures import describe

            raise describe(exc, doing="opening the database", written=False) from None
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
    check_upgradable(engine, current)
    if current is None:
        raise SchemaNotReady(
            "The database has no placement schema yet.",
            "Run `placement db upgrade` to create it.",
        )
    raise SchemaNotReady(
        f"The database schema is at revision {current}, this version of placement needs {head}.",
        "Back up the database, then run `placement db upgrade`.",
    )


def check_upgradable(engine: Engine, current: str | None) -> None:
    """Refuse, with what to do, a database ``placement db upgrade`` cannot bring up to date.

    - a revision this version does not know: the database was made by a newer
      placement (or another tool), and a migration cannot go there from here;
    - placement's tables without a schema version (``alembic_version`` dropped,
      or the tables made by hand): upgrading would try to create them again.
    """
    from .migrate import head_revision, known_revision

    if current is not None and not known_revision(current):
        raise SchemaNotReady(
            f"The database's schema (revision {current}) is newer than this version of placement knows "
            f"(it knows up to {head_revision()}); it was written by a newer placement. Nothing was changed.",
            "Install the newer version of placement (pip install --upgrade placement) to use this database, "
            "or point --db at another one.",
        )
    if current is None and table_names(engine) & {"candidates", "rounds", "audit_log", "hosts"}:
        raise SchemaNotReady(
            "The database has placement's tables but no schema version (its alembic_version table is missing), "
            "so placement cannot tell which migrations it has had. Nothing was changed.",
            "Restore the database from a backup, or start a new one (--db sqlite:///new.db) and import the files "
            "again. If you are sure it is at the newest schema, a database administrator can run "
            "`alembic stamp head` on it.",
        )
