"""Special category targets on the terminal: explain never reveals them, solve/round show withhold small counts.

The scheme: H1 has one place and a hard target allowing no disabled graduates
there (acknowledged with --allow-quota); C1 (disabled) ranks H1 first but is
placed at H2. ``explain C1`` goes through the impossible-placement path, whose
solver diagnosis says "allows at most 0% disability = yes": it must come out
as "a diversity target the scheme set". ``round show``/``solve`` list C2 at H1
beside the target's scope row "host H1 0 / 1 (0%)", which tells C2's status:
withheld (``*``).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from placement.cli import cli
from placement.masking import diagnosis_line, for_candidate, withhold_scope
from tests.helpers.dbseed import seed

TARGET = "no-disabled-at-H1"


@pytest.fixture
def db(sqlite_url, engine):
    cands = [
        {"candidate_id": "C1", "score": 95, "disability": "yes"},
        {"candidate_id": "C2", "score": 90, "disability": "no"},
        {"candidate_id": "C3", "score": 85, "disability": "no"},
    ]
    hosts = [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}, {"host_id": "H3", "capacity": 1}]
    prefs = [("C1", "H1", 1), ("C1", "H2", 2), ("C2", "H1", 1), ("C2", "H3", 2), ("C3", "H3", 1), ("C3", "H2", 2)]
    targets = [
        {
            "name": TARGET,
            "scope": "host=H1",
            "attribute": "disability",
            "value": "yes",
            "min_share": None,
            "max_share": 0.0,
            "strength": "hard",
            "weight": 0.0,
        }
    ]
    seed(engine, cands, hosts, prefs, targets=targets)
    return sqlite_url


def run(url, *args):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["--db", url, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_explain_never_reveals_a_disability_target_on_the_impossible_placement_path(db):
    run(db, "solve", "--allow-quota", "--time-limit", "10")
    shown = run(db, "round", "show", "1")
    assert "C1 " in shown and "H2" in shown  # C1 was placed at their second choice
    out = run(db, "explain", "C1", "--round", "1", "--time-limit", "5")
    assert "impossible" in out
    assert "diversity target the scheme set" in out
    lowered = out.lower()
    assert "disab" not in lowered and TARGET.lower() not in lowered and "0%" not in out
    assert "C2" not in out and "C3" not in out  # other candidates are never named


def test_round_show_and_solve_withhold_small_counts_of_special_category_targets(db):
    solved = run(db, "solve", "--allow-quota", "--time-limit", "10")
    shown = run(db, "round", "show", "1")
    for out in (solved, shown):
        row = next(line for line in out.splitlines() if "host H1" in line)
        assert "* / 1" in row and "0 / 1" not in row and "(0%)" not in row
        assert "withheld" in out
    as_json = json.loads(CliRunner().invoke(cli, ["--db", db, "solve", "--allow-quota", "--json"]).output)
    (target,) = as_json["targets"]
    assert target["achieved"] is None and target["met"] is None and target["withheld"] is True


def test_the_masking_rules():
    assert withhold_scope("disability", 0, 1) and withhold_scope("ethnic_group", 3, 40)
    assert not withhold_scope("disability", 0, 0) and not withhold_scope("minority_ethnic", 10, 30)
    assert not withhold_scope("sex", 0, 1)  # not special category data
    line = "Target x in host=H1 (hard): allows at most 0% disability = yes among those placed there, but only 1 of 3."
    assert diagnosis_line(line) == (
        "Target x in host=H1 (hard): allows at most 0% disability = yes among those placed there, but only * of *."
    )
    assert diagnosis_line("Host H1 has 2 places but 3 must go there.") == "Host H1 has 2 places but 3 must go there."
    said = for_candidate(
        "placing you there is impossible without breaking a hard rule: target t in cohort needs "
        "10% minority_ethnic = yes; C7 and C8 are linked.",
        ["t"],
        frozenset({"C7", "C8"}),
    )
    assert said == (
        "placing you there is impossible without breaking a hard rule: a diversity target the scheme set; "
        "another candidate and another candidate are linked."
    )
