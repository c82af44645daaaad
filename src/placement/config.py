"""Settings: where the database is and the defaults every command shares."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///placement.db"
DATABASE_URL_ENV = "PLACEMENT_DATABASE_URL"


def database_url(explicit: str | None = None) -> str:
    """The URL from ``--db``, else ``PLACEMENT_DATABASE_URL``, else a SQLite file in the working directory."""
    if explicit:
        return explicit
    return os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


# The signed-in account of the web console (``web:alice``) while it runs a library operation for that
# account; unset on the command line, where the login name stands. One rule for "who did it", so every
# import batch, audit-log line, season event and round records the same person whichever door they came in by.
_ACTING: ContextVar[str | None] = ContextVar("placement_acting_user", default=None)


@contextmanager
def acting_as(account: str) -> Iterator[None]:
    """Record ``account`` as the person behind every change made inside the block (this thread/task only)."""
    token = _ACTING.set(account)
    try:
        yield
    finally:
        _ACTING.reset(token)


def os_user() -> str:
    """Who is running the command, for import batches and the audit log: the web account acting, else the
    operating-system login."""
    acting = _ACTING.get()
    if acting:
        return acting
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


MAX_IMPORT_BYTES_ENV = "PLACEMENT_MAX_IMPORT_BYTES"
MAX_IMPORT_ROWS_ENV = "PLACEMENT_MAX_IMPORT_ROWS"


@dataclass(frozen=True)
class ImportLimits:
    """The largest file an import reads, in bytes and in data rows.

    A scheme of 20,000 candidates ranking 10 hosts each is 200,000 preference
    rows (about 4 MB); the defaults leave five times that room and stop a
    wrong file (a whole database dump, a 1 GB log) before it exhausts the
    machine's memory. Raise them with ``--max-bytes``/``--max-rows`` or the
    environment variables for a genuinely larger scheme.
    """

    max_bytes: int = 100_000_000
    max_rows: int = 1_000_000


def import_limits() -> ImportLimits:
    """The limits from ``PLACEMENT_MAX_IMPORT_BYTES``/``PLACEMENT_MAX_IMPORT_ROWS``, else the defaults."""
    from .errors import ConfigError

    default = ImportLimits()
    values = {}
    for env, field, fallback in (
        (MAX_IMPORT_BYTES_ENV, "max_bytes", default.max_bytes),
        (MAX_IMPORT_ROWS_ENV, "max_rows", default.max_rows),
    ):
        raw = os.environ.get(env, "").strip().replace("_", "")
        try:
            values[field] = int(raw) if raw else fallback
        except ValueError:
            raise ConfigError(
                f"{env}={raw!r} is not a whole number.", f"Set it to e.g. {fallback}, or unset it."
            ) from None
        if values[field] < 1:
            raise ConfigError(f"{env}={raw!r} must be at least 1.", f"Set it to e.g. {fallback}, or unset it.")
    return ImportLimits(**values)
