"""Everything the audit needs of one stored round, read once into plain records.

The metrics never touch the database: this module is the only part of the
audit that does. It reads the round (``rounds.load_round``), its placements,
the characteristics of every candidate it considered, and how each placed
candidate ranked their host.

"n-th choice" is the candidate's own position: the host's place in their
preference list *as solved* — the encoder's pair rank, read from the inputs
stored with the round, with gaps in the given ranks closed (given ranks
1, 3, 7 are their 1st, 2nd and 3rd choices). That is what a candidate would
call "my 2nd choice". A host placed by agreement that the candidate never
ranked counts as their last choice, as the encoder counts it. If the round's
inputs were purged, positions come from the preferences table instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Candidate, Host, Placement, Preference, ProtectedCharacteristics, Round
from ..domain import TARGET_ATTRIBUTES

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

    def choice(self, candidate_id: str, host_id: str, given_rank: int) -> int:
        return self.choice_of.get((candidate_id, host_id), given_rank)


def _positions_from_inputs(session: Session, rnd: Round) -> dict[tuple[str, str], int] | None:
    blob = session.scalar(select(Round.inputs).where(Round.id == rnd.id))
    if blob is None:
        return None
    from ..solver.encode import loads

    enc = loads(blob)
    p = enc.problem
    cids, hids = enc.candidate_ids, enc.host_ids
    return {
        (cids[int(c)], hids[int(h)]): int(r)
        for c, h, r in zip(p.pair_cand.tolist(), p.pair_host.tolist(), p.pair_rank.tolist())
    }


def _positions_from_preferences(
    session: Session, wanted: set[str], placed: dict[str, tuple[str, int]]
) -> tuple[dict[tuple[str, str], int], bool]:
    """Positions from the preferences table, and whether any candidate of the round still has preferences."""
    rows = session.execute(
        select(Candidate.candidate_id, Host.host_id, Preference.rank)
        .join(Candidate, Candidate.id == Preference.candidate_pk)
        .join(Host, Host.id == Preference.host_pk)
    ).all()
    lists: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for cid, hid, rank in rows:
        if cid in wanted:
            lists[cid].append((rank, hid))
    out: dict[tuple[str, str], int] = {}
    for cid, ranked in lists.items():
        for pos, (_, hid) in enumerate(sorted(ranked), start=1):
            out[(cid, hid)] = pos
    for cid, (hid, given) in placed.items():
        if cid in lists:  # placed by agreement at a host they did not rank: their last choice
            out.setdefault((cid, hid), len(lists[cid]) + 1)
        else:  # their preferences were purged too: the rank as given is all there is
            out[(cid, hid)] = given
    return out, bool(lists)


def load_round_facts(session: Session, number: int) -> RoundFacts:
    """Read round ``number`` (NotFound with a hint if there is none)."""
    from ..rounds import load_round

    rnd = load_round(session, number)
    summary = rnd.summary or {}
    placed: dict[str, tuple[str, int]] = {
        cid: (hid, rank)
        for cid, hid, rank in session.execute(
            select(Candidate.candidate_id, Host.host_id, Placement.rank)
            .join(Candidate, Candidate.id == Placement.candidate_pk)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == rnd.id)
        ).all()
    }
    pool = list(dict.fromkeys([*summary.get("pool", []), *sorted(placed)]))
    # Rounds stored before "eligible" was recorded: everyone in the pool counts as eligible.
    eligible = set(summary.get("eligible", pool)) | set(placed)

    positions = _positions_from_inputs(session, rnd)
    positions_from = "inputs"
    if positions is None:
        positions, any_lists = _positions_from_preferences(session, set(pool), placed)
        positions_from = "preferences" if any_lists else "given_ranks"

    wanted = set(pool)
    attrs_of: dict[str, dict[str, str]] = {}
    for cand, prot in session.execute(
        select(Candidate, ProtectedCharacteristics).outerjoin(
            ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id
        )
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
    for cid in sorted(wanted & set(attrs_of)):
        hid_rank = placed.get(cid)
        candidates.append(
            CandidateFacts(
                candidate_id=cid,
                attributes=attrs_of[cid],
                eligible=cid in eligible,
                host_id=hid_rank[0] if hid_rank else None,
                choice=positions.get((cid, hid_rank[0]), hid_rank[1]) if hid_rank else None,
            )
        )

    return RoundFacts(
        number=rnd.number,
        state=rnd.state,
        parent_number=rnd.parent_number,
        created_at=rnd.created_at,
        created_by=rnd.created_by,
        approved_by=rnd.approved_by,
        approved_at=rnd.approved_at,
        options=dict(rnd.options or {}),
        input_hash=rnd.input_hash,
        solver_version=rnd.solver_version,
        status=rnd.status,
        objective=dict(rnd.objective or {}),
        bound=dict(rnd.bound or {}),
        solve_seconds=float(rnd.solve_seconds or 0.0),
        method=str(summary.get("method", "")),
        candidates=candidates,
        targets=list(summary.get("targets", [])),
        blocking_pairs=[(str(c), str(h)) for c, h in summary.get("blocking_pairs", [])],
        dropped=len(summary.get("dropped", [])),
        diagnosis=list(summary.get("diagnosis", [])),
        soft_violations=list(summary.get("soft_violations", [])),
        hard_protected_targets=list(summary.get("hard_protected_targets", [])),
        choice_of=positions,
        positions_from=positions_from,
    )
