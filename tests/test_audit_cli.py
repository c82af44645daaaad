"""`placement audit N`: formats, editions, default path next to the database, the internal stamp, errors."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

import placement.resolves
from placement.audit import STAMP
from placement.cli import cli
from tests.helpers.audit import add_candidates, add_hosts, add_preferences, resolver, store_round


@pytest.fixture
def db(engine, sqlite_url):
    add_candidates(engine, [{"candidate_id": f"C{i}", "sex": "female" if i % 2 else "male"} for i in range(12)])
    add_hosts(engine, [{"host_id": "H1", "capacity": 20}])
    add_preferences(engine, [(f"C{i}", "H1", 1) for i in range(12)])
    store_round(engine, {f"C{i}": "H1" for i in range(10)})
    return sqlite_url


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_internal_html_by_default_next_to_the_database_stamped_and_private(db, tmp_path) -> None:
    result = run("--db", db, "audit", "1")
    assert result.exit_code == 0, result.output
    path = tmp_path / "round-1-audit-internal.html"
    assert result.stdout.strip() == str(path)
    assert "OFFICIAL-SENSITIVE" in result.stderr
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Fairness audit: round 1" in html
    assert "This round had no diversity targets" in html
    assert STAMP in html
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_publication_json_to_a_chosen_file(db, tmp_path) -> None:
    out = tmp_path / "reports" / "r1.json"
    result = run("--db", db, "audit", "1", "--format", "json", "--edition", "publication", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert "OFFICIAL-SENSITIVE" not in result.stderr
    audit = json.loads(out.read_text())
    assert audit["schema"] == "placement-audit/2" and audit["round"] == 1 and audit["edition"] == "publication"
    assert audit["stamp"] is None
    # Scheme-wide totals are exact in the publication edition too: 12 considered, 10 placed, 2 not.
    assert (audit["summary"]["candidates"], audit["summary"]["placed"], audit["summary"]["unplaced"]) == (12, 10, 2)
    female = next(
        g for c in audit["characteristics"] if c["name"] == "sex" for g in c["groups"] if g["value"] == "female"
    )
    assert female["eligible"] == {"value": None, "suppressed": True}  # 6 women: withheld
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_no_suppression_is_the_internal_edition(db, tmp_path) -> None:
    result = run("--db", db, "audit", "1", "--format", "csv", "--no-suppression")
    assert result.exit_code == 0
    path = tmp_path / "round-1-audit-internal.csv"
    assert result.stdout.strip() == str(path)
    text = path.read_text(encoding="utf-8-sig")
    assert f"report,,stamp,{STAMP},false" in text
    assert "summary,,placed,10,false" in text
    assert "sex,female,eligible,6,false" in text  # exact: 6 women, not withheld
    both = CliRunner().invoke(cli, ["--db", db, "audit", "1", "--no-suppression", "--edition", "publication"])
    assert both.exit_code == 1 and "cannot be combined" in both.output  # usage errors exit 1 (README)


def test_an_unknown_edition_is_refused_with_the_choices(db) -> None:
    result = CliRunner().invoke(cli, ["--db", db, "audit", "1", "--edition", "public"])
    assert result.exit_code == 1 and "internal" in result.output and "publication" in result.output


def test_the_price_of_fairness_comes_from_the_resolves_library(engine, sqlite_url, tmp_path, monkeypatch) -> None:
    add_candidates(engine, [{"candidate_id": "C1", "sex": "female"}, {"candidate_id": "C2", "sex": "male"}])
    add_hosts(engine, [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}])
    add_preferences(engine, [("C1", "H1", 1), ("C1", "H2", 2), ("C2", "H1", 1), ("C2", "H2", 2)])
    target = {
        "name": "women",
        "scope": "host=H1",
        "attribute": "sex",
        "value": "female",
        "hard": False,
        "min_share": 1.0,
        "max_share": None,
        "placed_in_scope": 1,
        "members_placed": 1,
        "required_min": 1.0,
        "required_max": None,
        "shortfall": 0.0,
        "met": True,
    }
    store_round(engine, {"C1": "H1", "C2": "H2"}, targets=[target])
    calls = []

    def fake(engine_, number, *, cohort=None):
        calls.append(number)
        return resolver({"C1": ("H2", 2), "C2": ("H1", 1)})(engine_, number)

    monkeypatch.setattr(placement.resolves, "resolve_without_targets", fake)
    result = run("--db", sqlite_url, "audit", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert calls == [1]
    pf = json.loads((tmp_path / "round-1-audit-internal.json").read_text())["price_of_fairness"]
    assert {m["candidate_id"]: m["change"] for m in pf["moved"]} == {"C1": -1, "C2": 1}


def test_unknown_round_is_a_clear_error(db) -> None:
    result = CliRunner().invoke(cli, ["--db", db, "audit", "9"])
    assert result.exit_code == 1
    assert "There is no round 9" in result.output and "round list" in result.output
