"""Offers and their answers: record, import, change and release, each logged, none erasing history.

An offer lives in the latest approved round (an offer carried from an earlier
round is the same offer: its rows in those rounds move with it, so every
round shows the offer's state as it is). States are the vocabulary of
``placement.states``: ``offered`` -> ``accepted`` | ``declined`` |
``released``. Every change is written under the rounds lock, with an
audit-log entry naming who, when and (for corrections) why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .cohorts import CohortRef, by_id, resolve
from .db.models import Candidate, Host, Placement, Round
from .db.session import write_session
from .errors import InputError, NotFound, RoundError
from .events import now, record
from .lookup import candidate as find_candidate
from .states import OfferState, RoundState

RESPONSES = {"accept": OfferState.ACCEPTED, "decline": OfferState.DECLINED}


@dataclass(frozen=True)
class OfferChange:
    """One offer's change of state, as recorded."""

    candidate_id: str
    host_id: str
    round: int  # the latest approved round, where the offer lives
    before: OfferState
    after: OfferState


def current_round(session: Session, cohort: CohortRef | str | None = None) -> Round:
    """The cohort's latest approved round: where offers live and are answered."""
    from .rounds import latest_approved

    rnd = latest_approved(session, cohort)
    if rnd is None:
        raise RoundError(
            "No round has been approved, so there are no offers.",
            "Approve a round first: `placement round approve N --by NAME`.",
        )
    return rnd


def offer_of(session: Session, rnd: Round, candidate_id: str) -> tuple[Placement, str] | None:
    """The candidate's placement (and host id) in round ``rnd``, or None."""
    row = session.execute(
        select(Placement, Host.host_id)
        .join(Candidate, Candidate.id == Placement.candidate_pk)
        .join(Host, Host.id == Placement.host_pk)
        .where(Placement.round_id == rnd.id, Candidate.candidate_id == candidate_id)
    ).first()
    return None if row is None else (row[0], row[1])


def offer_rows(session: Session, placement: Placement) -> list[Placement]:
    """The rows of one offer: this placement and the same candidate at the same host, in the same
    state, in the approved rounds that carried it (a declined or released pair is never offered again,
    so these are one offer)."""
    return list(
        session.scalars(
            select(Placement)
            .join(Round, Round.id == Placement.round_id)
            .where(
                Round.approved_at.is_not(None),
                Placement.candidate_pk == placement.candidate_pk,
                Placement.host_pk == placement.host_pk,
                Placement.offer_status == placement.offer_status,
            )
        )
    )


def set_offer(
    session: Session,
    placement: Placement,
    state: OfferState,
    *,
    action: str,
    detail: str,
    cohort: CohortRef,
    reason: str = "",
) -> None:
    """Move an offer (with every round's row of it) to ``state``, recording the change and why."""
    before = placement.offer_status
    at = now()
    for row in offer_rows(session, placement):
        row.offer_status = state.value
        row.responded_at = at
    record(
        session,
        action,
        detail,
        cohort=cohort,
        round_id=placement.round_id,
        candidate_pk=placement.candidate_pk,
        host_pk=placement.host_pk,
        before=before,
        after=state.value,
        reason=reason,
    )


def supersede_stale(session: Session, rnd: Round | None, cohort: CohortRef) -> tuple[int, ...]:
    """The cohort's proposals whose basis no longer holds (solved before a decline, a release, a withdrawal or
    a changed answer) are superseded, so nobody approves an answer to a season that has moved on."""
    from .rounds import basis

    session.flush()
    now_basis = basis(session, rnd, cohort)
    stale = [
        r
        for r in session.scalars(select(Round).where(Round.cohort_id == cohort.id, Round.state == RoundState.PROPOSAL))
        if r.summary.get("basis") not in (None, now_basis)
    ]
    for r in stale:
        r.state = RoundState.SUPERSEDED.value
    return tuple(r.number for r in stale)


def _no_offer(session: Session, rnd: Round, candidate_id: str) -> tuple[str, str]:
    """Why a candidate has no offer to answer in ``rnd``, and the fix (with "did you mean" for ids)."""
    exists = session.scalar(
        select(Candidate.id).where(Candidate.cohort_id == rnd.cohort_id, Candidate.candidate_id == candidate_id)
    )
    if exists is None:
        try:
            find_candidate(session, candidate_id, by_id(session, rnd.cohort_id))
        except NotFound as exc:
            return exc.message, exc.hint or ""
    return (
        f"{candidate_id} has no offer in round {rnd.number}",
        f"check the candidate id: `placement round show {rnd.number}` lists the offers",
    )


def _answer_problem(pl: Placement, hid: str, candidate_id: str, rnd: Round) -> tuple[str, str] | None:
    if pl.offer_status == OfferState.OFFERED:
        return None
    if pl.offer_status in (OfferState.ACCEPTED, OfferState.DECLINED):
        return (
            f"{candidate_id}'s offer at {hid} in round {rnd.number} is already {pl.offer_status}",
            f"to change the answer: `placement offer change {candidate_id} accept|decline --reason ...`",
        )
    return (
        f"{candidate_id}'s placement at {hid} in round {rnd.number} is {pl.offer_status}, not offered",
        "only an offered placement can be answered",
    )


def record_responses(
    engine: Engine, answers: list[tuple[str, str]], *, cohort: CohortRef | str | None = None
) -> list[tuple[int, str]]:
    """Record several answers in one transaction: all or none. Returns (round, host_id) per answer."""
    results = []
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = current_round(s, scope)
        for cid, response in answers:
            if response not in RESPONSES:
                raise RoundError(f"Unknown response {response!r} for {cid}.", "Use accept or decline.")
            found = offer_of(s, rnd, cid)
            if found is None:
                problem, fix = _no_offer(s, rnd, cid)
                raise RoundError(problem.rstrip(".") + ".", fix[0].upper() + fix[1:] + ".")
            pl, hid = found
            bad = _answer_problem(pl, hid, cid, rnd)
            if bad is not None:
                raise RoundError(bad[0] + ".", bad[1][0].upper() + bad[1][1:] + ".")
            _answer(s, rnd, pl, cid, hid, RESPONSES[response], scope)
            results.append((rnd.number, hid))
        supersede_stale(s, rnd, scope)
    return results


def _answer(s: Session, rnd: Round, pl: Placement, cid: str, hid: str, state: OfferState, cohort: CohortRef) -> None:
    set_offer(
        s,
        pl,
        state,
        action="accept" if state == OfferState.ACCEPTED else "decline",
        detail=f"{cid} {state} {hid} (round {rnd.number})",
        cohort=cohort,
    )


def import_answers(
    engine: Engine, path: Path, mapping=None, *, max_errors: int = 50, cohort: CohortRef | str | None = None
) -> list[OfferChange]:
    """Answers from a CSV (columns candidate_id, response; a mapping file may rename and respell them).

    Every bad row is reported with its row number - unreadable, a response
    other than accept or decline after mapping, an unknown candidate, no
    offer, an offer already answered, a candidate twice - and then nothing
    is recorded.
    """
    from .ingest.mapping import NO_MAPPING
    from .ingest.reader import Problems, read_table
    from .ingest.validate import validate_rows

    problems = Problems(max_errors)
    table = read_table("answers", path, (mapping or NO_MAPPING).for_kind("answers"), problems)
    if table is None:
        raise InputError(problems.items, truncated=problems.truncated)
    rows = validate_rows(table, problems).rows
    if len(problems) and not rows:
        raise InputError(problems.items, truncated=problems.truncated)
    changes: list[OfferChange] = []
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = current_round(s, scope)
        seen: dict[str, int] = {}
        todo = []
        for row, model in rows:
            cid = model.candidate_id
            if cid in seen:
                table.report(
                    problems,
                    row,
                    "candidate_id",
                    cid,
                    f"answers for the same candidate as row {seen[cid]}",
                    "keep one answer per candidate",
                )
                continue
            seen[cid] = row
            found = offer_of(s, rnd, cid)
            if found is None:
                problem, fix = _no_offer(s, rnd, cid)
                table.report(problems, row, "candidate_id", cid, problem.rstrip("."), fix.rstrip("."))
                continue
            pl, hid = found
            bad = _answer_problem(pl, hid, cid, rnd)
            if bad is not None:
                table.report(problems, row, "candidate_id", cid, *bad)
                continue
            todo.append((pl, cid, hid, RESPONSES[model.response]))
        if len(problems):
            problems.items.sort(key=lambda p: p.row or 0)
            raise InputError(problems.items, truncated=problems.truncated)
        for pl, cid, hid, state in todo:
            _answer(s, rnd, pl, cid, hid, state, scope)
            changes.append(OfferChange(cid, hid, rnd.number, OfferState.OFFERED, state))
        supersede_stale(s, rnd, scope)
    return changes
