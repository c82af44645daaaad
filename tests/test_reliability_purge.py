"""Retention: `placement purge --before DATE` removes personal data and keeps rounds' anonymised aggregates.

The scheme: the base scheme (tests/corpus/base) imported in June 2023, round 1
solved and approved in July 2023 over all six candidates; then, this year, a
new candidate C101 imported and round 2 solved over C005 and C101. Purging
before 2024-01-01 must remove the personal data of C001-C004 and C006, keep
C005 (still in round 2) and C101, and keep both rounds' figures.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from placement.cli import cli
from placement.db.migrate import upgrade
from placement.db.models import (
    AuditLog,
    Candidate,
    Host,
    HostRanking,
    ImportBatch,
    PairRule,
    Placement,
    Preference,
    ProtectedCharacteristics,
    Round,
    Target,
)
from placement.db.session import make_engine, transaction
from placement.errors import InputError
from placement.ingest import import_dir, import_file
from placement.purge import PurgeRefused, purge

BASE = Path(__file__).resolve().parent / "corpus" / "base"
LAST_YEAR = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
CUTOFF = datetime(2024, 1, 1, tzinfo=UTC)
PURGED = ["C001", "C002", "C003", "C004", "C006"]
PERSONAL = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Berners-Lee", "ada.lovelace@example.org", "tim.bernerslee@"]
NEW_CANDIDATE = (
    "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,willing_to_relocate,"
    "sex,ethnic_category,disability\n"
    "C101,Mary,Somerville,mary.somerville@example.org,75,data,London,yes,female,M,yes\n"
)


def _round(s, number: int, when: datetime, pool: list[str], placed: dict[str, str], approved: bool) -> Round:
    """A stored round as rounds.py writes it (figures made up; purge only reads dates and ids)."""
    rnd = Round(
        cohort_id=1,
        number=number,
        state="approved" if approved else "proposal",
        parent_number=None,
        created_at=when,
        created_by="coordinator",
        options={"objective": "rank-sum"},
        input_hash="0" * 64,
        solver_version="test",
        status="OPTIMAL",
        objective={"placed": len(placed)},
        bound={"placed": len(placed)},
        solve_seconds=0.5,
        summary={
            "pool": pool,
            "eligible": pool,
            "placed": len(placed),
            "unplaced": len(pool) - len(placed),
            "rank_sum": len(placed),
            "method": "test",
            "targets": [{"name": "women-cohort", "met": True}],
        },
        approved_by="A. Approver" if approved else None,
        approved_at=when + timedelta(days=1) if approved else None,
        inputs=b"encoded inputs holding member indices",
    )
    s.add(rnd)
    s.flush()
    pk = dict(s.execute(select(Candidate.candidate_id, Candidate.id)).all())
    hk = dict(s.execute(select(Host.host_id, Host.id)).all())
    for cid, hid in placed.items():
        s.add(
            Placement(
                round_id=rnd.id,
                candidate_pk=pk[cid],
                host_pk=hk[hid],
                rank=1,
                offer_status="accepted" if approved else "proposed",
            )
        )
    return rnd


def build_scheme(engine, folder: Path) -> None:
    """Last year's scheme and round 1, then this year's new candidate and round 2."""
    import_dir(engine, BASE)
    with transaction(engine) as s:
        s.execute(update(ImportBatch).values(imported_at=LAST_YEAR))
        _round(
            s,
            1,
            LAST_YEAR + timedelta(days=30),
            ["C001", "C002", "C003", "C004", "C005", "C006"],
            {"C001": "RX1", "C002": "RY2", "C003": "RQ3", "C004": "RQ3", "C005": "RW4"},
            approved=True,
        )
    new = folder / "new.csv"
    new.write_text(NEW_CANDIDATE)
    import_file(engine, "candidates", new)
    with transaction(engine) as s:
        _round(s, 2, datetime.now(UTC) - timedelta(hours=1), ["C005", "C101"], {"C101": "RX1"}, approved=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The scheme built once; each test works on its own copy of the file."""
    folder = tmp_path_factory.mktemp("purge")
    engine = make_engine(f"sqlite:///{folder / 'template.db'}")
    upgrade(engine)
    build_scheme(engine, folder)
    engine.dispose()
    return folder / "template.db"


@pytest.fixture
def scheme(template, tmp_path):
    db = tmp_path / "placement.db"
    shutil.copyfile(template, db)
    engine = make_engine(f"sqlite:///{db}")
    yield engine
    engine.dispose()


def dump(engine) -> str:
    conn = sqlite3.connect(engine.url.database)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_purge_removes_personal_data_of_candidates_last_involved_before_the_date(scheme):
    report = purge(scheme, CUTOFF)

    assert (report.candidates, report.kept, report.rounds_cleared) == (5, 2, 1)
    with transaction(scheme) as s:
        cands = {c.candidate_id: c for c in s.scalars(select(Candidate)).all()}
        for cid in PURGED:
            c = cands[cid]
            assert (c.given_name, c.family_name, c.email, c.linked_with) == (None, None, None, None), cid
            assert c.purged_at is not None
            assert c.career_changer == "not_known"
        for cid in ("C005", "C101"):
            assert cands[cid].email and cands[cid].purged_at is None
        purged_pks = [cands[c].id for c in PURGED]
        for table in (ProtectedCharacteristics, Preference, HostRanking, PairRule):
            assert s.scalars(select(table).where(table.candidate_pk.in_(purged_pks))).all() == [], table.__name__
        # The kept candidates keep everything.
        assert s.get(ProtectedCharacteristics, cands["C005"].id) is not None
        assert s.get(ProtectedCharacteristics, cands["C101"].id).ethnic_category == "M"
        assert len(s.scalars(select(Preference).where(Preference.candidate_pk == cands["C005"].id)).all()) == 2
        assert len(s.scalars(select(HostRanking)).all()) == 1  # RX1's ranking of C005
        # Hosts and targets are the scheme's, not personal data.
        assert len(s.scalars(select(Host)).all()) == 4 and len(s.scalars(select(Target)).all()) == 2


def test_purge_keeps_round_aggregates_and_clears_old_inputs(scheme):
    with transaction(scheme) as s:
        before = {
            r.number: (r.summary, r.objective, r.status, r.state, r.approved_by) for r in s.scalars(select(Round))
        }
        placements_before = s.execute(select(Placement.round_id, Placement.candidate_pk, Placement.host_pk)).all()

    purge(scheme, CUTOFF)

    with transaction(scheme) as s:
        after = {r.number: (r.summary, r.objective, r.status, r.state, r.approved_by) for r in s.scalars(select(Round))}
        assert after == before
        inputs = dict(s.execute(select(Round.number, Round.inputs)).all())
        assert inputs[1] is None, "round 1 (before the date) still holds its encoded inputs"
        assert inputs[2] is not None, "round 2 (after the date) lost its inputs"
        assert (
            s.execute(select(Placement.round_id, Placement.candidate_pk, Placement.host_pk)).all() == placements_before
        )


def test_no_name_or_email_of_a_purged_candidate_is_left_anywhere(scheme):
    text = dump(scheme)
    assert all(p in text for p in PERSONAL)  # the check can fail
    purge(scheme, CUTOFF)
    text = dump(scheme)
    left = [p for p in PERSONAL if p in text]
    assert left == [], f"personal data left in the database: {left}"
    assert "Sparck Jones" in text and "Somerville" in text  # kept candidates


def test_purge_is_logged_without_personal_data(scheme):
    purge(scheme, CUTOFF)
    with transaction(scheme) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "purge")).one()
    assert "2024-01-01" in entry.detail and "5 candidates" in entry.detail
    assert entry.os_user
    assert not any(p in entry.detail for p in PERSONAL + PURGED)


def test_dry_run_and_a_second_purge_change_nothing(scheme):
    before = dump(scheme)
    report = purge(scheme, CUTOFF, dry_run=True)
    assert report.candidates == 5
    assert dump(scheme) == before

    purge(scheme, CUTOFF)
    again = purge(scheme, CUTOFF, dry_run=True)
    assert (again.candidates, again.already_purged, again.rounds_cleared) == (0, 5, 0)


def test_a_cutoff_in_the_future_is_refused(scheme):
    before = dump(scheme)
    with pytest.raises(PurgeRefused) as excinfo:
        purge(scheme, datetime.now(UTC) + timedelta(days=2))
    assert "future" in excinfo.value.message
    assert dump(scheme) == before


def test_a_purged_candidate_cannot_be_imported_again(scheme):
    purge(scheme, CUTOFF)
    with pytest.raises(InputError) as excinfo:
        import_file(scheme, "candidates", BASE / "candidates.csv")
    assert "purged" in str(excinfo.value)


def test_candidates_without_a_dated_involvement_are_left_alone(scheme):
    with transaction(scheme) as s:  # written by hand, never imported, never in a round
        s.add(
            Candidate(
                cohort_id=1,
                candidate_id="C900",
                given_name="Undated",
                family_name="Person",
                email="u@example.org",
                assessment_score=50,
                specialisms="data",
                home_region="London",
                willing_to_relocate=True,
                career_changer="no",
                withdrawn=False,
            )
        )
    report = purge(scheme, CUTOFF)
    assert report.undated == 1
    assert any("no dated involvement" in line for line in report.lines())
    with transaction(scheme) as s:
        assert s.scalar(select(Candidate.email).where(Candidate.candidate_id == "C900")) == "u@example.org"


# ------------------------------------------------------------------ the command line


def invoke(engine, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--db", engine.url.render_as_string(), *args], input=input, catch_exceptions=False)


def test_cli_purge_asks_first_and_does_nothing_when_told_no(scheme):
    before = dump(scheme)
    result = invoke(scheme, "purge", "--before", "2024-01-01", input="n\n")
    assert result.exit_code == 1
    assert "5 candidate(s) last involved before 2024-01-01" in result.output
    assert "Aborted" in result.output
    assert dump(scheme) == before


def test_cli_dry_run_reports_and_changes_nothing(scheme):
    before = dump(scheme)
    result = invoke(scheme, "purge", "--before", "2024-01-01", "--dry-run")
    assert result.exit_code == 0
    assert "would be removed" in result.output and "1 round(s)" in result.output
    assert dump(scheme) == before


def test_cli_purge_with_yes_purges_and_the_log_shows_it(scheme):
    result = invoke(scheme, "purge", "--before", "2024-01-01", "--yes")
    assert result.exit_code == 0, result.output
    assert "Purged the personal data of 5 candidate(s) and the stored inputs of 1 round(s)" in result.output
    assert not any(p in dump(scheme) for p in PERSONAL)

    log = invoke(scheme, "log")
    assert log.exit_code == 0
    assert "purge" in log.output and "import" in log.output
    only = invoke(scheme, "log", "--action", "purge")
    assert "purge" in only.output and "import" not in only.output

    again = invoke(scheme, "purge", "--before", "2024-01-01", "--yes")
    assert again.exit_code == 0 and "Nothing to purge." in again.output


def test_cli_purge_refuses_a_future_date_and_a_malformed_one(scheme):
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    result = CliRunner().invoke(cli, ["--db", scheme.url.render_as_string(), "purge", "--before", future, "--yes"])
    assert result.exit_code == 1 and "in the future" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["--db", scheme.url.render_as_string(), "purge", "--before", "01/01/2024"])
    assert result.exit_code == 1 and "%Y-%m-%d" in result.output  # usage errors exit 1 (README)


def test_cli_log_filters(scheme):
    with transaction(scheme) as s:
        s.add(AuditLog(at=datetime(2022, 1, 5, tzinfo=UTC), os_user="old.user", action="export", detail="old export"))
    everything = invoke(scheme, "log", "--limit", "100")
    assert "old export" in everything.output and "old.user" in everything.output
    recent = invoke(scheme, "log", "--since", "2023-01-01")
    assert "old export" not in recent.output and "import" in recent.output
    one = invoke(scheme, "log", "--limit", "1")
    assert one.output.count("import") == 1 and "old export" not in one.output  # newest first
    none = invoke(scheme, "log", "--action", "approve")
    assert none.exit_code == 0 and "No audit log entries match." in none.output


@pytest.mark.postgres
def test_purge_on_postgresql(pg_url, tmp_path):
    engine = make_engine(pg_url)
    upgrade(engine)
    build_scheme(engine, tmp_path)
    report = purge(engine, CUTOFF)
    assert (report.candidates, report.kept, report.rounds_cleared) == (5, 2, 1)
    with transaction(engine) as s:
        assert s.scalar(select(Candidate.email).where(Candidate.candidate_id == "C001")) is None
        assert s.scalar(select(Candidate.email).where(Candidate.candidate_id == "C005")) is not None
        assert dict(s.execute(select(Round.number, Round.inputs.is_(None))).all()) == {1: True, 2: False}
    engine.dispose()


# ------------------------------------------------------------------ after a purge, the scheme goes on


@pytest.fixture
def solved_and_purged(engine, tmp_path):
    """The base scheme solved and approved "last year", then purged; this year's candidates imported."""
    from placement.approval import approve_round
    from placement.rounds import RoundOptions, solve_round

    import_dir(engine, BASE)
    first = solve_round(engine, RoundOptions(time_limit=10))
    approve_round(engine, first.round, "A. Approver")
    with transaction(engine) as s:
        s.execute(update(ImportBatch).values(imported_at=LAST_YEAR))
        s.execute(update(Round).values(created_at=LAST_YEAR, approved_at=LAST_YEAR))
        s.execute(update(AuditLog).values(at=LAST_YEAR))
    report = purge(engine, CUTOFF)
    assert report.candidates == 6
    new = tmp_path / "new.csv"
    new.write_text(NEW_CANDIDATE)
    import_file(engine, "candidates", new)
    prefs = tmp_path / "prefs.csv"
    prefs.write_text("candidate_id,host_id,rank\nC101,RX1,1\nC101,RQ3,2\n")
    import_file(engine, "preferences", prefs)
    return engine, first.round


def test_a_new_round_after_a_purge_places_only_current_candidates(solved_and_purged):
    from placement.rounds import RoundOptions, solve_round

    engine, _ = solved_and_purged
    result = solve_round(engine, RoundOptions(time_limit=10))
    assert result.status in ("OPTIMAL", "FEASIBLE")
    with transaction(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == result.round))
        assert "C101" in rnd.summary["pool"]
        assert not set(PURGED) & set(rnd.summary["pool"]), "purged candidates are back in the pool"
        new_pl = s.execute(
            select(Candidate.candidate_id, Candidate.purged_at)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .where(Placement.round_id == rnd.id, Placement.offer_status == "proposed")
        ).all()
        assert all(purged_at is None for _, purged_at in new_pl), "a purged candidate got a new proposal"


def test_a_purged_round_says_it_cannot_be_re_derived_or_explained(solved_and_purged):
    from placement.errors import PlacementError
    from placement.explain import explain
    from placement.resolves import rederive

    engine, number = solved_and_purged
    with pytest.raises(PlacementError) as excinfo:
        rederive(engine, number)
    assert "purged" in excinfo.value.message
    with pytest.raises(PlacementError) as excinfo:
        explain(engine, "C005", number)
    assert "purged" in str(excinfo.value)


def test_a_purged_round_can_still_be_audited_from_its_aggregates(solved_and_purged, tmp_path):
    from placement.audit import write_report

    engine, number = solved_and_purged
    report = json.loads(write_report(engine, number, "json", tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report["round"] == number
    assert report["price_of_fairness"]["applicable"] is False  # its inputs are gone: no re-solve
    text = json.dumps(report)
    assert not any(p in text for p in PERSONAL)


def test_a_purge_leaves_no_personal_data_in_the_sqlite_file_even_without_secure_delete_by_default(tmp_path):
    """A standard SQLite build leaves deleted rows in free pages; Debian's enables secure_delete and hides that.

    The engine here switches secure_delete OFF on every connection (a standard build), so only the purge's
    own ``PRAGMA secure_delete = ON`` (and VACUUM) can keep the names and emails out of the file.
    """
    from datetime import date

    from sqlalchemy import event, text, update

    from placement.db.models import ImportBatch
    from placement.db.session import make_engine, transaction
    from placement.ingest import import_file
    from placement.purge import purge

    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")

    @event.listens_for(engine, "connect")
    def standard_build(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA secure_delete = OFF")

    upgrade(engine)
    rows = [
        f"Q{i:03d},Given{i},Xyzzyfam{i:03d},secret.person{i:03d}@example.org,70,data,London,yes,female,A,no,no,"
        for i in range(60)
    ]
    path = tmp_path / "candidates.csv"
    path.write_text(
        "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,"
        "willing_to_relocate,sex,ethnic_category,disability,career_changer,linked_with\n" + "\n".join(rows) + "\n"
    )
    import_file(engine, "candidates", path)
    with transaction(engine) as s:
        assert s.execute(text("PRAGMA secure_delete")).scalar() == 0  # the simulated default holds
        s.execute(update(ImportBatch).values(imported_at=datetime(2020, 1, 1, tzinfo=UTC)))
    report = purge(engine, date(2021, 1, 1))
    assert report.candidates == 60
    engine.dispose()
    raw = db.read_bytes()
    for leftover in (b"secret.person", b"Xyzzyfam"):
        assert raw.count(leftover) == 0, f"{raw.count(leftover)} copies of {leftover!r} recoverable from the file"
