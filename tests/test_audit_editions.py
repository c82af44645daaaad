"""The two editions of the audit, and totals that agree with the round everywhere.

- A planted disparity on an 80-candidate scheme: the internal edition flags it
  with its exact ratio; the publication edition names the flag without
  numbers and shows no group count between 1 and 7.
- Every total of both editions equals ``placement round show N --json``'s
  ``totals`` (``placement.totals.round_totals``) and an independent count
  straight from the database, on solved rounds of 30, 80 and 2,000 candidates.
- Verdicts from Fisher's p and the 95% interval, by hand.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from placement.audit import audit_round, render
from placement.audit.editions import Edition, verdict
from placement.audit.metrics import Comparison
from placement.db.models import Candidate, Host, Placement, Preference, Round
from placement.db.session import transaction
from placement.totals import round_totals
from tests.helpers.audit import FakeFree, add_candidates, add_hosts, add_preferences, no_resolve, store_round

EDITIONS = ("internal", "publication")


# --- A planted disparity ----------------------------------------------------------------------------

WHITE = [f"W{i:02d}" for i in range(40)]
OTHER = [f"M{i:02d}" for i in range(40)]
GROUPS = ["asian", "black", "mixed", "other"]


@pytest.fixture
def planted(engine):
    """80 candidates: White placed at 90% (36 of 40), all other ethnic groups combined at 45% (18 of 40)."""
    rows = [
        {
            "candidate_id": c,
            "ethnic_group": "white",
            "sex": "female" if i % 2 else "male",
            "disability": "yes" if i < 3 else "no",
            "career_changer": "yes" if i % 3 == 0 else "no",
        }
        for i, c in enumerate(WHITE)
    ]
    rows += [
        {
            "candidate_id": c,
            "ethnic_group": GROUPS[i % 4] if i < 37 else "other",
            "sex": "male" if i % 2 else "female",
            "disability": "yes" if i < 5 else "no",
            "career_changer": "yes" if i % 3 == 0 else "no",
        }
        for i, c in enumerate(OTHER)
    ]
    add_candidates(engine, rows)
    add_hosts(engine, [{"host_id": "H1", "capacity": 30}, {"host_id": "H2", "capacity": 30}])
    add_preferences(engine, [(c, h, r) for c in WHITE + OTHER for h, r in (("H1", 1), ("H2", 2))])
    placed = {c: ("H1" if i < 27 else "H2") for i, c in enumerate(WHITE[:36])}
    placed |= {c: ("H1" if i < 3 else "H2") for i, c in enumerate(OTHER[:18])}
    store_round(engine, placed)
    return engine


def _group_counts(audit: dict[str, Any]) -> Iterator[tuple[str, str, str, dict]]:
    """Every count cell broken down by a characteristic: group rows, rank profiles, declaration, target members."""
    for ch in audit["characteristics"]:
        for g in ch["groups"]:
            for key in ("eligible", "placed", "unplaced", "envious_candidates", "blocking_pairs"):
                yield ch["name"], g["value"], key, g[key]
            for step in g["rank_profile"]:
                yield ch["name"], g["value"], f"choice {step['choice']}", step["count"]
        for state, d in ch["declaration"].items():
            yield ch["name"], state, "declaration", d["count"]
    for t in audit["targets"]:
        yield "target", t["scope"], "members_placed", t["members_placed"]


def test_a_planted_disparity_is_flagged_exactly_inside_and_named_without_numbers_outside(planted) -> None:
    internal = audit_round(planted, 1, edition="internal", resolve=no_resolve)
    rl = next(
        f
        for f in internal["flags"]
        if f["metric"] == "relative_likelihood_placed" and f["characteristic"] == "minority_ethnic"
    )
    assert rl["value"] == pytest.approx((36 / 40) / (18 / 40)) == pytest.approx(2.0)
    assert rl["verdict"] == "flagged" and rl["p_value"] < 0.001 and rl["groups"] == ["yes", "no"]
    assert rl["ci95"]["low"] > 1.25  # the whole interval lies outside the band
    assert "2.00 times as likely" in rl["message"]
    air = next(
        f for f in internal["flags"] if f["metric"] == "adverse_impact" and f["characteristic"] == "minority_ethnic"
    )
    assert air["value"] == pytest.approx(0.5) and air["verdict"] == "flagged" and air["groups"] == ["yes", "no"]
    assert "50%" in air["message"]
    # Exact counts everywhere, small ones included (3 candidates of the "other" group... and 5 disabled).
    assert any(isinstance(c["value"], int) and 1 <= c["value"] <= 7 for *_, c in _group_counts(internal))

    public = audit_round(planted, 1, edition="publication", resolve=no_resolve)
    named = {(f["characteristic"], f["metric"]): f for f in public["flags"]}
    flag = named[("minority_ethnic", "relative_likelihood_placed")]
    assert flag["verdict"] == "flagged" and flag["value"] is None and flag["groups"] == []
    assert flag["message"] == (
        "The placement-rate relative likelihood comparison for ethnicity: White and all other "
        "ethnic groups combined was flagged; see the internal edition."
    )
    assert named[("minority_ethnic", "adverse_impact")]["verdict"] == "flagged"
    assert ("ethnic_group", "adverse_impact") in named  # the same gap, seen group by group
    for f in public["flags"]:
        assert f["value"] is None and f["p_value"] is None and f["ci95"] is None
    for where in _group_counts(public):
        c = where[-1]
        assert c["suppressed"] or c["value"] is None or c["value"] == 0 or c["value"] >= 8, where
    # The HTML and CSV of the publication edition show no exact ratio either.
    html = render(public, "html").decode()
    assert "2.00 times" not in html and "see the internal edition" in html
    text = render(public, "csv").decode("utf-8-sig")
    assert "relative_likelihood_placed_value" not in text

    # Both editions carry the round's own totals.
    with transaction(planted) as s:
        totals = round_totals(s, 1).as_dict()
    assert internal["summary"] == public["summary"] == totals
    assert (totals["candidates"], totals["placed"], totals["unplaced"], totals["first_choice"]) == (80, 54, 26, 30)


# --- Totals against the database, on solved rounds ----------------------------------------------------


def _independent_totals(engine, number: int) -> dict[str, int]:
    """The totals counted straight from the tables, without placement.totals or the audit."""
    with transaction(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == number))
        pool = set(rnd.summary["pool"])
        eligible = set(rnd.summary["eligible"])
        placed = s.execute(
            select(Candidate.candidate_id, Placement.rank)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .where(Placement.round_id == rnd.id)
        ).all()
        best = dict(
            s.execute(
                select(Candidate.candidate_id, func.min(Preference.rank))
                .join(Preference, Preference.candidate_pk == Candidate.id)
                .group_by(Candidate.candidate_id)
            ).all()
        )
        targets = [t for t in rnd.summary["targets"] if t["placed_in_scope"] > 0]
        assert s.scalar(select(func.count()).select_from(Host)) > 0
    return {
        "candidates": len(pool),
        "eligible": len(eligible),
        "no_eligible_host": len(pool - eligible),
        "placed": len(placed),
        "unplaced": len(pool) - len(placed),
        "first_choice": sum(1 for cid, rank in placed if rank == best.get(cid)),  # their top-ranked host
        "target_scopes": len(rnd.summary["targets"]),
        "targets_met": sum(1 for t in targets if t["met"]),
        "targets_missed": sum(1 for t in targets if not t["met"]),
        "targets_not_applicable": len(rnd.summary["targets"]) - len(targets),
    }


def _brute_force_blocking_pairs(engine, number: int) -> int:
    """Blocking pairs by the definition, pair by pair, over the round's stored inputs."""
    from placement.resolves import stored_inputs

    with transaction(engine) as s:
        rnd, enc = stored_inputs(s, number)
        placed = dict(
            s.execute(
                select(Candidate.candidate_id, Host.host_id)
                .join(Placement, Placement.candidate_pk == Candidate.id)
                .join(Host, Host.id == Placement.host_pk)
                .where(Placement.round_id == rnd.id)
            ).all()
        )
    p = enc.problem
    cid, hid = enc.candidate_ids, enc.host_ids
    rank = {
        (cid[c], hid[h]): (int(r), int(hr))
        for c, h, r, hr in zip(
            p.pair_cand.tolist(), p.pair_host.tolist(), p.pair_rank.tolist(), p.pair_host_rank.tolist()
        )
    }
    at: dict[str, list[str]] = {}
    for c, h in placed.items():
        at.setdefault(h, []).append(c)
    capacity = {hid[h]: int(p.capacity[h]) for h in range(p.n_hosts)}
    count = 0
    for (c, h), (r, hr) in rank.items():
        mine = placed.get(c)
        if mine == h or capacity[h] == 0:
            continue
        wants = mine is None or r < rank[(c, mine)][0]
        room = len(at.get(h, [])) < capacity[h] or any(hr < rank[(o, h)][1] for o in at.get(h, []))
        count += wants and room
    return count


def _solved(engine, tmp_path, n: int, **options):
    from placement.generate import generate_scheme
    from placement.ingest import import_dir
    from placement.rounds import RoundOptions, solve_round

    generate_scheme(tmp_path / "scheme", candidates=n, seed=n)
    import_dir(engine, tmp_path / "scheme")
    result = solve_round(engine, RoundOptions(time_limit=60.0, **options))
    assert result.status in ("OPTIMAL", "FEASIBLE")
    return result


@pytest.mark.parametrize("n", [30, 80, pytest.param(2000, marks=pytest.mark.slow)])
def test_every_total_of_both_editions_equals_the_rounds(engine, sqlite_url, tmp_path, n) -> None:
    from click.testing import CliRunner

    from placement.cli import cli

    result = _solved(engine, tmp_path, n)
    independent = _independent_totals(engine, result.round)
    independent["blocking_pairs"] = _brute_force_blocking_pairs(engine, result.round)
    with transaction(engine) as s:
        shared = round_totals(s, result.round).as_dict()
    assert shared == independent
    shown = CliRunner().invoke(cli, ["--db", sqlite_url, "round", "show", str(result.round), "--json"])
    assert shown.exit_code == 0, shown.output
    round_show = json.loads(shown.stdout)
    assert round_show["totals"] == shared and round_show["placed"] == shared["placed"]
    assert (shared["placed"], shared["unplaced"]) == (result.placed, result.unplaced)
    assert shared["target_scopes"] == len(result.targets) > 0
    for edition in EDITIONS:
        # No re-solve needed for the totals: the price of fairness is checked elsewhere.
        audit = audit_round(engine, result.round, edition=edition, resolve=no_resolve_allowed)
        assert audit["summary"] == shared, edition
        assert audit["stability"]["blocking_pairs"] == shared["blocking_pairs"]
        for ch in audit["characteristics"]:  # the cohort's row of every table is the same exact cohort
            total = ch["total"]
            assert (total["pool"]["value"], total["eligible"]["value"], total["placed"]["value"]) == (
                shared["candidates"],
                shared["eligible"],
                shared["placed"],
            ), (edition, ch["name"])
            assert total["rank_profile"][0]["count"]["value"] == shared["first_choice"]
        rows = {
            (r["characteristic"], r["metric"]): r["value"]
            for r in csv.DictReader(io.StringIO(render(audit, "csv").decode("utf-8-sig")))
        }
        assert {k: int(rows[("summary", k)]) for k in shared} == shared
        assert json.loads(render(audit, "json"))["summary"] == shared


def no_resolve_allowed(engine, number):
    """A re-solve that says it found nothing: the totals must not depend on it."""
    return FakeFree("UNKNOWN", {}, {})


def test_blocking_pairs_of_a_round_solved_without_stability_are_counted_not_assumed_zero(engine) -> None:
    # Both rank H1 first; H1 prefers C1 (the higher score) yet gave its only place to C2: (C1, H1) blocks.
    add_candidates(engine, [{"candidate_id": "C1", "score": 90.0}, {"candidate_id": "C2", "score": 50.0}])
    add_hosts(engine, [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}])
    add_preferences(engine, [("C1", "H1", 1), ("C1", "H2", 2), ("C2", "H1", 1), ("C2", "H2", 2)])
    store_round(engine, {"C2": "H1", "C1": "H2"})
    with transaction(engine) as s:
        assert round_totals(s, 1).blocking_pairs == 1 == _brute_force_blocking_pairs(engine, 1)
    audit = audit_round(engine, 1, resolve=no_resolve)
    assert audit["stability"]["stable"] is False
    assert any(f["metric"] == "stability" for f in audit["flags"])


# --- Verdicts by hand ---------------------------------------------------------------------------------


BAND = (0.8, 1.25)


def test_verdict_from_fisher_p_and_the_interval() -> None:
    # Outside the band: p decides.
    assert verdict(Comparison(2.0, 0.0004, 1.4, 2.9), BAND) == "flagged"
    assert verdict(Comparison(0.5, 0.001, 0.3, 0.8), BAND) == "flagged"
    assert verdict(Comparison(1.6, 0.33, 0.8, 3.1), BAND) == "too few to tell"
    # Inside the band: within, unless the interval spans both sides of it.
    assert verdict(Comparison(1.0, 0.9, 0.85, 1.2), BAND) == "within the band"
    assert verdict(Comparison(0.9, 0.6, 0.6, 1.2), BAND) == "within the band"  # reaches below only
    assert verdict(Comparison(1.0, 1.0, 0.5, 2.0), BAND) == "too few to tell"
    assert verdict(Comparison(1.1, 1.0, None, 1.9), BAND) == "too few to tell"  # an undefined end reaches its side
    # The reference group (ratio 1 by definition), an infinite ratio, nothing to compare.
    assert verdict(Comparison(1.0, None, None, None), BAND) == "within the band"
    assert verdict(Comparison(None, 0.01, None, None, infinite=True), BAND) == "flagged"
    assert verdict(Comparison(None, 0.4, None, None, infinite=True), BAND) == "too few to tell"
    assert verdict(Comparison(None, None, None, None), BAND) is None


def test_edition_names_are_checked() -> None:
    from placement.errors import ConfigError

    assert Edition.parse("Publication") is Edition.PUBLICATION and Edition.parse(Edition.INTERNAL).private
    with pytest.raises(ConfigError) as excinfo:
        Edition.parse("public")
    assert "--edition internal" in excinfo.value.hint
