"""The season's states and exit codes: one vocabulary, no round for a solve with nothing to propose.

- INFEASIBLE and no answer in time store no round, print the same summary (also with --json), write an
  audit-log entry and exit 3 and 4; an interrupted solve exits 130; usage errors exit 1.
- An approved round stays approved; only an unapproved proposal is superseded.
- Every message that names an offer uses the state it is in: the diagnosis, explain and the round's views.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from placement.approval import approve_round
from placement.cli import cli
from placement.db.models import AuditLog, Host, HostPlace, Round
from placement.db.session import transaction
from placement.rounds import record_response, solve_round
from tests.helpers.dbseed import seed


def run(url, *args):
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def rounds(engine) -> dict[int, str]:
    with transaction(engine) as s:
        return dict(s.execute(select(Round.number, Round.state)).all())


def log(engine, action="solve") -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(AuditLog.detail).where(AuditLog.action == action).order_by(AuditLog.id)))


def two_required_at_one_place(engine):
    seed(
        engine,
        [{"candidate_id": "C1"}, {"candidate_id": "C2"}],
        [{"host_id": "H1", "capacity": 1}],
        [("C1", "H1", 1), ("C2", "H1", 1)],
        pairs=[("C1", "H1", "require", ""), ("C2", "H1", "require", "")],
    )


def test_an_infeasible_solve_stores_no_round_prints_its_diagnosis_and_exits_3(engine, sqlite_url):
    two_required_at_one_place(engine)
    res = run(sqlite_url, "solve")
    assert res.exit_code == 3, res.output
    assert "No round stored" in res.output and "H1 now has 1 place but 2 candidates are required there" in res.output
    res = run(sqlite_url, "solve", "--json")
    assert res.exit_code == 3, res.output
    summary = json.loads(res.output)
    assert (summary["round"], summary["stored"], summary["status"]) == (None, False, "INFEASIBLE")
    assert summary["diagnosis"][0].startswith("H1 now has 1 place but 2 candidates are required there")
    assert rounds(engine) == {}
    assert "No rounds yet" in run(sqlite_url, "round", "list").output
    assert json.loads(run(sqlite_url, "round", "list", "--json").output) == []
    entries = log(engine)
    assert len(entries) == 2 and all("INFEASIBLE" in e and "no round stored" in e for e in entries)


def _unknown(problem, options, **_kw):
    from placement.solver.problem import Solution

    return Solution(
        status="UNKNOWN",
        chosen=np.zeros(0, np.int32),
        placed=0,
        rank_sum=0,
        objective={},
        bound={},
        solve_seconds=options.time_limit,
        method="cp-sat",
    )


def test_no_answer_within_the_time_limit_exits_4_and_leaves_the_proposal_standing(engine, sqlite_url, monkeypatch):
    seed(engine, [{"candidate_id": "C1"}], [{"host_id": "H1", "capacity": 1}], [("C1", "H1", 1)])
    assert run(sqlite_url, "solve").exit_code == 0
    monkeypatch.setattr("placement.solver.solve", _unknown)
    for args in (["solve", "--time-limit", "5"], ["solve", "--json"]):
        res = run(sqlite_url, *args)
        assert res.exit_code == 4, res.output
    assert json.loads(res.output)["stored"] is False
    # Round 1 is still the proposal: nothing superseded it.
    assert rounds(engine) == {1: "proposal"}
    assert "no answer within the time limit of 5 s; no round stored" in log(engine)[1]


def test_an_interrupted_solve_exits_130_and_a_usage_error_exits_1(engine, sqlite_url, monkeypatch):
    seed(engine, [{"candidate_id": "C1"}], [{"host_id": "H1", "capacity": 1}], [("C1", "H1", 1)])

    def interrupted(*_a, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("placement.solver.solve", interrupted)
    res = CliRunner().invoke(cli, ["--db", sqlite_url, "solve"])
    assert res.exit_code == 130 and rounds(engine) == {}
    res = CliRunner().invoke(cli, ["--db", sqlite_url, "solve", "--objective", "fastest"])
    assert res.exit_code == 1 and "Invalid value" in res.output


def test_an_approved_round_stays_approved_and_only_proposals_are_superseded(engine):
    seed(
        engine,
        [{"candidate_id": c} for c in ("C1", "C2", "C3")],
        [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}],
        [(c, h, r) for c in ("C1", "C2", "C3") for r, h in enumerate(("H1", "H2"), start=1)],
    )
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "decline")
    solve_round(engine)  # round 2, superseded by round 3 before anyone approves it
    solve_round(engine)
    approve_round(engine, 3, "Sam Lead")
    assert rounds(engine) == {1: "approved", 2: "superseded", 3: "approved"}


def test_offered_and_accepted_placements_are_named_by_their_state_in_diagnosis_and_explain(engine, sqlite_url):
    # Round 1: C1 and C2 at H1 (2 places), C3 at H2. C1 accepts, C2 has not answered, C3 declines.
    seed(
        engine,
        [{"candidate_id": c, "score": 90 - i} for i, c in enumerate(("C1", "C2", "C3"))],
        [{"host_id": "H1", "capacity": 2}, {"host_id": "H2", "capacity": 1}],
        [("C1", "H1", 1), ("C2", "H1", 1), ("C3", "H1", 1), ("C3", "H2", 2)],
    )
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    record_response(engine, "C1", "accept")
    record_response(engine, "C3", "decline")
    round2 = solve_round(engine)
    from placement.explain import explain

    assert explain(engine, "C2").round == 1  # the round of C2's own offer (not the latest round)
    text = explain(engine, "C3", round2.round).render()
    # H1's places are held by one accepted and one offered placement; H2 was declined.
    assert "1 accepted in an earlier round" in text and "1 offered in an earlier round and not yet answered" in text
    assert "not eligible: the candidate declined this host's offer in round 1." in text
    assert "C1" not in text and "C2" not in text  # other candidates are never named to the candidate
    assert ".." not in text and " you" not in text
    assert (
        "In round 1, C2 was placed at H1 (their choice ranked 1); the offer is offered."
        in explain(engine, "C2").render()
    )
    # Cut H1 to one place: the diagnosis names each holder by the state their offer is in.
    with transaction(engine) as s:
        s.scalar(select(HostPlace).join(Host, Host.id == HostPlace.host_pk).where(Host.host_id == "H1")).capacity = 1
    res = run(sqlite_url, "solve")
    assert res.exit_code == 3
    out = " ".join(res.output.split())
    assert "H1 now has 1 place but 2 candidates hold placements there: C1 (accepted), C2 (offered)" in out
    assert "placement offer release CANDIDATE --reason" in out


def test_solve_summary_labels_the_objective_and_lists_every_blocking_pair_count(engine, sqlite_url):
    from rich.console import Console

    from placement.cli.solve import print_round_summary
    from placement.rounds import RoundResult

    result = RoundResult(
        round=1,
        status="OPTIMAL",
        placed=3,
        unplaced=0,
        rank_sum=83,
        objective={"placed": 3, "rank_cost": 85.0},
        bound={},
        solve_seconds=0.1,
        blocking_pairs=[[f"C{i}", "H1"] for i in range(29)],
        targets=[],
        method="cp-sat",
    )
    console = Console(record=True, width=200)
    print_round_summary(result, console)
    out = console.export_text()
    assert "rank cost 85 (total rank 83 + soft-target and lower-quota penalties 2)" in out
    assert "29 blocking pair(s)" in out and "and 9 more" in out


def test_did_you_mean_for_ids_in_offer_and_explain(engine, sqlite_url):
    seed(engine, [{"candidate_id": "APP-1001"}], [{"host_id": "H1", "capacity": 1}], [("APP-1001", "H1", 1)])
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    res = run(sqlite_url, "offer", "accept", "app-1001")
    assert res.exit_code == 1 and "did you mean 'APP-1001'" in res.output
    res = run(sqlite_url, "explain", "APP-1010")
    assert res.exit_code == 1 and "did you mean 'APP-1001'" in res.output


def test_a_dry_run_import_creates_no_database_file(tmp_path):
    db = tmp_path / "new.db"
    csv = tmp_path / "hosts.csv"
    csv.write_text("host_id,name,org_type,region,capacity,specialisms\nH1,Host One,acute,London,2,data\n")
    res = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{db}", "import", "hosts", str(csv), "--dry-run"], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    assert not db.exists() and "nothing was created" in res.output


@pytest.mark.parametrize(
    "answers, problems",
    [
        (
            "candidate_id,response\nC1,Yes\nC9,accept\nC2,accepted\nC2,decline\n",
            [
                "row 2, column 'response': is not a recognised response (value 'Yes')",
                "row 3, column 'candidate_id': There is no candidate 'C9'",
                "row 4, column 'response': is not a recognised response (value 'accepted')",
            ],
        ),
        (
            "candidate_id,response\nC1,accept\nC1,decline\nC3,decline\n",
            [
                "row 3, column 'candidate_id': answers for the same candidate as row 2",
                "row 4, column 'candidate_id': C3 has no offer in round 1",
            ],
        ),
    ],
)
def test_offer_import_lists_every_bad_row_and_records_nothing(engine, sqlite_url, tmp_path, answers, problems):
    seed(
        engine,
        [{"candidate_id": c} for c in ("C1", "C2", "C3")],
        [{"host_id": "H1", "capacity": 2}],
        [("C1", "H1", 1), ("C2", "H1", 1)],
    )
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    path = tmp_path / "answers.csv"
    path.write_text(answers)
    res = run(sqlite_url, "offer", "import", str(path))
    assert res.exit_code == 1, res.output
    out = " ".join(res.output.split())
    positions = [out.index(p) for p in problems]
    assert positions == sorted(positions), out  # in row order
    assert not log(engine, "accept") and not log(engine, "decline")


def test_offer_import_with_a_mapping(engine, sqlite_url, tmp_path):
    seed(
        engine,
        [{"candidate_id": c} for c in ("C1", "C2")],
        [{"host_id": "H1", "capacity": 2}],
        [("C1", "H1", 1), ("C2", "H1", 1)],
    )
    solve_round(engine)
    approve_round(engine, 1, "Sam Lead")
    (tmp_path / "answers.csv").write_text("Ref,Outcome\nC1,Yes\nC2,No\n")
    (tmp_path / "map.toml").write_text(
        '[answers.columns]\n"Ref" = "candidate_id"\n"Outcome" = "response"\n'
        '[answers.values.response]\n"Yes" = "accept"\n"No" = "decline"\n'
    )
    res = run(sqlite_url, "offer", "import", str(tmp_path / "answers.csv"), "--mapping", str(tmp_path / "map.toml"))
    assert res.exit_code == 0, res.output
    assert "Recorded 2 answers from answers.csv (round 1): 1 accepted, 1 declined." in res.output
    (tmp_path / "bad.toml").write_text('[answers.values.response]\n"Yes" = "accepted"\n')
    res = run(sqlite_url, "offer", "import", str(tmp_path / "answers.csv"), "--mapping", str(tmp_path / "bad.toml"))
    assert res.exit_code == 1 and "not a canonical response" in res.output


def test_import_problems_are_listed_file_by_file_in_row_order():
    from placement.errors import InputError, RowProblem

    err = InputError(
        [
            RowProblem("b.csv", 9, "x", None, "p", "f"),
            RowProblem("a.csv", 7, "x", None, "p", "f"),
            RowProblem("b.csv", 2, "x", None, "p", "f"),
            RowProblem("b.csv", None, None, None, "p", "f"),
        ]
    )
    assert [(p.file, p.row) for p in err.problems] == [("b.csv", None), ("b.csv", 2), ("b.csv", 9), ("a.csv", 7)]


def test_running_the_demo_again_leaves_other_files_in_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "placement-demo"
    folder.mkdir()
    (folder / "my-notes.txt").write_text("keep me")
    for _ in range(2):
        res = CliRunner().invoke(cli, ["demo", "--time-limit", "20"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
    assert (folder / "my-notes.txt").read_text() == "keep me"
    assert (folder / "round-1-audit-internal.html").exists()  # a fresh database: round 1 again, not round 2
    assert not list(folder.glob("round-2-*"))
