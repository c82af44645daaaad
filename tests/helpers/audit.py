"""Builders for the audit tests: a scheme and a stored round written through the ORM.

Rounds are written as ``placement.rounds`` stores them
(Round row with options, hash, status, objective, bound and summary;
one Placement per placed candidate with the candidate's given rank), with the
encoded inputs stored beside them as ``rounds.py`` does. The solver is not
run: each test says who is placed where, so its expected figures can be
worked out by hand. ``tests/test_audit_support.py`` checks the builder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from placement.cohorts import resolve
from placement.db.models import Candidate, Host, HostPlace, Placement, Preference, ProtectedCharacteristics, Round
from placement.db.queries import load_scheme
from placement.db.session import transaction
from placement.domain import ETHNIC_GROUP_OF_CODE, minority_ethnic
from placement.rounds import round_summary
from placement.solver import Solution, evaluate
from placement.solver import encode as enc_mod

# A code per ethnic group, for building candidates by group.
CODE_OF_GROUP = {
    "white": "A",
    "mixed": "D",
    "asian": "H",
    "black": "M",
    "other": "R",
    "not_stated": "Z",
    "not_known": "99",
}


def add_candidates(engine, rows: list[dict]) -> None:
    """rows: candidate_id plus optional sex, ethnic_group (or ethnic_category), disability,
    career_changer, home_region, relocate, score, protected=False to store no characteristics."""
    with transaction(engine) as s:
        scope = resolve(s, None)
        for r in rows:
            code = r.get("ethnic_category") or CODE_OF_GROUP[r.get("ethnic_group", "not_known")]
            group = ETHNIC_GROUP_OF_CODE[code]
            cand = Candidate(
                cohort_id=scope.id,
                candidate_id=r["candidate_id"],
                given_name="Ada",
                family_name=f"Surname{r['candidate_id']}",
                email=f"{r['candidate_id'].lower()}@example.org",
                assessment_score=r.get("score", 70.0),
                specialisms="data",
                home_region=r.get("home_region", "London"),
                willing_to_relocate=r.get("relocate", True),
                career_changer=r.get("career_changer", "not_known"),
            )
            if r.get("protected", True):
                cand.protected = ProtectedCharacteristics(
                    sex=r.get("sex", "not_known"),
                    ethnic_category=code,
                    ethnic_group=group,
                    minority_ethnic=minority_ethnic(group),
                    disability=r.get("disability", "not_known"),
                )
            s.add(cand)


def add_hosts(engine, rows: list[dict]) -> None:
    with transaction(engine) as s:
        scope = resolve(s, None)
        for h in rows:
            host = Host(
                host_id=h["host_id"],
                name=f"Trust {h['host_id']}",
                org_type=h.get("org_type", "acute"),
                region=h.get("region", "London"),
            )
            s.add(host)
            s.flush()
            s.add(
                HostPlace(
                    cohort_id=scope.id,
                    host_pk=host.id,
                    capacity=h.get("capacity", 10),
                    specialisms="data",
                    min_score=h.get("min_score", 0.0),
                    min_placements=0,
                )
            )


def add_preferences(engine, prefs: list[tuple[str, str, int]]) -> None:
    with transaction(engine) as s:
        cpk = dict(s.execute(select(Candidate.candidate_id, Candidate.id)).all())
        hpk = dict(s.execute(select(Host.host_id, Host.id)).all())
        s.add_all(Preference(candidate_pk=cpk[c], host_pk=hpk[h], rank=r) for c, h, r in prefs)


@dataclass
class StoredRound:
    number: int
    placements: dict[str, tuple[str, int]]  # candidate_id -> (host_id, given rank)
    summary: dict = field(default_factory=dict)


def store_round(
    engine,
    placements: dict[str, str],
    *,
    targets: list[dict] | None = None,
    blocking_pairs: list[list[str]] | None = None,
    status: str = "OPTIMAL",
    state: str = "proposal",
    options: dict | None = None,
    hard_protected_targets: list[str] | None = None,
    keep_inputs: bool = True,
) -> StoredRound:
    """Store the next round with these placements (candidate_id -> host_id), as rounds.py would.

    The summary is ``rounds.round_summary`` of a solution holding exactly these placements (evaluated by
    the solver's own ``evaluate``); ``targets`` and ``blocking_pairs``, when given, replace the computed
    ones so a test can state the figures it checks.
    """
    with transaction(engine) as s:
        scope = resolve(s, None)
        encoded = enc_mod.encode(load_scheme(s, scope))
        blob = enc_mod.dumps(encoded)
        index = encoded.pair_index()
        chosen = np.array(sorted(index[(c, h)] for c, h in placements.items()), np.int32)
        solution = Solution(
            status=status,
            chosen=chosen,
            placed=0,
            rank_sum=0,
            objective={},
            bound={},
            solve_seconds=0.25,
            method="test",
        )
        evaluate(encoded.problem, chosen).fill(solution)
        placed = encoded.decode(solution)
        number = (s.scalar(select(Round.number).order_by(Round.number.desc()).limit(1)) or 0) + 1
        summary = round_summary(encoded, solution, hard_protected_targets or [])
        summary.update(targets=targets or [], blocking_pairs=blocking_pairs or [])
        objective = dict(solution.objective) if status in ("OPTIMAL", "FEASIBLE") else {}
        rnd = Round(
            cohort_id=scope.id,
            number=number,
            state=state,
            parent_number=None,
            created_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            created_by="coordinator",
            # Blocking pairs are listed by the solver only under a stability option (else they are counted
            # from the inputs by totals.read_round), so a round given its blocking pairs was solved with one.
            options=options
            or {
                "objective": "rank-sum",
                "stability": "prefer" if blocking_pairs else "none",
                "hard_min_placements": False,
                "time_limit": 60.0,
                "workers": 2,
                "allow_quota": False,
                "decline_policy": "host",
            },
            input_hash=enc_mod.input_hash(blob),
            solver_version="placement 0.1.0 / ortools test",
            status=status,
            objective=objective,
            bound=dict(objective),
            solve_seconds=0.25,
            summary=summary,
            inputs=blob if keep_inputs else None,
        )
        s.add(rnd)
        s.flush()
        cpk = dict(s.execute(select(Candidate.candidate_id, Candidate.id)).all())
        hpk = dict(s.execute(select(Host.host_id, Host.id)).all())
        s.add_all(
            Placement(round_id=rnd.id, candidate_pk=cpk[c], host_pk=hpk[h], rank=r, offer_status="proposed")
            for c, (h, r) in sorted(placed.items())
        )
    return StoredRound(number, placed, summary)


@dataclass
class FakeFree:
    """What ``resolves.resolve_without_targets`` returns, for tests that fix the free solve's answer."""

    status: str
    objective: dict
    placements: dict


def resolver(placements: dict[str, tuple[str, int] | None], status: str = "OPTIMAL", objective: dict | None = None):
    def resolve(engine, number):
        placed = sum(1 for v in placements.values() if v)
        return FakeFree(status, objective or {"placed": float(placed), "rank_cost": 0.0}, dict(placements))

    return resolve


def no_resolve(engine, number):  # pragma: no cover - fails the test if called
    raise AssertionError("the audit re-solved a round that has no targets")


def build_sample_round(engine, n: int = 300, seed: int = 7) -> StoredRound:
    """A deterministic, realistic-looking round: n candidates, greedy placements, a soft target per region."""
    import random

    from placement.domain import REGIONS

    rng = random.Random(seed)
    cands = [
        {
            "candidate_id": f"C{i:04d}",
            "sex": rng.choice(["female", "female", "male", "male", "not_stated"]),
            "ethnic_group": rng.choice(["white"] * 6 + ["asian", "asian", "black", "mixed", "other", "not_stated"]),
            "disability": rng.choice(["no"] * 8 + ["yes", "yes", "not_stated"]),
            "career_changer": rng.choice(["yes", "no", "no"]),
            "home_region": rng.choice(REGIONS),
        }
        for i in range(n)
    ]
    hosts = [
        {"host_id": f"H{j:03d}", "region": REGIONS[j % len(REGIONS)], "capacity": rng.randint(1, 6)}
        for j in range(n // 4)
    ]
    add_candidates(engine, cands)
    add_hosts(engine, hosts)
    prefs = [(c["candidate_id"], h["host_id"], k + 1) for c in cands for k, h in enumerate(rng.sample(hosts, 6))]
    add_preferences(engine, prefs)
    room = {h["host_id"]: h["capacity"] for h in hosts}
    placed: dict[str, str] = {}
    for cid in sorted({c for c, _, _ in prefs}, key=lambda _: rng.random()):
        for _, hid, _ in sorted((p for p in prefs if p[0] == cid), key=lambda p: p[2]):
            if room[hid]:
                room[hid] -= 1
                placed[cid] = hid
                break
    region_of = {h["host_id"]: h["region"] for h in hosts}
    sex_of = {c["candidate_id"]: c["sex"] for c in cands}
    targets = []
    for region in sorted(REGIONS):
        here = [c for c, h in placed.items() if region_of[h] == region]
        women = sum(1 for c in here if sex_of[c] == "female")
        need = 0.4 * len(here)
        targets.append(
            {
                "name": "women-per-region",
                "scope": f"region={region}",
                "attribute": "sex",
                "value": "female",
                "hard": False,
                "min_share": 0.4,
                "max_share": None,
                "placed_in_scope": len(here),
                "members_placed": women,
                "required_min": need,
                "required_max": None,
                "shortfall": max(0.0, need - women),
                "met": women >= need - 1e-9,
            }
        )
    blocking = [[c, h] for c, h, r in prefs if r == 1 and c not in placed][:12]
    return store_round(engine, placed, targets=targets, blocking_pairs=blocking)
