"""Reading the audit log (``placement log`` and the console's audit-log page): who did what, and when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

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
    cohort: str | None = None,
) -> list[LogEntry]:
    """The newest ``limit`` entries, newest first; only ``actions`` if given, on or after ``since``, about
    ``cohort`` if named (else every cohort and the database-wide entries)."""
    query = (
        select(AuditLog, Cohort.name)
        .outerjoin(Cohort, Cohort.id == AuditLog.cohort_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    if actions:
        query = query.where(AuditLog.action.in_([a.strip().lower() for a in actions]))
    if since is not None:
        query = query.where(AuditLog.at >= since)
    with transaction(engine) as s:
        if cohort is not None:
            query = query.where(AuditLog.cohort_id == resolve(s, cohort).id)
        rows = s.execute(query).all()
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


def actions(engine: Engine) -> list[str]:
    """Every action the log holds, for a filter's choices."""
    with transaction(engine) as s:
        return sorted(set(s.scalars(select(AuditLog.action).distinct())))
