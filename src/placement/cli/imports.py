"""`placement import ...`: load CSV files or workbooks (one, or a whole folder) into the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..config import ImportLimits, import_limits
from ..ingest import KINDS, ImportReport, import_dir, import_file, load_mapping
from . import AppContext, cli, cohort_option, handle_errors, pass_app, tables
from .tables import cell

_path = click.Path(exists=True, dir_okay=False, path_type=Path)


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``tab`` (or ``\\t``) for a tab, since a literal tab is hard to type on a command line."""
    if value is None:
        return None
    return "\t" if value.strip().casefold() in ("tab", "\\t") else value


def _common_options(fn):
    fn = click.option(
        "--max-rows",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Refuse a file with more data rows than this (default: $PLACEMENT_MAX_IMPORT_ROWS, else 1,000,000).",
    )(fn)
    fn = click.option(
        "--max-bytes",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Refuse a file larger than this many bytes (default: $PLACEMENT_MAX_IMPORT_BYTES, else 100,000,000).",
    )(fn)
    fn = click.option(
        "--delimiter",
        default=None,
        metavar="CHAR",
        callback=_delimiter,
        help="The character between a CSV file's cells: ',', ';' or tab (default: found from "
        "the header row). Overrides the mapping file's delimiter.",
    )(fn)
    fn = click.option(
        "--max-errors",
        type=click.IntRange(min=1),
        default=50,
        show_default=True,
        help="Report at most this many problems.",
    )(fn)
    fn = click.option(
        "--dry-run", is_flag=True, help="Validate and report what would change, without writing anything."
    )(fn)
    fn = click.option(
        "--mapping",
        "mapping_path",
        type=_path,
        default=None,
        metavar="MAP.toml",
        help="Mapping file: the export's column names and spellings (see docs/import.md).",
    )(fn)
    return cohort_option(fn)


def _limits(max_bytes: int | None, max_rows: int | None) -> ImportLimits:
    """The command line's limits over the environment's (``placement.config.import_limits``)."""
    base = import_limits()
    return ImportLimits(max_bytes=max_bytes or base.max_bytes, max_rows=max_rows or base.max_rows)


def _show(reports: list[ImportReport], dry_run: bool) -> None:
    title = "Dry run: nothing was written" if dry_run else "Imported"
    cohort = reports[0].cohort if reports else ""
    table = Table(title=f"{title} (cohort {cohort})" if cohort else title, title_justify="left")
    table.add_column("file", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for name in ("rows", "added", "updated", "unchanged", "removed"):
        table.add_column(name, justify="right")
    table.add_column("note")
    for r in reports:
        notes = [r.source] if r.source else []
        if r.skipped_same_file:
            notes.append("same file as before, nothing changed")
        note = "; ".join(notes)
        # File and sheet names are the user's text: shown as text, never read as rich markup.
        table.add_row(
            cell(r.file),
            r.kind.replace("_", "-"),
            str(r.rows),
            str(r.added),
            str(r.updated),
            str(r.unchanged),
            str(r.removed),
            cell(note),
        )
    tables.console().print(table)


def _engine(app: AppContext, dry_run: bool):
    """The database to import into; a dry run against a SQLite file that does not exist yet creates nothing."""
    if dry_run:
        import tempfile

        from ..db.migrate import upgrade
        from ..db.session import make_engine, sqlite_path

        path = sqlite_path(app.db_url)
        if path is not None and not path.exists():
            scratch = click.get_current_context().with_resource(
                tempfile.TemporaryDirectory(prefix="placement-dry-run-")
            )
            engine = make_engine(f"sqlite:///{Path(scratch) / 'dry-run.db'}")
            upgrade(engine)
            click.echo(
                f"There is no database at {path} yet: checked against an empty one, and nothing was created.", err=True
            )
            return engine
    return app.engine()


@cli.group("import")
def import_group() -> None:
    """Import CSV files: candidates, hosts, preferences, host rankings, targets, pairs.

    \b
    Files are CSV (',', ';' or tab separated) or workbooks (.xlsx, .xlsm,
    .ods). Every problem in the input is reported (file, sheet, row, column,
    fix) and then nothing is written. Importing the same file again changes
    nothing; a changed file updates rows by id.
    """


_sheet_option = click.option(
    "--sheet",
    default=None,
    metavar="NAME",
    help="The workbook's sheet to read (default: its first; a macro workbook needs it named).",
)


@dataclass(frozen=True)
class _Flags:
    """The options every import command shares (``_common_options``), as the library's keyword arguments."""

    mapping_path: Path | None
    dry_run: bool
    max_errors: int
    delimiter: str | None
    max_bytes: int | None
    max_rows: int | None

    def library_kwargs(self, app: AppContext) -> dict[str, Any]:
        return {
            "mapping": load_mapping(self.mapping_path) if self.mapping_path else None,
            "dry_run": self.dry_run,
            "max_errors": self.max_errors,
            "delimiter": self.delimiter,
            "limits": _limits(self.max_bytes, self.max_rows),
            "cohort": app.cohort,
        }


def _import_one(app: AppContext, kind: str, file: Path, sheet: str | None, options: dict[str, Any]) -> None:
    """Import one FILE of ``kind`` (``import_file``) and show what changed."""
    flags = _Flags(**options)
    report = import_file(_engine(app, flags.dry_run), kind, file, sheet=sheet, **flags.library_kwargs(app))
    _show([report], flags.dry_run)


def _make_kind_command(kind: str) -> None:
    name = kind.replace("_", "-")

    @import_group.command(
        name, help=f"Import {name} from FILE (CSV, .xlsx, .xlsm or .ods); rows are matched to stored ones by id."
    )
    @click.argument("file", type=_path)
    @_sheet_option
    @_common_options
    @pass_app
    @handle_errors
    def command(app: AppContext, file: Path, sheet: str | None, **options: Any) -> None:
        _import_one(app, kind, file, sheet, options)


for _kind in KINDS:
    _make_kind_command(_kind)


@import_group.command("dir")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_common_options
@pass_app
@handle_errors
def import_directory(app: AppContext, directory: Path, **options: Any) -> None:
    """Import every file found in DIRECTORY together, in one transaction.

    \b
    Looks for candidates, hosts, preferences, host_rankings, targets and
    pairs files (.csv, .xlsx, .xlsm or .ods; or the names, and sheets, a
    mapping file gives) and imports them in that order, checking ids
    across the files.
    """
    flags = _Flags(**options)
    reports = import_dir(_engine(app, flags.dry_run), directory, **flags.library_kwargs(app))
    _show(reports, flags.dry_run)


@import_group.command("outcomes")
@click.argument("file", type=_path)
@_sheet_option
@_common_options
@pass_app
@handle_errors
def import_outcomes_cmd(app: AppContext, file: Path, sheet: str | None, **options: Any) -> None:
    """Import what became of the graduates (outcomes.csv or a workbook): started, completed, left, promoted, employed.

    \b
    Columns: candidate_id, cohort, date (YYYY-MM-DD), event, band, reason.
    Each row names its cohort; a blank cohort cell means --cohort (else the
    only open cohort). A file may cover several cohorts, closed ones too.
    The file is each named graduate's whole story: their stored events not
    in it are removed. Then: `placement outcomes audit --cohort NAME`.
    """
    _import_one(app, "outcomes", file, sheet, options)
