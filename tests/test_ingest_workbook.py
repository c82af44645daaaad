"""Workbooks, wide layouts, delimiters and gender identity values on import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from placement.errors import InputError
from placement.ingest import import_dir, import_file, load_mapping
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    candidate,
    candidates_rows,
    dump,
    hosts_rows,
    write_csv,
)
from tests.helpers.xlsx import Date, Err, Formula, Num, Sheet, ods, workbook


def _rows(dicts: list[dict[str, str]], header: list[str]) -> list[list[object]]:
    return [list(header)] + [[d.get(h, "") or None for h in header] for d in dicts]


def _fail(engine, kind: str, path: Path, **kwargs) -> InputError:
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_file(engine, kind, path, **kwargs)
    assert dump(engine) == before
    return excinfo.value


def _one(error: InputError, row: int | None, column: str | None, text_: str):
    matches = [p for p in error.problems if p.row == row and p.column == column and text_ in p.problem]
    assert matches, error.message
    return matches[0]


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# ---------------------------------------------------------------- reading cells as a person sees them


def test_workbook_cells_are_read_as_displayed(loaded, tmp_path):
    rows = _rows([candidate("00123"), candidate("C9")], CANDIDATE_HEADER)
    rows[2][0] = Num(77, "00000")  # a number formatted with leading zeros shows as 00077
    rows[1][4] = Formula("AVERAGE(60,70)", 65)  # cached value read, formula never evaluated here
    rows[2][4] = Num(72.5, "0.0")
    path = tmp_path / "cands.xlsx"
    path.write_bytes(workbook([Sheet("Candidates", rows)]))

    report = import_file(loaded, "candidates", path)

    assert report.added == 2 and report.source == "sheet 'Candidates': its only sheet"
    assert _scalar(loaded, "select assessment_score from candidates where candidate_id = '00123'") == 65
    assert _scalar(loaded, "select assessment_score from candidates where candidate_id = '00077'") == 72.5


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        (Date(dt.date(2026, 1, 5)), "is a date in the workbook"),
        (Err("#N/A"), "spreadsheet error"),
        (Num(100000, "0.00E+00"), "scientific notation"),
    ],
)
def test_cells_a_person_did_not_mean_are_refused_with_their_spreadsheet_row(loaded, tmp_path, cell, problem):
    rows = _rows([candidate("C10"), candidate("C11"), candidate("C12")], CANDIDATE_HEADER)
    rows.insert(2, [None] * len(CANDIDATE_HEADER))  # a blank row: C11 is on spreadsheet row 4
    rows[3][0] = cell
    path = tmp_path / "cands.xlsx"
    path.write_bytes(workbook([Sheet("Candidates", rows)]))

    error = _fail(loaded, "candidates", path)

    found = _one(error, 4, "candidate_id", problem)
    assert found.file == "cands.xlsx (sheet 'Candidates')" and found.fix
    assert len(error.problems) == 1


def test_percent_score_is_caught_with_a_hint_for_a_0_100_score(loaded, tmp_path):
    rows = _rows([candidate("C10")], CANDIDATE_HEADER)
    rows[1][4] = Num(0.78, "0%")
    path = tmp_path / "cands.xlsx"
    path.write_bytes(workbook([Sheet("S", rows)]))

    found = _one(_fail(loaded, "candidates", path), 2, "assessment_score", "not a number")

    assert found.value == "78%" and "78" in found.fix and "0.4" not in found.fix


def test_sheet_rule_first_of_several_and_sheet_option(loaded, tmp_path):
    good = _rows([candidate("C10")], CANDIDATE_HEADER)
    path = tmp_path / "export.xlsx"
    path.write_bytes(
        workbook([Sheet("Notes", [["Read me"], ["This export was made on Monday"]]), Sheet("Candidates", good)])
    )

    error = _fail(loaded, "candidates", path)
    assert len(error.problems) == 1  # the wrong sheet is one problem, not one per missing column
    wrong = _one(error, 1, None, "looks like the wrong sheet")
    assert wrong.file == "export.xlsx (sheet 'Notes')" and "--sheet" in wrong.fix and "'Candidates'" in wrong.fix

    report = import_file(loaded, "candidates", path, sheet="candidates", dry_run=True)  # names match ignoring case
    assert report.added == 1 and "the sheet named" in report.source
    path2 = tmp_path / "two.xlsx"
    path2.write_bytes(workbook([Sheet("Candidates", good), Sheet("Old", good)]))
    assert "the first of 2 sheets" in import_file(loaded, "candidates", path2, dry_run=True).source


@pytest.mark.parametrize(
    ("name", "make", "sheet", "problem"),
    [
        (
            "wrong_sheet.xlsx",
            lambda rows: workbook([Sheet("Data", rows)]),
            "Candidates",
            "has no sheet named 'Candidates'",
        ),
        (
            "macros.xlsm",
            lambda rows: workbook([Sheet("Menu", [["Run"]]), Sheet("Data", rows)], macros=True),
            None,
            "macro-enabled",
        ),
        ("empty.xlsx", lambda rows: workbook([Sheet("Data", [])]), None, "is an empty sheet"),
        ("old.xlsx", lambda rows: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), None, "97-2003"),
        ("text.xlsx", lambda rows: b"candidate_id,given_name\nC1,A\n", None, "is not a .xlsx workbook"),
    ],
)
def test_unreadable_workbooks_are_refused(loaded, tmp_path, name, make, sheet, problem):
    path = tmp_path / name
    path.write_bytes(make(_rows([candidate("C10")], CANDIDATE_HEADER)))
    error = _fail(loaded, "candidates", path, sheet=sheet)
    assert any(problem in p.problem for p in error.problems), error.message
    assert all(p.fix for p in error.problems)


def test_macro_workbook_is_read_when_the_sheet_is_named(loaded, tmp_path):
    path = tmp_path / "macros.xlsm"
    path.write_bytes(
        workbook([Sheet("Menu", [["Run"]]), Sheet("Data", _rows([candidate("C10")], CANDIDATE_HEADER))], macros=True)
    )
    assert import_file(loaded, "candidates", path, sheet="Data").added == 1


def test_merged_header_cells_are_named(loaded, tmp_path):
    header = list(CANDIDATE_HEADER)
    header[2] = None  # family_name lost under a merged given_name cell
    path = tmp_path / "merged.xlsx"
    path.write_bytes(
        workbook(
            [Sheet("S", [header, ["C10", "A", "B", "c10@example.org", 70, "data", "London", "yes"]], merged=["B1:C1"])]
        )
    )
    found = _one(_fail(loaded, "candidates", path), 1, None, "merged header cells (B1:C1)")
    assert "unmerge" in found.fix.casefold()


def test_password_protected_workbook_is_refused(loaded, tmp_path):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(workbook([Sheet("S", _rows([candidate("C10")], CANDIDATE_HEADER))]))
    path = tmp_path / "locked.xlsx"
    with path.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    assert msoffcrypto.OfficeFile(path.open("rb")).is_encrypted()
    _one(_fail(loaded, "candidates", path), None, None, "password")


def test_ods_is_read(loaded, tmp_path):
    path = tmp_path / "hosts.ods"
    path.write_bytes(
        ods(
            [
                Sheet(
                    "Hosts",
                    [
                        ["host_id", "name", "org_type", "region", "capacity", "specialisms"],
                        ["00042", "Trust", "acute", "London", 3.0, "data"],
                    ],
                )
            ]
        )
    )
    assert import_file(loaded, "hosts", path).added == 1
    assert (
        _scalar(
            loaded, "select p.capacity from hosts h join host_places p on p.host_pk = h.id where h.host_id = '00042'"
        )
        == 3
    )


def test_import_dir_picks_up_workbooks_and_refuses_two_files_of_one_kind(engine, tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    (folder / "candidates.xlsx").write_bytes(workbook([Sheet("S", _rows(candidates_rows(), CANDIDATE_HEADER))]))
    write_csv(folder / "hosts.csv", hosts_rows())
    reports = import_dir(engine, folder)
    assert [(r.kind, r.added) for r in reports] == [("candidates", 4), ("hosts", 3)]
    write_csv(folder / "candidates.csv", candidates_rows())
    with pytest.raises(Exception, match="which is the candidates file"):
        import_dir(engine, folder)


# ---------------------------------------------------------------- wide layouts


WIDE_MAPPING = """
[preferences]
layout = "wide"
choices = "Choice {n}"
ignore = ["Name"]
[preferences.columns]
"Candidate Ref" = "candidate_id"
"""


def test_wide_preferences_become_ranked_rows(loaded, tmp_path):
    (tmp_path / "map.toml").write_text(WIDE_MAPPING)
    path = tmp_path / "prefs.xlsx"
    path.write_bytes(
        workbook(
            [
                Sheet(
                    "Preferences",
                    [
                        ["Candidate Ref", "Name", "Choice 1", "Choice 2", "Choice 3"],
                        ["C1", "Ann", "H2", None, "H3"],  # a blank choice is skipped; ranks keep their column's number
                        ["C2", "Bo", "H1"],
                    ],
                )
            ]
        )
    )
    mapping = load_mapping(tmp_path / "map.toml")
    import_file(loaded, "preferences", path, mapping=mapping)
    with loaded.connect() as conn:
        got = conn.execute(
            text(
                "select c.candidate_id, h.host_id, p.rank from preferences p join candidates c on c.id = p.candidate_pk "
                "join hosts h on h.id = p.host_pk where c.candidate_id in ('C1', 'C2') order by 1, 3"
            )
        ).all()
    assert got == [("C1", "H2", 1), ("C1", "H3", 3), ("C2", "H1", 1)]


def test_wide_layout_problems_name_the_choice_column(loaded, tmp_path):
    (tmp_path / "map.toml").write_text(WIDE_MAPPING)
    path = write_csv(
        tmp_path / "prefs.csv",
        [["C1", "Ann", "H2", "H9", "H2"]],
        ["Candidate Ref", "Name", "Choice 1", "Choice 2", "Choice 3"],
    )
    error = _fail(loaded, "preferences", path, mapping=load_mapping(tmp_path / "map.toml"))
    _one(error, 2, "Choice 3 (host_id)", "is chosen in 'Choice 1' too")
    _one(error, 2, "Choice 2 (host_id)", "is not a host")


def test_wide_host_rankings_with_a_list_of_columns(loaded, tmp_path):
    (tmp_path / "map.toml").write_text(
        '[host_rankings]\nlayout = "wide"\nchoices = ["First", "Second"]\n'
        '[host_rankings.columns]\n"ODS code" = "host_id"\n'
    )
    path = write_csv(tmp_path / "ranks.csv", [["H2", "C3", "C1"]], ["ODS code", "First", "Second"])
    report = import_file(loaded, "host_rankings", path, mapping=load_mapping(tmp_path / "map.toml"))
    assert report.rows == 2


def test_a_long_file_with_choice_columns_suggests_the_wide_layout(loaded, tmp_path):
    path = write_csv(tmp_path / "prefs.csv", [["C1", "H1", "H2"]], ["candidate_id", "Choice 1", "Choice 2"])
    found = _one(_fail(loaded, "preferences", path), 1, "Choice 1", "is not a column of preferences")
    assert 'layout = "wide"' in found.fix and 'choices = "Choice {n}"' in found.fix


# ---------------------------------------------------------------- delimiters


@pytest.mark.parametrize(("delimiter", "note"), [(";", "semicolons"), ("\t", "tabs")])
def test_semicolon_and_tab_files_are_recognised(loaded, tmp_path, delimiter, note):
    rows = [candidate("C10", specialisms="data;digital")]
    path = tmp_path / "cands.csv"
    with path.open("w", newline="") as fh:
        import csv

        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(CANDIDATE_HEADER)
        out.writerows([[r[h] for h in CANDIDATE_HEADER] for r in rows])
    report = import_file(loaded, "candidates", path)
    assert report.added == 1 and note in report.source
    assert _scalar(loaded, "select specialisms from candidates where candidate_id = 'C10'") == "data;digital"


def test_an_unclear_delimiter_is_refused_with_the_option_and_the_option_reads_it(loaded, tmp_path):
    path = tmp_path / "hosts.csv"
    path.write_text("Code|Title\nRZ9|A\n")
    found = _one(_fail(loaded, "hosts", path), 1, "Code|Title", "is not a column")
    assert "--delimiter" in found.fix
    (tmp_path / "map.toml").write_text('[hosts]\ndelimiter = "|"\n[hosts.columns]\nCode = "host_id"\nTitle = "name"\n')
    error = _fail(loaded, "hosts", path, mapping=load_mapping(tmp_path / "map.toml"))
    assert not any(p.column == "Code" for p in error.problems)  # split at | now: only the missing columns remain
    error = _fail(loaded, "hosts", path, delimiter=",")  # the option wins over finding it
    assert any(p.column == "Code|Title" for p in error.problems)


# ---------------------------------------------------------------- gender identity


def test_gender_identity_values_codes_and_header_alias(loaded, tmp_path):
    header = ["gender" if h == "sex" else h for h in CANDIDATE_HEADER]
    rows = [candidate(f"G{i}", sex=code) for i, code in enumerate(["3", "4", "1", "2", "Z", "X", "non_binary"])]
    path = write_csv(
        tmp_path / "cands.csv", [{("gender" if k == "sex" else k): v for k, v in r.items()} for r in rows], header
    )
    import_file(loaded, "candidates", path)
    with loaded.connect() as conn:
        got = dict(
            conn.execute(
                text(
                    "select c.candidate_id, p.sex from candidates c join protected_characteristics p "
                    "on p.candidate_pk = c.id where c.candidate_id like 'G%'"
                )
            ).all()
        )
    assert got == {
        "G0": "non_binary",
        "G1": "other",
        "G2": "male",
        "G3": "female",
        "G4": "not_stated",
        "G5": "not_known",
        "G6": "non_binary",
    }


def test_gender_identity_values_are_never_echoed(loaded, tmp_path, caplog):
    header = ["gender" if h == "sex" else h for h in CANDIDATE_HEADER]
    row = {("gender" if k == "sex" else k): v for k, v in candidate("C10", sex="Trans-SECRET").items()}
    error = _fail(loaded, "candidates", write_csv(tmp_path / "cands.csv", [row], header))
    found = _one(error, 2, "gender (sex)", "not a recognised gender identity code")
    assert found.value is None and "SECRET" not in str(error) and "SECRET" not in caplog.text


# ---------------------------------------------------------------- knock-on errors said once


def test_rows_naming_a_refused_candidate_say_so_once(engine, tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    write_csv(folder / "candidates.csv", [candidate("C1"), candidate("c017", assessment_score="78%")])
    write_csv(folder / "hosts.csv", hosts_rows())
    write_csv(
        folder / "preferences.csv",
        [["C1", "H1", "1"], ["c017", "H1", "1"], ["c017", "H2", "2"], ["c017", "H3", "3"]],
        ["candidate_id", "host_id", "rank"],
    )
    with pytest.raises(InputError) as excinfo:
        import_dir(engine, folder)
    problems = excinfo.value.problems
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("candidates.csv", 3, "assessment_score"),
        ("preferences.csv", 3, "candidate_id"),
    ]
    knock_on = problems[1]
    assert "whose own row (candidates.csv row 3) was refused" in knock_on.problem
    assert "(and on 2 more rows of this file)" in knock_on.problem and "fix that row first" in knock_on.fix


def test_one_mistyped_id_is_one_problem(loaded, tmp_path):
    path = write_csv(
        tmp_path / "prefs.csv",
        [["c1", "H1", "1"], ["c1", "H2", "2"], ["C2", "H9", "1"]],
        ["candidate_id", "host_id", "rank"],
    )
    problems = _fail(loaded, "preferences", path).problems
    assert len(problems) == 2
    typo = _one(InputError(problems), 2, "candidate_id", "did you mean 'C1'?")
    assert "(and on 1 more row of this file)" in typo.problem
