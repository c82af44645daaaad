"""Imports and solves running at the same time on one database, and the SQLite file's permissions.

Two imports at once either both succeed or one fails with a clear message;
the database never holds half of an import (a candidate row from one file and
the equality record from the other, or a batch without its rows). Solves at
once are in test_reliability_solve.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from placement.cli import cli
from placement.db.migrate import upgrade
from placement.db.models import AuditLog, Candidate, Host, ImportBatch, ProtectedCharacteristics
from placement.db.session import make_engine, transaction
from placement.errors import InputError, PlacementError
from placement.ingest import import_dir, import_file
from tests.helpers.concurrency import CAND_HEADER, run_together

BASE = Path(__file__).resolve().parent / "corpus" / "base"


def _candidates_file(path: Path, tag: str, ethnic: str, n: int = 200) -> Path:
    """n new candidates C5000.. whose names carry ``tag``, all with one ethnic code."""
    rows = [
        f"C{5000 + i},{tag}{i},Family{tag},c{5000 + i}.{tag.lower()}@example.org,{50 + i % 50},data,London,yes,"
        f"female,{ethnic},no,no,\n"
        for i in range(n)
    ]
    path.write_text(CAND_HEADER + "".join(rows))
    return path


def _hosts_file(path: Path, n: int = 100) -> Path:
    rows = [f"H{i:04d},Host {i},acute,London,2,data,,\n" for i in range(n)]
    path.write_text("host_id,name,org_type,region,capacity,specialisms,min_score,min_placements\n" + "".join(rows))
    return path


@pytest.fixture
def base_url(any_db_url):
    engine = make_engine(any_db_url)
    upgrade(engine)
    import_dir(engine, BASE)
    engine.dispose()
    return any_db_url


def test_hosts_and_candidates_imported_at_once_both_land_whole(base_url, tmp_path):
    cands = _candidates_file(tmp_path / "candidates.csv", "Anna", "A")
    hosts = _hosts_file(tmp_path / "hosts.csv")
    engines = [make_engine(base_url), make_engine(base_url)]
    outcomes = run_together(
        lambda: import_file(engines[0], "candidates", cands), lambda: import_file(engines[1], "hosts", hosts)
    )
    for outcome in outcomes:
        # Both touch different tables: SQLite may make one wait, never fail; PostgreSQL runs them side by side.
        assert not isinstance(outcome, BaseException), repr(outcome)
    with transaction(engines[0]) as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 6 + 200
        assert s.scalar(select(func.count()).select_from(ProtectedCharacteristics)) == 6 + 200
        assert s.scalar(select(func.count()).select_from(Host)) == 4 + 100
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 6 + 2
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")) == 6 + 2
    for e in engines:
        e.dispose()


def test_two_files_adding_the_same_candidates_at_once_never_mix(base_url, tmp_path):
    """Both files add C5000..C5199, with different names and ethnic codes: one file wins whole."""
    a = _candidates_file(tmp_path / "a.csv", "Anna", "A")
    b = _candidates_file(tmp_path / "b.csv", "Bala", "H")
    engines = [make_engine(base_url), make_engine(base_url)]
    outcomes = run_together(
        lambda: import_file(engines[0], "candidates", a), lambda: import_file(engines[1], "candidates", b)
    )
    succeeded = [o for o in outcomes if not isinstance(o, BaseException)]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    for exc in failed:
        assert isinstance(exc, PlacementError), f"not a clear failure: {exc!r}"
        assert "nothing was written" in str(exc)
    assert succeeded, f"both imports failed: {failed}"
    with transaction(engines[0]) as s:
        rows = s.execute(
            select(Candidate.given_name, ProtectedCharacteristics.ethnic_category)
            .join(ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id)
            .where(Candidate.candidate_id.like("C5%"))
        ).all()
        assert len(rows) == 200
        # Every candidate's row and equality record come from the same file, and all from one file.
        pairs = {(name.rstrip("0123456789"), code) for name, code in rows}
        assert pairs in ({("Anna", "A")}, {("Bala", "H")}), f"mixed imports: {sorted(pairs)[:4]}"
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 6 + len(succeeded)
    for e in engines:
        e.dispose()


def test_import_through_the_cli_creates_an_owner_only_sqlite_file(tmp_path):
    db = tmp_path / "new" / "placement.db"
    old = os.umask(0o022)  # a typical umask, which would give 0644
    try:
        result = CliRunner().invoke(
            cli, ["--db", f"sqlite:///{db}", "import", "dir", str(BASE)], catch_exceptions=False
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_db_upgrade_through_the_cli_creates_an_owner_only_sqlite_file(tmp_path):
    db = tmp_path / "placement.db"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_an_existing_world_readable_sqlite_file_is_tightened(tmp_path):
    db = tmp_path / "placement.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "import", "dir", str(BASE)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


@pytest.mark.postgres
def test_a_number_past_postgresqls_integer_range_is_a_cell_error(pg_url, tmp_path):
    engine = make_engine(pg_url)
    upgrade(engine)
    hosts = tmp_path / "hosts.csv"
    hosts.write_text("host_id,name,org_type,region,capacity,specialisms\nRZ9,Big Trust,acute,London,3000000000,data\n")
    with pytest.raises(InputError) as excinfo:
        import_file(engine, "hosts", hosts)
    engine.dispose()
    assert "row 2" in str(excinfo.value) and "capacity" in str(excinfo.value)


def test_an_import_killed_while_writing_leaves_the_database_as_it_was(tmp_path):
    """SIGKILL `placement import dir` the moment SQLite's rollback journal appears (mid-write)."""
    import sqlite3
    import subprocess
    import sys
    import time

    from placement.generate import generate_scheme

    generate_scheme(tmp_path / "scheme", candidates=1500, seed=4)
    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, BASE)
    engine.dispose()

    def dump() -> str:
        conn = sqlite3.connect(db)  # opening the file rolls a hot journal back
        try:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            return "\n".join(conn.iterdump())
        finally:
            conn.close()

    before = dump()
    journal = db.with_name(db.name + "-journal")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from placement.cli import main; main()",
            "--db",
            f"sqlite:///{db}",
            "import",
            "dir",
            str(tmp_path / "scheme"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    caught = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists():
            proc.kill()
            caught = True
            break
        time.sleep(0.001)
    proc.wait(timeout=30)
    assert caught, "the import finished before its write could be interrupted"
    assert dump() == before
