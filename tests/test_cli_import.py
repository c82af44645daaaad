"""`placement import ...` against real files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from placement.cli import cli
from placement.db.session import make_engine
from tests.helpers.ingest import (
    CANDIDATE_HEADER,
    candidates_rows,
    counts,
    dump,
    write_csv,
    write_scheme,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _run(url: str, *args: str):
    return CliRunner().invoke(cli, ["--db", url, "import", *args], catch_exceptions=False)


def _table_row(output: str, file: str) -> list[str]:
    """The cells of the report table's row for ``file``."""
    line = next(line for line in output.splitlines() if f" {file} " in line)
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_import_dir_then_again(sqlite_url: str, tmp_path: Path) -> None:
    scheme = write_scheme(tmp_path / "scheme")
    result = _run(sqlite_url, "dir", str(scheme))
    assert result.exit_code == 0, result.output
    assert _table_row(result.output, "candidates.csv")[:7] == ["candidates.csv", "candidates", "4", "4", "0", "0", "0"]
    assert _table_row(result.output, "host_rankings.csv")[:4] == ["host_rankings.csv", "host-rankings", "3", "3"]

    result = _run(sqlite_url, "dir", str(scheme))
    assert result.exit_code == 0
    row = _table_row(result.output, "preferences.csv")
    assert row[2:7] == ["6", "0", "0", "6", "0"] and "same file as before" in row[7]


def test_single_file_commands_and_dry_run(sqlite_url: str, tmp_path: Path) -> None:
    scheme = write_scheme(tmp_path / "scheme")
    assert _run(sqlite_url, "candidates", str(scheme / "candidates.csv")).exit_code == 0
    assert _run(sqlite_url, "hosts", str(scheme / "hosts.csv")).exit_code == 0
    engine = make_engine(sqlite_url)
    before = dump(engine)
    result = _run(sqlite_url, "host-rankings", str(scheme / "host_rankings.csv"), "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: nothing was written" in result.output
    assert _table_row(result.output, "host_rankings.csv")[3] == "3"
    assert dump(engine) == before
    result = _run(sqlite_url, "host-rankings", str(scheme / "host_rankings.csv"))
    assert result.exit_code == 0 and counts(engine)["host_rankings"] == 3
    engine.dispose()


def test_bad_file_fails_with_every_problem_and_writes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    scheme = write_scheme(tmp_path / "scheme")
    assert _run(sqlite_url, "dir", str(scheme)).exit_code == 0
    rows = candidates_rows()
    rows[0]["assessment_score"] = "150"
    rows[1]["ethnic_category"] = "Secret Value"
    rows[2]["home_region"] = "Atlantis"
    path = write_csv(tmp_path / "candidates.csv", rows, CANDIDATE_HEADER)
    engine = make_engine(sqlite_url)
    before = dump(engine)

    result = _run(sqlite_url, "candidates", str(path))
    assert result.exit_code == 1
    assert "3 problem(s) in the input; nothing was written." in result.output
    assert "candidates.csv, row 2, column 'assessment_score'" in result.output
    assert "candidates.csv, row 3, column 'ethnic_category': is not a recognised NHS ethnic category code." in (
        result.output
    )
    assert "Secret Value" not in result.output
    assert "row 4, column 'home_region'" in result.output and "Fix: use one of: London" in result.output
    assert dump(engine) == before

    result = _run(sqlite_url, "candidates", str(path), "--max-errors", "1")
    assert result.exit_code == 1 and "... and 2 more problems not shown." in result.output
    engine.dispose()


def test_messy_fixture_with_mapping(sqlite_url: str) -> None:
    result = _run(sqlite_url, "dir", str(FIXTURES / "messy"), "--mapping", str(FIXTURES / "messy" / "mapping.toml"))
    assert result.exit_code == 0, result.output
    assert _table_row(result.output, "AC_export_2025.csv")[2:4] == ["20", "20"]
    assert _table_row(result.output, "Preferences_2025.csv")[2:4] == ["47", "47"]


def test_bad_mapping_is_a_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[candidates.columns]\n"Ref" = "reference"\n')
    scheme = write_scheme(tmp_path / "scheme")
    result = _run(sqlite_url, "dir", str(scheme), "--mapping", str(mapping))
    assert result.exit_code == 1
    assert "'Ref' maps to 'reference', which is not a column of candidates" in result.output


def test_missing_file_and_empty_folder(sqlite_url: str, tmp_path: Path) -> None:
    result = _run(sqlite_url, "preferences", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "does not exist" in result.output  # usage errors exit 1 (README)
    (tmp_path / "empty").mkdir()
    result = _run(sqlite_url, "dir", str(tmp_path / "empty"))
    assert result.exit_code == 1 and "No import files" in result.output


def test_generated_scheme_imports(sqlite_url: str, tmp_path: Path) -> None:
    """What `placement fixtures generate` writes imports as it is, all six files."""
    out = tmp_path / "generated"
    generated = CliRunner().invoke(
        cli, ["fixtures", "generate", str(out), "--candidates", "300", "--seed", "7"], catch_exceptions=False
    )
    assert generated.exit_code == 0, generated.output
    result = _run(sqlite_url, "dir", str(out))
    assert result.exit_code == 0, result.output
    assert _table_row(result.output, "candidates.csv")[2:4] == ["300", "300"]
    assert _table_row(result.output, "preferences.csv")[3] != "0"


@pytest.mark.skipif(not (FIXTURES / "sample").is_dir(), reason="fixtures/sample not written yet")
def test_sample_scheme_imports(sqlite_url: str) -> None:
    result = _run(sqlite_url, "dir", str(FIXTURES / "sample"))
    assert result.exit_code == 0, result.output
    assert _table_row(result.output, "candidates.csv")[3] != "0"
