"""Write a small scheme straight into a migrated database through the ORM (for round tests)."""

from __future__ import annotations

from sqlalchemy import select

from placement.cohorts import resolve
from placement.db.models import (
    Candidate,
    Host,
    HostPlace,
    HostRanking,
    PairRule,
    Preference,
    ProtectedCharacteristics,
    Target,
)
from placement.db.session import transaction
from placement.domain import ethnic_group, minority_ethnic


def seed(engine, candidates, hosts, preferences, *, targets=(), pairs=(), host_rankings=(), cohort=None):
    """candidates: dicts with candidate_id, score, region, plus optional sex, ethnic_category, disability,
    career_changer, relocate, specialisms, linked_with; hosts: dicts with host_id, region, capacity, plus
    optional org_type, specialisms, min_score, min_placements; preferences: (cid, hid, rank).
    Everything goes into ``cohort`` (a name; None: the only open cohort); a host already stored is reused."""
    with transaction(engine) as s:
        scope = resolve(s, cohort)
        cpk = {}
        for c in candidates:
            code = c.get("ethnic_category", "99")
            row = Candidate(
                cohort_id=scope.id,
                candidate_id=c["candidate_id"],
                given_name="Given",
                family_name=c["candidate_id"],
                email=f"{c['candidate_id'].lower()}@example.org",
                assessment_score=c.get("score", 70.0),
                specialisms=c.get("specialisms", "data"),
                home_region=c.get("region", "London"),
                willing_to_relocate=c.get("relocate", True),
                career_changer=c.get("career_changer", "not_known"),
                linked_with=c.get("linked_with"),
            )
            grp = ethnic_group(code)
            row.protected = ProtectedCharacteristics(
                sex=c.get("sex", "not_known"),
                ethnic_category=code,
                ethnic_group=grp,
                minority_ethnic=minority_ethnic(grp),
                disability=c.get("disability", "not_known"),
            )
            s.add(row)
            s.flush()
            cpk[row.candidate_id] = row.id
        hpk = {}
        for h in hosts:
            row = s.scalar(select(Host).where(Host.host_id == h["host_id"]))
            if row is None:
                row = Host(
                    host_id=h["host_id"],
                    name=h.get("name", f"Host {h['host_id']}"),
                    org_type=h.get("org_type", "acute"),
                    region=h.get("region", "London"),
                )
                s.add(row)
                s.flush()
            s.add(
                HostPlace(
                    cohort_id=scope.id,
                    host_pk=row.id,
                    capacity=h["capacity"],
                    specialisms=h.get("specialisms", "data;digital"),
                    min_score=h.get("min_score", 0.0),
                    min_placements=h.get("min_placements", 0),
                )
            )
            hpk[row.host_id] = row.id
        s.add_all(Preference(candidate_pk=cpk[c], host_pk=hpk[h], rank=r) for c, h, r in preferences)
        s.add_all(HostRanking(host_pk=hpk[h], candidate_pk=cpk[c], rank=r) for h, c, r in host_rankings)
        s.add_all(
            PairRule(candidate_pk=cpk[c], host_pk=hpk[h], rule=rule, reason=reason) for c, h, rule, reason in pairs
        )
        s.add_all(Target(cohort_id=scope.id, **t) for t in targets)
