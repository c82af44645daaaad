"""Malformed inputs (tests/corpus/): each gives a clear error and leaves the database byte-for-byte unchanged.

A valid base scheme (tests/corpus/base/) is imported first so the database is
not empty; each corpus file is then imported with ``placement import KIND
FILE`` (offer answers with ``placement offer import FILE``, mapping files as
the ``--mapping`` of a valid candidates import, option files as the arguments of a command) on a
fresh copy of that database. The command must fail (non-zero exit,
no traceback) with a message naming the file, the row and column where there
is one, and the problem; special category values must not be echoed; and
``sqlite3``'s dump of the file must be identical before and after.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from placement.cli import cli

CORPUS = Path(__file__).resolve().parent / "corpus"
BASE = CORPUS / "base"


def _manifest() -> list[dict[str, str]]:
    with (CORPUS / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


MANIFEST = _manifest()

# Corpus files that still crash, with the bug report; strict, so they flip to failures once fixed.
# Corpus files whose refusal is a known open bug (strict xfail until fixed); none open now.
KNOWN_BUGS: dict[str, str] = {}


def _params():
    for row in MANIFEST:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[row["file"]])] if row["file"] in KNOWN_BUGS else []
        yield pytest.param(row, id=row["file"], marks=marks)


def dump(db_file: Path) -> str:
    """Every row of every table, as SQL: equal dumps mean an unchanged database."""
    conn = sqlite3.connect(db_file)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A database holding the valid base scheme (imported through the CLI, as a coordinator would)."""
    db = tmp_path_factory.mktemp("corpus") / "base.db"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", "import", "dir", str(BASE)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from candidates").fetchone()[0] == 6
        assert conn.execute("select count(*) from preferences").fetchone()[0] == 11
    return db


def test_corpus_is_big_and_covers_every_file_kind():
    kinds = {row["kind"] for row in MANIFEST}
    assert len(MANIFEST) >= 40
    assert kinds == {
        "candidates",
        "hosts",
        "preferences",
        "host_rankings",
        "targets",
        "pairs",
        "offers",
        "mappings",
        "options",
        "capped",
    }
    workbooks = {row["file"] for row in MANIFEST if row["file"].endswith((".xlsx", ".xlsm", ".ods"))}
    assert len(workbooks) >= 8
    listed = {row["file"] for row in MANIFEST}
    on_disk = {
        p.relative_to(CORPUS).as_posix()
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent not in (CORPUS, BASE) and "__pycache__" not in p.parts
    }
    assert listed == on_disk, "every corpus file is in manifest.csv and vice versa"


def test_committed_corpus_matches_its_generator(tmp_path):
    from tests.corpus.make_corpus import write

    for case in write(tmp_path):
        committed = (CORPUS / case.path).read_bytes()
        if case.encrypt:  # encrypted with a random salt: compare what it decrypts to
            assert (tmp_path / case.path).read_bytes() == committed
        else:
            assert committed == case.data, f"{case.path} differs: rerun tests/corpus/make_corpus.py"
    assert (tmp_path / "manifest.csv").read_bytes() == (CORPUS / "manifest.csv").read_bytes()


@pytest.mark.parametrize("case", list(_params()))
def test_malformed_file_is_refused_cleanly(case, base_db, tmp_path):
    db = tmp_path / "placement.db"
    shutil.copyfile(base_db, db)
    before = dump(db)
    path = CORPUS / case["file"]
    kind = case["kind"].replace("_", "-")
    if kind == "offers":
        command = ["offer", "import", str(path)]
    elif kind == "mappings":
        command = ["import", "candidates", str(BASE / "candidates.csv"), "--mapping", str(path)]
    elif kind == "options":
        command = path.read_text(encoding="utf-8").splitlines()
    elif kind == "capped":  # a file past small caps: refused before it is read whole
        command = [
            "import",
            path.name.split("__")[0].replace("_", "-"),
            str(path),
            "--max-rows",
            "100",
            "--max-bytes",
            "20000",
        ]
    else:
        command = ["import", kind, str(path)]

    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{db}", *command])

    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    assert isinstance(result.exception, SystemExit), f"not a clean failure:\n{crash}\n{result.output}"
    assert result.exit_code != 0, result.output
    out = result.output
    assert "Traceback" not in out
    if kind != "options":  # a bad option names the option (the manifest's column)
        assert path.name in out, f"message does not name the file:\n{out}"
    if case["row"]:
        assert f"row {case['row']}" in out, f"message does not name row {case['row']}:\n{out}"
    if case["column"]:
        assert case["column"] in out, f"message does not name column {case['column']}:\n{out}"
    assert case["expect"] in out, f"message lacks {case['expect']!r}:\n{out}"
    if case["secret"]:
        assert case["secret"] not in out, "a special category value was echoed"
    if kind not in ("mappings", "options"):  # a bad mapping or option stops the command before any file is read
        assert "nothing was written" in out
    assert dump(db) == before, "the database changed"
