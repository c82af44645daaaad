"""Database failures in words a coordinator can act on: what happened, what to do, no row values.

The driver's own message can quote the statement's parameters (names, codes),
so only what identifies the failure is shown: SQLite's error name and text
(which never holds row values), PostgreSQL's SQLSTATE.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from ..errors import PlacementError

SQLITE_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
SQLITE_FULL = {"SQLITE_FULL"}
PG_CONNECTION_LOST = ("08",)  # connection exception class
PG_DISK_FULL = ("53100",)  # disk_full
PG_ADMIN_SHUTDOWN = ("57P01", "57P02", "57P03")


class DatabaseFailure(PlacementError):
    """The database itself failed (damaged file, full disk, lost connection): not the input's fault."""


def _sqlite_name(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlite_errorname", None)


def _sqlstate(exc: DBAPIError) -> str:
    return getattr(exc.orig, "sqlstate", None) or ""


def describe(exc: SQLAlchemyError, *, doing: str = "the command", written: bool = True) -> PlacementError:
    """A clear error for ``exc`` raised while doing ``doing``; ``written``: say that nothing was written."""
    nothing = "; nothing was written" if written else ""
    if isinstance(exc, DBAPIError):
        name = _sqlite_name(exc) or ""
        state = _sqlstate(exc)
        text = str(exc.orig).splitlines()[0] if exc.orig is not None and name else ""
        if name in SQLITE_DAMAGED or "malformed" in text:
            return DatabaseFailure(
                f"The database file is damaged (SQLite: {text or name}){nothing}.",
                "Restore it from your latest backup. `sqlite3 FILE .recover` can rescue what is left into a new "
                "file; check it with `placement --db sqlite:///NEW round list` before using it.",
            )
        if name in SQLITE_FULL or state.startswith(PG_DISK_FULL):
            return DatabaseFailure(
                f"The disk holding the database is full ({doing} stopped){nothing}.",
                "Free some space on that disk (or ask the database's administrator to), then run the command again.",
            )
        if exc.connection_invalidated or state.startswith(PG_CONNECTION_LOST) or state in PG_ADMIN_SHUTDOWN:
            return DatabaseFailure(
                f"The connection to the database was lost during {doing}{nothing}.",
                "Check that the database server is running and reachable, then run the command again.",
            )
        if name in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM") or state == "25006":
            return DatabaseFailure(
                f"The database cannot be written (SQLite: {text or name}){nothing}.",
                "Check that you may write to the database file and its folder, and that the disk is not read-only.",
            )
        if isinstance(exc, IntegrityError):
            return DatabaseFailure(
                f"The database refused {doing}: it would break a uniqueness or reference rule ({type(exc).__name__}"
                f"{', ' + state if state else ''}){nothing}.",
                "Another command may have changed the same rows at the same moment: run the command again. "
                "If it happens again, report it (with the command, not the file's contents).",
            )
        if isinstance(exc, OperationalError) and (name == "SQLITE_BUSY" or state in ("55P03", "40001", "40P01")):
            return DatabaseFailure(
                f"Another placement command held the database too long during {doing}{nothing}.",
                "Wait for it to finish and run the command again.",
            )
    detail = f"{type(exc).__name__}{', SQLSTATE ' + _sqlstate(exc) if isinstance(exc, DBAPIError) and _sqlstate(exc) else ''}"
    return DatabaseFailure(
        f"The database failed during {doing} ({detail}){nothing}.",
        "Run the command again; if it happens again, report it (with the command, not your files' contents).",
    )
