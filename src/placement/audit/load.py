"""Everything the audit needs of one stored round, read once into plain records.

The metrics never touch the database: this module is the only part of the
audit that does. It reads the round through ``totals.read_round`` (the same
reader ``round show`` uses, so the scheme-wide totals are counted once), then
the characteristics of every candidate it considered.

"n-th choice" is the candidate's own position: the host's place in their
preference list *as solved* — the encoder's pair rank, read from the inputs
stored with the round, with gaps in the given ranks closed (given ranks
1, 3, 7 are their 1st, 2nd and 3rd choices). That is what a candidate would
call "my 2nd choice". A host placed by agreement that the candidate never
ranked counts as their last choice, as the encoder counts it. If the round's
inputs were purged, positions come from the preferences table instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cohorts import CohortRef
from ..db.models import Candidate, ProtectedCharacteristics
from ..domain import TARGET_ATTRIBUTES
from ..totals import RoundRecord, RoundTotals, read_round, totals_of

CHARACTERISTICS: tuple[str, ...] = TARGET_ATTRIBUTES  # sex, ethnic_group, minority_ethnic, disability, career_changer, home_region


@dataclass(frozen=True)
class CandidateFacts:
    """One candidate of the round, as the audit sees them (no names, no contact details)."""

    candidate_id: str
    attributes: dict[str, str]  # characteristic -> value (missing states included)
    eligible: bool  # at least one eligible host in this round
    host_id: str | None  # placed at, or None
    choice: int | None  # placed at their n-th choice, or None


@dataclass
class RoundFacts:
    number: int
    state: str
    parent_number: int | None
    created_at: datetime | None
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    options: dict
    input_hash: str
    solver_version: str
    status: str
    objective: dict
    bound: dict
    solve_seconds: float
    method: str = ""
    candidates: list[CandidateFacts] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    blocking_pairs: list[tuple[str, str]] = field(default_factory=list)
    dropped: int = 0
    diagnosis: list[str] = field(default_factory=list)
    soft_violations: list[str] = field(default_factory=list)
    hard_protected_targets: list[str] = field(default_factory=list)
    # (candidate_id, host_id) -> position in the candidate's list, for comparing another solve's answer.
    choice_of: dict[tuple[str, str], int] = field(default_factory=dict)
    positions_from: str = "inputs"  # "inputs" (as solved), "preferences" or "given_ranks" (purged)
    targets_assessed: bool = True  # False: no placements (e.g. INFEASIBLE), the targets are listed only
    totals: RoundTotals | None = None  # the scheme-wide totals (``totals.round_totals``), exact in every edition
    cohort: CohortRef | None = None  # the cohort the round belongs to

    def choice(self, candidate_id: str, host_id: str, given_rank: int) -> int:
        return self.choice_of.get((candidate_id, host_id), given_rank)


def load_round_facts(session: Session, number: int, cohort: CohortRef | str | None = None) -> RoundFacts:
    """Read round ``number`` of ``cohort`` (None: the default cohort; NotFound with a hint if there is none)."""
    return facts_from_record(session, read_round(session, number, cohort))


def facts_from_record(session: Session, rec: RoundRecord) -> RoundFacts:
    """The audit's records of a round already read: its own, plus each candidate's characteristics."""
    wanted = set(rec.pool)
    attrs_of: dict[str, dict[str, str]] = {}
    for cand, prot in session.execute(
        select(Candidate, ProtectedCharacteristics).outerjoin(
            ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id
        ).where(Candidate.cohort_id == rec.cohort.id)
    ).all():
        if cand.candidate_id not in wanted:
            continue
        attrs_of[cand.candidate_id] = {
            "sex": prot.sex if prot else "not_known",
            "ethnic_group": prot.ethnic_group if prot else "not_known",
            "minority_ethnic": prot.minority_ethnic if prot else "not_known",
            "disability": prot.disability if prot else "not_known",
            "career_changer": cand.career_changer or "not_known",
            "home_region": cand.home_region,
        }

    candidates = []
    for cid in sorted(wanted):
        hid_rank = rec.placed.get(cid)
        candidates.append(
            CandidateFacts(
                candidate_id=cid,
                # A candidate row removed since the round (not done by purge, which keeps the row): all not known.
                attributes=attrs_of.get(cid) or dict.fromkeys(CHARACTERISTICS, "not_known"),
                eligible=cid in rec.eligible,
                host_id=hid_rank[0] if hid_rank else None,
                choice=rec.choice(cid),
            )
        )

    summary = rec.summary
    return RoundFacts(
        number=rec.number,
        state=rec.state,
        parent_number=rec.parent_number,
        created_at=rec.created_at,
        created_by=rec.created_by,
        approved_by=rec.approved_by,
        approved_at=rec.approved_at,
        options=rec.options,
        input_hash=rec.input_hash,
        solver_version=rec.solver_version,
        status=rec.status,
        objective=rec.objective,
        bound=rec.bound,
        solve_seconds=rec.solve_seconds,
        method=str(summary.get("method", "")),
        candidates=candidates,
        targets=rec.targets,
        targets_assessed=rec.targets_assessed,
        blocking_pairs=rec.blocking_pairs,
        dropped=len(summary.get("dropped", [])),
        diagnosis=list(summary.get("diagnosis", [])),
        soft_violations=list(summary.get("soft_violations", [])),
        hard_protected_targets=list(summary.get("hard_protected_targets", [])),
        choice_of=rec.choice_of,
        positions_from=rec.positions_from,
        cohort=rec.cohort,
        totals=totals_of(rec),
    )
