"""Rounds: proposal, approval by a named person, offers and answers, the next round, re-derivation."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from placement.approval import approve_round
from placement.cli import cli
from placement.db.models import AuditLog, Round
from placement.db.session import transaction
from placement.errors import QuotaRefused, RoundError
from placement.resolves import rederive, resolve_without_targets
from placement.rounds import (
    RoundOptions,
    record_response,
    solve_round,
)
from tests.helpers.dbseed import seed
from tests.helpers.rounds import placements, small_scheme


def test_solve_approve_answer_and_next_round(engine):
    small_scheme(engine)
    r1 = solve_round(engine)
    assert (r1.round, r1.status, r1.placed, r1.unplaced) == (1, "OPTIMAL", 4, 2)
    p1 = placements(engine, 1)
    assert all(st == "proposed" for _, st in p1.values())
    # Not approved: answering is refused, with a message saying what to do.
    with pytest.raises(RoundError) as exc:
        record_response(engine, next(iter(p1)), "accept")
    assert "approve" in str(exc.value).lower()

    assert approve_round(engine, 1, "Alex Coordinator") == 4
    with pytest.raises(RoundError):
        approve_round(engine, 1, "Alex Coordinator")
    at_h1 = sorted(c for c, (h, _) in p1.items() if h == "H1")
    record_response(engine, at_h1[0], "accept")
    record_response(engine, at_h1[1], "decline")

    r2 = solve_round(engine)
    p2 = placements(engine, 2)
    # The acceptor stays where they are; the decliner never returns to H1; the freed place is offered again.
    assert p2[at_h1[0]] == ("H1", "accepted")
    assert p2.get(at_h1[1], ("none",))[0] != "H1"
    assert sum(1 for h, _ in p2.values() if h == "H1") == 2
    assert r2.placed == 4
    # Round 1 is untouched.
    assert placements(engine, 1) == {**p1, at_h1[0]: ("H1", "accepted"), at_h1[1]: ("H1", "declined")} | {
        c: (h, "offered") for c, (h, _) in p1.items() if c not in at_h1[:2]
    }
    with transaction(engine) as s:
        actions = [a for (a,) in s.execute(select(AuditLog.action).order_by(AuditLog.id)).all()]
    assert actions == ["solve", "approve", "accept", "decline", "solve"]


def test_new_proposal_supersedes_unapproved_one_and_stale_proposal_cannot_be_approved(engine):
    small_scheme(engine)
    solve_round(engine)
    second = solve_round(engine)
    assert second.superseded == [1]
    with transaction(engine) as s:
        states = dict(s.execute(select(Round.number, Round.state)).all())
    assert states == {1: "superseded", 2: "proposal"}
    with pytest.raises(RoundError) as exc:
        approve_round(engine, 1, "A")
    assert "superseded" in str(exc.value)


def test_hard_quota_on_protected_characteristic_is_refused_without_acknowledgement(engine):
    small_scheme(
        engine,
        targets=[
            {
                "name": "women",
                "scope": "cohort",
                "attribute": "sex",
                "value": "female",
                "min_share": 0.5,
                "max_share": None,
                "strength": "hard",
                "weight": 0.0,
            }
        ],
    )
    with pytest.raises(QuotaRefused) as exc:
        solve_round(engine)
    assert "Equality Act 2010" in exc.value.hint and "--allow-quota" in exc.value.hint
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Round)) == 0
    r = solve_round(engine, RoundOptions(allow_quota=True))
    assert r.targets[0]["met"] and r.targets[0]["achieved"] >= 2
    with transaction(engine) as s:
        assert s.scalar(select(Round.summary)).get("hard_protected_targets") == ["women"]


@pytest.mark.parametrize("attribute,value", [("sex", "male"), ("disability", "yes"), ("minority_ethnic", "yes")])
def test_a_hard_upper_share_on_a_protected_characteristic_is_a_quota_too(engine, attribute, value):
    small_scheme(
        engine,
        targets=[
            {
                "name": "cap",
                "scope": "host=H1",
                "attribute": attribute,
                "value": value,
                "min_share": None,
                "max_share": 0.5,
                "strength": "hard",
                "weight": 0.0,
            }
        ],
    )
    with pytest.raises(QuotaRefused) as exc:
        solve_round(engine)
    assert "cap" in exc.value.message and "--allow-quota" in exc.value.hint
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Round)) == 0
    solve_round(engine, RoundOptions(allow_quota=True))
    with transaction(engine) as s:
        assert s.scalar(select(Round.summary)).get("hard_protected_targets") == ["cap"]


def test_bounds_that_constrain_nothing_and_soft_limits_are_not_quotas(engine):
    small_scheme(
        engine,
        targets=[
            {
                "name": "vacuous",
                "scope": "cohort",
                "attribute": "sex",
                "value": "female",
                "min_share": 0.0,
                "max_share": 1.0,
                "strength": "hard",
                "weight": 0.0,
            },
            {
                "name": "soft-cap",
                "scope": "cohort",
                "attribute": "sex",
                "value": "male",
                "min_share": None,
                "max_share": 0.5,
                "strength": "soft",
                "weight": 2.0,
            },
            {
                "name": "not-protected",
                "scope": "cohort",
                "attribute": "career_changer",
                "value": "yes",
                "min_share": None,
                "max_share": 0.9,
                "strength": "hard",
                "weight": 0.0,
            },
        ],
    )
    r = solve_round(engine)
    with transaction(engine) as s:
        assert s.scalar(select(Round.summary)).get("hard_protected_targets") == []
    assert r.status == "OPTIMAL"


def test_rederive_and_resolve_without_targets(engine):
    small_scheme(
        engine,
        targets=[
            {
                "name": "women",
                "scope": "region=*",
                "attribute": "sex",
                "value": "female",
                "min_share": 0.5,
                "max_share": None,
                "strength": "soft",
                "weight": 3.0,
            }
        ],
    )
    r = solve_round(engine)
    stored = {c: h for c, (h, _) in placements(engine, r.round).items()}
    assert {c: h for c, (h, _) in rederive(engine, r.round).items()} == stored
    free = resolve_without_targets(engine, r.round)
    assert free.status == "OPTIMAL"
    assert free.objective["placed"] == r.objective["placed"]
    assert free.objective["rank_cost"] <= r.objective["rank_cost"]
    assert set(free.placements) == {f"C{i}" for i in range(1, 7)}


def test_cli_solve_json_approve_offer_export_explain(tmp_path, sqlite_url):
    from placement.db.migrate import upgrade
    from placement.db.session import make_engine

    engine = make_engine(sqlite_url)
    upgrade(engine)
    small_scheme(engine)
    run = CliRunner().invoke
    res = run(cli, ["--db", sqlite_url, "solve", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert set(summary) >= {
        "round",
        "status",
        "placed",
        "unplaced",
        "rank_sum",
        "objective",
        "bound",
        "solve_seconds",
        "blocking_pairs",
        "targets",
    }
    assert (summary["round"], summary["placed"]) == (1, 4)
    assert summary["tie_break"] == "host_order: optimal"
    res = run(cli, ["--db", sqlite_url, "round", "show", "1"], catch_exceptions=False)
    assert "settled by host order" in res.output
    res = run(cli, ["--db", sqlite_url, "round", "approve", "1"], catch_exceptions=False)
    assert res.exit_code != 0 and "--by" in res.output
    res = run(cli, ["--db", sqlite_url, "round", "approve", "1", "--by", "Sam Lead"], catch_exceptions=False)
    assert res.exit_code == 0 and "4 offers" in res.output
    placed = placements(engine, 1)
    unplaced = ({f"C{i}" for i in range(1, 7)} - set(placed)).pop()
    res = run(cli, ["--db", sqlite_url, "offer", "accept", unplaced], catch_exceptions=False)
    assert res.exit_code == 1 and f"{unplaced} has no offer in round 1" in res.output
    answers = tmp_path / "answers.csv"
    first, second = sorted(placed)[:2]
    answers.write_text(f"candidate_id,response\n{first},Accept\n{second},decline\n")
    res = run(cli, ["--db", sqlite_url, "offer", "import", str(answers)], catch_exceptions=False)
    assert res.exit_code == 0 and "Recorded 2 answers" in res.output
    out = tmp_path / "p.csv"
    res = run(cli, ["--db", sqlite_url, "export", "1", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0
    header = out.read_text().splitlines()[0].split(",")
    assert "candidate_id" in header and not {"ethnic_category", "disability", "ethnic_group", "sex"} & set(header)
    res = run(
        cli, ["--db", sqlite_url, "export", "1", "--out", str(out), "--include-sensitive"], catch_exceptions=False
    )
    assert "disability" in out.read_text().splitlines()[0]
    res = run(cli, ["--db", sqlite_url, "explain", unplaced, "--round", "1"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert f"{unplaced} was not placed" in res.output
    assert "Choice 1, Host H1 (H1):" in res.output


def test_explain_names_the_rule_or_the_objective_level_that_decided(engine):
    # X ranks H1 then H2; Y can only go to H1 (one place); Z's score is below H3's minimum.
    seed(
        engine,
        [{"candidate_id": "X"}, {"candidate_id": "Y"}, {"candidate_id": "Z", "score": 40}],
        [
            {"host_id": "H1", "capacity": 1},
            {"host_id": "H2", "capacity": 1},
            {"host_id": "H3", "capacity": 1, "min_score": 60},
            {"host_id": "H4", "capacity": 1},
        ],
        [("X", "H1", 1), ("X", "H2", 2), ("Y", "H1", 1), ("Z", "H3", 1), ("Z", "H4", 2)],
    )
    solve_round(engine)
    from placement.explain import explain

    x = explain(engine, "X")
    assert (x.placed_at, x.placed_rank) == ("H2", 2)
    assert [ln.host_id for ln in x.lines] == ["H1"]
    assert "1 more candidate without any placement" in x.lines[0].reason
    z = explain(engine, "Z")
    assert z.placed_at == "H4" and z.lines[0].verdict == "ineligible"
    assert "below the host's minimum of 60" in z.lines[0].reason
    y = explain(engine, "Y")
    assert y.placed_rank == 1 and y.lines == []
    assert "placed at H1 (their choice ranked 1)" in y.render()


def test_a_solve_past_its_deadline_stops_the_command_and_stores_nothing():
    import time as _time

    from placement.rounds import interruptible

    # A solve that would run for ten minutes: the call returns at the deadline or the test hangs.
    with pytest.raises(RoundError) as exc:
        interruptible(lambda: _time.sleep(600), deadline=0.3)
    assert "no round was stored" in exc.value.message and "--time-limit" in exc.value.hint
    assert interruptible(lambda: 42, deadline=5) == 42


def test_explain_says_when_the_host_order_tie_break_decided(engine):
    # Everyone ranks H1, H2, H3; four places, six candidates, hosts order them by score (C1 highest).
    # Every placement of four is equally good, so merit decides: C4, fourth by score, gets H3.
    small_scheme(engine)
    solve_round(engine)
    from placement.explain import explain

    c4 = explain(engine, "C4")
    assert (c4.placed_at, c4.placed_rank) == ("H3", 3)
    assert [ln.host_id for ln in c4.lines] == ["H1", "H2"]
    for ln in c4.lines:
        assert "equally good" in ln.reason and "rank higher" in ln.reason, ln.reason
    assert placements(engine, 1).keys() == {"C1", "C2", "C3", "C4"}


def test_explain_does_not_name_targets_on_special_category_data(engine):
    # C1 (the top scorer, white) would take H1's only place from C2 (minority ethnic); the soft minority
    # target then misses. The explanation may say a diversity target, never which one.
    cands = [
        {"candidate_id": "C1", "score": 90, "ethnic_category": "A"},
        {"candidate_id": "C2", "score": 80, "ethnic_category": "H"},
    ]
    hosts = [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}]
    prefs = [("C1", "H1", 1), ("C1", "H2", 2), ("C2", "H1", 1), ("C2", "H2", 2)]
    seed(
        engine,
        cands,
        hosts,
        prefs,
        targets=[
            {
                "name": "minority-at-h1",
                "scope": "host=H1",
                "attribute": "minority_ethnic",
                "value": "yes",
                "min_share": 1.0,
                "max_share": None,
                "strength": "soft",
                "weight": 5.0,
            }
        ],
    )
    solve_round(engine)
    from placement.explain import explain

    c1 = explain(engine, "C1")
    assert c1.placed_at == "H2" and len(c1.lines) == 1
    reason = c1.lines[0].reason
    assert "diversity target" in reason and "minority" not in reason and "ethnic" not in reason, reason


def test_rounds_stored_before_the_tie_break_are_re_solved_without_it():
    # Re-deriving an old round must use the options it was solved with; the tie-break did not exist then.
    from dataclasses import asdict

    from placement.rounds import RoundOptions

    old = {k: v for k, v in asdict(RoundOptions()).items() if k != "tie_break"}
    assert RoundOptions.stored(old).tie_break == "none"
    assert RoundOptions.stored(asdict(RoundOptions())).tie_break == "host-order"
    assert RoundOptions.stored(old).solver_options().tie_break == "none"
