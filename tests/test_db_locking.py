"""Imports on SQLite validate and write under one write lock (BEGIN IMMEDIATE).

pysqlite on its own begins a transaction at the first write, so an import's
validation reads (do the candidates a preferences file names exist? is this row
new or changed?) would run before it holds any lock, against a database another
import is about to change. ``write_transaction`` takes the write lock first:

- a second import waits for the first and then validates against its rows;
- an import that cannot get the lock within the busy timeout fails with a clear
  message and writes nothing;
- a dry run writes nothing, so it takes no write lock and does not wait.

Every test uses a real SQLite file (the ``engine`` fixture: migrated, empty).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from placement.cli import cli
from placement.db import session as db_session
from placement.db.models import AuditLog, Candidate, Host, ImportBatch, Preference, ProtectedCharacteristics
from placement.db.session import make_engine, sqlite_path, transaction, write_transaction
from placement.errors import ConcurrencyError
from placement.ingest import ImportReport, import_dir, import_file, importer

BASE = Path(__file__).resolve().parent / "corpus" / "base"
BUSY_MESSAGE = "Another placement command is writing to this database"
BUSY_HINT = "Wait for it to finish and run the command again."


def _rows(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1


def _counts(engine) -> dict[str, int]:
    with transaction(engine) as s:
        return {
            model.__name__: s.scalar(select(func.count()).select_from(model))
            for model in (Candidate, ProtectedCharacteristics, Host, Preference, ImportBatch, AuditLog)
        }


def _second_waits_for_first(
    sqlite_url: str, engine, monkeypatch, first: Callable[..., ImportReport], second: Callable[..., ImportReport]
) -> tuple[ImportReport, ImportReport]:
    """Run ``first`` until it holds its import transaction open (stopped inside it, after validating and
    recording its batch), start ``second`` on another engine, check that it is still waiting well after it
    sent its first statement, then let ``first`` commit. Returns both reports."""
    holding, release = threading.Event(), threading.Event()
    real_record = importer.record_import

    def record_and_hold(conn, **kw):
        batch_id = real_record(conn, **kw)
        if threading.current_thread().name == "first-import":
            holding.set()
            if not release.wait(60):
                raise RuntimeError("never released")
        return batch_id

    monkeypatch.setattr(importer, "record_import", record_and_hold)

    other = make_engine(sqlite_url)
    second_started = threading.Event()
    event.listen(other, "before_cursor_execute", lambda *_a, **_k: second_started.set())
    outcomes: dict[str, object] = {}

    def run(name: str, job: Callable[..., ImportReport], eng) -> None:
        try:
            outcomes[name] = job(eng)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcomes[name] = exc

    t1 = threading.Thread(target=run, args=("first", first, engine), name="first-import")
    t2 = threading.Thread(target=run, args=("second", second, other), name="second-import")
    try:
        t1.start()
        assert holding.wait(30), f"the first import never reached its write: {outcomes.get('first')!r}"
        t2.start()
        assert second_started.wait(30), "the second import never reached the database"
        t2.join(1.0)
        # With a lazy BEGIN the second import validates at once against the state without the first
        # import's rows (and fails, or plans the wrong writes); under BEGIN IMMEDIATE it is still waiting.
        assert t2.is_alive(), f"the second import did not wait for the first: {outcomes.get('second')!r}"
        assert "second" not in outcomes
    finally:
        release.set()
        t1.join(60)
        t2.join(60)
        other.dispose()
    assert not t1.is_alive() and not t2.is_alive(), "an import hung"
    for name in ("first", "second"):
        assert isinstance(outcomes[name], ImportReport), f"{name} import failed: {outcomes[name]!r}"
    return outcomes["first"], outcomes["second"]  # type: ignore[return-value]


def test_preferences_import_waits_for_a_candidates_import_and_validates_against_its_rows(
    sqlite_url, engine, monkeypatch
):
    import_file(engine, "hosts", BASE / "hosts.csv")
    first, second = _second_waits_for_first(
        sqlite_url,
        engine,
        monkeypatch,
        lambda eng: import_file(eng, "candidates", BASE / "candidates.csv"),
        # Names only candidates the first import adds: against the stale state every row is unknown.
        lambda eng: import_file(eng, "preferences", BASE / "preferences.csv"),
    )
    assert first.added == _rows(BASE / "candidates.csv")
    assert second.added == _rows(BASE / "preferences.csv")
    counts = _counts(engine)
    assert counts["Candidate"] == counts["ProtectedCharacteristics"] == _rows(BASE / "candidates.csv")
    assert counts["Preference"] == _rows(BASE / "preferences.csv")
    assert counts["ImportBatch"] == 3


def test_a_waiting_import_counts_its_changes_against_the_rows_the_first_wrote(
    sqlite_url, engine, tmp_path, monkeypatch
):
    """The same candidates with one score changed: 1 updated and the rest unchanged, not all added
    (which, planned against the stale state, would collide with the first import's rows)."""
    lines = (BASE / "candidates.csv").read_text().splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[4] = str(int(cells[4]) - 1)  # assessment_score
    changed = tmp_path / "candidates.csv"
    changed.write_text("".join([lines[0], ",".join(cells), *lines[2:]]))
    first, second = _second_waits_for_first(
        sqlite_url,
        engine,
        monkeypatch,
        lambda eng: import_file(eng, "candidates", BASE / "candidates.csv"),
        lambda eng: import_file(eng, "candidates", changed),
    )
    n = _rows(BASE / "candidates.csv")
    assert (first.added, first.updated, first.unchanged) == (n, 0, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 1, n - 1)
    with transaction(engine) as s:
        score = s.scalar(select(Candidate.assessment_score).where(Candidate.candidate_id == cells[0]))
    assert score == float(cells[4])


@pytest.fixture
def held_write_lock(sqlite_url, engine):
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE) until the test ends."""
    holder = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


def test_an_import_that_cannot_get_the_write_lock_in_time_fails_clearly_and_writes_nothing(
    sqlite_url, engine, held_write_lock
):
    quick = make_engine(sqlite_url, busy_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ConcurrencyError) as excinfo:
        import_dir(quick, BASE)
    waited = time.monotonic() - started
    quick.dispose()
    assert waited >= 0.25, "the import did not wait for the lock"
    assert excinfo.value.message.startswith(BUSY_MESSAGE)
    assert "write lock was still held after waiting 0.3 s" in excinfo.value.message
    assert "nothing was written" in excinfo.value.message
    assert excinfo.value.hint == BUSY_HINT
    assert set(_counts(engine).values()) == {0}


def test_the_cli_reports_a_held_write_lock_and_writes_nothing(sqlite_url, engine, held_write_lock, monkeypatch):
    monkeypatch.setattr(db_session, "BUSY_TIMEOUT", 0.2)
    result = CliRunner().invoke(cli, ["--db", sqlite_url, "import", "dir", str(BASE)])
    assert result.exit_code == 1, result.output
    assert BUSY_MESSAGE in result.output and BUSY_HINT in result.output
    assert "Traceback" not in result.output
    assert set(_counts(engine).values()) == {0}


def test_a_dry_run_takes_no_write_lock(sqlite_url, engine, held_write_lock):
    quick = make_engine(sqlite_url, busy_timeout=0.2)
    reports = import_dir(quick, BASE, dry_run=True)
    quick.dispose()
    assert {r.kind: r.added for r in reports}["candidates"] == _rows(BASE / "candidates.csv")
    assert all(r.dry_run and r.batch_id is None for r in reports)


def test_write_transaction_rolls_back_on_error_and_releases_the_lock(sqlite_url, engine):
    quick = make_engine(sqlite_url, busy_timeout=0.2)
    with pytest.raises(RuntimeError), write_transaction(quick) as conn:
        conn.execute(Host.__table__.insert().values(host_id="RZ1", name="Gone", org_type="acute", region="London"))
        raise RuntimeError("boom")
    with write_transaction(quick) as conn:  # the lock was released: this does not time out
        assert conn.scalar(select(func.count()).select_from(Host)) == 0
    quick.dispose()


@pytest.mark.postgres
def test_write_transaction_on_postgresql_is_a_plain_transaction(pg_url):
    from placement.db.migrate import upgrade

    eng = make_engine(pg_url)
    upgrade(eng)
    reports = import_dir(eng, BASE)
    assert {r.kind for r in reports} == {"candidates", "hosts", "preferences", "host_rankings", "targets", "pairs"}
    with write_transaction(eng) as conn:
        assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
    eng.dispose()
