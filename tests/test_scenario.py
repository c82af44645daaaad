"""`placement scenario compare`: variants parsed and applied, solved without storing, measured like the audit.

- Variants: every change parses to what it says; a bad one is refused naming the change and the fix.
- Applying: targets dropped, changed, added (members and scopes from the round), options; quotas refused.
- The comparison of a real solved round: the base column equals the round's own audit; the "no
  targets" variant equals an independent min-cost flow optimum; nothing is stored; editions.
- The CLI on real files.
"""

from __future__ import annotations

import contextlib
import json
import stat
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from placement.audit import audit_round
from placement.cli import cli
from placement.cohorts import resolve
from placement.db.models import AuditLog, Round
from placement.db.session import transaction
from placement.errors import ConfigError, QuotaRefused, RoundError
from placement.scenario import compare_scenarios, render, write_scenarios
from placement.scenario.variants import apply_variant, parse_variant
from placement.solver.problem import Problem, Target
from tests.helpers.audit import add_candidates, add_hosts, add_preferences

# --- Parsing ----------------------------------------------------------------------------------------


def test_each_change_parses_to_what_it_says() -> None:
    v = parse_variant("  no targets ;objective=generous")
    assert [c.kind for c in v.changes] == ["drop_all", "option"] and v.label == "no targets ;objective=generous"
    assert v.changes[1].option == "objective" and v.changes[1].option_value == "generous"
    share = parse_variant("women-per-region min 0.45").changes[0]
    assert (share.kind, share.target, share.bound, share.share) == ("share", "women-per-region", "min", Fraction(9, 20))
    assert parse_variant("women-per-region max 60%").changes[0].share == Fraction(3, 5)
    # Read as written (shares.exact_share), as the solver reads a share: 33.3% is 333/1000, not 0.33299999999999996.
    assert parse_variant("women-per-region max 33.3%").changes[0].share == Fraction(333, 1000)
    assert parse_variant("women-per-region max 1/3").changes[0].share == Fraction(1, 3)
    assert parse_variant("women-per-region max 33.3%").changes[0].words() == "“women-per-region” max 0.333"
    assert parse_variant("women-per-region max 0.45").changes[0].words() == "“women-per-region” max 45%"
    assert parse_variant("women-per-region min none").changes[0].share is None
    soft = parse_variant("quota soft weight 5").changes[0]
    assert (soft.kind, soft.hard, soft.weight) == ("strength", False, 5.0)
    assert parse_variant("drop women-per-region").changes[0].kind == "drop"
    assert parse_variant("Tie-Break=none").changes[0].option == "tie_break"
    add = parse_variant("add changers: career_changer=yes min 0.2 per region hard").changes[0]
    assert (add.kind, add.target, add.attribute, add.value, add.min_share, add.scope, add.hard) == (
        "add",
        "changers",
        "career_changer",
        "yes",
        Fraction(1, 5),
        "region=*",
        True,
    )
    assert parse_variant("add w: sex=female min 0.4").changes[0].weight == 10.0  # soft, default weight
    assert parse_variant("as solved").is_base
    # Started hardest first: stability, then another objective, then a target that may bind, then the rest.
    assert [
        parse_variant(t).effort
        for t in (
            "no targets",
            "drop x",
            "x soft",
            "x min 0.4",
            "add y: sex=female min 0.4",
            "x hard",
            "objective=generous",
            "no targets; stability=strict",
        )
    ] == [0, 0, 0, 1, 1, 1, 2, 3]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("women-per-region min 1.5", "between 0 and 1"),
        ("women-per-region min lots", "is not a share"),
        ("women-per-region min 0.1234567891", "more than 9 decimal places"),
        ("objective=fastest", "objective is one of rank-sum, rank-maximal, generous"),
        ("colour=blue", "not an option a variant can change"),
        ("add x: eye_colour=blue min 0.1", "not a target attribute"),
        ("add x: sex=woman min 0.1", "sex takes one of"),
        ("add x: sex=female", "needs a min or a max share"),
        ("add x: sex=female min 0.5 max 0.2", "min share is above its max share"),
        ("make it fairer", "none of the changes a variant can make"),
        ("quota soft weight -1", "positive number"),
    ],
)
def test_a_bad_change_is_refused_naming_it_and_the_fix(text, says) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_variant(text)
    assert says in excinfo.value.message and "docs/scenario.md" in excinfo.value.hint


# --- Applying ---------------------------------------------------------------------------------------


def _problem() -> Problem:
    """3 candidates, 3 hosts in two regions, one soft target per region on women."""
    i32 = lambda xs: np.asarray(xs, np.int32)  # noqa: E731
    women = np.array([True, False, True])
    targets = tuple(
        Target(
            name="women-per-region",
            scope=f"region={r}",
            scope_hosts=i32(h),
            member=women,
            min_share=0.4,
            max_share=None,
            hard=False,
            weight=5.0,
            attribute="sex",
            value="female",
        )
        for r, h in (("London", [0, 1]), ("North West", [2]))
    )
    return Problem(
        n_candidates=3,
        n_hosts=3,
        pair_cand=i32([0, 1, 2]),
        pair_host=i32([0, 1, 2]),
        pair_rank=i32([1, 1, 1]),
        pair_host_rank=i32([1, 1, 1]),
        capacity=i32([1, 1, 1]),
        min_placements=i32([0, 0, 0]),
        host_region=i32([0, 0, 1]),
        targets=targets,
        candidate_labels=("C1", "C2", "C3"),
        host_labels=("H1", "H2", "H3"),
        region_labels=("London", "North West"),
    )


ATTRS = [
    {"sex": "female", "disability": "yes"},
    {"sex": "male", "disability": "no"},
    {"sex": "female", "disability": "no"},
]
OPTIONS = {"objective": "rank-sum", "stability": "none", "tie_break": "host-order", "time_limit": 10.0}


def _apply(text: str, **kw):
    return apply_variant(
        parse_variant(text), _problem(), OPTIONS, attributes=ATTRS, host_org_types=["acute", "ics", "acute"], **kw
    )


def test_applying_changes_targets_and_options() -> None:
    assert _apply("no targets").problem.targets == ()
    assert _apply("drop women-per-region").problem.targets == ()
    raised = _apply("women-per-region min 0.45").problem.targets
    assert [t.min_share for t in raised] == [Fraction(9, 20)] * 2 and all(not t.hard for t in raised)
    assert all(t.hard for t in _apply("women-per-region hard", allow_quota=True).problem.targets)
    applied = _apply("objective=generous; stability=strict")
    assert applied.options["objective"] == "generous" and applied.options["stability"] == "strict"
    assert OPTIONS["objective"] == "rank-sum"  # the round's options are not changed in place

    added = _apply("add changers: disability=yes min 0.2 per org_type").problem.targets[2:]
    assert [(t.scope, t.scope_hosts.tolist()) for t in added] == [("org_type=acute", [0, 2]), ("org_type=ics", [1])]
    assert added[0].member.tolist() == [True, False, False] and added[0].weight == 10.0
    one_host = _apply("add h: sex=male max 0.5 scope=host=H2").problem.targets[2]
    assert one_host.scope == "host=H2" and one_host.scope_hosts.tolist() == [1] and one_host.max_share == Fraction(1, 2)


def test_applying_refuses_unknown_names_and_unacknowledged_quotas() -> None:
    with pytest.raises(ConfigError) as excinfo:
        _apply("men-per-region min 0.3")
    assert "no target named “men-per-region”" in excinfo.value.message and "women-per-region" in excinfo.value.hint
    with pytest.raises(ConfigError) as excinfo:
        _apply("add x: sex=female min 0.4 scope=region=Wales")
    assert "region “Wales”" in excinfo.value.message and "London, North West" in excinfo.value.hint
    with pytest.raises(QuotaRefused) as quota:
        _apply("women-per-region hard")
    assert "women-per-region" in quota.value.message and "--allow-quota" in quota.value.hint
    assert _apply("women-per-region hard", allow_quota=True).quotas == ("women-per-region",)
    # A quota the round itself already had (acknowledged when it was solved) needs no new acknowledgement.
    assert _apply("women-per-region hard", acknowledged=["women-per-region"]).quotas == ("women-per-region",)


# --- Comparing a solved round -----------------------------------------------------------------------

WOMEN = [f"ZZF{i}" for i in range(6)]  # ids no SVG path or word contains
MEN = [f"ZZM{i}" for i in range(6)]


@pytest.fixture
def solved(engine):
    """12 candidates for 8 places; a soft target asks for 60% women per region, which moves two women to H1."""
    from placement.db.models import Target as TargetRow
    from placement.rounds import RoundOptions, solve_round

    add_candidates(
        engine,
        [
            {"candidate_id": c, "sex": "female", "ethnic_group": "white" if i % 2 else "asian", "disability": "no"}
            for i, c in enumerate(WOMEN)
        ]
        + [
            {
                "candidate_id": c,
                "sex": "male",
                "ethnic_group": "white",
                "disability": "yes" if i < 2 else "no",
                "score": 80.0,
            }
            for i, c in enumerate(MEN)
        ],
    )
    add_hosts(
        engine,
        [
            {"host_id": "H1", "capacity": 4, "region": "London"},
            {"host_id": "H2", "capacity": 4, "region": "North West"},
        ],
    )
    # Men want H1, then H2; women want H2, then H1 — except ZZF3, who wants H1 first.
    prefs = [(c, "H1", 1) for c in MEN] + [(c, "H2", 2) for c in MEN]
    prefs += [(c, "H1", 1) if c == "ZZF3" else (c, "H2", 1) for c in WOMEN]
    prefs += [(c, "H2", 2) if c == "ZZF3" else (c, "H1", 2) for c in WOMEN]
    add_preferences(engine, prefs)
    with transaction(engine) as s:
        s.add(
            TargetRow(
                cohort_id=resolve(s, None).id,
                name="women-per-region",
                scope="region=*",
                attribute="sex",
                value="female",
                min_share=0.6,
                max_share=None,
                strength="soft",
                weight=5.0,
            )
        )
    result = solve_round(engine, RoundOptions(time_limit=30.0))
    assert result.status == "OPTIMAL"
    return engine


def _flow_optimum(engine, number: int) -> tuple[int, int]:
    """Most placed, then least rank cost, without targets: OR-Tools min-cost flow on the round's stored pairs."""
    from ortools.graph.python import min_cost_flow

    from placement.resolves import stored_inputs

    with transaction(engine) as s:
        _, enc = stored_inputs(s, number)
    p = enc.problem
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = p.n_candidates + p.n_hosts, p.n_candidates + p.n_hosts + 1
    for c in range(p.n_candidates):
        flow.add_arc_with_capacity_and_unit_cost(source, c, 1, 0)
    for c, h, r in zip(p.pair_cand.tolist(), p.pair_host.tolist(), p.pair_rank.tolist()):
        flow.add_arc_with_capacity_and_unit_cost(c, p.n_candidates + h, 1, r)
    for h in range(p.n_hosts):
        flow.add_arc_with_capacity_and_unit_cost(p.n_candidates + h, sink, int(p.capacity[h]), 0)
    flow.set_node_supply(source, p.n_candidates)
    flow.set_node_supply(sink, -p.n_candidates)
    assert flow.solve_max_flow_with_min_cost() == flow.OPTIMAL
    return flow.maximum_flow(), flow.optimal_cost()


def test_the_base_column_is_the_rounds_own_audit_and_no_targets_is_the_flow_optimum(solved) -> None:
    with transaction(solved) as s:
        rounds_before = s.scalar(select(func.count()).select_from(Round))
    comparison = compare_scenarios(
        solved, 1, ["no targets", "women-per-region min 0.75", "objective=generous"], workers=1
    )
    base, free, raised, generous = comparison["variants"]
    assert comparison["schema"] == "placement-scenario/1" and comparison["edition"] == "internal"

    # The base column carries the round's own audit, figure for figure.
    audit = audit_round(solved, 1)
    assert base["base"] and base["summary"] == audit["summary"] and base["headline"] == audit["headline"]
    assert base["flags"] == audit["flags"]
    assert [r["value"] for r in base["relative_likelihoods"]] == [
        rl["value"] for ch in audit["characteristics"] for rl in ch["relative_likelihoods"]
    ]
    assert base["base_targets"]["met"] == audit["summary"]["targets_met"]

    # Without targets the answer is the network optimum, checked by an independent min-cost flow.
    placed, cost = _flow_optimum(solved, 1)
    # (H1: ZZF3 and 3 men, H2: 4 of its 5 women, all at their first choice: 8 placed, rank cost 8.)
    assert (free["summary"]["placed"], free["rank_cost"]) == (placed, cost) == (8, 8)
    assert free["summary"]["target_scopes"] == 0 and free["base_targets"]["scopes"] == 2
    assert free["price_against_base"]["placed"] == 0.0
    # The target moved women to their second choice; without it everyone placed gets their first.
    assert base["rank_cost"] > free["rank_cost"] and free["price_against_base"]["rank_cost"] < 0
    moved = {m["candidate_id"]: m for m in free["moved"]}
    assert moved and all(m["choice_in_variant"] in (1, None) for m in moved.values())
    assert free["moved_summary"]["moved"] == len(moved)
    # Raising the share to 75% keeps the targets (now their own) and the yardstick is still the round's.
    assert raised["summary"]["target_scopes"] == 2 and [t["min_share"] for t in raised["targets"]] == [0.75, 0.75]
    assert generous["options"]["objective"] == "generous"

    with transaction(solved) as s:  # nothing stored
        assert s.scalar(select(func.count()).select_from(Round)) == rounds_before


def test_the_publication_edition_names_nobody(solved) -> None:
    comparison = compare_scenarios(solved, 1, ["no targets"], edition="publication", workers=1)
    assert comparison["stamp"] is None
    free = comparison["variants"][1]
    assert free["moved"] is None and free["moved_summary"]["moved"] > 0
    text = render(comparison, "html").decode() + render(comparison, "json").decode()
    assert not any(c in text for c in WOMEN + MEN)
    assert "Who would move" not in text


def test_a_share_written_as_a_fraction_is_solved_and_reported_exactly(solved) -> None:
    # 5/6 of 4 placed in a region is 3.33..: at least 4 women (exact), which no region can have here, so the
    # soft target is missed and the audit's flag states the share; the JSON carries it as a number.
    comparison = compare_scenarios(solved, 1, ["women-per-region min 5/6"], workers=1)
    variant = comparison["variants"][1]
    assert variant["changes"] == ["“women-per-region” min 5/6"]
    assert [t["min_share"] for t in variant["targets"]] == [5 / 6, 5 / 6]
    assert any(f["metric"] == "target_missed" and "at least 83%" in f["message"] for f in variant["flags"])
    assert json.loads(render(comparison, "json"))["variants"][1]["targets"][0]["min_share"] == 5 / 6
    assert "<svg" in render(comparison, "html").decode()


VARIANTS = [
    "no targets",
    "women-per-region min 0.75",
    "women-per-region min 0.6",
    "objective=generous",
    "women-per-region soft weight 50; stability=strict",
    "add disabled: disability=yes min 0.25 soft weight 3",
]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_variant_is_as_good_as_solving_it_alone(solved, workers) -> None:
    # Solved from the round's inputs read once, started from the round's answer, maybe in another process:
    # every level's optimum is still that of the variant solved on its own (no kept answer, no tie-break).
    from placement.rounds import RoundOptions
    from placement.solver import solve
    from placement.totals import read_round

    columns = compare_scenarios(solved, 1, VARIANTS, workers=workers)["variants"][1:]
    with transaction(solved) as s:
        record = read_round(s, 1)
    problem = record.inputs.problem
    attributes = [
        {"sex": "female" if c in WOMEN else "male", "disability": "yes" if c in MEN[:2] else "no"}
        for c in record.inputs.candidate_ids
    ]
    for text, col in zip(VARIANTS, columns):
        a = apply_variant(
            parse_variant(text), problem, record.options, attributes=attributes, host_org_types=[""] * problem.n_hosts
        )
        alone = solve(a.problem, replace(RoundOptions.stored(a.options).solver_options(), tie_break="none"))
        assert (col["status"], col["objective"]) == (alone.status, alone.objective), text
        assert col["summary"]["placed"] == alone.placed
    # The same share as the round's: its answer is the round's own, nobody moves.
    same = columns[VARIANTS.index("women-per-region min 0.6")]
    assert (
        same["moved_summary"]["moved"] == 0
        and same["rank_cost"] == compare_scenarios(solved, 1, ["as solved"], workers=1)["variants"][0]["rank_cost"]
    )


def _children() -> set[int]:
    """This process's live child processes (any thread's)."""
    import os
    from pathlib import Path

    out: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            out |= {int(p) for p in (task / "children").read_text().split()}
    return {
        p for p in out if Path(f"/proc/{p}/stat").exists() and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"
    }


def test_no_worker_outlives_a_comparison_that_fails_or_ends(solved) -> None:
    def interrupt(_message: str) -> None:  # the first progress message comes once the workers have started
        raise RoundError("interrupted by the test", "")

    before = _children()
    with pytest.raises(RoundError, match="interrupted by the test"):
        compare_scenarios(solved, 1, ["no targets", "objective=generous"], workers=2, progress=interrupt)
    assert _children() <= before
    compare_scenarios(solved, 1, ["no targets", "objective=generous"], workers=2)
    assert _children() <= before


def test_where_no_worker_can_start_this_process_solves_every_variant(solved, monkeypatch) -> None:
    from placement.scenario import solving

    monkeypatch.setattr(solving, "PRELOAD", ("placement.no_such_module",))  # each worker fails to start
    alone = compare_scenarios(solved, 1, ["no targets", "objective=generous"], workers=1)["variants"]
    fallen_back = compare_scenarios(solved, 1, ["no targets", "objective=generous"], workers=2)["variants"]
    for a, b in zip(alone, fallen_back):
        assert {k: v for k, v in a.items() if k != "solve_seconds"} == {
            k: v for k, v in b.items() if k != "solve_seconds"
        }


def test_variants_in_parallel_processes_give_the_same_figures(solved) -> None:
    variants = ["no targets", "objective=generous"]
    alone = compare_scenarios(solved, 1, variants, workers=1)["variants"]
    parallel = compare_scenarios(solved, 1, variants, workers=2)["variants"]
    for a, b in zip(alone, parallel):
        assert {k: v for k, v in a.items() if k != "solve_seconds"} == {
            k: v for k, v in b.items() if k != "solve_seconds"
        }


def test_write_scenarios_logs_and_keeps_the_internal_edition_private(solved, tmp_path) -> None:
    path = write_scenarios(solved, 1, ["no targets"], "html", workers=1)
    assert path.name == "round-1-scenarios-internal.html" and stat.S_IMODE(path.stat().st_mode) == 0o600
    html = path.read_text()
    assert "OFFICIAL-SENSITIVE" in html and html.count("<svg") == 2 and "Who would move" in html
    public = write_scenarios(
        solved, 1, ["no targets"], "json", tmp_path / "board.json", edition="publication", workers=1
    )
    assert stat.S_IMODE(public.stat().st_mode) == 0o644 and json.loads(public.read_text())["edition"] == "publication"
    with transaction(solved) as s:
        logs = [r.detail for r in s.scalars(select(AuditLog).where(AuditLog.action == "scenario"))]
    assert len(logs) == 2 and "“no targets”" in logs[0] and "internal edition" in logs[0] and "publication" in logs[1]


def test_cli_compare_writes_the_page_and_refuses_bad_variants_without_writing(solved, sqlite_url, tmp_path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "--db",
            sqlite_url,
            "scenario",
            "compare",
            "--base",
            "1",
            "--variant",
            "no targets",
            "--variant",
            "women-per-region soft weight 50",
            "--workers",
            "1",
            "--format",
            "json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "round-1-scenarios-internal.json"
    assert ok.stdout.strip() == str(out)
    assert [v["label"] for v in json.loads(out.read_text())["variants"]] == [
        "as solved (round 1)",
        "no targets",
        "women-per-region soft weight 50",
    ]
    bad = runner.invoke(
        cli,
        [
            "--db",
            sqlite_url,
            "scenario",
            "compare",
            "--base",
            "1",
            "--variant",
            "no targets",
            "--variant",
            "men-per-region min 0.3",
            "--out",
            str(tmp_path / "x.html"),
        ],
    )
    assert bad.exit_code == 1 and "no target named “men-per-region”" in bad.output and "women-per-region" in bad.output
    assert not (tmp_path / "x.html").exists()
    missing = runner.invoke(cli, ["--db", sqlite_url, "scenario", "compare", "--base", "7", "--variant", "no targets"])
    assert missing.exit_code == 1 and "There is no round 7" in missing.output
