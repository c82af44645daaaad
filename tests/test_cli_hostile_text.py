"""User-supplied strings are printed as text: never rich markup, never terminal escapes.

A target named ``[/bold]``, a host named ``[link=...]``, an approver named with
an escape sequence: every command that shows them prints them literally (markup
brackets as brackets, control characters as visible escapes such as ``\\x1b``),
and the import refuses C1 controls and bidi overrides in cells.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from placement.cli import cli
from placement.db.models import AuditLog, Round
from placement.db.session import make_engine, transaction
from placement.text import refused_in_id, refused_in_text, visible

BASE = Path(__file__).resolve().parent / "corpus" / "base"
MARKUP_TARGET = "[/bold]women[bold]"
LINK_HOST = "[link=http://evil.example]Royal London[/link]"
ESCAPE = "\x1b]0;PWNED\x07"


def run(db: Path, *args: str, ok: bool = True):
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["--db", f"sqlite:///{db}", *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def hostile(tmp_path) -> Path:
    """The base scheme with a markup target name and a host name holding a link tag; round 1 solved."""
    scheme = tmp_path / "scheme"
    shutil.copytree(BASE, scheme)
    targets = (scheme / "targets.csv").read_text().replace("women-cohort", MARKUP_TARGET)
    (scheme / "targets.csv").write_text(targets)
    hosts = (scheme / "hosts.csv").read_text().replace("Royal London Hospitals", f'"{LINK_HOST}"')
    (scheme / "hosts.csv").write_text(hosts)
    db = tmp_path / "placement.db"
    run(db, "import", "dir", str(scheme))
    return db


def test_markup_in_names_is_printed_literally_by_solve_and_round_show(hostile):
    solved = run(hostile, "solve", "--time-limit", "10")
    assert MARKUP_TARGET in solved.output  # printed as typed, not read as a closing tag
    shown = run(hostile, "round", "show", "1")
    assert MARKUP_TARGET in shown.output
    run(hostile, "round", "list")
    run(hostile, "explain", "C004", "--round", "1", "--time-limit", "5")


def test_markup_in_an_import_report_file_name_is_printed_literally(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    odd = folder / "[bold]hosts.csv"
    shutil.copyfile(BASE / "hosts.csv", odd)
    result = run(tmp_path / "p.db", "import", "hosts", str(odd))
    assert "[bold]hosts.csv" in result.output


def test_an_approver_name_with_an_escape_sequence_is_refused_and_markup_is_kept_as_text(hostile):
    run(hostile, "solve", "--time-limit", "10")
    refused = run(hostile, "round", "approve", "1", "--by", f"[/]{ESCAPE}", ok=False)
    assert refused.exit_code != 0
    assert "\x1b" not in refused.output and "\x07" not in refused.output
    assert "\\x1b" in refused.output  # named visibly
    approved = run(hostile, "round", "approve", "1", "--by", "[/]Alex [bold]Coordinator")
    assert "[/]Alex [bold]Coordinator" in approved.output
    assert "[/]Alex [bold]Coordinator" in run(hostile, "round", "list").output
    assert "Coordinator" in run(hostile, "log").output


def test_escape_sequences_already_stored_are_shown_visibly_everywhere(hostile):
    """Rows written before the checks existed (or by another tool) cannot act on the terminal either."""
    run(hostile, "solve", "--time-limit", "10")
    run(hostile, "round", "approve", "1", "--by", "Alex")
    engine = make_engine(f"sqlite:///{hostile}")
    with transaction(engine) as s:
        s.execute(update(Round).values(approved_by=f"Alex{ESCAPE}\u202eevil"))
        s.execute(update(AuditLog).values(os_user=f"me{ESCAPE}", detail=f"[link=http://x]{ESCAPE}"))
    engine.dispose()
    for args in (("round", "list"), ("round", "show", "1"), ("log",)):
        out = run(hostile, *args).output
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, args
        assert "\\x1b" in out, args


def test_unknown_candidate_id_with_an_escape_is_named_visibly(hostile):
    run(hostile, "solve", "--time-limit", "10")
    run(hostile, "round", "approve", "1", "--by", "Alex")
    result = run(hostile, "offer", "accept", f"C9{ESCAPE}", ok=False)
    assert result.exit_code != 0
    assert "no offer" in result.output or "no candidate" in result.output
    assert "\x1b" not in result.output and "C9\\x1b" in result.output


@pytest.mark.parametrize("cell", ["Ma\u0085ry", "Mary\u202e", "\u2066Mary\u2069", "Ma\u009bry"])
def test_import_refuses_c1_controls_and_bidi_overrides_naming_row_and_column(tmp_path, cell):
    cands = (BASE / "candidates.csv").read_text().splitlines()
    cands[1] = cands[1].replace("Ada", cell)
    path = tmp_path / "candidates.csv"
    path.write_text("\n".join(cands) + "\n", encoding="utf-8")
    result = run(tmp_path / "p.db", "import", "candidates", str(path), ok=False)
    assert result.exit_code != 0
    assert "row 2" in result.output and "given_name" in result.output and "control character" in result.output
    assert "nothing was written" in result.output
    assert not any(ch in result.output for ch in "\u0085\u202e\u2066\u009b")


def test_visible_escapes_hidden_characters_and_keeps_the_rest():
    assert visible("Zoë [b]") == "Zoë [b]"
    assert visible("a\x1bb\u202ec\u200bd") == "a\\x1bb\\u202ec\\u200bd"
    assert visible("one\ntwo") == "one\\x0atwo"
    assert visible("one\ntwo", multiline=True) == "one\ntwo"
    assert refused_in_text("Zoë\u200dx") is None  # a zero-width joiner is part of some scripts
    assert refused_in_text("x\u202e") == "\\u202e"
    assert refused_in_id("C001\u200b") == "\\u200b"
