"""The graduates of some cohorts, read once into plain records for the outcome audit.

The only part of the outcome audit that reads the database. A graduate is a
candidate of the cohort with at least one outcome event; where they were
placed is the host of their accepted offer in the cohort's latest approved
round (an offer carried from an earlier round counts: it is ``fixed``).
No names or contact details are read.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cohorts import CohortRef
from ..db.models import Candidate, Host, Outcome, Placement, ProtectedCharacteristics, Round
from .outcome_metrics import Event, Graduate

ATTRIBUTES = ("sex", "ethnic_group", "minority_ethnic", "disability", "career_changer")
HELD = ("accepted", "fixed")  # an offer the graduate took up


def _placed_at(session: Session, cohort: CohortRef) -> dict[int, tuple[str, str]]:
    """Candidate pk -> (org_type, region) of the host of their accepted offer in the latest approved round."""
    latest = session.scalar(
        select(Round.id)
        .where(Round.cohort_id == cohort.id, Round.approved_at.is_not(None))
        .order_by(Round.number.desc())
        .limit(1)
    )
    if latest is None:
        return {}
    return {
        pk: (org_type, region)
        for pk, org_type, region in session.execute(
            select(Placement.candidate_pk, Host.org_type, Host.region)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == latest, Placement.offer_status.in_(HELD))
        )
    }


def load_graduates(session: Session, cohort: CohortRef) -> list[Graduate]:
    """Every graduate of ``cohort`` with their characteristics, placement and events, by candidate id."""
    events: dict[int, list[Event]] = defaultdict(list)
    for pk, event, on, band in session.execute(
        select(Outcome.candidate_pk, Outcome.event, Outcome.date, Outcome.band)
        .join(Candidate, Candidate.id == Outcome.candidate_pk)
        .where(Candidate.cohort_id == cohort.id)
    ):
        events[pk].append(Event(event, on, band))
    placed = _placed_at(session, cohort)
    out = []
    for cand, prot in session.execute(
        select(Candidate, ProtectedCharacteristics)
        .outerjoin(ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id)
        .where(Candidate.cohort_id == cohort.id)
        .order_by(Candidate.candidate_id)
    ).all():
        if cand.id not in events:
            continue
        attrs = {a: getattr(prot, a) if prot else "not_known" for a in ATTRIBUTES if a != "career_changer"}
        attrs["career_changer"] = cand.career_changer or "not_known"
        org_type, region = placed.get(cand.id, (None, None))
        out.append(
            Graduate(
                cohort=cohort.name,
                candidate_id=cand.candidate_id,
                attributes=attrs,
                org_type=org_type,
                region=region,
                events=tuple(sorted(events[cand.id], key=lambda e: (e.on, e.event))),
            )
        )
    return out
