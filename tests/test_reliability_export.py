"""Exports are safe to open in a spreadsheet: cells that would run as formulas are written as text (OWASP).

Names and host names are free text and are stored exactly as given, formulas
included; every CSV the tool writes must neutralise them. A cell is neutral
when it does not begin with = + - @ tab or CR, unless it is a plain number.
"""

from __future__ import annotations

import csv
import stat
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
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
        w.writerow(
            [
                "candidate_id",
                "given_name",
                "family_name",
                "email",
                "assessment_score",
                "specialisms",
                "home_region",
                "willing_to_relocate",
            ]
        )
        w.writerow(["C777", NASTY["given_name"], NASTY["family_name"], NASTY["email"], "70", "data", "London", "yes"])
    import_file(engine, "candidates", cands)
    with transaction(engine) as s:
        assert s.scalar(select(Candidate.given_name).where(Candidate.candidate_id == "C777")) == HYPERLINK
        rnd = Round(
            cohort_id=1,
            number=1,
            state="proposal",
            created_at=datetime.now(UTC),
            created_by="t",
            options={},
            input_hash="0" * 64,
            solver_version="t",
            status="OPTIMAL",
            objective={},
            bound={},
            solve_seconds=0,
            summary={"pool": ["C777", "C001"]},
        )
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
    from placement.approval import approve_round

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
        s.execute(
            update(Round).values(approved_by="<script>alert(1)</script>", created_by="<img src=x onerror=alert(2)>")
        )
    html = write_report(approved_by_formula, 1, "html", tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)" in html or "&lt;script>alert(1)" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html


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


def test_export_xlsx_is_formatted_private_and_formula_free(round_with_formulas, tmp_path):
    out = tmp_path / "placements.xlsx"
    args = ["--db", round_with_formulas.url.render_as_string(), "export", "1", "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    _no_formulas(out)
    ws = openpyxl.load_workbook(out).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:K3"
    assert ws["A1"].font.bold
    rows = _sheet_rows(ws)
    header, *body = rows
    row = dict(zip(header, next(r for r in body if r[1] == "C777")))
    # Exactly as stored: no apostrophe needed, since the cell is text, not a formula.
    assert row["given_name"] == NASTY["given_name"] and row["host_name"] == NASTY["host_name"]
    assert row["rank"] == 1 and row["round"] == 1  # numbers stay numbers
    assert "sex" not in header and "disability" not in header


def test_export_sensitive_xlsx_says_restricted(round_with_formulas, tmp_path):
    out = tmp_path / "restricted.xlsx"
    args = ["--db", round_with_formulas.url.render_as_string(), "export", "1", "--out", str(out), "--include-sensitive"]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    rows = _sheet_rows(openpyxl.load_workbook(out).active)
    assert "restricted use only" in rows[0][0]
    assert "disability" in rows[2]


def test_export_refuses_an_unknown_suffix(round_with_formulas, tmp_path):
    args = ["--db", round_with_formulas.url.render_as_string(), "export", "1", "--out", str(tmp_path / "p.xls")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and ".csv or .xlsx" in result.output
    assert not (tmp_path / "p.xls").exists()


def test_audit_xlsx_keeps_free_text_as_text(approved_by_formula, tmp_path):
    from placement.audit import write_report

    path = write_report(approved_by_formula, 1, "xlsx", tmp_path / "audit.xlsx")
    _no_formulas(path)
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for c in r]
    assert HYPERLINK in cells  # the approver's name, exactly as given
