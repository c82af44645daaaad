"""Corrections: undo an approval, change an answer, release an offer, withdraw a candidate, remove a rule.

Every correction needs a reason, is written under the rounds lock in one
transaction, and is recorded in the audit log and as a season event (who,
when, the state before and after, why). None erases history: an offer that
is released or changed keeps its earlier states in ``candidate show`` and
``placement log``; a withdrawn candidate stays on record for the audit; a
removed target or pair stays in the rounds that were solved with it.

A proposal solved before a correction that changes what it took as settled
(a released place, a withdrawn candidate, a changed answer) can no longer be
approved: ``approve_round`` compares the proposal's basis with the offers as
they stand and asks for a new solve.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from .cohorts import CohortRef, resolve
from .db.models import Candidate, PairRule, Placement, Round
from .db.session import write_session
from .errors import RoundError
from .events import record
from .lookup import candidate as find_candidate
from .lookup import host as find_host
from .lookup import target as find_target
from .offers import current_round, offer_of, set_offer, supersede_stale
from .rounds import latest_approved, load_round
from .states import ANSWERED, HOLDING, OfferState, RoundState


@dataclass(frozen=True)
class Correction:
    """What a correction did, for the command's message and the web console."""

    action: str
    summary: str  # one sentence, already in the states' words
    round: int | None = None
    candidate_id: str | None = None
    host_id: str | None = None
    before: str | None = None
    after: str | None = None
    superseded: tuple[int, ...] = ()  # proposals that no longer start from the offers as they stand


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise RoundError("A correction needs a reason.", 'Pass --reason "why" (it is kept in the audit log).')
    return text


def revoke_approval(engine: Engine, number: int, reason: str, *, cohort: CohortRef | str | None = None) -> Correction:
    """Withdraw the latest approval while none of its offers has an answer; its offers go back to proposed.

    Offers the round carried from the round before keep their state (they are
    that round's offers). The round becomes a proposal again, which can be
    approved again or replaced by a new solve; a proposal solved from it is
    superseded, since it started from an approval that no longer stands.
    """
    why = _reason(reason)
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = load_round(s, number, scope)
        latest = latest_approved(s, scope)
        if rnd.state != RoundState.APPROVED or latest is None:
            raise RoundError(
                f"Round {number} is {rnd.state}, not approved: there is no approval to revoke.",
                "See `placement round list`.",
            )
        if latest.number != number:
            raise RoundError(
                f"Round {number} is not the latest approved round (round {latest.number} is).",
                f"Only the latest approval can be revoked: revoke round {latest.number} first.",
            )
        carried = _carried(s, rnd, scope)
        new = [pl for pl in rnd.placements if pl.candidate_pk not in carried]
        answered = [pl for pl in new if pl.offer_status in ANSWERED]
        if answered:
            names = _candidate_ids(s, [pl.candidate_pk for pl in answered])
            states = sorted({pl.offer_status for pl in answered})
            raise RoundError(
                f"Round {number}'s offers have answers already ({', '.join(names[:10])}"
                f"{' and more' if len(names) > 10 else ''}: {' or '.join(states)}), so its approval stands.",
                "Correct those offers one by one instead: `placement offer change CANDIDATE accept|decline --reason ...` "
                "or `placement offer release CANDIDATE --reason ...`.",
            )
        for pl in new:
            pl.offer_status = OfferState.PROPOSED.value
            pl.responded_at = None
            record(
                s,
                "revoke",
                "",
                cohort=scope,
                round_id=rnd.id,
                candidate_pk=pl.candidate_pk,
                host_pk=pl.host_pk,
                before=OfferState.OFFERED.value,
                after=OfferState.PROPOSED.value,
                reason=why,
                log=False,
            )
        approved_by = rnd.approved_by
        rnd.state = RoundState.PROPOSAL.value
        rnd.approved_by = None
        rnd.approved_at = None
        later = list(
            s.scalars(
                select(Round.number).where(
                    Round.cohort_id == scope.id, Round.state == RoundState.PROPOSAL, Round.number != number
                )
            )
        )
        if later:
            s.execute(
                update(Round)
                .where(Round.cohort_id == scope.id, Round.number.in_(later))
                .values(state=RoundState.SUPERSEDED.value)
            )
        record(
            s,
            "revoke",
            f"round {number}: approval by {approved_by} revoked; {len(new)} offers back to proposed"
            + (f"; proposal {', '.join(map(str, later))} superseded" if later else ""),
            cohort=scope,
            round_id=rnd.id,
            before=RoundState.APPROVED.value,
            after=RoundState.PROPOSAL.value,
            reason=why,
        )
    return Correction(
        "revoke",
        f"Round {number}'s approval (by {approved_by}) is revoked: {len(new)} offers are "
        f"proposed again and round {number} is a proposal.",
        round=number,
        before=RoundState.APPROVED.value,
        after=RoundState.PROPOSAL.value,
        superseded=tuple(later),
    )


def change_answer(
    engine: Engine, candidate_id: str, response: str, reason: str, *, cohort: CohortRef | str | None = None
) -> Correction:
    """Change a recorded answer: accepted -> declined or declined -> accepted, in the latest approved round."""
    why = _reason(reason)
    to = {"accept": OfferState.ACCEPTED, "decline": OfferState.DECLINED}.get(response)
    if to is None:
        raise RoundError(f"Unknown answer {response!r}.", "Use accept or decline.")
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = current_round(s, scope)
        pl, hid = _offer(s, rnd, candidate_id, scope)
        if pl.offer_status not in (OfferState.ACCEPTED, OfferState.DECLINED):
            hint = (
                f"Record the answer with `placement offer {response} {candidate_id}`."
                if pl.offer_status == OfferState.OFFERED
                else "A released offer cannot be answered."
            )
            raise RoundError(
                f"{candidate_id}'s offer at {hid} in round {rnd.number} is {pl.offer_status}: "
                "there is no answer to change.",
                hint,
            )
        if pl.offer_status == to:
            raise RoundError(
                f"{candidate_id}'s offer at {hid} in round {rnd.number} is already {to}.", "Nothing to change."
            )
        before = pl.offer_status
        set_offer(
            s,
            pl,
            to,
            action="change",
            reason=why,
            cohort=scope,
            detail=f"{candidate_id}'s answer to {hid} (round {rnd.number}) changed from {before} to {to}",
        )
        superseded = supersede_stale(s, rnd, scope)
    return Correction(
        "change",
        f"{candidate_id}'s answer to the offer at {hid} (round {rnd.number}) is now {to} (was {before}).",
        round=rnd.number,
        candidate_id=candidate_id,
        host_id=hid,
        before=before,
        after=to.value,
        superseded=superseded,
    )


def release_offer(
    engine: Engine, candidate_id: str, reason: str, *, cohort: CohortRef | str | None = None
) -> Correction:
    """The scheme withdraws an offer or an accepted placement: the place is freed and the candidate goes back
    to the pool for the next round, but not to that host."""
    why = _reason(reason)
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        rnd = current_round(s, scope)
        pl, hid = _offer(s, rnd, candidate_id, scope)
        before, superseded = _release(s, rnd, pl, candidate_id, hid, why, action="release", cohort=scope)
    return Correction(
        "release",
        f"{candidate_id}'s offer at {hid} (round {rnd.number}), {before} until now, is released: the "
        f"place is free for the next round, and {candidate_id} is back in the pool (not for {hid}).",
        round=rnd.number,
        candidate_id=candidate_id,
        host_id=hid,
        before=before,
        after=OfferState.RELEASED.value,
        superseded=superseded,
    )


def withdraw_candidate(
    engine: Engine, candidate_id: str, reason: str, *, cohort: CohortRef | str | None = None
) -> Correction:
    """A candidate leaves the scheme: out of every later solve, kept on record for the audit. An offer or
    accepted placement they hold is released."""
    why = _reason(reason)
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        cand = find_candidate(s, candidate_id, scope)
        if cand.withdrawn:
            raise RoundError(f"{candidate_id} is already withdrawn.", f"See `placement candidate show {candidate_id}`.")
        cand.withdrawn = True
        released = ""
        rnd = latest_approved(s, scope)
        found = offer_of(s, rnd, candidate_id) if rnd is not None else None
        if rnd is not None and found is not None and found[0].offer_status in HOLDING:
            pl, hid = found
            before, _ = _release(s, rnd, pl, candidate_id, hid, why, action="withdraw", cohort=scope)
            released = f"; their offer at {hid} (round {rnd.number}), {before} until now, is released"
        record(
            s,
            "withdraw",
            f"candidate {candidate_id} withdrawn{released}",
            cohort=scope,
            candidate_pk=cand.id,
            before="active",
            after="withdrawn",
            reason=why,
        )
        superseded = supersede_stale(s, rnd, scope)
    return Correction(
        "withdraw",
        f"{candidate_id} is withdrawn: out of every later solve, kept on record for the audit{released}.",
        candidate_id=candidate_id,
        before="active",
        after="withdrawn",
        superseded=superseded,
    )


def remove_target(engine: Engine, name: str, reason: str, *, cohort: CohortRef | str | None = None) -> Correction:
    """Remove a diversity target from later solves; rounds solved with it keep it in their record."""
    why = _reason(reason)
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        t = find_target(s, name, scope)
        rule = " and ".join(
            part
            for part in (
                f"at least {t.min_share:g}" if t.min_share is not None else "",
                f"at most {t.max_share:g}" if t.max_share is not None else "",
            )
            if part
        )
        what = f"{t.name}: {t.attribute} = {t.value}, {rule}, {t.strength}, in {t.scope}"
        s.delete(t)
        record(s, "remove", f"target {what} removed", cohort=scope, subject=f"target {what}", reason=why)
    return Correction("remove", f"Target {name} is removed from later solves (rounds solved with it keep it).")


def remove_pair(
    engine: Engine, candidate_id: str, host_id: str, reason: str, *, cohort: CohortRef | str | None = None
) -> Correction:
    """Remove a required or forbidden pair from later solves."""
    why = _reason(reason)
    with write_session(engine, lock="rounds") as s:
        scope = resolve(s, cohort, "write")
        cand = find_candidate(s, candidate_id, scope)
        host = find_host(s, host_id)
        rule = s.scalar(select(PairRule).where(PairRule.candidate_pk == cand.id, PairRule.host_pk == host.id))
        if rule is None:
            raise RoundError(
                f"There is no required or forbidden pair for {candidate_id} at {host_id}.",
                f"See `placement candidate show {candidate_id}`.",
            )
        what = f"{rule.rule} {candidate_id} at {host_id}" + (f" ({rule.reason})" if rule.reason else "")
        s.delete(rule)
        record(
            s,
            "remove",
            f"pair {what} removed",
            cohort=scope,
            candidate_pk=cand.id,
            host_pk=host.id,
            subject=f"pair {what}",
            reason=why,
        )
    return Correction(
        "remove", f"The pair {what} is removed from later solves.", candidate_id=candidate_id, host_id=host_id
    )


# ----------------------------------------------------------------------------- helpers


def _offer(s: Session, rnd: Round, candidate_id: str, scope: CohortRef) -> tuple[Placement, str]:
    found = offer_of(s, rnd, candidate_id)
    if found is None:
        find_candidate(s, candidate_id, scope)  # an unknown id: "did you mean"
        raise RoundError(
            f"{candidate_id} has no offer in round {rnd.number}, the latest approved round.",
            f"See `placement candidate show {candidate_id}` for their offers over the rounds.",
        )
    return found


def _release(
    s: Session, rnd: Round, pl: Placement, candidate_id: str, hid: str, why: str, *, action: str, cohort: CohortRef
) -> tuple[str, tuple[int, ...]]:
    before = pl.offer_status
    if before not in HOLDING:
        raise RoundError(
            f"{candidate_id}'s offer at {hid} in round {rnd.number} is {before}: there is nothing to release.",
            "Only an offered or accepted placement can be released.",
        )
    set_offer(
        s,
        pl,
        OfferState.RELEASED,
        action=action,
        reason=why,
        cohort=cohort,
        detail=f"{candidate_id}'s offer at {hid} (round {rnd.number}) released (it was {before})",
    )
    return before, supersede_stale(s, rnd, cohort)


def _carried(s: Session, rnd: Round, scope: CohortRef) -> set[int]:
    """Candidates whose placement in ``rnd`` was carried from the round it continues (same host there)."""
    if rnd.parent_number is None:
        return set()
    parent = load_round(s, rnd.parent_number, scope)
    before = dict(
        s.execute(select(Placement.candidate_pk, Placement.host_pk).where(Placement.round_id == parent.id)).all()
    )
    return {pl.candidate_pk for pl in rnd.placements if before.get(pl.candidate_pk) == pl.host_pk}


def _candidate_ids(s: Session, pks: list[int]) -> list[str]:
    return sorted(s.scalars(select(Candidate.candidate_id).where(Candidate.id.in_(pks))))
