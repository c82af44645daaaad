"""Writing: import dir round trip, re-import no-op, upsert counts, authoritative preferences, batches and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from placement.config import os_user
from placement.errors import InputError
from placement.ingest import import_dir, import_file
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    candidate,
    candidates_rows,
    counts,
    dump,
    make_template,
    migrated,
    sqlite_copy,
    write_csv,
    write_scheme,
)


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory) -> Path:
    return make_template(tmp_path_factory.mktemp("empty"), with_scheme=False)


@pytest.fixture
def engine(empty_template: Path, tmp_path: Path):
    eng = sqlite_copy(empty_template, tmp_path)
    yield eng
    eng.dispose()


def _query(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def _summary(reports) -> dict[str, tuple[int, int, int, int]]:
    return {r.kind: (r.added, r.updated, r.unchanged, r.removed) for r in reports}


def test_import_dir_round_trip_and_no_op_reimport(any_db_url: str, tmp_path: Path) -> None:
    engine = migrated(any_db_url)
    scheme = write_scheme(tmp_path / "scheme")
    reports = import_dir(engine, scheme)
    assert [r.kind for r in reports] == ["candidates", "hosts", "preferences", "host_rankings", "targets", "pairs"]
    assert _summary(reports) == {
        "candidates": (4, 0, 0, 0),
        "hosts": (3, 0, 0, 0),
        "preferences": (6, 0, 0, 0),
        "host_rankings": (3, 0, 0, 0),
        "targets": (2, 0, 0, 0),
        "pairs": (2, 0, 0, 0),
    }
    assert not any(r.skipped_same_file for r in reports)
    assert counts(engine) == {
        "import_batches": 6,
        "audit_log": 6,
        "candidates": 4,
        "protected_characteristics": 4,
        "hosts": 3,
        "preferences": 6,
        "host_rankings": 3,
        "targets": 2,
        "pair_rules": 2,
        "rounds": 0,
        "placements": 0,
        "cohorts": 1,
        "host_places": 3,
        "outcomes": 0,
        "season_events": 0,
    }
    # Stored values are canonical; the raw ethnic code is kept beside its derived groups.
    assert _query(
        engine,
        "select c.candidate_id, p.sex, p.ethnic_category, p.ethnic_group, p.minority_ethnic, "
        "p.disability from candidates c join protected_characteristics p on p.candidate_pk = c.id "
        "order by c.candidate_id",
    ) == [
        ("C1", "female", "A", "white", "no", "no"),
        ("C2", "male", "H", "asian", "yes", "not_stated"),
        ("C3", "not_known", "99", "not_known", "not_known", "not_known"),
        ("C4", "female", "A", "white", "no", "no"),
    ]
    assert _query(engine, "select candidate_id, linked_with, career_changer from candidates order by 1")[:3] == [
        ("C1", "C2", "no"),
        ("C2", "C1", "no"),
        ("C3", None, "not_known"),
    ]
    assert _query(
        engine,
        "select h.host_id, p.min_score, p.min_placements from hosts h "
        "join host_places p on p.host_pk = h.id order by 1",
    ) == [("H1", 60.0, 1), ("H2", 0.0, 0), ("H3", 0.0, 0)]
    assert _query(engine, "select name, scope, weight, min_share, max_share from targets order by 1") == [
        ("no-quota", "region=*", 0.0, None, 0.9),
        ("women", "cohort", 5.0, 0.4, None),
    ]

    before = dump(engine)
    again = import_dir(engine, scheme)
    assert all(r.skipped_same_file and r.batch_id is None for r in again)
    assert {k: v[2] for k, v in _summary(again).items()} == {
        "candidates": 4,
        "hosts": 3,
        "preferences": 6,
        "host_rankings": 3,
        "targets": 2,
        "pairs": 2,
    }
    assert dump(engine) == before
    engine.dispose()


def test_failing_import_leaves_database_unchanged(any_db_url: str, tmp_path: Path) -> None:
    """An error in the last file of the folder: the earlier, valid files are not written either."""
    engine = migrated(any_db_url)
    scheme = write_scheme(tmp_path / "scheme")
    import_dir(engine, scheme)
    rows = candidates_rows() + [candidate("C5")]
    write_csv(scheme / "candidates.csv", rows, CANDIDATE_HEADER)
    write_csv(
        scheme / "pairs.csv",
        [["C5", "H1", "forbid", "x"], ["C5", "H1", "require", "y"]],
        ["candidate_id", "host_id", "rule", "reason"],
    )
    before = dump(engine)
    with pytest.raises(InputError) as excinfo:
        import_dir(engine, scheme)
    assert [(p.file, p.row) for p in excinfo.value.problems] == [("pairs.csv", 3)]
    assert dump(engine) == before
    engine.dispose()


def test_changed_file_is_upserted_by_id(engine, tmp_path: Path) -> None:
    scheme = write_scheme(tmp_path / "scheme")
    import_dir(engine, scheme)
    rows = candidates_rows()
    rows[3]["assessment_score"] = "92"  # C4 changes
    rows[2]["ethnic_category"] = "M"  # C3's monitoring data changes
    rows.append(candidate("C5"))
    path = write_csv(tmp_path / "candidates_v2.csv", rows, CANDIDATE_HEADER)
    report = import_file(engine, "candidates", path)
    assert (report.rows, report.added, report.updated, report.unchanged, report.removed) == (5, 1, 2, 2, 0)
    assert not report.skipped_same_file and report.batch_id is not None
    assert _query(engine, "select assessment_score from candidates where candidate_id = 'C4'") == [(92.0,)]
    assert _query(
        engine,
        "select p.ethnic_category, p.ethnic_group, p.minority_ethnic from "
        "protected_characteristics p join candidates c on c.id = p.candidate_pk "
        "where c.candidate_id = 'C3'",
    ) == [("M", "black", "yes")]
    # Rows the file changed point at its batch; unchanged ones keep theirs.
    batch_of = dict(_query(engine, "select candidate_id, import_batch_id from candidates"))
    assert batch_of["C4"] == batch_of["C5"] == report.batch_id
    assert batch_of["C1"] != report.batch_id


def test_batch_and_audit_rows(engine, tmp_path: Path) -> None:
    start = datetime.now(UTC)
    report = import_dir(engine, write_scheme(tmp_path / "scheme"))[0]
    batch = _query(
        engine,
        f"select kind, file_name, sha256, rows, added, updated, unchanged, removed, "
        f"imported_at, os_user from import_batches where id = {report.batch_id}",
    )[0]
    assert batch[:8] == ("candidates", "candidates.csv", report.sha256, 4, 4, 0, 0, 0)
    assert batch[9] == os_user()
    at = datetime.fromisoformat(batch[8]).replace(tzinfo=UTC)  # SQLite keeps UTC without the offset
    assert start - timedelta(seconds=1) <= at <= datetime.now(UTC)
    audits = _query(engine, "select action, os_user, detail from audit_log order by id")
    assert len(audits) == 6 and {a[0] for a in audits} == {"import"}
    assert "candidates.csv" in audits[0][2] and "4 added" in audits[0][2]
    everything = " ".join(a[2] for a in audits)
    for personal in ("Given C1", "Family", "example.org", "female"):
        assert personal not in everything


def test_preferences_file_is_authoritative_per_candidate(engine, tmp_path: Path) -> None:
    import_dir(engine, write_scheme(tmp_path / "scheme"))
    # Stored: C1: H1=1, H2=2; C2: H1=1; C3: H2=1; C4: H1=1, H3=3.
    path = write_csv(
        tmp_path / "prefs.csv",
        [["C1", "H2", "1"], ["C1", "H3", "2"], ["C3", "H2", "1"]],
        ["candidate_id", "host_id", "rank"],
    )
    report = import_file(engine, "preferences", path)
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 1, 1, 1)
    assert _query(
        engine,
        "select c.candidate_id, h.host_id, p.rank from preferences p "
        "join candidates c on c.id = p.candidate_pk join hosts h on h.id = p.host_pk "
        "order by 1, 3",
    ) == [("C1", "H2", 1), ("C1", "H3", 2), ("C2", "H1", 1), ("C3", "H2", 1), ("C4", "H1", 1), ("C4", "H3", 3)]
    assert _query(engine, f"select removed from import_batches where id = {report.batch_id}") == [(1,)]


def test_host_rankings_file_is_authoritative_per_host(engine, tmp_path: Path) -> None:
    import_dir(engine, write_scheme(tmp_path / "scheme"))  # H1 ranks C4=1, C1=2, C2=2
    path = write_csv(
        tmp_path / "hr.csv",
        [["H1", "C4", "1"], ["H1", "C3", "2"], ["H2", "C3", "1"]],
        ["host_id", "candidate_id", "rank"],
    )
    report = import_file(engine, "host-rankings", path)
    assert (report.added, report.updated, report.unchanged, report.removed) == (2, 0, 1, 2)
    assert _query(
        engine,
        "select h.host_id, c.candidate_id, r.rank from host_rankings r "
        "join candidates c on c.id = r.candidate_pk join hosts h on h.id = r.host_pk "
        "order by 1, 2",
    ) == [("H1", "C3", 2), ("H1", "C4", 1), ("H2", "C3", 1)]


def test_targets_and_pairs_upsert(engine, tmp_path: Path) -> None:
    import_dir(engine, write_scheme(tmp_path / "scheme"))
    pairs = write_csv(
        tmp_path / "pairs.csv",
        [["C4", "H3", "forbid", "former employer"], ["C1", "H3", "forbid", ""]],
        ["candidate_id", "host_id", "rule", "reason"],
    )
    report = import_file(engine, "pairs", pairs)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 0)
    targets = write_csv(
        tmp_path / "targets.csv",
        [["women", "cohort", "sex", "female", "0.45", "", "soft", "5"]],
        ["name", "scope", "attribute", "value", "min_share", "max_share", "strength", "weight"],
    )
    report = import_file(engine, "targets", targets)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    assert _query(engine, "select count(*) from targets") == [(2,)]  # targets the file leaves out stay


def test_same_file_again_after_a_different_version_is_applied(engine, tmp_path: Path) -> None:
    """Same bytes as an earlier import, but the database has moved on since: not a no-op."""
    v1 = write_csv(tmp_path / "v1.csv", candidates_rows(), CANDIDATE_HEADER)
    rows = candidates_rows()
    rows[3]["assessment_score"] = "10"
    v2 = write_csv(tmp_path / "v2.csv", rows, CANDIDATE_HEADER)
    import_file(engine, "candidates", v1)
    import_file(engine, "candidates", v2)
    report = import_file(engine, "candidates", v1)
    assert not report.skipped_same_file and (report.updated, report.unchanged) == (1, 3)


def test_dry_run_reports_counts_and_writes_nothing(engine, tmp_path: Path) -> None:
    scheme = write_scheme(tmp_path / "scheme")
    before = dump(engine)
    reports = import_dir(engine, scheme, dry_run=True)
    assert dump(engine) == before
    assert all(r.dry_run and r.batch_id is None for r in reports)
    assert _summary(reports)["preferences"] == (6, 0, 0, 0)
    real = import_dir(engine, scheme)
    assert _summary(real) == _summary(reports)


def test_import_dir_without_files(engine, tmp_path: Path) -> None:
    from placement.errors import ConfigError

    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as excinfo:
        import_dir(engine, tmp_path / "empty")
    assert "candidates.csv" in str(excinfo.value)


def test_benchmark_runs_small(tmp_path: Path) -> None:
    """The import benchmark itself works (its full size is run by hand: python -m benchmarks.import_bench)."""
    from benchmarks.import_bench import time_import

    result = time_import(2_000, tmp_path)
    assert result["candidates"] == 200
    assert result["preferences_report"]["added"] == 2_000
    assert result["preferences_again_report"]["skipped_same_file"] is True
    assert result["preferences_changed_report"]["added"] == result["preferences_changed_report"]["removed"] == 0
    assert result["preferences_changed_report"]["updated"] > 0
    assert result["first_import_total_s"] > 0
