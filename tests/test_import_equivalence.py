"""One scheme, three ways in: CSV files, a workbook, and the wide-layout workbook export with its mapping.

All three must give the same database (apart from the import records, which
name the files), so a coordinator can import whatever they were sent.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.ingest import import_dir, load_mapping
from tests.helpers.ingest import dump
from tests.helpers.xlsx import Sheet, workbook

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fixtures" / "sample"
WORKBOOK = REPO / "fixtures" / "workbook"
KINDS = ("candidates", "hosts", "preferences")


def _import(tmp_path: Path, name: str, folder: Path, mapping=None) -> dict:
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    upgrade(engine)
    reports = import_dir(engine, folder, mapping=mapping)
    assert [r.kind for r in reports] == list(KINDS)
    state = dump(engine)
    engine.dispose()
    # The import records name the files and their checksums, and the `default` cohort row the time the
    # database was made: the only rows that differ.
    for table in ("import_batches", "audit_log", "cohorts"):
        state.pop(table, None)
    return state


def _csv_rows(name: str) -> list[list[object]]:
    with (SAMPLE / name).open(newline="", encoding="utf-8") as fh:
        return [list(r) for r in csv.reader(fh)]


def test_csv_workbook_and_wide_workbook_give_identical_databases(tmp_path):
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for kind in KINDS:
        shutil.copy(SAMPLE / f"{kind}.csv", csv_dir)
    from_csv = _import(tmp_path, "csv", csv_dir)
    assert len(from_csv["candidates"]) == 60 and len(from_csv["preferences"]) == 388

    # The same files as sheets of one workbook, canonical headers, every cell text as in the CSV.
    long_dir = tmp_path / "long"
    long_dir.mkdir()
    (long_dir / "scheme.xlsx").write_bytes(workbook([Sheet(kind, _csv_rows(f"{kind}.csv")) for kind in KINDS]))
    (long_dir / "map.toml").write_text("".join(f'[{k}]\nfile = "scheme.xlsx"\nsheet = "{k}"\n' for k in KINDS))
    from_workbook = _import(tmp_path, "long", long_dir, load_mapping(long_dir / "map.toml"))

    from_wide = _import(tmp_path, "wide", WORKBOOK, load_mapping(WORKBOOK / "mapping.toml"))

    assert from_workbook == from_csv
    assert from_wide == from_csv


def test_the_workbook_fixture_is_what_its_script_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_workbook", WORKBOOK / "make_workbook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (WORKBOOK / module.NAME).read_bytes() == module.build(), "rerun fixtures/workbook/make_workbook.py"
