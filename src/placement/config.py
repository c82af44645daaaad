"""Settings: where the database is and the defaults every command shares."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "sqlite:///placement.db"
DATABASE_URL_ENV = "PLACEMENT_DATABASE_URL"


def database_url(explicit: str | None = None) -> str:
    """The URL from ``--db``, else ``PLACEMENT_DATABASE_URL``, else a SQLite file in the working directory."""
    if explicit:
        return explicit
    return os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


def os_user() -> str:
    """Who is running the command, for import batches and the audit log."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
