"""Import caps: a file past the byte or row limit is refused clearly, before it is read whole.

The defaults (100 MB, 1,000,000 data rows) come from ``placement.config``;
``PLACEMENT_MAX_IMPORT_BYTES``/``PLACEMENT_MAX_IMPORT_ROWS`` and the import
commands' ``--max-bytes``/``--max-rows`` change them. The corpus has the
small-cap cases (tests/corpus/capped); here: a huge (sparse) file is refused
by its size without being read, and the environment settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from placement.cli import cli
from placement.config import ImportLimits, import_limits
from placement.errors import ConfigError, InputError
from placement.ingest import import_file


def test_a_huge_file_is_refused_by_its_size_without_reading_it(engine, tmp_path):
    huge = tmp_path / "preferences.csv"
    with huge.open("wb") as fh:
        fh.write(b"candidate_id,host_id,rank\n")
        fh.truncate(150_000_000)  # sparse: 150 MB on paper, nothing on disk
    with pytest.raises(InputError) as excinfo:
        import_file(engine, "preferences", huge)
    assert "is 150.0 MB, more than the 100.0 MB an import reads" in str(excinfo.value)
    assert "--max-bytes" in str(excinfo.value)


def test_the_environment_sets_the_caps(monkeypatch, tmp_path, sqlite_url):
    monkeypatch.setenv("PLACEMENT_MAX_IMPORT_ROWS", "2")
    monkeypatch.setenv("PLACEMENT_MAX_IMPORT_BYTES", "1_000_000")
    assert import_limits() == ImportLimits(max_bytes=1_000_000, max_rows=2)
    prefs = tmp_path / "preferences.csv"
    prefs.write_text("candidate_id,host_id,rank\nC1,H1,1\nC1,H2,2\nC1,H3,3\n")
    result = CliRunner().invoke(cli, ["--db", sqlite_url, "import", "preferences", str(prefs)])
    assert result.exit_code == 1
    assert "row 4" in result.output and "past the 2 data rows" in result.output
    # The command line wins over the environment.
    result = CliRunner().invoke(cli, ["--db", sqlite_url, "import", "preferences", str(prefs), "--max-rows", "10"])
    assert "past the" not in result.output


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_bad_cap_setting_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("PLACEMENT_MAX_IMPORT_ROWS", value)
    with pytest.raises(ConfigError, match="PLACEMENT_MAX_IMPORT_ROWS"):
        import_limits()


def test_offer_answers_are_capped_too(monkeypatch, tmp_path, engine):
    from placement.offers import import_answers

    monkeypatch.setenv("PLACEMENT_MAX_IMPORT_BYTES", "100")
    answers = tmp_path / "answers.csv"
    answers.write_text("candidate_id,response\n" + "".join(f"C{i},accept\n" for i in range(50)))
    with pytest.raises(InputError, match="more than the 100 bytes"):
        import_answers(engine, Path(answers))
