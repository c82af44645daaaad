"""Queries the rest of the program asks of the database."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..scheme import CandidateRec, HostRec, PairRuleRec, Scheme, TargetRec
from .models import Candidate, Host, HostPlace, HostRanking, PairRule, Preference, ProtectedCharacteristics, Target

if TYPE_CHECKING:
    from ..cohorts import CohortRef


def _split(specialisms: str) -> frozenset[str]:
    return frozenset(s for s in specialisms.split(";") if s)


def load_scheme(session: Session, cohort: CohortRef | str | None = None) -> Scheme:
    """One cohort: every candidate still in it (not withdrawn, not purged), every host with places in it, their lists.

    ``cohort`` None: the default cohort (``cohorts.resolve``).
    """
    from ..cohorts import scoped

    cohort = scoped(session, cohort)
    # Plain columns, not ORM objects: 20,000 candidates and 8,000 hosts as objects were most of the time of
    # loading a scheme (a solve's, and the web console's candidate page after each change of the data).
    P = ProtectedCharacteristics
    cand_rows = session.execute(
        select(
            Candidate.id,
            Candidate.candidate_id,
            Candidate.assessment_score,
            Candidate.specialisms,
            Candidate.home_region,
            Candidate.willing_to_relocate,
            Candidate.linked_with,
            Candidate.career_changer,
            P.candidate_pk,
            P.sex,
            P.ethnic_group,
            P.minority_ethnic,
            P.disability,
        )
        .outerjoin(P, P.candidate_pk == Candidate.id)
        .where(Candidate.cohort_id == cohort.id, Candidate.withdrawn.is_(False), Candidate.purged_at.is_(None))
        .order_by(Candidate.candidate_id)
    ).all()
    cand_id_of_pk: dict[int, str] = {}
    candidates: list[CandidateRec] = []
    for row in cand_rows:
        cand_id_of_pk[row.id] = row.candidate_id
        known = row.candidate_pk is not None  # a row of protected characteristics exists
        attrs = {
            "sex": row.sex if known else "not_known",
            "ethnic_group": row.ethnic_group if known else "not_known",
            "minority_ethnic": row.minority_ethnic if known else "not_known",
            "disability": row.disability if known else "not_known",
            "career_changer": row.career_changer,
            "home_region": row.home_region,
        }
        candidates.append(
            CandidateRec(
                candidate_id=row.candidate_id,
                assessment_score=row.assessment_score,
                specialisms=_split(row.specialisms),
                home_region=row.home_region,
                willing_to_relocate=row.willing_to_relocate,
                linked_with=row.linked_with,
                attributes=attrs,
            )
        )
    host_rows = session.execute(
        select(
            Host.id,
            Host.host_id,
            Host.name,
            Host.org_type,
            Host.region,
            HostPlace.capacity,
            HostPlace.specialisms,
            HostPlace.min_score,
            HostPlace.min_placements,
        )
        .join(HostPlace, HostPlace.host_pk == Host.id)
        .where(HostPlace.cohort_id == cohort.id)
        .order_by(Host.host_id)
    ).all()
    host_id_of_pk = {h.id: h.host_id for h in host_rows}
    hosts = [
        HostRec(
            host_id=h.host_id,
            name=h.name,
            org_type=h.org_type,
            region=h.region,
            capacity=h.capacity,
            specialisms=_split(h.specialisms),
            min_score=h.min_score or 0.0,
            min_placements=h.min_placements or 0,
        )
        for h in host_rows
    ]
    in_cohort = Candidate.cohort_id == cohort.id
    prefs = [
        (cand_id_of_pk[c], host_id_of_pk[h], r)
        for c, h, r in session.execute(
            select(Preference.candidate_pk, Preference.host_pk, Preference.rank)
            .join(Candidate, Candidate.id == Preference.candidate_pk)
            .where(in_cohort)
        ).all()
        if c in cand_id_of_pk and h in host_id_of_pk
    ]
    prefs.sort(key=lambda t: (t[0], t[2], t[1]))
    rankings: dict[str, dict[str, int]] = defaultdict(dict)
    for h, c, r in session.execute(
        select(HostRanking.host_pk, HostRanking.candidate_pk, HostRanking.rank)
        .join(Candidate, Candidate.id == HostRanking.candidate_pk)
        .where(in_cohort)
    ).all():
        if h not in host_id_of_pk:
            continue
        # A withdrawn candidate stays on the host's list (it still means "ranked") but has no pairs.
        rankings[host_id_of_pk[h]][cand_id_of_pk.get(c, f"pk:{c}")] = r
    targets = [
        TargetRec(t.name, t.scope, t.attribute, t.value, t.min_share, t.max_share, t.strength, t.weight or 0.0)
        for t in session.scalars(select(Target).where(Target.cohort_id == cohort.id).order_by(Target.name)).all()
    ]
    rules = [
        PairRuleRec(cand_id_of_pk[c], host_id_of_pk[h], rule, reason or "")
        for c, h, rule, reason in session.execute(
            select(PairRule.candidate_pk, PairRule.host_pk, PairRule.rule, PairRule.reason)
            .join(Candidate, Candidate.id == PairRule.candidate_pk)
            .where(in_cohort)
        ).all()
        if c in cand_id_of_pk and h in host_id_of_pk
    ]
    rules.sort(key=lambda r: (r.candidate_id, r.host_id))
    return Scheme(candidates, hosts, prefs, dict(rankings), targets, rules)
