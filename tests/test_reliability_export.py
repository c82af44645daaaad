"""Exports are safe to open in a spreadsheet: cells that would run as formulas are written as text (OWASP).

Names and host names are free text and are stored exactly as given, formulas
included; every CSV the tool writes must neutralise them. A cell is neutral
when it does not begin with = + - @ tab or CR, unless it is a plain number.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from placement.cli import cli
from placement.db.models import Candidate, Host, Placement, Round
from placement.db.session import transaction
from placement.export import FORMULA_PREFIXES, csv_safe
from placement.ingest import import_dir, import_file

BASE = Path(__file__).resolve().parent / "corpus" / "base"
HYPERLINK = '=HYPERLINK("http://x","y")'
NASTY = {
    "given_name": HYPERLINK,
    "family_name": "+44 20 7946 0000",
    "email": "=cmd@example.org",
    "host_name": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def dangerous(cell: str) -> bool:
    """Would a spreadsheet treat this cell as a formula?"""
    if not cell.startswith(FORMULA_PREFIXES):
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


@pytest.mark.parametrize(
    "value, expected",
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1+cmd", "'+1+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),  # a negative number is data
        (-3, -3),
        ("Ada", "Ada"),
        ("O'Brien", "O'Brien"),
        (None, None),
    ],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


@pytest.fixture
def round_with_formulas(engine, tmp_path):
    """The base scheme plus a candidate and a host whose free text is formulas, placed together in round 1."""
    import_dir(engine, BASE)
    hosts = tmp_path / "hosts.csv"
    with hosts.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["host_id", "name", "org_type", "region", "capacity", "specialisms"])
        w.writerow(["RZ9", NASTY["host_name"], "acute", "London", "1", "data"])
    import_file(engine, "hosts", hosts)
    cands = tmp_path / "candidates.csv"
    with cands.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["candidate_id", "given_name", "family_name", "email", "assessment_score", "specialisms",
                    "home_region", "willing_to_relocate"])
        w.writerow(["C777", NASTY["given_name"], NASTY["family_name"], NASTY["email"], "70", "data", "London", "yes"])
    import_file(engine, "candidates", cands)
    with transaction(engine) as s:
        assert s.scalar(select(Candidate.given_name).where(Candidate.candidate_id == "C777")) == HYPERLINK
        rnd = Round(number=1, state="proposal", created_at=datetime.now(timezone.utc), created_by="t", options={},
                    input_hash="0" * 64, solver_version="t", status="OPTIMAL", objective={}, bound={}, solve_seconds=0,
                    summary={"pool": ["C777", "C001"]})
        s.add(rnd)
        s.flush()
        pk = dict(s.execute(select(Candidate.candidate_id, Candidate.id)).all())
        hk = dict(s.execute(select(Host.host_id, Host.id)).all())
        s.add(Placement(round_id=rnd.id, candidate_pk=pk["C777"], host_pk=hk["RZ9"], rank=1, offer_status="proposed"))
        s.add(Placement(round_id=rnd.id, candidate_pk=pk["C001"], host_pk=hk["RX1"], rank=1, offer_status="proposed"))
    return engine


@pytest.mark.parametrize("sensitive", [False, True], ids=["default", "include-sensitive"])
def test_export_writes_formula_cells_as_text(round_with_formulas, tmp_path, sensitive):
    out = tmp_path / "export.csv"
    args = ["--db", round_with_formulas.url.render_as_string(), "export", "1", "--out", str(out)]
    result = CliRunner().invoke(cli, args + (["--include-sensitive"] if sensitive else []), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["candidate_id"] == "C777")
    assert row["given_name"] == "'" + NASTY["given_name"]
    assert row["family_name"] == "'" + NASTY["family_name"]
    assert row["email"] == "'" + NASTY["email"]
    assert row["host_name"] == "'" + NASTY["host_name"]
    assert row["rank"] == "1"
    cells = [cell for r in rows for cell in r.values()]
    assert [c for c in cells if dangerous(c)] == []
    # Default exports carry no special category columns.
    assert ("ethnic_category" in rows[0]) is sensitive and ("disability" in rows[0]) is sensitive


# ------------------------------------------------------------------ the audit's CSV and HTML


@pytest.fixture
def approved_by_formula(round_with_formulas):
    """Round 1 approved by someone whose --by text is a formula (free text, stored as given)."""
    from placement.rounds import approve_round

    approve_round(round_with_formulas, 1, HYPERLINK)
    return round_with_formulas


def test_audit_csv_writes_formula_cells_as_text(approved_by_formula, tmp_path):
    from placement.audit import write_report

    out = write_report(approved_by_formula, 1, "csv", tmp_path / "audit.csv")
    with out.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert any(HYPERLINK in cell for row in rows for cell in row)  # the approver is in the report
    assert [cell for row in rows for cell in row if dangerous(cell)] == []


def test_audit_html_escapes_free_text(approved_by_formula, tmp_path):
    from sqlalchemy import update

    from placement.audit import write_report

    with transaction(approved_by_formula) as s:
        s.execute(update(Round).values(approved_by="<script>alert(1)</script>", created_by="<img src=x onerror=alert(2)>"))
    html = write_report(approved_by_formula, 1, "html", tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)" in html or "&lt;script>alert(1)" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
