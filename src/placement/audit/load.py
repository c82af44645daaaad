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

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cohorts import CohortRef
from ..db.models import Candidate, ProtectedCharacteristics
from ..domain import TARGET_ATTRIBUTES
from ..totals import RoundRecord, RoundTotals, read_round, totals_of

CHARACTERISTICS: tuple[str, ...] = (
    TARGET_ATTRIBUTES  # sex, ethnic_group, minority_ethnic, disability, career_changer, home_region
)


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
    """The audit's records of one round: the stored round as read (``record``, the same reader and the
    same fields ``round show`` uses: one rule, one place) and what the audit adds to it — each
    candidate's characteristics, and the solver's notes from the round's summary.

    A scenario variant is the same shape: the round's record with the variant's answer put in
    (``scenario.compare``), so its figures come from the very code of the round's own audit.
    """

    record: RoundRecord
    candidates: list[CandidateFacts] = field(default_factory=list)
    totals: RoundTotals | None = None  # the scheme-wide totals (``totals.totals_of``), exact in every edition
    method: str = ""
    dropped: int = 0
    diagnosis: list[str] = field(default_factory=list)
    soft_violations: list[str] = field(default_factory=list)
    hard_protected_targets: list[str] = field(default_factory=list)

    def choice(self, candidate_id: str, host_id: str, given_rank: int) -> int:
        """Position of ``host_id`` in the candidate's own list (any answer's placement, not only the round's)."""
        return self.record.choice_of.get((candidate_id, host_id), given_rank)


def load_round_facts(session: Session, number: int, cohort: CohortRef | str | None = None) -> RoundFacts:
    """Read round ``number`` of ``cohort`` (None: the default cohort; NotFound with a hint if there is none)."""
    return facts_from_record(session, read_round(session, number, cohort))


def facts_from_record(session: Session, rec: RoundRecord) -> RoundFacts:
    """The audit's records of a round already read: its own, plus each candidate's characteristics."""
    if rec.cohort is None:
        raise ValueError("a pooled record (audit.trends) has no cohort to read characteristics from")
    wanted = set(rec.pool)
    attrs_of: dict[str, dict[str, str]] = {}
    P = ProtectedCharacteristics
    # Columns, not ORM objects: a 2,000-candidate round reads in a fifth of the time (the scenario
    # comparison and the audit both start here).
    for cid, career_changer, home_region, has_prot, sex, ethnic_group, minority_ethnic, disability in session.execute(
        select(
            Candidate.candidate_id,
            Candidate.career_changer,
            Candidate.home_region,
            P.candidate_pk,
            P.sex,
            P.ethnic_group,
            P.minority_ethnic,
            P.disability,
        )
        .outerjoin(P, P.candidate_pk == Candidate.id)
        .where(Candidate.cohort_id == rec.cohort.id)
    ).all():
        if cid not in wanted:
            continue
        known = has_prot is not None  # no row of characteristics: all not known
        attrs_of[cid] = {
            "sex": sex if known else "not_known",
            "ethnic_group": ethnic_group if known else "not_known",
            "minority_ethnic": minority_ethnic if known else "not_known",
            "disability": disability if known else "not_known",
            "career_changer": career_changer or "not_known",
            "home_region": home_region,
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
        record=rec,
        candidates=candidates,
        totals=totals_of(rec),
        method=str(summary.get("method", "")),
        dropped=len(summary.get("dropped", [])),
        diagnosis=list(summary.get("diagnosis", [])),
        soft_violations=list(summary.get("soft_violations", [])),
        hard_protected_targets=list(summary.get("hard_protected_targets", [])),
    )
