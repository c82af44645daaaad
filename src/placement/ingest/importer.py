"""Importing files: read, validate everything, then write everything in one transaction.

All or nothing: every file of an import is read and validated (against the
database and against the other files) before the first write, and all writes
share one transaction, so any problem — or any failure while writing — leaves
the database exactly as it was. That transaction holds the database's write
lock from its first read (``write_transaction``; BEGIN IMMEDIATE on SQLite,
the "scheme" advisory lock on PostgreSQL), so validation and the added/updated/unchanged counts see the database the
writes change: a second import waits for the first to commit, then validates
against its rows.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..cohorts import resolve
from ..config import ImportLimits, os_user
from ..db.failures import describe
from ..db.session import write_transaction
from ..errors import ConfigError, InputError, PlacementError
from .mapping import (
    IMPORT_KINDS,
    KINDS,
    NO_MAPPING,
    FileMapping,
    Mapping,
    canonical_kind,
    load_mapping,
    valid_delimiter,
)
from .reader import Problems, Table, read_table
from .store import PLANNERS, ImportReport, Snapshot, record_import
from .validate import validate
from .workbook import WORKBOOK_SUFFIXES, Workbooks

log = logging.getLogger(__name__)


def _as_mapping(mapping: Mapping | str | Path | None) -> Mapping:
    if mapping is None:
        return NO_MAPPING
    if isinstance(mapping, Mapping):
        return mapping
    return load_mapping(mapping)


def import_file(
    engine: Engine,
    kind: str,
    path: str | Path,
    *,
    mapping: Mapping | str | Path | None = None,
    dry_run: bool = False,
    max_errors: int = 50,
    sheet: str | None = None,
    delimiter: str | None = None,
    limits: ImportLimits | None = None,
    cohort: str | None = None,
) -> ImportReport:
    """Import one file of ``kind`` (candidates, hosts, preferences, host_rankings, targets, pairs) into a cohort.

    ``path`` is CSV or a workbook (.xlsx, .xlsm, .ods); ``sheet`` and ``delimiter``
    override the mapping file's ``sheet`` and ``delimiter`` for this file.
    ``cohort`` names the cohort; None means the only open cohort (``cohorts.resolve``).
    ``outcomes`` files name each row's cohort themselves (``ingest.outcomes``).
    """
    kind = canonical_kind(kind, IMPORT_KINDS)
    loaded = _with_options(_as_mapping(mapping), [kind], sheet=sheet, delimiter=delimiter)
    if kind == "outcomes":
        from .outcomes import import_outcomes

        return import_outcomes(
            engine, path, loaded, dry_run=dry_run, max_errors=max_errors, cohort=cohort, limits=limits
        )
    return _import(engine, [(kind, Path(path))], loaded, dry_run, max_errors, limits, cohort)[0]


def _with_options(mapping: Mapping, kinds: list[str], *, sheet: str | None, delimiter: str | None) -> Mapping:
    """The mapping with command-line options applied to ``kinds`` (an option wins over the mapping file)."""
    if delimiter is not None and not valid_delimiter(delimiter):
        raise ConfigError(
            f"--delimiter {delimiter!r} is not one character.",
            "Give one character, e.g. --delimiter ';' (or --delimiter tab).",
        )
    if sheet is not None and not sheet.strip():
        raise ConfigError("--sheet is blank.", "Give the name of the sheet as the workbook shows it on its tab.")
    if sheet is None and delimiter is None:
        return mapping
    changed: dict[str, FileMapping] = dict(mapping.kinds)
    for kind in kinds:
        fm = mapping.for_kind(kind)
        changed[kind] = dataclasses.replace(
            fm,
            sheet=sheet if sheet is not None else fm.sheet,
            delimiter=delimiter if delimiter is not None else fm.delimiter,
        )
    return Mapping(source=mapping.source, kinds=changed)


def files_in(directory: str | Path, mapping: Mapping | None = None) -> list[tuple[str, Path]]:
    """The files of an import folder, in dependency order.

    Each kind's file is the mapping's ``file`` name, else ``<kind>.csv``, ``.xlsx``,
    ``.xlsm`` or ``.ods`` (two of those for one kind are refused as ambiguous).
    """
    directory = Path(directory)
    mapping = mapping or NO_MAPPING
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a folder.", "Give the folder holding candidates.csv, hosts.csv, ...")
    found: list[tuple[str, Path]] = []
    for kind in KINDS:
        named = mapping.for_kind(kind).file
        candidates = [named] if named else [kind + suffix for suffix in (".csv", *WORKBOOK_SUFFIXES)]
        present = [directory / name for name in candidates if (directory / name).is_file()]
        if len(present) > 1:
            raise ConfigError(
                f"{directory} holds {' and '.join(p.name for p in present)}: which is the {kind} file?",
                f'Keep one of them in the folder, or name it with file = "..." in the mapping file\'s [{kind}] section.',
            )
        found.extend((kind, path) for path in present)
    return found


def import_dir(
    engine: Engine,
    directory: str | Path,
    *,
    mapping: Mapping | str | Path | None = None,
    dry_run: bool = False,
    max_errors: int = 50,
    delimiter: str | None = None,
    limits: ImportLimits | None = None,
    cohort: str | None = None,
) -> list[ImportReport]:
    """Import every canonical file found in ``directory`` together, in one transaction, into one cohort.

    ``delimiter`` applies to every CSV file of the folder (workbooks have none).
    """
    loaded = _with_options(_as_mapping(mapping), list(KINDS), sheet=None, delimiter=delimiter)
    files = files_in(directory, loaded)
    if not files:
        names = ", ".join(loaded.for_kind(k).file or f"{k}.csv (or .xlsx, .xlsm, .ods)" for k in KINDS)
        raise ConfigError(f"No import files in {directory}.", f"The folder should hold some of: {names}.")
    return _import(engine, files, loaded, dry_run, max_errors, limits, cohort)


def _import(
    engine: Engine,
    files: list[tuple[str, Path]],
    mapping: Mapping,
    dry_run: bool,
    max_errors: int,
    limits: ImportLimits | None = None,
    cohort_name: str | None = None,
) -> list[ImportReport]:
    if max_errors < 1:
        raise ConfigError("max_errors must be at least 1.", "Use e.g. --max-errors 50.")
    seen_kinds = [kind for kind, _ in files]
    if len(set(seen_kinds)) != len(seen_kinds):
        raise ConfigError("The same kind of file is given twice.", "Import one file per kind at a time.")
    problems = Problems(max_errors)
    with Workbooks() as workbooks:  # a workbook holding several kinds is opened once
        tables: dict[str, Table | None] = {
            kind: read_table(kind, path, mapping.for_kind(kind), problems, workbooks, limits=limits)
            for kind, path in files
        }
    try:
        # A dry run writes nothing: it reads one snapshot and leaves other writers alone.
        # On PostgreSQL the "scheme" advisory lock plays BEGIN IMMEDIATE's part: imports (and purges) run one at a time.
        with write_transaction(engine, write=not dry_run, lock=None if dry_run else "scheme") as conn:
            cohort = resolve(conn, cohort_name, "write")
            snapshot = Snapshot(conn, cohort)
            valid = validate(tables, snapshot, problems)
            if len(problems):
                raise InputError(problems.items, truncated=problems.truncated)
            # Plan every file against the database as it was, then write: plans use
            # natural keys, so a later file's plan does not depend on earlier writes.
            plans = {kind: PLANNERS[kind](v.rows, snapshot) for kind, v in valid.items()}
            same_file = {kind: snapshot.imported_before(kind, v.table.sha256) for kind, v in valid.items()}
            at = datetime.now(UTC)
            user = os_user()
            reports = []
            for kind, _ in files:
                table, plan = valid[kind].table, plans[kind]
                skipped = same_file[kind] and plan.changes == 0
                batch_id = None
                if not dry_run and not skipped:
                    batch_id = record_import(
                        conn,
                        kind=kind,
                        file_name=table.file,
                        sha256=table.sha256,
                        rows=len(table.rows),
                        plan=plan,
                        at=at,
                        user=user,
                        cohort=cohort,
                    )
                    plan.write(conn, batch_id)
                reports.append(
                    ImportReport.of(
                        table, plan, skipped=skipped, dry_run=dry_run, batch_id=batch_id, cohort=cohort.name
                    )
                )
    except PlacementError:
        raise
    except SQLAlchemyError as exc:
        # Named by kind (lost connection, full disk, a racing writer...), never with the driver's row values.
        raise describe(exc, doing="the import") from None
    for r in reports:
        log.info(
            "import %s %s into cohort %s: %d rows, %d added, %d updated, %d unchanged, %d removed%s%s",
            r.kind,
            r.file,
            r.cohort,
            r.rows,
            r.added,
            r.updated,
            r.unchanged,
            r.removed,
            " (same file as before)" if r.skipped_same_file else "",
            " (dry run)" if dry_run else "",
        )
    return reports
