"""The audit of a stored round, end to end: figures by hand, disclosure control, formats, law.

The round (built with the ORM as the rounds contract describes it):
- White: 11 candidates, one with no eligible host; of the 10 eligible, 6 placed
  at their 1st choice, 2 at their 2nd, 2 unplaced;
- All other ethnic groups combined: 8, all eligible; 2 placed at 1st, 2 at 3rd, 4 unplaced;
- Not stated: 2, one placed at 1st.
Everyone ranks H1, H2, H3 with given ranks 1, 3, 5 (gaps), so a placement at
H2 is their 2nd choice.
"""

from __future__ import annotations

import csv
import io
import json
import math
import stat
from datetime import UTC, datetime

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from placement.audit import STAMP, audit_round, default_report_path, render, write_report
from placement.audit.render_xlsx import WITHHELD
from placement.cli import cli
from placement.db.models import AuditLog
from placement.db.session import transaction
from placement.errors import NotFound
from tests.helpers.audit import add_candidates, add_hosts, add_preferences, no_resolve, resolver, store_round

WHITE = [f"W{i:02d}" for i in range(1, 11)]
MINORITY = [f"M{i:02d}" for i in range(1, 9)]
UNSTATED = ["N01", "N02"]


def _scheme(engine, *, protected: bool = True) -> None:
    rows = []
    for i, cid in enumerate(WHITE + ["X01"]):
        rows.append(
            {"candidate_id": cid, "ethnic_group": "white", "sex": "female" if i % 2 else "male", "disability": "no"}
        )
    for i, cid in enumerate(MINORITY):
        rows.append(
            {
                "candidate_id": cid,
                "ethnic_group": ["asian", "black", "mixed", "other"][i % 4],
                "sex": "female" if i % 2 else "male",
                "disability": "yes" if i < 2 else "no",
            }
        )
    for cid in UNSTATED:
        rows.append(
            {"candidate_id": cid, "ethnic_group": "not_stated", "sex": "not_stated", "disability": "not_stated"}
        )
    if not protected:
        rows = [{"candidate_id": r["candidate_id"], "protected": i % 2 == 0} for i, r in enumerate(rows)]
    rows[-3]["score"] = 10.0 if protected else rows[-3].get("score", 70.0)
    for r in rows:
        r["score"] = 10.0 if r["candidate_id"] == "X01" else 70.0
    add_candidates(engine, rows)
    add_hosts(
        engine, [{"host_id": h, "capacity": 10} for h in ("H1", "H2", "H3")] + [{"host_id": "H4", "min_score": 90.0}]
    )
    prefs = [(c, h, r) for c in WHITE + MINORITY + UNSTATED for h, r in (("H1", 1), ("H2", 3), ("H3", 5))]
    add_preferences(engine, prefs + [("X01", "H4", 1)])


PLACED = {
    **dict.fromkeys(WHITE[:6], "H1"),
    **dict.fromkeys(WHITE[6:8], "H2"),
    **dict.fromkeys(MINORITY[:2], "H1"),
    **dict.fromkeys(MINORITY[2:4], "H3"),
    "N01": "H1",
}
TARGET = {
    "name": "minority-share",
    "scope": "cohort",
    "attribute": "minority_ethnic",
    "value": "yes",
    "hard": False,
    "min_share": 0.3,
    "max_share": None,
    "placed_in_scope": 13,
    "members_placed": 4,
    "required_min": 3.9,
    "required_max": None,
    "shortfall": 0.0,
    "met": True,
}
BLOCKING = [["M05", "H1"], ["M05", "H2"], ["W09", "H1"]]
# Without the target: M03 and M04 (3rd choice) swap places with W09, W10, who get H2 (2nd choice).
FREE = {
    c: ((h, {"H1": 1, "H2": 3, "H3": 5}[h]) if h else None)
    for c, h in {**PLACED, "M03": None, "M04": None, "W09": "H2", "W10": "H2"}.items()
}


@pytest.fixture
def round1(engine):
    _scheme(engine)
    store_round(engine, PLACED, targets=[TARGET], blocking_pairs=BLOCKING)
    return engine


def _char(audit, name):
    return next(c for c in audit["characteristics"] if c["name"] == name)


def _group(audit, name, value):
    return next(g for g in _char(audit, name)["groups"] if g["value"] == value)


def v(c):
    return c["value"]


def test_exact_figures_by_hand(round1) -> None:
    a = audit_round(round1, 1, edition="internal", resolve=resolver(FREE))
    white, other = _group(a, "minority_ethnic", "no"), _group(a, "minority_ethnic", "yes")
    assert (v(white["eligible"]), v(white["placed"]), v(white["unplaced"])) == (10, 8, 2)
    total = _char(a, "minority_ethnic")["total"]
    assert (v(total["pool"]), v(total["no_eligible_host"]), v(total["eligible"])) == (21, 1, 20)
    assert [v(s["count"]) for s in white["rank_profile"]] == [6, 2, 0, 2]  # 1st, 2nd, 3rd, unplaced
    assert [s["choice"] for s in white["rank_profile"]] == ["1", "2", "3", "unplaced"]
    assert v(white["placement_rate"]) == pytest.approx(0.8) and v(other["placement_rate"]) == pytest.approx(0.5)
    assert v(white["first_choice_rate"]) == pytest.approx(0.6)
    assert v(white["mean_choice"]) == pytest.approx(10 / 8) and v(white["median_choice"]) == 1.0
    assert v(other["mean_choice"]) == pytest.approx(2.0) and v(other["median_choice"]) == 2.0
    assert v(white["share_of_placements"]) == pytest.approx(8 / 13)
    # Missing states are counted but never rated.
    unstated = _group(a, "minority_ethnic", "not_stated")
    assert v(unstated["placed"]) == 1 and v(unstated["placement_rate"]) is None and unstated["adverse_impact"] is None

    rl = {r["outcome"]: r for r in _char(a, "minority_ethnic")["relative_likelihoods"]}
    assert rl["placed"]["reference_label"] == "White"
    assert rl["placed"]["comparison_label"] == "All other ethnic groups combined"
    assert v(rl["placed"]["value"]) == pytest.approx(0.8 / 0.5) and rl["placed"]["flag"] is True
    assert v(rl["first_choice"]["value"]) == pytest.approx(0.6 / 0.25)
    air = other["adverse_impact"]
    assert air["reference_group"] == "no" and v(air["ratio"]) == pytest.approx(0.625) and air["flag"] is True
    assert v(air["shortfall"]) == 3  # 0.8 x 8 = 6.4 -> 7 needed, 4 placed
    parity = _char(a, "minority_ethnic")["parity"]
    assert v(parity["difference"]) == pytest.approx(0.3) and v(parity["ratio"]) == pytest.approx(0.625)
    assert v(_char(a, "minority_ethnic")["declaration"]["not_stated"]["share"]) == pytest.approx(2 / 20)

    assert (v(other["envious_candidates"]), v(other["blocking_pairs"])) == (1, 2)
    assert (v(white["envious_candidates"]), v(white["blocking_pairs"])) == (1, 1)
    s = a["summary"]
    assert (s["candidates"], s["eligible"], s["placed"], s["unplaced"], s["first_choice"]) == (21, 20, 13, 8, 9)
    assert (s["target_scopes"], s["targets_met"], s["targets_missed"], s["blocking_pairs"]) == (1, 1, 0, 3)

    t = a["targets"][0]
    assert (v(t["placed_in_scope"]), v(t["members_placed"]), v(t["required_min"])) == (13, 4, 4)
    assert t["status"] == "met" and t["binding"] is True

    pf = a["price_of_fairness"]
    assert pf["applicable"] and pf["placed_with_targets"] == pf["placed_without_targets"] == 13
    assert (pf["rank_cost_with_targets"], pf["rank_cost_without_targets"]) == (6 + 4 + 2 + 6 + 1, 6 + 8 + 2 + 1)
    assert pf["price_rank_cost"] == pytest.approx((19 - 17) / 17)
    moved = {m["candidate_id"]: m for m in pf["moved"]}
    assert set(moved) == {"M03", "M04", "W09", "W10"}
    assert moved["W09"]["choice_with_targets"] is None and moved["W09"]["choice_without_targets"] == 2

    metrics = {f["metric"] for f in a["flags"]}
    assert {"relative_likelihood_placed", "relative_likelihood_first_choice", "adverse_impact", "stability"} <= metrics
    # 8 of 10 against 4 of 8: outside the band, but Fisher's p is about 0.33 — the numbers cannot tell.
    assert rl["placed"]["verdict"] == "too few to tell" and rl["placed"]["fisher_p"]["value"] > 0.05
    flag = next(f for f in a["flags"] if f["metric"] == "relative_likelihood_placed")
    assert flag["characteristic"] == "minority_ethnic" and flag["groups"] == ["yes", "no"]
    assert flag["value"] == pytest.approx(1.6) and flag["verdict"] == "too few to tell"
    assert "too few to tell" in flag["message"] and "1.60 times as likely" in flag["message"]


def test_publication_counts_are_suppressed_or_rounded_and_rates_follow_them(round1) -> None:
    a = audit_round(round1, 1, edition="publication", resolve=resolver(FREE))
    assert a["edition"] == "publication" and a["stamp"] is None and a["disclosure_control"]["applied"]
    for ch in a["characteristics"]:
        for g in ch["groups"]:
            for k in ("eligible", "placed", "unplaced", "envious_candidates", "blocking_pairs"):
                assert g[k]["suppressed"] or g[k]["value"] % 5 == 0, (ch["name"], k, g[k])
            for step in g["rank_profile"]:
                assert step["count"]["suppressed"] or step["count"]["value"] % 5 == 0
            # Every rate shown is worked out from the counts shown.
            if not g["placement_rate"]["suppressed"] and g["placement_rate"]["value"] is not None:
                assert g["placement_rate"]["value"] == v(g["placed"]) / v(g["eligible"])
        # The cohort's row breaks nobody down: exact, and the same as the summary.
        assert (v(ch["total"]["pool"]), v(ch["total"]["eligible"]), v(ch["total"]["placed"])) == (21, 20, 13)
    other = _group(a, "minority_ethnic", "yes")
    assert other["placed"]["suppressed"] and other["placement_rate"]["suppressed"]  # 4 placed
    assert other["adverse_impact"]["ratio"]["suppressed"] and other["adverse_impact"]["flag"] is None
    white = _group(a, "minority_ethnic", "no")
    # 2 White candidates were unplaced: withheld, and the placed count with it (placed = eligible - unplaced).
    assert white["unplaced"]["suppressed"] and white["placed"]["suppressed"] and v(white["eligible"]) == 10
    # Scheme-wide totals are exact: 21 considered, 20 with an eligible host, 13 placed, 9 at first choice.
    s = a["summary"]
    assert (s["candidates"], s["no_eligible_host"], s["eligible"], s["placed"], s["first_choice"]) == (21, 1, 20, 13, 9)
    rl = _char(a, "minority_ethnic")["relative_likelihoods"][0]
    assert rl["value"]["suppressed"] and rl["flag"] is None and rl["verdict"] is None
    # The flags still come from the exact figures, named per characteristic without numbers or groups.
    named = [f for f in a["flags"] if f["characteristic"] == "minority_ethnic"]
    assert {f["metric"] for f in named} == {
        "relative_likelihood_placed",
        "relative_likelihood_first_choice",
        "adverse_impact",
    }
    assert all(
        f["value"] is None and f["groups"] == [] and f["p_value"] is None and f["ci95"] is None for f in a["flags"]
    )
    assert all(not any(ch.isdigit() for ch in f["message"]) for f in named), [f["message"] for f in named]
    # The target counts the same 4 people as the table's withheld cell: withheld too; its status is exact.
    t = a["targets"][0]
    assert t["members_placed"]["suppressed"] and t["status"] == "met" and t["binding"] is None
    assert v(t["placed_in_scope"]) == 13  # placed at the scope's hosts: by host, not by a characteristic
    assert a["price_of_fairness"]["moved"] is None  # candidate ids: internal edition only


def _json_cells(a):
    """(characteristic, group, metric) -> (value, suppressed) for the group cells, as the CSV names them."""
    out = {}
    for ch in a["characteristics"]:
        for g in [*ch["groups"], {**ch["total"], "value": "total"}]:
            for k, c in g.items():
                if isinstance(c, dict) and set(c) == {"value", "suppressed"}:
                    out[(ch["name"], g["value"], k)] = (c["value"], c["suppressed"])
            for step in g["rank_profile"]:
                out[(ch["name"], g["value"], f"rank_profile_count_{step['choice']}")] = (
                    step["count"]["value"],
                    step["count"]["suppressed"],
                )
            if g.get("adverse_impact"):
                c = g["adverse_impact"]["ratio"]
                out[(ch["name"], g["value"], "adverse_impact_ratio")] = (c["value"], c["suppressed"])
    return out


@pytest.mark.parametrize("edition", ["internal", "publication"])
def test_json_and_csv_carry_the_same_figures(round1, edition) -> None:
    a = audit_round(round1, 1, edition=edition, resolve=resolver(FREE))
    parsed = json.loads(render(a, "json"))
    text = render(a, "csv").decode("utf-8")
    assert text.startswith("\ufeffcharacteristic,group,metric,value,suppressed\r\n")
    rows = {
        (r["characteristic"], r["group"], r["metric"]): r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    }
    cells = _json_cells(parsed)
    assert len(cells) > 500
    for key, (value, suppressed) in cells.items():
        row = rows[key]
        assert row["suppressed"] == ("true" if suppressed else "false"), key
        if value is None:
            assert row["value"] == "", key
        else:
            assert math.isclose(float(row["value"]), value), key
    assert rows[("price_of_fairness", "", "price_rank_cost")]["value"] == repr(
        parsed["price_of_fairness"]["price_rank_cost"]
    )
    for key, value in parsed["summary"].items():
        assert rows[("summary", "", key)]["value"] == str(value), key
    if edition == "internal":
        assert rows[("price_of_fairness_moved", "W09", "choice_without_targets")]["value"] == "2"
    else:
        assert not any(k[0] == "price_of_fairness_moved" for k in rows)


def test_reports_are_byte_for_byte_reproducible(round1, tmp_path) -> None:
    for fmt in ("html", "json", "csv"):
        first = write_report(round1, 1, fmt, tmp_path / f"a.{fmt}", resolve=resolver(FREE)).read_bytes()
        second = write_report(round1, 1, fmt, tmp_path / f"b.{fmt}", resolve=resolver(FREE)).read_bytes()
        assert first == second, fmt


@pytest.mark.parametrize("edition", ["internal", "publication"])
def test_exports_hold_no_special_category_data_about_individuals(round1, edition) -> None:
    a = audit_round(round1, 1, edition=edition, resolve=resolver(FREE))
    moved = a["price_of_fairness"]["moved"] or []
    moved_ids = {m["candidate_id"] for m in moved}
    assert moved_ids == (set() if edition == "publication" else {"M03", "M04", "W09", "W10"})
    assert all(set(m) == {"candidate_id", "choice_with_targets", "choice_without_targets", "change"} for m in moved)
    all_ids = set(WHITE + MINORITY + UNSTATED + ["X01"])
    for fmt in ("html", "json", "csv"):
        text = render(a, fmt).decode("utf-8")
        assert "Surname" not in text and "@example.org" not in text
        shown = {cid for cid in all_ids if cid in text}
        assert shown == moved_ids, fmt  # blocking pairs' candidates (M05, W09) appear only as counts
    csv_rows = list(csv.DictReader(io.StringIO(render(a, "csv").decode("utf-8").lstrip("\ufeff"))))
    for r in csv_rows:
        if any(cid in (r["group"] + r["value"]) for cid in all_ids):
            assert r["characteristic"] == "price_of_fairness_moved"


def test_a_round_with_no_protected_data_says_so(engine) -> None:
    _scheme(engine, protected=False)
    store_round(engine, PLACED)
    a = audit_round(engine, 1, edition="internal", resolve=no_resolve)
    for name in ("sex", "ethnic_group", "minority_ethnic", "disability"):
        ch = _char(a, name)
        assert ch["declared_eligible_candidates"] is False
        assert "No candidate with an eligible host declared" in ch["note"]
        assert all(v(g["placement_rate"]) is None for g in ch["groups"])
        assert ch["relative_likelihoods"] == [] or all(r["flag"] is None for r in ch["relative_likelihoods"])
        assert ch["parity"]["difference"]["value"] is None
    notes = " ".join(a["notes"])
    assert "Ethnic group: No candidate" in notes
    html = render(a, "html").decode("utf-8")
    assert "No candidate with an eligible host declared this" in html
    assert a["price_of_fairness"]["reason"].startswith("This round had no diversity targets")


def test_internal_edition_is_the_default_stamped_everywhere_and_private(round1, tmp_path) -> None:
    html_path = write_report(round1, 1, "html", None, resolve=resolver(FREE))
    assert html_path == default_report_path(round1, 1, "html", edition="internal")
    assert html_path.name == "round-1-audit-internal.html"
    assert stat.S_IMODE(html_path.stat().st_mode) == 0o600
    html = html_path.read_text()
    assert STAMP == "OFFICIAL-SENSITIVE — restricted: contains small numbers; do not publish or forward"
    assert f'<div class="stamp" role="alert" id="stamp">{STAMP}</div>' in html
    # In the top and bottom margins of every printed page.
    assert f'@top-center {{ content: "{STAMP}"' in html and f'@bottom-center {{ content: "{STAMP}"' in html
    assert 'class="edition-internal restricted"' in html
    a = json.loads(write_report(round1, 1, "json", tmp_path / "r.json", resolve=resolver(FREE)).read_text())
    assert (a["edition"], a["stamp"]) == ("internal", STAMP)
    assert a["disclosure_control"] == {"applied": False, "rules": None}
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o600
    text = write_report(round1, 1, "csv", tmp_path / "r.csv", resolve=resolver(FREE)).read_text(encoding="utf-8-sig")
    assert f"report,,stamp,{STAMP},false" in text and "report,,edition,internal,false" in text
    published_path = write_report(round1, 1, "html", None, edition="publication", resolve=resolver(FREE))
    assert published_path.name == "round-1-audit-publication.html"
    assert stat.S_IMODE(published_path.stat().st_mode) == 0o644
    published = published_path.read_text()
    assert 'class="stamp"' not in published and STAMP not in published and "@top-center" not in published
    assert "Publication edition" in published


def test_quotas_and_special_category_targets_are_named(engine) -> None:
    _scheme(engine)
    store_round(engine, PLACED, targets=[{**TARGET, "hard": True}], hard_protected_targets=["minority-share"])
    a = audit_round(engine, 1, resolve=resolver(FREE))
    law = a["law"]
    assert law["hard_protected_targets"] == ["minority-share"] and "Equality Act 2010" in law["quota_note"]
    assert law["special_category_targets"] == ["minority-share"] and "Art. 9" in law["special_category_note"]
    assert law["proposal"] and "Art. 22" in law["decision_note"]
    kinds = [f["metric"] for f in a["flags"]]
    assert "quota" in kinds and "special_category_use" in kinds
    assert (
        "four-fifths rule" in render(a, "html").decode()
        and "not an NHS England threshold" in render(a, "html").decode()
    )


def test_an_infeasible_round_is_reported_without_placements(engine) -> None:
    _scheme(engine)
    store_round(engine, {}, status="INFEASIBLE", targets=[{**TARGET, "placed_in_scope": 0, "members_placed": 0}])
    a = audit_round(engine, 1, resolve=no_resolve)
    assert a["summary"]["placed"] == 0 and a["summary"]["target_scopes"] == 1
    assert (a["summary"]["targets_met"], a["summary"]["targets_missed"]) == (0, 0)
    assert a["flags"][0]["metric"] == "status"
    assert a["targets"][0]["status"] == "not_assessed" and not a["targets_assessed"]
    assert not a["price_of_fairness"]["applicable"] and "INFEASIBLE" in a["price_of_fairness"]["reason"]
    html = render(a, "html").decode()
    assert "Nobody was placed" in html and "had no diversity targets" not in html and "no targets" not in html


def test_an_infeasible_round_with_targets_only_in_its_inputs_never_says_no_targets(engine) -> None:
    # The solver reports no target results for an infeasible model; the targets asked for are in the inputs.
    from placement.cohorts import resolve
    from placement.db.models import Target

    _scheme(engine)
    with transaction(engine) as s:
        s.add(
            Target(
                cohort_id=resolve(s, None).id,
                name="women-per-region",
                scope="region=*",
                attribute="sex",
                value="female",
                min_share=0.9,
                max_share=None,
                strength="hard",
                weight=0.0,
            )
        )
    store_round(engine, {}, status="INFEASIBLE")
    for edition in ("internal", "publication"):
        a = audit_round(engine, 1, edition=edition, resolve=no_resolve)
        assert [t["name"] for t in a["targets"]] == ["women-per-region"] and a["targets"][0]["status"] == "not_assessed"
        assert a["summary"]["target_scopes"] == 1
        html = render(a, "html").decode()
        assert "had no diversity targets" not in html and "no targets" not in html
        assert "none of its 1 target scopes could be assessed" in html
        assert "had no diversity targets" not in a["price_of_fairness"]["reason"]


def test_purged_inputs_use_the_preferences_and_cannot_be_re_solved(engine) -> None:
    try:
        from placement.solver import solve  # noqa: F401  resolves.resolve_without_targets imports it first
    except ImportError:
        pytest.skip("the solver package is not there yet")
    _scheme(engine)
    store_round(engine, PLACED, targets=[TARGET], keep_inputs=False)
    a = audit_round(engine, 1, edition="internal")  # the real resolves.resolve_without_targets
    assert a["provenance"]["choice_positions_from"] == "preferences"
    assert [v(s["count"]) for s in _group(a, "minority_ethnic", "no")["rank_profile"]] == [6, 2, 0, 2]
    assert not a["price_of_fairness"]["applicable"]
    assert "inputs were purged" in a["price_of_fairness"]["reason"]


def test_write_report_defaults_next_to_the_database_and_logs_the_export(round1, sqlite_url, tmp_path) -> None:
    path = write_report(round1, 1, "json", resolve=resolver(FREE))
    assert path == tmp_path / "round-1-audit-internal.json" and path.exists()
    write_report(round1, 1, "csv", edition="publication", resolve=resolver(FREE))
    with transaction(round1) as s:
        logs = s.scalars(select(AuditLog).where(AuditLog.action == "audit").order_by(AuditLog.id)).all()
        assert len(logs) == 2 and all("round 1" in log.detail for log in logs)
        assert "json" in logs[0].detail and "internal edition" in logs[0].detail
        assert "csv" in logs[1].detail and "publication edition" in logs[1].detail


def test_unknown_round_is_not_found(engine) -> None:
    with pytest.raises(NotFound) as excinfo:
        audit_round(engine, 7)
    assert "no round 7" in excinfo.value.message


def test_a_flagged_ratio_never_prints_as_its_threshold() -> None:
    from placement.audit.narrative import shown_beside

    assert shown_beside(0.7996, 0.8, 0, percent=True) == "79.96%"  # not "80%", which would not be below 80%
    assert shown_beside(0.75, 0.8, 0, percent=True) == "75%"
    assert shown_beside(1.2504, 1.25) == "1.2504" and shown_beside(1.6, 1.25) == "1.60"


def test_the_audit_reads_sqlite_and_postgresql_alike(any_db_url) -> None:
    from placement.db.migrate import upgrade
    from placement.db.session import make_engine

    eng = make_engine(any_db_url)
    upgrade(eng)
    try:
        _scheme(eng)
        store_round(eng, PLACED, targets=[TARGET], blocking_pairs=BLOCKING)
        a = audit_round(eng, 1, edition="internal", resolve=resolver(FREE))
        other = _group(a, "minority_ethnic", "yes")
        assert (v(other["eligible"]), v(other["placed"])) == (8, 4)
        assert a["provenance"]["created_at"].startswith("2026-03-02T09:30:00")
        assert len(a["price_of_fairness"]["moved"]) == 4
    finally:
        eng.dispose()


def test_a_purged_round_reports_what_remains(engine) -> None:
    from datetime import date

    from placement.purge import purge

    _scheme(engine)
    store_round(engine, PLACED)  # solved 2 March 2026
    purge(engine, date(2026, 6, 1), now=datetime(2026, 12, 1, tzinfo=UTC))
    a = audit_round(engine, 1, edition="internal", resolve=no_resolve)
    # Equality data and preferences are gone: nothing is rated, choices are the ranks as given.
    assert a["provenance"]["choice_positions_from"] == "given_ranks"
    for name in ("sex", "ethnic_group", "minority_ethnic", "disability", "career_changer"):
        assert _char(a, name)["declared_eligible_candidates"] is False
    total = _char(a, "home_region")["total"]
    assert v(total["placed"]) == 13
    assert [v(s["count"]) for s in total["rank_profile"]] == [9, 0, 2, 0, 2, 7]  # given ranks 1, 3, 5


def test_free_text_in_the_csv_never_runs_as_a_formula(engine) -> None:
    from placement.db.models import Round

    _scheme(engine)
    store_round(engine, PLACED, targets=[TARGET])
    with transaction(engine) as s:
        rnd = s.scalar(select(Round))
        rnd.approved_by, rnd.created_by = "@SUM(A1)", '=HYPERLINK("http://example.org")'
    text = render(audit_round(engine, 1, resolve=resolver(FREE)), "csv").decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'@SUM(A1)" in cells and '\'=HYPERLINK("http://example.org")' in cells

    def formula(cell: str) -> bool:
        if not cell.startswith(("=", "+", "-", "@", "\t", "\r")):
            return False
        try:
            float(cell)
            return False
        except ValueError:
            return True

    assert [c for c in cells if formula(c)] == []


# ------------------------------------------------------------------ workbooks (.xlsx): placements and the audit


def _no_formulas(path) -> None:
    """No cell of any sheet is a formula (<f> element): free text is stored as text."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name


def _sheet_rows(ws) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize("edition", ["internal", "publication"])
def test_audit_xlsx_one_sheet_per_table_with_the_csv_figures(round1, tmp_path, edition):
    path = write_report(round1, 1, "xlsx", tmp_path / "audit.xlsx", edition=edition, resolve=resolver(FREE))
    assert (stat.S_IMODE(path.stat().st_mode) == 0o600) is (edition == "internal")
    _no_formulas(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Summary", "Groups", "Targets"]
    assert {"Stability", "Price of fairness", "Flags", "Report"} <= set(wb.sheetnames)
    groups = wb["Groups"]
    rows = _sheet_rows(groups)
    if edition == "internal":  # every sheet carries the edition's stamp above its table
        assert rows[0][0] == STAMP and all(ws["A1"].value == STAMP for ws in wb.worksheets)
        rows = rows[2:]
    top = 1 if edition == "publication" else 3
    assert groups.freeze_panes == f"A{top + 1}" and groups.auto_filter.ref.startswith(f"A{top}:")
    header, *body = rows
    table = {(r[0], r[1]): dict(zip(header, r)) for r in body}
    audit = audit_round(round1, 1, edition=edition, resolve=resolver(FREE))
    checked = withheld = 0
    for ch in audit["characteristics"]:
        for g in ch["groups"]:
            for key, cell in g.items():
                if isinstance(cell, dict) and set(cell) == {"value", "suppressed"}:
                    got = table[(ch["name"], g["value"])][key]
                    if cell["suppressed"]:
                        assert got == WITHHELD
                        withheld += 1
                    elif cell["value"] is None:
                        assert got is None
                    else:
                        assert math.isclose(got, cell["value"])
                    checked += 1
    assert checked > 100
    assert (withheld > 0) is (edition == "publication")


def test_audit_cli_writes_xlsx(round1, tmp_path):
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(
        cli, ["--db", round1.url.render_as_string(), "audit", "1", "--format", "xlsx", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
