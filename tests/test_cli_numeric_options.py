"""Numeric options are finite and in range, checked where typed (CLI) and by the library (RoundOptions).

The file-based cases (``inf``, ``nan``, negative workers on SQLite) are in the
corpus (tests/corpus/options); here: the library's own check, and PostgreSQL,
where ``--time-limit inf`` used to end in a 102-line ``DataError`` traceback.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from placement.cli import cli
from placement.db.migrate import upgrade
from placement.db.models import Round
from placement.db.session import make_engine, transaction
from placement.errors import ConfigError
from placement.ingest import import_dir
from placement.rounds import RoundOptions

BASE = Path(__file__).resolve().parent / "corpus" / "base"


@pytest.mark.parametrize(
    "field,value",
    [
        ("time_limit", math.inf),
        ("time_limit", math.nan),
        ("time_limit", -1.0),
        ("time_limit", 0.0),
        ("min_placement_weight", math.nan),
        ("min_placement_weight", -math.inf),
        ("workers", -3),
        ("workers", 0),
        ("workers", 2.5),
    ],
)
def test_round_options_refuse_values_that_mean_nothing(field, value):
    with pytest.raises(ConfigError):
        RoundOptions(**{field: value})


@pytest.mark.parametrize("args", [["--time-limit", "inf"], ["--min-placement-weight", "nan"], ["--workers", "-3"]])
def test_bad_numeric_options_on_postgresql_store_nothing_and_print_no_traceback(pg_url, args):
    engine = make_engine(pg_url)
    upgrade(engine)
    import_dir(engine, BASE)
    result = CliRunner().invoke(cli, ["--db", pg_url, "solve", *args])
    assert result.exit_code == 1, result.output  # a usage error (README's exit codes)
    assert "Invalid value" in result.output and "Traceback" not in result.output
    assert "C001" not in result.output
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Round)) == 0
    engine.dispose()
