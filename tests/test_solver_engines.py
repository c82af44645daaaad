"""`placement solve --engine`: both exact engines give the same proven optimum, and the round says which solved what."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from benchmarks.binding import make_binding
from placement.cli import cli
from placement.db.session import transaction
from placement.rounds import load_round


@pytest.fixture
def binding_db(tmp_path, sqlite_url):
    """A generated 200-candidate scheme with a hard women-per-region share just above its optimum's."""
    from placement.db.migrate import upgrade
    from placement.db.session import make_engine
    from placement.ingest import import_dir

    csv_dir, info = make_binding(200, 7, tmp_path)
    assert info["binds_in"] >= 4
    engine = make_engine(sqlite_url)
    upgrade(engine)
    import_dir(engine, csv_dir)
    return engine


def test_engines_agree_and_are_recorded(binding_db, sqlite_url) -> None:
    run = CliRunner().invoke
    answers = {}
    for engine in ("highs", "cp-sat", "auto"):
        res = run(
            cli, ["--db", sqlite_url, "solve", "--allow-quota", "--engine", engine, "--json"], catch_exceptions=False
        )
        assert res.exit_code == 0, res.output
        summary = json.loads(res.output)
        assert summary["status"] == "OPTIMAL", summary
        answers[engine] = summary["objective"]
        # Every exact step names the engine asked for (auto: HiGHS on these reduced models).
        assert summary["engines"], "a binding hard target needs the exact model"
        want = "highs" if engine == "auto" else engine
        assert set(summary["engines"].values()) == {want}, summary["engines"]
        with transaction(binding_db) as s:
            rnd = load_round(s, summary["round"])
            assert rnd.options["engine"] == engine
            assert rnd.summary["engines"] == summary["engines"]
    assert answers["highs"] == answers["cp-sat"] == answers["auto"]
    res = run(cli, ["--db", sqlite_url, "round", "show", "3"], catch_exceptions=False)
    assert "Exact engine: rank_cost by highs" in res.output


def test_an_unknown_engine_is_refused_with_the_choices(sqlite_url) -> None:
    res = CliRunner().invoke(cli, ["--db", sqlite_url, "solve", "--engine", "gurobi"])
    assert res.exit_code == 1  # usage errors exit 1 (README)
    assert "auto" in res.output and "cp-sat" in res.output and "highs" in res.output
