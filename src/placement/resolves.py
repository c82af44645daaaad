"""Re-solving a stored round: the reproducibility check and the solve without targets.

A round keeps the encoded inputs it was solved from (``Round.inputs``) until a
purge, so it can be solved again exactly as it was: ``rederive`` re-solves
with the round's own options (the same inputs must give the same placements),
and ``resolve_without_targets`` drops the diversity targets, settling ties by
fewest changes from the round's placements, for the audit's price of
fairness. Neither stores anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .cohorts import CohortRef, resolve
from .db.models import Candidate, Host, Placement, Round
from .db.session import transaction
from .errors import RoundError
from .rounds import RoundOptions, load_round
from .solver import encode as enc_mod
from .solver.problem import TieBreak
from .totals import round_inputs


@dataclass
class FreeSolve:
    status: str
    objective: dict[str, float]
    placements: dict[str, tuple[str, int] | None]
    # The re-solve kept as many of the round's placements as any equally good answer can (proven).
    fewest_changes: bool = False


def stored_inputs(
    session: Session, number: int, cohort: CohortRef | str | None = None
) -> tuple[Round, enc_mod.Encoded]:
    rnd = load_round(session, number, cohort)
    encoded = round_inputs(session, rnd)
    if encoded is None:
        raise RoundError(
            f"Round {number}'s inputs were purged.", "It can no longer be re-solved; its aggregate figures remain."
        )
    return rnd, encoded


def rederive(engine: Engine, number: int, *, cohort: CohortRef | str | None = None) -> dict[str, tuple[str, int]]:
    """Re-solve round N's stored inputs with its stored options (reproducibility check)."""
    from .solver import solve

    with transaction(engine) as s:
        rnd, encoded = stored_inputs(s, number, resolve(s, cohort))
        opts = RoundOptions.stored(rnd.options)
        settled = TieBreak.parse((rnd.summary or {}).get("tie_break")).settled
    if not settled:
        # The round kept the levels' own answer (its ties were not settled in the time it had); whether
        # a re-solve settles them depends on the machine's speed, so reproduce what the round did.
        opts = replace(opts, tie_break="none")
    solution = solve(encoded.problem, opts.solver_options(), engine=opts.engine)
    return encoded.decode(solution)


def resolve_without_targets(engine: Engine, number: int, *, cohort: CohortRef | str | None = None) -> FreeSolve:
    """Round N's stored inputs and options, solved without the diversity targets (price of fairness).

    Ties are settled by fewest changes from the round's own placements, so
    every move the comparison shows is one that dropping the targets made
    possible, not a tie the engine happened to break the other way.
    """
    from .solver import solve

    with transaction(engine) as s:
        rnd, encoded = stored_inputs(s, number, resolve(s, cohort))
        opts = RoundOptions.stored(rnd.options)
        index = encoded.pair_index()
        kept = [index[cp] for cp in _round_placements(s, rnd) if cp in index]
    problem = replace(encoded.problem, targets=())
    solution = solve(problem, opts.solver_options(), keep=np.array(kept, np.int64), engine=opts.engine)
    placed = encoded.decode(solution)
    return FreeSolve(
        status=solution.status,
        objective=solution.objective,
        placements={cid: placed.get(cid) for cid in encoded.candidate_ids},
        fewest_changes=solution.tie_break.rule == "kept" and solution.tie_break.settled,
    )


def _round_placements(session: Session, rnd: Round) -> list[tuple[str, str]]:
    """(candidate id, host id) of every placement stored with round ``rnd``."""
    return [
        (r[0], r[1])
        for r in session.execute(
            select(Candidate.candidate_id, Host.host_id)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Placement.host_pk == Host.id)
            .where(Placement.round_id == rnd.id)
        ).all()
    ]
