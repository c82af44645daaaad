"""Recording the season's changes: one audit-log entry and one season event per change, in the same transaction.

The audit log (``placement log``) is the coordinator's readable trail; the
season events (``SeasonEvent``) are the same changes as data - round,
candidate, host, state before and after, reason - so ``candidate show`` can
list an offer's whole history without parsing log text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from .cohorts import CohortRef
from .config import os_user
from .db.models import AuditLog, SeasonEvent


def now() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    action: str,
    detail: str,
    *,
    cohort: CohortRef,
    round_id: int | None = None,
    candidate_pk: int | None = None,
    host_pk: int | None = None,
    subject: str = "",
    before: str | None = None,
    after: str | None = None,
    reason: str = "",
    log: bool = True,
) -> None:
    """Add the season event (and, unless ``log`` is False, its audit-log line) to ``session``."""
    at = now()
    who = os_user()
    session.add(
        SeasonEvent(
            at=at,
            os_user=who,
            cohort_id=cohort.id,
            action=action,
            round_id=round_id,
            candidate_pk=candidate_pk,
            host_pk=host_pk,
            subject=subject,
            before=before,
            after=after,
            reason=reason,
        )
    )
    if log:
        session.add(
            AuditLog(
                at=at,
                os_user=who,
                action=action,
                cohort_id=cohort.id,
                detail=detail + (f"; reason: {reason}" if reason else ""),
            )
        )
