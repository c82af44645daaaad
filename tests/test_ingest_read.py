"""Reading files: encodings, line ends, headers, blank and stray cells, row numbers as a spreadsheet shows them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from placement.errors import InputError
from placement.ingest import import_file
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    HOST_HEADER,
    candidate,
    candidates_rows,
    dump,
    host,
    write_csv,
)


@pytest.fixture
def engine(loaded):
    """Here every test starts from the small valid scheme (conftest's ``loaded``), not an empty database."""
    return loaded


def _refused(engine, path: Path, kind: str = "candidates") -> InputError:
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_file(engine, kind, path)
    assert dump(engine) == before
    return excinfo.value


def _names(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("select candidate_id, family_name from candidates")).all())


def _csv_bytes(rows: list[dict[str, str]], newline: str = "\n") -> str:
    lines = [",".join(CANDIDATE_HEADER)] + [",".join(r[h] for h in CANDIDATE_HEADER) for r in rows]
    return newline.join(lines) + newline


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [
        ("utf-8", "\n"),
        ("utf-8-sig", "\r\n"),
        ("utf-8-sig", "\n"),
        ("cp1252", "\r\n"),
    ],
)
def test_accepted_encodings_keep_accented_names(engine, tmp_path, encoding, newline) -> None:
    rows = candidates_rows()
    rows[0]["family_name"] = "Ó Súilleabháin–Brontë"  # en dash: in Windows-1252, not in Latin-1
    path = tmp_path / "candidates.csv"
    path.write_bytes(_csv_bytes(rows, newline).encode(encoding))
    report = import_file(engine, "candidates", path)
    assert (report.updated, report.unchanged) == (1, 3)
    assert _names(engine)["C1"] == "Ó Súilleabháin–Brontë"


@pytest.mark.parametrize(
    ("content", "text_"),
    [
        (b"", "is empty"),
        (b"  \r\n\r\n", "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00 workbook", "Excel workbook"),
        ("candidate_id\n".encode("utf-16"), "UTF-16"),
        (b"candidate_id,given_name\nC1,A\x00\x00\x00nn\n", "NUL bytes"),
        (b"candidate_id,given_name\nC1,\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
        ("candidate_id,given_name\nC1,Zoë\n".encode() + "C2,Zoë\n".encode("cp1252"), "mixes two text encodings"),
        (b"candidate_id,given_name\nC1,\x01\x02\x03\x1b\n", "control characters"),
    ],
)
def test_refused_bytes(engine, tmp_path, content, text_) -> None:
    path = tmp_path / "candidates.csv"
    path.write_bytes(content)
    error = _refused(engine, path)
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.file == "candidates.csv" and text_ in problem.problem
    assert problem.fix


def test_nul_bytes_name_the_line(engine, tmp_path) -> None:
    path = tmp_path / "candidates.csv"
    path.write_bytes(b"a,b\nc,d\ne,\x00f\n")
    assert _refused(engine, path).problems[0].row == 3


# ---------------------------------------------------------------- headers


def test_header_only_is_refused(engine, tmp_path) -> None:
    path = write_csv(tmp_path / "candidates.csv", [], CANDIDATE_HEADER)
    assert "no data rows" in _refused(engine, path).problems[0].problem


def test_missing_required_columns_each_reported(engine, tmp_path) -> None:
    header = [h for h in CANDIDATE_HEADER if h not in ("email", "home_region")]
    path = write_csv(tmp_path / "candidates.csv", [candidate("C9")], header)
    error = _refused(engine, path)
    missing = {(p.row, p.column) for p in error.problems if "required column" in p.problem}
    assert missing == {(1, "email"), (1, "home_region")}
    assert all("mapping file" in p.fix for p in error.problems)


def test_unknown_column_is_an_error(engine, tmp_path) -> None:
    """A misspelt optional column would otherwise silently drop its data (ethnicity becoming 'not known')."""
    header = [h if h != "ethnic_category" else "ethnicity" for h in CANDIDATE_HEADER]
    rows = [[candidate("C9")[h] for h in CANDIDATE_HEADER]]
    error = _refused(engine, write_csv(tmp_path / "candidates.csv", rows, header))
    problem = error.problems[0]
    assert (problem.row, problem.column) == (1, "ethnicity")
    assert "ethnic_category" in problem.fix and "ignore" in problem.fix


def test_optional_columns_may_be_absent_and_header_case_is_free(engine, tmp_path) -> None:
    header = [
        "Candidate_ID",
        " given_name ",
        "family_name",
        "EMAIL",
        "assessment_score",
        "specialisms",
        "home_region",
        "willing_to_relocate",
    ]
    rows = [["C9", "New", "Person", "new@example.org", "50", "data", "London", "no"]]
    report = import_file(engine, "candidates", write_csv(tmp_path / "candidates.csv", rows, header))
    assert report.added == 1
    with engine.connect() as conn:
        sex, code, group = conn.execute(
            text(
                "select sex, ethnic_category, ethnic_group from protected_characteristics p "
                "join candidates c on c.id = p.candidate_pk where c.candidate_id = 'C9'"
            )
        ).one()
    assert (sex, code, group) == ("not_known", "99", "not_known")


def test_two_columns_giving_one_canonical_column(engine, tmp_path) -> None:
    header = CANDIDATE_HEADER + ["Candidate_Id"]
    rows = [[candidate("C9")[h] for h in CANDIDATE_HEADER] + ["C9"]]
    error = _refused(engine, write_csv(tmp_path / "candidates.csv", rows, header))
    assert "which column 'candidate_id' gives too" in error.problems[0].problem


# ---------------------------------------------------------------- rows


def test_blank_rows_trailing_commas_and_blanks_around_values(engine, tmp_path) -> None:
    content = (
        ",".join(CANDIDATE_HEADER)
        + ",\r\n"
        + "  C9 , New ,Person,new@example.org, 50 ,data ; digital, London ,YES,F,,,,,\r\n"
        + "\r\n"
        + ",,,,,,,,,,,,,\r\n"
    ).replace(",F,", ",Female,")
    path = tmp_path / "candidates.csv"
    path.write_text(content, encoding="utf-8")
    report = import_file(engine, "candidates", path)
    assert (report.rows, report.added) == (1, 1)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "select candidate_id, given_name, specialisms, willing_to_relocate "
                "from candidates where candidate_id = 'C9'"
            )
        ).one()
    assert tuple(row) == ("C9", "New", "data;digital", 1)


def test_value_under_no_header_is_an_error(engine, tmp_path) -> None:
    rows = [[candidate("C9")[h] for h in CANDIDATE_HEADER] + ["stray"]]
    error = _refused(engine, write_csv(tmp_path / "candidates.csv", rows, CANDIDATE_HEADER))
    assert error.problems[0].row == 2 and "no name in the header" in error.problems[0].problem


def test_row_numbers_count_multi_line_cells_as_one_row(engine, tmp_path) -> None:
    """A spreadsheet shows a quoted cell with a line break as one row: so do the messages."""
    rows = [host("H7", name="Trust\nwith a two-line name"), host("H8", capacity="-1")]
    error = _refused(engine, write_csv(tmp_path / "hosts.csv", rows, HOST_HEADER), kind="hosts")
    assert [(p.row, p.column) for p in error.problems] == [(3, "capacity")]


def test_row_numbers_count_blank_rows(engine, tmp_path) -> None:
    path = tmp_path / "hosts.csv"
    path.write_text(",".join(HOST_HEADER) + "\n\nH7,T,acute,London,1,data,,\n\nH8,T,acute,London,x,data,,\n")
    error = _refused(engine, path, kind="hosts")
    # header 1, blank 2, H7 3, blank 4, H8 5
    assert [(p.row, p.column) for p in error.problems] == [(5, "capacity")]


def test_unreadable_path(engine, tmp_path) -> None:
    error = _refused(engine, tmp_path / "nope.csv")
    assert "cannot be read" in error.problems[0].problem
