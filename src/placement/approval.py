"""Approval: a named person turns the cohort's latest proposal into offers (UK GDPR Art. 22).

No placement reaches a candidate until a person approves it. The proposal must
still start from the offers as they stand: a round solved before a later
approval, or before an answer or correction to the round it continues, is
refused and has to be solved again. Approval never changes the round it
continues: its offers and answers stay as history.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from .cohorts import CohortRef, resolve
from .db.models import Placement
from .db.session import write_session
from .errors import RoundError
from .events import record
from .rounds import _now, basis, latest_approved, load_round
from .text import refused_in_text


def approve_round(engine: Engine, number: int, by: str, *, cohort: CohortRef | str | None = None) -> int:
    """A named person turns the cohort's latest proposal into offers. Returns the number of offers made."""
    if not by.strip():
        raise RoundError("Approval needs the approver's name.", 'Pass --by "Full Name".')
    bad = refused_in_text(by)
    if bad is not None:
        raise RoundError(
            f"The approver's name contains the control character {bad}; a name never does.",
            'Pass --by "Full Name" typed as plain text.',
        )
    # The checks below read under the rounds write lock, so a racing approval or store cannot pass them too.
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = load_round(s, number, scope)
        if rnd.state != "proposal":
            raise RoundError(
                f"Round {number} is {rnd.state}, not a proposal awaiting approval.",
                "Only the latest proposal can be approved: see `placement round list`.",
            )
        if rnd.status not in ("OPTIMAL", "FEASIBLE"):
            raise RoundError(
                f"Round {number} has no placements to approve (status {rnd.status}).", "Fix the inputs and solve again."
            )
        current = latest_approved(s, scope)
        if current is not None and rnd.parent_number != current.number:
            raise RoundError(
                f"Round {number} was solved before round {current.number} was approved.",
                "Run `placement solve` again so the proposal starts from the approved round.",
            )
        stored_basis = rnd.summary.get("basis")
        if stored_basis is not None and stored_basis != basis(s, current, scope):
            raise RoundError(
                f"Round {number} was solved before the latest answers or corrections to round "
                f"{current.number if current else '-'} (a decline, a release, a withdrawal or a changed answer).",
                "Run `placement solve` again so the proposal starts from the offers as they stand now.",
            )
        # Offers carried from the round it continues show their state as it is now (an offered place may
        # have been accepted since the solve).
        if current is not None:
            now_state = dict(
                s.execute(
                    select(Placement.candidate_pk, Placement.offer_status).where(Placement.round_id == current.id)
                ).all()
            )
        # The round it continues stays approved: its offers and answers are history, never superseded.
        rnd.state = "approved"
        rnd.approved_by = by.strip()
        rnd.approved_at = _now()
        offers = 0
        for pl in rnd.placements:
            if pl.offer_status == "proposed":
                pl.offer_status = "offered"
                offers += 1
                record(
                    s,
                    "approve",
                    "",
                    cohort=scope,
                    round_id=rnd.id,
                    candidate_pk=pl.candidate_pk,
                    host_pk=pl.host_pk,
                    before="proposed",
                    after="offered",
                    log=False,
                )
            elif current is not None and pl.candidate_pk in now_state:
                pl.offer_status = now_state[pl.candidate_pk]
        record(
            s,
            "approve",
            f"round {number} approved by {by.strip()}: {offers} offers",
            cohort=scope,
            round_id=rnd.id,
            before="proposal",
            after="approved",
        )
    return offers
