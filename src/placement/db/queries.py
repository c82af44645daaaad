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
    cand_rows = session.execute(
        select(Candidate, ProtectedCharacteristics)
        .outerjoin(ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id)
        .where(Candidate.cohort_id == cohort.id, Candidate.withdrawn.is_(False), Candidate.purged_at.is_(None))
        .order_by(Candidate.candidate_id)
    ).all()
    cand_id_of_pk: dict[int, str] = {}
    candidates: list[CandidateRec] = []
    for cand, prot in cand_rows:
        cand_id_of_pk[cand.id] = cand.candidate_id
        attrs = {
            "sex": prot.sex if prot else "not_known",
            "ethnic_group": prot.ethnic_group if prot else "not_known",
            "minority_ethnic": prot.minority_ethnic if prot else "not_known",
            "disability": prot.disability if prot else "not_known",
            "career_changer": cand.career_changer,
            "home_region": cand.home_region,
        }
        candidates.append(
            CandidateRec(
                candidate_id=cand.candidate_id,
                assessment_score=cand.assessment_score,
                specialisms=_split(cand.specialisms),
                home_region=cand.home_region,
                willing_to_relocate=cand.willing_to_relocate,
                linked_with=cand.linked_with,
                attributes=attrs,
            )
        )
    host_rows = session.execute(
        select(Host, HostPlace)
        .join(HostPlace, HostPlace.host_pk == Host.id)
        .where(HostPlace.cohort_id == cohort.id)
        .order_by(Host.host_id)
    ).all()
    host_id_of_pk = {h.id: h.host_id for h, _ in host_rows}
    hosts = [
        HostRec(
            host_id=h.host_id,
            name=h.name,
            org_type=h.org_type,
            region=h.region,
            capacity=p.capacity,
            specialisms=_split(p.specialisms),
            min_score=p.min_score or 0.0,
            min_placements=p.min_placements or 0,
        )
        for h, p in host_rows
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
