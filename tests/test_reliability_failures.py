"""When the database itself fails, every command says what happened and what to do: no tracebacks.

- a full disk or a lost PostgreSQL connection during an import is named as
  such (not "check that no one else is importing"), and nothing is written;
- a damaged SQLite file: `round show`, `solve`, `export` say it is damaged and
  how to recover;
- a database at a newer schema, or with placement's tables but no schema
  version: every command, and `db upgrade`, say so instead of failing inside
  Alembic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select, text

from placement.cli import cli
from placement.db.failures import DatabaseFailure
from placement.db.migrate import upgrade
from placement.db.models import Candidate
from placement.db.session import make_engine, transaction
from placement.ingest import import_dir, importer
from placement.rounds import RoundOptions, solve_round

BASE = Path(__file__).resolve().parent / "corpus" / "base"


def run(db: Path | str, *args: str):
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    result = CliRunner().invoke(cli, ["--db", url, *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_a_full_disk_during_an_import_is_named_and_nothing_is_written(tmp_path):
    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    engine.dispose()
    engine = make_engine(f"sqlite:///{db}")

    @event.listens_for(engine, "connect")
    def small_disk(dbapi_conn, _record):  # the file may not grow: SQLite reports SQLITE_FULL
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    from placement.generate import generate_scheme

    generate_scheme(tmp_path / "scheme", candidates=300, seed=3)
    with pytest.raises(DatabaseFailure) as excinfo:
        import_dir(engine, tmp_path / "scheme")
    message = str(excinfo.value)
    assert "disk holding the database is full" in message and "nothing was written" in message
    assert "no one else is importing" not in message
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_lost_during_an_import_is_named_and_nothing_is_written(pg_url, monkeypatch):
    engine = make_engine(pg_url)
    upgrade(engine)
    real = importer.record_import

    def record_then_lose_the_connection(conn, **kw):
        batch = real(conn, **kw)
        conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return batch

    monkeypatch.setattr(importer, "record_import", record_then_lose_the_connection)
    with pytest.raises(DatabaseFailure) as excinfo:
        import_dir(engine, BASE)
    message = str(excinfo.value)
    assert "connection to the database was lost during the import" in message
    assert "nothing was written" in message and "no one else is importing" not in message
    monkeypatch.undo()
    engine.dispose()
    engine = make_engine(pg_url)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 0
    engine.dispose()


@pytest.fixture
def damaged(tmp_path) -> Path:
    """A database with round 1 solved, whose tables' root pages (rounds, placements, ...) are then overwritten."""
    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, BASE)
    solve_round(engine, RoundOptions(time_limit=10))
    engine.dispose()
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [
        r
        for (r,) in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name IN ('rounds', 'placements', 'candidates', 'audit_log')"
        )
    ]
    conn.close()
    data = bytearray(db.read_bytes())
    # Whole pages, headers too: a page whose header survived is read by an index lookup (cohort_id, number) as a
    # page of garbage keys that match nothing, so SQLite only notices a wrong page type every time.
    for page in roots:  # pages are numbered from 1
        start = (page - 1) * page_size
        data[start : start + page_size] = bytes([0x5A]) * page_size
    db.write_bytes(bytes(data))
    return db


@pytest.mark.parametrize("args", [("round", "show", "1"), ("round", "list"), ("solve",), ("export", "1"), ("log",)])
def test_a_damaged_sqlite_file_is_named_as_damaged(damaged, tmp_path, args):
    if args[0] == "export":
        args = (*args, "--out", str(tmp_path / "out.csv"))
    result = run(damaged, *args)
    assert result.exit_code == 1, result.output
    assert "database file is damaged" in result.output and "backup" in result.output
    assert not (tmp_path / "out.csv").exists()


@pytest.fixture
def migrated(tmp_path) -> Path:
    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, BASE)
    engine.dispose()
    return db


@pytest.mark.parametrize("args", [("round", "list"), ("db", "upgrade"), ("import", "dir", str(BASE))])
def test_a_database_from_a_newer_placement_is_named_and_left_alone(migrated, args):
    with sqlite3.connect(migrated) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    before = migrated.read_bytes()
    result = run(migrated, *args)
    assert result.exit_code == 1, result.output
    assert "newer than this version of placement knows" in result.output
    assert "pip install --upgrade placement" in result.output
    assert migrated.read_bytes() == before


@pytest.mark.parametrize("args", [("round", "list"), ("db", "upgrade")])
def test_a_database_without_its_schema_version_is_named_and_left_alone(migrated, args):
    with sqlite3.connect(migrated) as conn:
        conn.execute("DROP TABLE alembic_version")
    before = migrated.read_bytes()
    result = run(migrated, *args)
    assert result.exit_code == 1, result.output
    assert "no schema version" in result.output and "already exists" not in result.output
    assert migrated.read_bytes() == before


def test_db_upgrade_to_an_unknown_revision_is_a_clear_error(migrated):
    result = run(migrated, "db", "upgrade", "--revision", "nope")
    assert result.exit_code == 1, result.output
    assert "Cannot migrate the database to 'nope'" in result.output
