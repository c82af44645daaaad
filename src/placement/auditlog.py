"""Reading the audit log (``placement log`` and the console's audit-log page): who did what, and when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from .cohorts import resolve
from .db.models import AuditLog, Cohort
from .db.session import transaction


@dataclass(frozen=True)
class LogEntry:
    at: datetime  # UTC
    who: str  # the operating-system login, or web:ACCOUNT for the console
    cohort: str | None  # None: the whole database (a purge, an account change)
    action: str
    detail: str


def entries(
    engine: Engine,
    *,
    actions: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    cohort: str | None = None,
) -> list[LogEntry]:
    """The newest ``limit`` entries (after skipping the ``offset`` newest: a page of the log), newest first; only
    ``actions`` if given, on or after ``since``, about ``cohort`` if named (else every cohort and the
    database-wide entries)."""
    query = (
        select(AuditLog, Cohort.name)
        .outerjoin(Cohort, Cohort.id == AuditLog.cohort_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with transaction(engine) as s:
        rows = s.execute(_matching(s, query, actions, since, cohort)).all()
    return [
        LogEntry(
            (e.at if e.at.tzinfo is not None else e.at.replace(tzinfo=UTC)).astimezone(UTC),
            e.os_user,
            name,
            e.action,
            e.detail,
        )
        for e, name in rows
    ]


def count_entries(
    engine: Engine, *, actions: Sequence[str] = (), since: datetime | None = None, cohort: str | None = None
) -> int:
    """How many entries ``entries`` would page through with the same filters (counted by the database)."""
    with transaction(engine) as s:
        return int(s.scalar(_matching(s, select(func.count()).select_from(AuditLog), actions, since, cohort)) or 0)


def _matching(s: Session, query: Select, actions: Sequence[str], since: datetime | None, cohort: str | None) -> Select:
    if actions:
        query = query.where(AuditLog.action.in_([a.strip().lower() for a in actions]))
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if cohort is not None:
        query = query.where(AuditLog.cohort_id == resolve(s, cohort).id)
    return query


def actions(engine: Engine) -> list[str]:
    """Every action the log holds, for a filter's choices."""
    with transaction(engine) as s:
        return sorted(set(s.scalars(select(AuditLog.action).distinct())))
