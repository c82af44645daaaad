"""Every kind of bad row is reported with file, row, column and fix, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from placement.errors import InputError
from placement.ingest import import_dir, import_file
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    HOST_HEADER,
    TARGET_HEADER,
    candidate,
    candidates_rows,
    dump,
    host,
    hosts_rows,
    make_template,
    sqlite_copy,
    target,
    write_csv,
    write_scheme,
)


def _fail(engine, kind: str, path: Path, **kwargs) -> InputError:
    """Import a bad file: it must raise InputError and leave every table as it was."""
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_file(engine, kind, path, **kwargs)
    assert dump(engine) == before
    return excinfo.value


def _only(error: InputError, row: int | None, column: str | None, text: str):
    """The one problem at (row, column), whose problem text contains ``text``; it names a fix."""
    matches = [p for p in error.problems if p.row == row and p.column == column]
    assert matches, f"no problem at row {row}, column {column}: {error.message}"
    problem = matches[0]
    assert text in problem.problem, problem.render()
    assert problem.fix, problem.render()
    return problem


def _candidates(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(tmp_path / "candidates.csv", rows, CANDIDATE_HEADER)


# ---------------------------------------------------------------- candidates: one bad cell each

BAD_CANDIDATE_CELLS = [
    ("sex", "woman", "not a recognised gender identity code"),
    ("willing_to_relocate", "maybe", "not a recognised yes/no"),
    ("career_changer", "perhaps", "not a recognised career changer"),
    ("assessment_score", "101", "outside the range from 0 to 100"),
    ("assessment_score", "-5", "outside the range"),
    ("assessment_score", "high", "not a number"),
    ("assessment_score", "", "is blank"),
    ("specialisms", "data;ai", "'ai', which is not a specialism"),
    ("specialisms", "", "is blank"),
    ("home_region", "Wales", "not a recognised NHS England region"),
    ("email", "not-an-address", "not an email address"),
    ("given_name", "", "is blank"),
    ("candidate_id", '=HYPERLINK("x")', "formula"),
    ("candidate_id", "+44", "formula"),
    ("candidate_id", "@C9", "formula"),
    ("candidate_id", "-C9", "formula"),
    ("sex", "=1+1", "looks like a spreadsheet formula"),
]


@pytest.mark.parametrize(("column", "value", "text"), BAD_CANDIDATE_CELLS)
def test_bad_candidate_cell(loaded, tmp_path, column, value, text) -> None:
    rows = candidates_rows()
    rows[2][column] = value  # row 4 in a spreadsheet (header = 1)
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    problem = _only(error, 4, column, text)
    assert problem.file == "candidates.csv"
    # Stated gender is never echoed (it can reveal trans status); other values are shown.
    assert problem.value == (None if column == "sex" else value)
    assert "nothing was written" in error.message


@pytest.mark.parametrize("column", ["ethnic_category", "disability", "sex"])
def test_special_category_values_never_shown(loaded, tmp_path, caplog, column) -> None:
    secret = {"ethnic_category": "Irish Traveller", "disability": "Deafblind", "sex": "Trans man"}[column]
    rows = candidates_rows()
    rows[1][column] = secret
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    problem = _only(error, 3, column, "not a recognised")
    assert problem.value is None
    assert secret not in str(error) and secret.lower() not in str(error).lower()
    assert secret not in caplog.text


def test_special_category_value_hidden_even_when_too_long(loaded, tmp_path) -> None:
    rows = candidates_rows()
    rows[0]["ethnic_category"] = "X" * 1200
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    problem = _only(error, 2, "ethnic_category", "1200 characters")
    assert problem.value is None and "XXXX" not in str(error)


def test_huge_field(loaded, tmp_path) -> None:
    rows = candidates_rows()
    rows[3]["family_name"] = "y" * 1001
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    problem = _only(error, 5, "family_name", "1001 characters")
    assert len(problem.value or "") <= 60


def test_formula_in_name_is_kept_as_given(loaded, tmp_path) -> None:
    rows = candidates_rows()
    rows[0]["given_name"] = "=Ann"
    report = import_file(loaded, "candidates", _candidates(tmp_path, rows))
    assert report.updated == 1
    from sqlalchemy import text

    with loaded.connect() as conn:
        assert conn.execute(text("select given_name from candidates where candidate_id='C1'")).scalar() == "=Ann"


@pytest.mark.parametrize(
    ("second", "text"),
    [
        ("C1", "repeats the candidate on row 2"),
        ("c1", "only in letter case or blanks"),
        ("C 1", "only in letter case or blanks"),
    ],
)
def test_duplicate_candidate_ids(loaded, tmp_path, second, text) -> None:
    rows = [candidate("C1", linked_with="C2"), candidate("C2", linked_with="C1"), candidate(second, email="z@x.org")]
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    _only(error, 4, "candidate_id", text)


def test_id_differing_from_stored_one_only_in_case(loaded, tmp_path) -> None:
    error = _fail(loaded, "candidates", _candidates(tmp_path, [candidate("c4")]))
    problem = _only(error, 2, "candidate_id", "already in the database")
    assert "'C4'" in problem.problem


def test_duplicate_email_ignoring_case(loaded, tmp_path) -> None:
    rows = candidates_rows()
    rows[3]["email"] = "C1@Example.ORG"
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    _only(error, 5, "email", "row 2")


def test_email_of_a_stored_candidate(loaded, tmp_path) -> None:
    error = _fail(loaded, "candidates", _candidates(tmp_path, [candidate("C9", email="c3@example.org")]))
    _only(error, 2, "email", "candidate C3 in the database")


@pytest.mark.parametrize(
    ("links", "row", "text"),
    [
        ({"C1": "C1"}, 2, "names the candidate themself"),
        ({"C1": "C99"}, 2, "names no candidate"),
        ({"C1": "C3"}, 2, "one-sided"),
        ({"C1": "C2", "C2": "C3", "C3": "C1"}, 3, "one-sided"),  # a circle is one-sided everywhere
    ],
)
def test_bad_links(loaded, tmp_path, links, row, text) -> None:
    rows = [candidate("C1"), candidate("C2"), candidate("C3")]
    for r in rows:
        r["linked_with"] = links.get(r["candidate_id"], "")
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    _only(error, row, "linked_with", text)


def test_unlinking_one_side_of_a_stored_pair(loaded, tmp_path) -> None:
    """C1 and C2 are linked in the database; a file clearing C1's link only leaves C2 one-sided."""
    error = _fail(loaded, "candidates", _candidates(tmp_path, [candidate("C1")]))
    _only(error, 2, "linked_with", "does not name 'C2'")


def test_every_problem_is_reported_up_to_the_limit(loaded, tmp_path) -> None:
    rows = [candidate(f"N{i}", assessment_score="500") for i in range(10)]
    error = _fail(loaded, "candidates", _candidates(tmp_path, rows), max_errors=3)
    assert [p.row for p in error.problems] == [2, 3, 4]
    assert error.truncated == 7
    assert "7 more problems" in error.message

    error = _fail(loaded, "candidates", _candidates(tmp_path, rows))
    assert len(error.problems) == 10 and error.truncated == 0


# ---------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("capacity", "-1", "less than 0"),
        ("capacity", "2.5", "not a whole number"),
        ("capacity", "3000000000", "larger than 1,000,000"),  # past PostgreSQL's INTEGER: a cell error, not a crash
        ("min_placements", "3", "more than the host's capacity"),
        ("org_type", "hospital", "not a recognised organisation type"),
        ("min_score", "120", "outside the range"),
        ("region", "", "is blank"),
        ("host_id", "=cmd", "formula"),
    ],
)
def test_bad_host_cell(loaded, tmp_path, column, value, text) -> None:
    rows = hosts_rows()
    rows[1][column] = value
    error = _fail(loaded, "hosts", write_csv(tmp_path / "hosts.csv", rows, HOST_HEADER))
    _only(error, 3, column, text)


def test_duplicate_host_ids(loaded, tmp_path) -> None:
    rows = hosts_rows() + [host("h 1")]
    error = _fail(loaded, "hosts", write_csv(tmp_path / "hosts.csv", rows, HOST_HEADER))
    _only(error, 5, "host_id", "differs from 'H1' on row 2")


# ---------------------------------------------------------------- preferences and host rankings


def _prefs(tmp_path: Path, rows: list[list[str]]) -> Path:
    return write_csv(tmp_path / "preferences.csv", rows, ["candidate_id", "host_id", "rank"])


@pytest.mark.parametrize(
    ("row", "column", "text"),
    [
        (["C1", "H9", "1"], "host_id", "is not a host in the database"),
        (["C9", "H1", "1"], "candidate_id", "is not a candidate in the database"),
        (["c1", "H1", "1"], "candidate_id", "did you mean 'C1'?"),
        (["C1", "H1", "0"], "rank", "less than 1"),
        (["C1", "H1", "-2"], "rank", "less than 1"),
        (["C1", "H1", "1.5"], "rank", "not a whole number"),
        (["C1", "H1", "99999999999"], "rank", "larger than 1,000,000"),
        (["C1", "H1", "first"], "rank", "not a whole number"),
        (["C1", "H1", ""], "rank", "is blank"),
    ],
)
def test_bad_preference(loaded, tmp_path, row, column, text) -> None:
    error = _fail(loaded, "preferences", _prefs(tmp_path, [["C2", "H2", "1"], row]))
    _only(error, 3, column, text)


def test_duplicate_ranks_and_pairs(loaded, tmp_path) -> None:
    rows = [["C1", "H1", "1"], ["C1", "H2", "1"], ["C2", "H1", "1"], ["C2", "H1", "2"]]
    error = _fail(loaded, "preferences", _prefs(tmp_path, rows))
    _only(error, 3, "rank", "C1's rank on row 2 too")
    _only(error, 5, "host_id", "already on row 4")


def test_bad_host_rankings(loaded, tmp_path) -> None:
    rows = [["H1", "C1", "1"], ["H1", "C1", "2"], ["H2", "C77", "1"], ["H2", "C2", "1"], ["H2", "C3", "1"]]
    path = write_csv(tmp_path / "host_rankings.csv", rows, ["host_id", "candidate_id", "rank"])
    error = _fail(loaded, "host_rankings", path)
    _only(error, 3, "candidate_id", "already on row 2")
    _only(error, 4, "candidate_id", "is not a candidate")
    assert len(error.problems) == 2  # equal ranks are ties, not an error


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("over", "column", "text"),
    [
        ({"min_share": "0.6", "max_share": "0.4"}, "min_share", "greater than max_share"),
        ({"min_share": "1.5"}, "min_share", "outside the range from 0 to 1"),
        ({"max_share": "-0.1"}, "max_share", "outside the range"),
        ({"min_share": "40%"}, "min_share", "not a number"),
        ({"min_share": "", "max_share": ""}, "min_share", "sets no bound"),
        ({"weight": ""}, "weight", "soft target needs a penalty weight"),
        ({"weight": "0"}, "weight", "soft target needs a penalty weight"),
        ({"strength": "hard", "weight": "3"}, "weight", "hard target"),
        ({"strength": "firm"}, "strength", "not a recognised strength"),
        ({"scope": "regoin=London"}, "scope", "not a valid scope"),
        ({"scope": "region"}, "scope", "not a valid scope"),
        ({"scope": "region=Wales"}, "scope", "unknown region"),
        ({"scope": "host=H99"}, "scope", "is not a host"),
        ({"scope": "host=*"}, "scope", "cannot be host=*"),
        ({"attribute": "age"}, "attribute", "not a recognised target attribute"),
        ({"value": "blue"}, "value", "not a value of sex"),
    ],
)
def test_bad_target(loaded, tmp_path, over, column, text) -> None:
    rows = [target("ok"), target("bad", **over)]
    error = _fail(loaded, "targets", write_csv(tmp_path / "targets.csv", rows, TARGET_HEADER))
    problem = _only(error, 3, column, text)
    if "40%" in over.values():
        assert "0.4 for 40%" in problem.fix


@pytest.mark.parametrize(
    ("over", "column", "fix"),
    [
        # A third, enforced exactly as written, is a decimal: at least 0.333333 needs the same people as 1/3 in
        # any scope of fewer than 1,000,000 placed; at most 0.333334 the same.
        (
            {"min_share": "1/3"},
            "min_share",
            "write 0.333333 (at least the same whole number of people as 1/3 in any "
            "scope of fewer than 1,000,000 placed)",
        ),
        ({"min_share": None, "max_share": "1/3"}, "max_share", "write 0.333334 (at most"),
        ({"min_share": "1 / 7"}, "min_share", "write 0.142857 ("),
    ],
)
def test_fraction_share_refused_with_the_decimal_to_write(loaded, tmp_path, over, column, fix) -> None:
    rows = [target("ok"), target("bad", **{k: ("" if v is None else v) for k, v in over.items()})]
    error = _fail(loaded, "targets", write_csv(tmp_path / "targets.csv", rows, TARGET_HEADER))
    problem = _only(error, 3, column, "is a fraction; shares are written as decimals")
    assert problem.fix.startswith(fix)


def test_decimal_written_as_a_fraction_is_that_decimal() -> None:
    """1/4 is 0.25 exactly, so it is accepted as 0.25 (nothing is rounded)."""
    from placement.schemas import TargetRow

    assert TargetRow.model_validate(target("quarter", min_share="1/4")).min_share == 0.25
    assert TargetRow.model_validate(target("eighths", max_share="3/8", min_share="")).max_share == 0.375


def test_duplicate_target_names(loaded, tmp_path) -> None:
    rows = [target("Women"), target("women ")]
    error = _fail(loaded, "targets", write_csv(tmp_path / "targets.csv", rows, TARGET_HEADER))
    _only(error, 3, "name", "differs from 'Women' on row 2 only in letter case or blanks")
    _only(error, 2, "name", "differs from 'women', already in the database")


# ---------------------------------------------------------------- pairs


def test_bad_pairs(loaded, tmp_path) -> None:
    rows = [
        ["C1", "H1", "require", ""],
        ["C1", "H2", "require", ""],
        ["C2", "H9", "forbid", ""],
        ["C2", "H1", "ban", ""],
        ["C4", "H3", "require", "now agreed"],
    ]
    path = write_csv(tmp_path / "pairs.csv", rows, ["candidate_id", "host_id", "rule", "reason"])
    error = _fail(loaded, "pairs", path)
    _only(error, 2, "rule", "required at 2 hosts")
    _only(error, 3, "rule", "required at 2 hosts")
    _only(error, 4, "host_id", "is not a host")
    _only(error, 5, "rule", "not a recognised pair rule")
    assert len(error.problems) == 4  # C4/H3 turning from forbid to require is fine


def test_require_clashing_with_a_stored_one(loaded, tmp_path) -> None:
    """C3 is required at H2 in the database: requiring C3 at H1 too is refused."""
    path = write_csv(tmp_path / "pairs.csv", [["C3", "H1", "require", ""]], ["candidate_id", "host_id", "rule"])
    error = _fail(loaded, "pairs", path)
    _only(error, 2, "rule", "(H1, H2)")


# ---------------------------------------------------------------- across the files of import dir


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory) -> Path:
    return make_template(tmp_path_factory.mktemp("empty"), with_scheme=False)


def test_import_dir_checks_ids_across_files_and_reports_all(empty_template, tmp_path) -> None:
    engine = sqlite_copy(empty_template, tmp_path)
    scheme = write_scheme(tmp_path / "scheme")
    write_csv(
        scheme / "preferences.csv",
        [["C1", "H1", "1"], ["C5", "H1", "1"], ["C2", "H4", "x"]],
        ["candidate_id", "host_id", "rank"],
    )
    rows = hosts_rows()
    rows[0]["capacity"] = "-3"
    write_csv(scheme / "hosts.csv", rows, HOST_HEADER)
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_dir(engine, scheme)
    assert dump(engine) == before
    error = excinfo.value
    _only(error, 2, "capacity", "less than 0")
    files = {(p.file, p.row, p.column) for p in error.problems}
    assert ("preferences.csv", 3, "candidate_id") in files
    assert ("preferences.csv", 4, "rank") in files
    # H1's own row is bad: each file naming it says so once ("fix that row first"), not once per row
    # and not as an unknown host.
    knock_on = [p for p in error.problems if p.column == "host_id" and p.value == "H1"]
    assert knock_on and len({p.file for p in knock_on}) == len(knock_on)
    assert all(
        "whose own row (hosts.csv row 2) was refused" in p.problem and "fix that row first" in p.fix for p in knock_on
    )
    engine.dispose()


def test_unknown_id_message_names_the_batch_file(empty_template, tmp_path) -> None:
    engine = sqlite_copy(empty_template, tmp_path)
    scheme = write_scheme(tmp_path / "scheme")
    write_csv(scheme / "pairs.csv", [["C1", "H7", "forbid", ""]], ["candidate_id", "host_id", "rule", "reason"])
    with pytest.raises(InputError) as excinfo:
        import_dir(engine, scheme)
    problem = _only(excinfo.value, 2, "host_id", "is not a host in hosts.csv or the database")
    assert "hosts.csv" in problem.fix
    assert dump(engine)["candidates"] == []
    engine.dispose()


def test_purged_candidate_is_not_imported_again(loaded, tmp_path) -> None:
    with loaded.begin() as conn:
        conn.execute(
            text(
                "update candidates set given_name = null, family_name = null, email = null, "
                "purged_at = '2026-01-01 00:00:00' where candidate_id = 'C4'"
            )
        )
    error = _fail(loaded, "candidates", _candidates(tmp_path, candidates_rows()))
    _only(error, 5, "candidate_id", "purged")


def test_database_failure_while_writing_hides_values_and_rolls_back(loaded, tmp_path, monkeypatch) -> None:
    """Should the database refuse a write after validation, its message (which can quote values) is not shown."""
    from sqlalchemy.exc import IntegrityError

    from placement.errors import PlacementError
    from placement.ingest import store

    real = store.PLANNERS["candidates"]

    def failing(rows, snapshot):
        plan = real(rows, snapshot)

        def write(conn, batch_id):
            conn.execute(text("delete from preferences"))
            raise IntegrityError("INSERT ...", {"ethnic_category": "SecretCode"}, Exception("SecretCode clash"))

        plan.write = write
        return plan

    monkeypatch.setitem(store.PLANNERS, "candidates", failing)
    rows = candidates_rows()
    rows[0]["assessment_score"] = "12"
    before = dump(loaded)
    with pytest.raises(PlacementError) as excinfo:
        import_file(loaded, "candidates", _candidates(tmp_path, rows))
    assert "nothing was written" in str(excinfo.value) and "IntegrityError" in str(excinfo.value)
    assert "SecretCode" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    assert dump(loaded) == before
