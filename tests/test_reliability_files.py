"""Files placement writes: owner-only whatever the umask, atomic, never through links or onto devices.

- exports and restricted audit reports are 0600, also when they replace a
  0644 file and under umask 000; folders placement creates are 0700;
- ``--db`` checks what it points at before changing anything: a text file or a
  folder is refused and left exactly as it was;
- temporary files are created with ``mkstemp`` next to the target (a planted
  link at a predictable name is never followed); a target that is a link, a
  folder or a FIFO is refused;
- an export or audit while another command holds SQLite's write lock fails
  clearly before anything is written, and every file written is in the log;
- disk full / missing folder while writing: a clear message, no ``.tmp`` left.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from placement.cli import cli
from placement.db.migrate import upgrade
from placement.db.models import AuditLog
from placement.db.session import make_engine, transaction
from placement.errors import ConcurrencyError, ConfigError
from placement.export import export_round
from placement.ingest import import_dir
from placement.rounds import RoundOptions, solve_round

BASE = Path(__file__).resolve().parent / "corpus" / "base"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def solved(tmp_path) -> Path:
    """A SQLite database with the base scheme and round 1 solved."""
    db = tmp_path / "placement.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, BASE)
    solve_round(engine, RoundOptions(time_limit=10))
    engine.dispose()
    return db


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- owner-only files and folders


def test_a_sensitive_export_is_owner_only_under_umask_000_and_when_replacing_a_public_file(solved, tmp_path):
    out = tmp_path / "export.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    with umask(0):
        result = run("--db", f"sqlite:///{solved}", "export", "1", "--out", str(out), "--include-sensitive")
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    assert out.read_text().startswith("round,candidate_id")
    assert leftovers(tmp_path) == []


def test_an_export_into_new_folders_makes_them_owner_only(solved, tmp_path):
    out = tmp_path / "new" / "deeper" / "export.csv"
    with umask(0):
        result = run("--db", f"sqlite:///{solved}", "export", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    assert mode(out.parent) == 0o700 and mode(out.parent.parent) == 0o700


def test_an_internal_audit_is_owner_only_under_umask_000(solved, tmp_path):
    out = tmp_path / "audit.html"
    out.write_text("old")
    os.chmod(out, 0o644)
    with umask(0):
        result = run("--db", f"sqlite:///{solved}", "audit", "1", "--edition", "internal", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600


def test_a_new_database_folder_is_owner_only_under_umask_000(tmp_path):
    db = tmp_path / "fresh" / "sub" / "placement.db"
    with umask(0):
        result = run("--db", f"sqlite:///{db}", "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700


# ---------------------------------------------------------------- --db checks before it touches anything


@pytest.mark.parametrize("command", [("round", "list"), ("db", "upgrade"), ("import", "dir", str(BASE))])
def test_db_pointing_at_a_text_file_is_refused_and_the_file_left_alone(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    os.chmod(notes, 0o644)
    result = run("--db", f"sqlite:///{notes}", *command)
    assert result.exit_code != 0
    assert "is not a placement database" in result.output and "left untouched" in result.output
    assert mode(notes) == 0o644
    assert notes.read_text() == "my notes\n"


def test_db_pointing_at_a_folder_is_refused_and_the_folder_left_alone(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    os.chmod(folder, 0o755)
    result = run("--db", f"sqlite:///{folder}", "round", "list")
    assert result.exit_code != 0
    assert "is not a placement database (it is a folder)" in result.output
    assert mode(folder) == 0o755


# ---------------------------------------------------------------- temporary files and odd targets


def test_a_link_planted_at_the_old_temporary_name_is_not_followed(solved, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "export.csv"
    for name in ("export.csv.tmp", ".export.csv.tmp"):
        os.symlink(victim, tmp_path / name)
    result = run("--db", f"sqlite:///{solved}", "export", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert out.read_text().startswith("round,candidate_id")


@pytest.mark.parametrize("kind", ["symlink", "fifo"])  # a folder: click's own check refuses it
def test_an_out_that_is_not_a_regular_file_is_refused_and_left_alone(solved, tmp_path, kind):
    out = tmp_path / "target.csv"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    if kind == "symlink":
        os.symlink(victim, out)
    else:
        os.mkfifo(out)
    for command in (("export", "1"), ("audit", "1", "--format", "csv")):
        result = run("--db", f"sqlite:///{solved}", *command, "--out", str(out))
        assert result.exit_code != 0, result.output
        assert "not a regular file" in result.output and "nothing was written" in result.output
    st = os.lstat(out)
    assert {"symlink": stat.S_ISLNK, "fifo": stat.S_ISFIFO}[kind](st.st_mode)
    assert victim.read_text() == "precious"
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- logged first, clear when locked


@pytest.mark.parametrize("what", ["export", "audit"])
def test_export_and_audit_while_the_write_lock_is_held_fail_clearly_and_write_nothing(solved, tmp_path, what):
    from placement.audit import write_report

    out = tmp_path / ("out.csv" if what == "export" else "out.json")
    quick = make_engine(f"sqlite:///{solved}", busy_timeout=0.3)
    holder = sqlite3.connect(solved, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ConcurrencyError) as excinfo:
            if what == "export":
                export_round(quick, 1, out)
            else:
                write_report(quick, 1, "json", out)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        quick.dispose()
    assert "Another placement command is writing to this database" in excinfo.value.message
    assert not out.exists()
    assert leftovers(tmp_path) == []
    engine = make_engine(f"sqlite:///{solved}")
    with transaction(engine) as s:
        assert s.scalars(select(AuditLog.action)).all().count(what) == 0
    engine.dispose()


def test_every_export_written_is_in_the_log(solved, tmp_path):
    engine = make_engine(f"sqlite:///{solved}")
    export_round(engine, 1, tmp_path / "a.csv")
    with transaction(engine) as s:
        details = s.scalars(select(AuditLog.detail).where(AuditLog.action == "export")).all()
    engine.dispose()
    assert details == [f"round 1 placements to a.csv ({len((tmp_path / 'a.csv').read_text().splitlines()) - 1} rows)"]


# ---------------------------------------------------------------- disk full, missing folder


def test_an_export_on_a_full_disk_says_so_and_leaves_nothing(solved, tmp_path, monkeypatch):
    out = tmp_path / "export.csv"
    out.write_text("previous export")

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("placement.files.os.fsync", full)
    result = run("--db", f"sqlite:///{solved}", "export", "1", "--out", str(out))
    assert result.exit_code != 0
    assert "the disk is full" in result.output and "Nothing was written" in result.output
    assert out.read_text() == "previous export"
    assert leftovers(tmp_path) == []
    engine = make_engine(f"sqlite:///{solved}")
    with transaction(engine) as s:
        assert "export" not in s.scalars(select(AuditLog.action)).all()
    engine.dispose()


def test_an_export_under_a_file_instead_of_a_folder_says_so(solved, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = run("--db", f"sqlite:///{solved}", "export", "1", "--out", str(blocker / "export.csv"))
    assert result.exit_code != 0
    assert "Cannot write" in result.output and "Traceback" not in result.output


def test_atomic_write_refuses_before_creating_anything(tmp_path):
    from placement.files import atomic_write

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    for name in ("pipe", "folder"):
        with pytest.raises(ConfigError, match="not a regular file"), atomic_write(tmp_path / name) as fh:
            fh.write(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe"]
