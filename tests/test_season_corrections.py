"""Corrections in the library: each needs a reason, is logged, keeps history, and never lets a stale proposal through."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from placement.approval import approve_round
from placement.corrections import (
    change_answer,
    release_offer,
    remove_pair,
    remove_target,
    revoke_approval,
    withdraw_candidate,
)
from placement.db.models import AuditLog, PairRule, Round, SeasonEvent, Target
from placement.db.session import transaction
from placement.errors import NotFound, RoundError
from placement.rounds import record_response, solve_round
from placement.season import season_status, show_candidate, show_host
from tests.helpers.dbseed import seed


def three_for_two(engine, **kw):
    # H1 has two places, H2 one; four candidates rank H1 then H2.
    seed(
        engine,
        [{"candidate_id": f"C{i}", "score": 90 - i} for i in range(1, 5)],
        [{"host_id": "H1", "capacity": 2}, {"host_id": "H2", "capacity": 1}],
        [(f"C{i}", h, r) for i in range(1, 5) for r, h in enumerate(("H1", "H2"), start=1)],
        **kw,
    )


def states(engine) -> dict[int, str]:
    with transaction(engine) as s:
        return dict(s.execute(select(Round.number, Round.state)).all())


def test_every_correction_needs_a_reason(engine):
    three_for_two(engine)
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    for call in (
        lambda: revoke_approval(engine, 1, " "),
        lambda: release_offer(engine, "C1", ""),
        lambda: change_answer(engine, "C1", "accept", ""),
        lambda: withdraw_candidate(engine, "C1", ""),
    ):
        with pytest.raises(RoundError, match="needs a reason"):
            call()


def test_a_decline_after_the_solve_supersedes_the_proposal_and_approval_refuses_a_stale_one(engine):
    three_for_two(engine)
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "accept")
    solve_round(engine)  # round 2 starts from C2's offer at H1 still held
    record_response(engine, "C2", "accept")  # an accept changes nothing the proposal took as settled
    assert states(engine) == {1: "approved", 2: "proposal"}
    solve_round(engine)  # round 3
    record_response(engine, "C3", "decline")  # the decline frees a place round 3 did not offer again
    assert states(engine) == {1: "approved", 2: "superseded", 3: "superseded"}
    with pytest.raises(RoundError, match="superseded"):
        approve_round(engine, 3, "Sam Lead")
    # Approval itself also compares the basis (a proposal written before this check existed has none).
    r4 = solve_round(engine)
    with transaction(engine) as s:
        from placement.db.models import Candidate

        s.scalar(select(Candidate).where(Candidate.candidate_id == "C4")).withdrawn = True
    with pytest.raises(RoundError, match="solved before the latest answers or corrections"):
        approve_round(engine, r4.round, "Sam Lead")


def test_release_frees_the_place_and_keeps_the_candidate_out_of_that_host_only(engine):
    three_for_two(engine)
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "accept")
    done = release_offer(engine, "C1", "failed pre-employment checks")
    assert (done.before, done.after, done.host_id) == ("accepted", "released", "H1")
    with pytest.raises(RoundError, match="is released: there is nothing to release"):
        release_offer(engine, "C1", "again")
    r2 = solve_round(engine)
    card = show_candidate(engine, "C1")
    assert [(p.host_id, p.eligible) for p in card.preferences] == [("H1", False), ("H2", True)]
    assert "released" in card.preferences[0].reason
    assert card.offers[0].offer == "released" and card.events[-1].reason == "failed pre-employment checks"
    assert r2.placed == 3
    with transaction(engine) as s:
        assert s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()[-2:] == ["release", "solve"]


def test_revoke_only_the_latest_approval_and_only_before_an_answer(engine):
    three_for_two(engine)
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    done = revoke_approval(engine, 1, "approved by mistake")
    assert done.after == "proposal" and states(engine) == {1: "proposal"}
    with transaction(engine) as s:
        events = s.scalars(select(SeasonEvent).where(SeasonEvent.action == "revoke")).all()
        assert {(e.before, e.after) for e in events} == {("offered", "proposed"), ("approved", "proposal")}
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "decline")
    with pytest.raises(RoundError, match="have answers already"):
        revoke_approval(engine, 1, "too late")
    solve_round(engine)
    approve_round(engine, 2, "Sam Lead")
    with pytest.raises(RoundError, match="not the latest approved round"):
        revoke_approval(engine, 1, "wrong one")


def test_change_withdraw_and_removals(engine):
    three_for_two(
        engine,
        targets=[
            {
                "name": "women",
                "scope": "cohort",
                "attribute": "sex",
                "value": "female",
                "min_share": 0.5,
                "max_share": None,
                "strength": "soft",
                "weight": 1.0,
            }
        ],
        pairs=[("C4", "H2", "forbid", "conflict of interest")],
    )
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "accept")
    with pytest.raises(RoundError, match="already accepted"):
        change_answer(engine, "C1", "accept", "typo")
    assert change_answer(engine, "C1", "decline", "changed their mind").after == "declined"
    with pytest.raises(RoundError, match="there is no answer to change"):
        change_answer(engine, "C2", "decline", "no answer yet")
    done = withdraw_candidate(engine, "C2", "left the scheme")
    assert "their offer at H1 (round 1), offered until now, is released" in done.summary
    assert show_candidate(engine, "C2").state == "withdrawn"
    with pytest.raises(NotFound, match="did you mean 'women'"):
        remove_target(engine, "Women ", "not needed")
    remove_target(engine, "women", "not needed this year")
    remove_pair(engine, "C4", "H2", "the conflict has ended")
    with transaction(engine) as s:
        assert s.scalars(select(Target)).all() == [] and s.scalars(select(PairRule)).all() == []
        subjects = list(s.scalars(select(SeasonEvent.subject).where(SeasonEvent.action == "remove")))
    assert subjects == [
        "target women: sex = female, at least 0.5, soft, in cohort",
        "pair forbid C4 at H2 (conflict of interest)",
    ]
    status = season_status(engine)
    assert status.candidates["withdrawn"] == 1 and status.offers["released"] == 1 and status.offers["declined"] == 1
    host = show_host(engine, "H1")
    assert host.places_left == 2 and {o["offer"] for o in host.offered} == {"declined", "released"}
    sensitive = show_candidate(engine, "C1", include_sensitive=True).to_json()
    assert "sex" in sensitive["sensitive"] and "sensitive" not in show_candidate(engine, "C1").to_json()


def test_corrections_and_views_stay_within_their_cohort(engine):
    # The same candidate and host ids in two cohorts: a season in one leaves the other untouched.
    from placement.cohorts import create_cohort

    create_cohort(engine, "2027")
    for name in ("default", "2027"):
        three_for_two(engine, cohort=name)
    solve_round(engine, cohort="default")
    approve_round(engine, 1, "Sam Lead", cohort="default")
    release_offer(engine, "C1", "failed checks", cohort="default")
    withdraw_candidate(engine, "C2", "left", cohort="default")
    other = season_status(engine, cohort="2027")
    assert other.rounds == {"proposal": 0, "approved": 0, "superseded": 0} and other.candidates["withdrawn"] == 0
    card = show_candidate(engine, "C1", cohort="2027")
    assert card.state == "active" and card.offers == [] and card.events == []
    assert all(p.eligible for p in card.preferences)
    with pytest.raises(RoundError, match="No round has been approved"):
        release_offer(engine, "C3", "nothing there", cohort="2027")
    assert show_candidate(engine, "C2", cohort="default").state == "withdrawn"
    assert season_status(engine, cohort="default").offers["released"] == 2
