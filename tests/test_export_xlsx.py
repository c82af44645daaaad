"""Workbook exports: placements (`export N --out x.xlsx`) and the audit (`audit N --format xlsx`).

Each is a formatted workbook (frozen header, filters), written owner-only, and
no cell is a formula: free text that looks like one is stored as text, exactly.
"""

from __future__ import annotations

import math
import stat
import zipfile

import openpyxl
from click.testing import CliRunner
from test_audit_report import FREE, round1  # noqa: F401 - fixture
from test_audit_support import resolver
from test_reliability_export import HYPERLINK, NASTY, approved_by_formula, round_with_formulas  # noqa: F401 - fixtures

from placement.audit import audit_round, write_report
from placement.audit.render_xlsx import WITHHELD
from placement.cli import cli


def _no_formulas(path) -> None:
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


def test_audit_xlsx_one_sheet_per_table_with_the_csv_figures(round1, tmp_path):  # noqa: F811
    path = write_report(round1, 1, "xlsx", tmp_path / "audit.xlsx", resolve=resolver(FREE))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    _no_formulas(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Summary", "Groups", "Targets"]
    assert {"Stability", "Price of fairness", "Flags", "Report"} <= set(wb.sheetnames)
    groups = wb["Groups"]
    assert groups.freeze_panes == "A2" and groups.auto_filter.ref.startswith("A1:")
    header, *body = _sheet_rows(groups)
    table = {(r[0], r[1]): dict(zip(header, r)) for r in body}
    audit = audit_round(round1, 1, resolve=resolver(FREE))
    checked = 0
    for ch in audit["characteristics"]:
        for g in ch["groups"]:
            for key, cell in g.items():
                if isinstance(cell, dict) and set(cell) == {"value", "suppressed"}:
                    got = table[(ch["name"], g["value"])][key]
                    if cell["suppressed"]:
                        assert got == WITHHELD
                    elif cell["value"] is None:
                        assert got is None
                    else:
                        assert math.isclose(got, cell["value"])
                    checked += 1
    assert checked > 100


def test_audit_xlsx_keeps_free_text_as_text(approved_by_formula, tmp_path):  # noqa: F811
    path = write_report(approved_by_formula, 1, "xlsx", tmp_path / "audit.xlsx")
    _no_formulas(path)
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for c in r]
    assert HYPERLINK in cells  # the approver's name, exactly as given


def test_audit_cli_writes_xlsx(round1, tmp_path):  # noqa: F811
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(cli, ["--db", round1.url.render_as_string(), "audit", "1", "--format", "xlsx",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
