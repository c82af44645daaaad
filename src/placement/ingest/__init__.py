"""CSV ingestion: read (encodings, mapping files), validate, upsert in one transaction.

The library API the CLI calls::

    from placement.ingest import import_dir, import_file, load_mapping

    reports = import_dir(engine, "data/", mapping=load_mapping("map.toml"))
    report = import_file(engine, "preferences", "prefs.csv", dry_run=True)

Any bad input raises :class:`~placement.errors.InputError` listing every
problem (file, row, column, fix) up to ``max_errors``, and nothing is written.
"""

from __future__ import annotations

from .importer import ImportReport, files_in, import_dir, import_file
from .mapping import KINDS, FileMapping, Mapping, canonical_kind, load_mapping

__all__ = [
    "KINDS",
    "FileMapping",
    "ImportReport",
    "Mapping",
    "canonical_kind",
    "files_in",
    "import_dir",
    "import_file",
    "load_mapping",
]
