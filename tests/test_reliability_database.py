"""A wrong --db gives a clear message, never a traceback.

Coordinators type database URLs by hand and point them at the wrong file;
every such mistake must end in one ``Error: ...`` line saying what to do.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from click.testing import CliRunner

from placement.cli import cli


def clean_failure(*args: str):
    result = CliRunner().invoke(cli, list(args))
    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    assert isinstance(result.exception, SystemExit), f"not a clean failure:\n{crash}"
    assert result.exit_code != 0
    assert result.output.startswith("Error:"), result.output
    return result.output


def test_not_a_url():
    assert "Not a database URL" in clean_failure("--db", "nonsense", "round", "list")


def test_server_not_running():
    out = clean_failure("--db", "postgresql+psycopg://postgres@127.0.0.1:1/nothing", "round", "list")
    assert "Cannot open the database" in out


def test_an_empty_directory_is_not_a_database(tmp_path):
    folder = tmp_path / "placement.db"
    folder.mkdir()
    clean_failure("--db", f"sqlite:///{folder}", "round", "list")


def test_an_old_or_foreign_sqlite_file_is_not_upgraded_silently(tmp_path):
    import sqlite3

    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table customers (id integer primary key, name text)")
    out = clean_failure("--db", f"sqlite:///{db}", "round", "list")
    assert "placement db upgrade" in out
    with sqlite3.connect(db) as conn:  # the other application's table is untouched and nothing was added
        assert [r[0] for r in conn.execute("select name from sqlite_master where type='table'")] == ["customers"]


def test_a_file_that_is_not_sqlite(tmp_path):
    junk = tmp_path / "placement.db"
    junk.write_bytes(bytes(range(256)) * 40)
    out = clean_failure("--db", f"sqlite:///{junk}", "round", "list")
    assert "placement.db" in out


def test_a_sqlite_path_that_cannot_be_created():
    out = clean_failure("--db", "sqlite:////proc/nope/placement.db", "round", "list")
    assert "/proc/nope" in out


def test_an_unsupported_backend():
    out = clean_failure("--db", "mysql://user@localhost/placement", "round", "list")
    assert "PostgreSQL" in out


def test_sqlite_file_in_a_new_folder_is_created(tmp_path):
    db: Path = tmp_path / "deep" / "er" / "placement.db"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "round", "list"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert db.exists()
