"""A stored round as a record, and its scheme-wide totals: the one place they are counted.

Every view of a round that states how many candidates were considered,
placed, placed at their first choice, which targets were met, or how many
blocking pairs there are — ``placement round show --json``, both editions of
the audit, the scenario comparison — takes the figures from
:func:`round_totals` (or :func:`totals_of` on a :class:`RoundRecord` already
read), so no two of them can disagree.

Definitions (``shared/spec/fairness.md``):

- *candidates*: everyone in the round's pool; *eligible*: those with at least
  one eligible host; *placed* / *unplaced*: unplaced = candidates − placed,
  so it includes those with no eligible host (``no_eligible_host`` says how
  many);
- *first choice*: placed at the host first in their own preference list as
  solved (gaps in the given ranks closed: given ranks 2, 5 are the 1st and
  2nd choices), read from the inputs stored with the round;
- *targets met / missed*: target scopes by the round's exact counts; a scope
  with nobody placed in it is neither (the target does not apply there);
- *blocking pairs*: a candidate and a host who would both rather be placed
  together. The solver lists them when a stability option was set; for a
  round solved without one they are counted here from the stored inputs, so
  "0" always means "checked and none", never "not looked at".

No special category data is read here: the protected characteristics are the
audit's business (``audit.load``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cohorts import CohortRef
from .db.models import Candidate, Host, Placement, Preference, Round

if TYPE_CHECKING:
    from .solver.encode import Encoded

SOLVED = ("OPTIMAL", "FEASIBLE")


@dataclass(frozen=True)
class RoundTotals:
    """The scheme-wide figures of one round: exact in every report, broken down by nobody."""

    candidates: int
    eligible: int
    no_eligible_host: int
    placed: int
    unplaced: int
    first_choice: int
    target_scopes: int
    targets_met: int
    targets_missed: int
    targets_not_applicable: int  # scopes with nobody placed in them
    blocking_pairs: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class RoundRecord:
    """One stored round read once: its row's fields, who was in it, who was placed where and at which choice."""

    cohort: (
        CohortRef | None
    )  # the cohort the round belongs to (rounds are numbered within it); None: pooled (audit.trends)
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
    summary: dict
    pool: list[str]
    eligible: set[str]
    placed: dict[str, tuple[str, int]]  # candidate id -> (host id, rank as given)
    # (candidate_id, host_id) -> position in the candidate's own list, for this and any other answer.
    choice_of: dict[tuple[str, str], int]
    positions_from: str  # "inputs" (as solved), "preferences" or "given_ranks" (purged)
    targets: list[dict] = field(default_factory=list)
    targets_assessed: bool = True  # False: the round has no placements, so its targets were not evaluated
    blocking_pairs: list[tuple[str, str]] = field(default_factory=list)
    inputs: Any = None  # the decoded inputs (solver.encode.Encoded), None once purged

    def choice(self, candidate_id: str) -> int | None:
        """The n-th choice the candidate was placed at in this round, None if unplaced."""
        placed = self.placed.get(candidate_id)
        if placed is None:
            return None
        return self.choice_of.get((candidate_id, placed[0]), placed[1])


def totals_of(record: RoundRecord) -> RoundTotals:
    """The totals of a round already read (the pure half of :func:`round_totals`)."""
    pool = set(record.pool)
    placed = [cid for cid in record.placed if cid in pool]
    statuses = [target_status(t) for t in record.targets] if record.targets_assessed else []
    return RoundTotals(
        candidates=len(pool),
        eligible=len(pool & record.eligible),
        no_eligible_host=len(pool - record.eligible),
        placed=len(placed),
        unplaced=len(pool) - len(placed),
        first_choice=sum(1 for cid in placed if record.choice(cid) == 1),
        target_scopes=len(record.targets),
        targets_met=statuses.count("met"),
        targets_missed=statuses.count("missed"),
        targets_not_applicable=statuses.count("empty_scope"),
        blocking_pairs=len(record.blocking_pairs),
    )


def round_totals(session: Session, number: int, cohort: CohortRef | str | None = None) -> RoundTotals:
    """Round ``number``'s scheme-wide totals (NotFound with a hint if the cohort has no such round)."""
    return totals_of(read_round(session, number, cohort))


def target_status(t: dict) -> str:
    """``met``, ``missed`` or ``empty_scope`` (nobody placed in the scope: the target does not apply)."""
    if int(t.get("placed_in_scope", 0) or 0) == 0:
        return "empty_scope"
    return "met" if t.get("met", True) else "missed"


# --- Reading --------------------------------------------------------------------------------------


def read_round(session: Session, number: int, cohort: CohortRef | str | None = None) -> RoundRecord:
    """Read round ``number`` of ``cohort`` (None: the default cohort): its row, pool, placements, choices."""
    from .cohorts import scoped
    from .rounds import load_round

    scope = scoped(session, cohort)
    rnd = load_round(session, number, scope)
    summary = dict(rnd.summary or {})
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

    encoded = round_inputs(session, rnd)
    if encoded is not None:
        positions = _positions_from_inputs(encoded)
        positions_from = "inputs"
    else:
        positions, any_lists = _positions_from_preferences(session, set(pool), placed, scope)
        positions_from = "preferences" if any_lists else "given_ranks"

    targets = list(summary.get("targets", []))
    assessed = True
    if rnd.status not in SOLVED:
        # No placements: the targets the round was asked to meet are listed, not assessed.
        assessed = False
        if not targets and encoded is not None:
            targets = [unassessed_target(t) for t in encoded.problem.targets]

    blocking = [(str(c), str(h)) for c, h in summary.get("blocking_pairs", [])]
    if (
        (rnd.options or {}).get("stability", "none") == "none"
        and encoded is not None
        and placed
        and rnd.status in SOLVED
    ):
        blocking = _count_blocking_pairs(encoded, placed)

    return RoundRecord(
        cohort=scope,
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
        summary=summary,
        pool=pool,
        eligible=eligible,
        placed=placed,
        choice_of=positions,
        positions_from=positions_from,
        targets=targets,
        targets_assessed=assessed,
        blocking_pairs=blocking,
        inputs=encoded,
    )


def round_inputs(session: Session, rnd: Round) -> Encoded | None:
    """The encoded inputs round ``rnd`` was solved from, or None once purged (read only when asked: they are large)."""
    blob = session.scalar(select(Round.inputs).where(Round.id == rnd.id))
    if blob is None:
        return None
    from .solver.encode import loads

    return loads(blob)


def unassessed_target(t) -> dict:
    """A target of a round that placed nobody: its definition, nothing counted, neither met nor missed."""
    return {
        "name": t.name,
        "scope": t.scope,
        "attribute": t.attribute,
        "value": t.value,
        "hard": t.hard,
        "min_share": t.min_share,
        "max_share": t.max_share,
        "placed_in_scope": 0,
        "members_placed": 0,
        "met": None,
    }


def chosen_pairs(encoded, placed: dict[str, tuple[str, int]]) -> list[int]:
    """The pair indices of ``placed`` in the encoded inputs (placements outside them are left out)."""
    index = encoded.pair_index()
    return sorted(index[(cid, hid)] for cid, (hid, _) in placed.items() if (cid, hid) in index)


def _count_blocking_pairs(encoded, placed: dict[str, tuple[str, int]]) -> list[tuple[str, str]]:
    import numpy as np

    from .solver.stability import blocking_pairs

    pairs = blocking_pairs(encoded.problem, np.asarray(chosen_pairs(encoded, placed), np.int64))
    return [(encoded.candidate_ids[c], encoded.host_ids[h]) for c, h in pairs]


def _positions_from_inputs(enc) -> dict[tuple[str, str], int]:
    p = enc.problem
    cids, hids = enc.candidate_ids, enc.host_ids
    return {
        (cids[int(c)], hids[int(h)]): int(r)
        for c, h, r in zip(p.pair_cand.tolist(), p.pair_host.tolist(), p.pair_rank.tolist())
    }


def _positions_from_preferences(
    session: Session, wanted: set[str], placed: dict[str, tuple[str, int]], cohort: CohortRef
) -> tuple[dict[tuple[str, str], int], bool]:
    """Positions from the preferences table, and whether any candidate of the round still has preferences."""
    rows = session.execute(
        select(Candidate.candidate_id, Host.host_id, Preference.rank)
        .join(Candidate, Candidate.id == Preference.candidate_pk)
        .join(Host, Host.id == Preference.host_pk)
        .where(Candidate.cohort_id == cohort.id)
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
