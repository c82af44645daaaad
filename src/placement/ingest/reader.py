"""Reading one CSV file or workbook sheet into canonical rows: bytes -> rows -> header -> mapped cells.

Workbooks (.xlsx, .xlsm, .ods) are read by ``workbook`` (the sheet chosen, each
cell as the text a person sees), CSV files by ``csvfile`` (encodings checked,
then the records), both a row at a time: no file is ever held whole, and the
rows read are kept compactly (``rows.RowStore``). The delimiter of a CSV file
is found from its header row (``,``, ``;`` or tab) unless the mapping file or
``--delimiter`` gives it. A wide layout (one row per candidate, a column per
choice) becomes one canonical row per filled choice cell.

Row numbers are the ones a spreadsheet shows: the header is row 1, and a cell
with line breaks inside quotes still counts as one row.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ImportLimits, import_limits
from ..domain import NEVER_ECHOED, looks_sensitive
from ..errors import RowProblem
from ..schemas import COLUMN_ALIASES, DATE_COLUMNS, LIST_COLUMNS, MAX_CELL_CHARS, NUMBER_COLUMNS, columns
from .csvfile import csv_rows, first_line, scan
from .mapping import WIDE_KINDS, FileMapping, fold
from .rows import RowStore, WideRow
from .workbook import SheetCell, WorkbookProblem, Workbooks, is_workbook, open_sheet


class Problems:
    """Every problem found across the files of one import, up to a limit, then a count."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: list[RowProblem] = []
        self.truncated = 0

    def add(
        self,
        file: str,
        row: int | None,
        column: str | None,
        value: str | None,
        problem: str,
        fix: str,
        *,
        canonical: str | None = None,
    ) -> None:
        # Special category and stated-gender values are never shown, whatever the check that found them;
        # nor is a value that reads like one in another column (a row with shifted columns puts a
        # disability answer under career_changer).
        if (canonical or column) in NEVER_ECHOED or (value is not None and looks_sensitive(value)):
            value = None
        elif value is not None and len(value) > 60:
            value = value[:57] + "..."
        if len(self.items) < self.limit:
            self.items.append(RowProblem(file, row, column, value, problem, fix))
        else:
            self.truncated += 1

    def __len__(self) -> int:
        return len(self.items) + self.truncated


@dataclass
class Table:
    """One file (or sheet) read and mapped: canonical cells per row, ready for validation."""

    kind: str
    path: Path
    sha256: str
    labels: dict[str, str]  # canonical column -> how to name it in messages (the export's header)
    rows: RowStore = field(default_factory=RowStore)  # (spreadsheet row, cells), iterated as dicts
    # Rows already reported as broken (stray cells, huge fields): not validated
    # further, but their ids still count as present so other files do not
    # report them as unknown too.
    broken: RowStore = field(default_factory=RowStore)
    source: str = ""  # how the file was read, for the report: the sheet chosen, the delimiter found
    label: str = ""  # how messages name the file: "export.xlsx (sheet 'Prefs')"; default the file name

    @property
    def file(self) -> str:
        return self.label or self.path.name

    def report(
        self, problems: Problems, row: int | None, column: str | None, value: str | None, problem: str, fix: str
    ) -> None:
        """Add a problem about a canonical column, named as the export names it."""
        label = self.labels.get(column, column) if column else None
        if isinstance(row, WideRow) and column in _WIDE_CELL_COLUMNS.get(self.kind, ()):
            label = column_label(row.choice_column, column or "")
        problems.add(self.file, row, label, value, problem, fix, canonical=column)


# The canonical columns a wide layout's choice cell gives: the chosen id and its rank.
_WIDE_CELL_COLUMNS = {kind: (item, "rank") for kind, (_, item) in WIDE_KINDS.items()}


def column_label(header: str, canonical: str) -> str:
    return canonical if header == canonical else f"{header} ({canonical})"


@dataclass
class _Source:
    """The rows of a CSV file or a workbook's sheet, header first, as (spreadsheet row, cell texts)."""

    label: str
    sha256: str
    rows: Iterator[tuple[int, list[str]]]
    note: str = ""
    merged_header: Callable[[], list[str]] | None = None
    other_sheets: list[str] = field(default_factory=list)


def _too_big(path: Path, problems: Problems, limits: ImportLimits) -> bool:
    """Whether the file is larger than an import reads (its size from the file system: not a byte is read)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False  # reading it reports the problem
    if size <= limits.max_bytes:
        return False
    problems.add(
        path.name,
        None,
        None,
        None,
        f"is {_megabytes(size)}, more than the {_megabytes(limits.max_bytes)} an import reads",
        "check it is the right file; for a genuinely larger file raise the limit with --max-bytes "
        "(or PLACEMENT_MAX_IMPORT_BYTES)",
    )
    return True


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _capped(
    table: Table, rows: Iterator[tuple[int, list[str]]], max_rows: int, problems: Problems
) -> Iterator[tuple[int, list[str]]]:
    """The data rows, stopping (with a problem) at the first one past ``max_rows``: the rest is never read."""
    count = 0
    for row_number, cells in rows:
        if any(str(c).strip() for c in cells):
            count += 1
            if count > max_rows:
                table.report(
                    problems,
                    row_number,
                    None,
                    None,
                    f"is past the {max_rows:,} data rows an import reads (the rest of the file was not read)",
                    "check it is the right file; for a genuinely larger file raise the limit with --max-rows "
                    "(or PLACEMENT_MAX_IMPORT_ROWS)",
                )
                return
        yield row_number, cells


def read_table(
    kind: str,
    path: Path,
    mapping: FileMapping,
    problems: Problems,
    workbooks: Workbooks | None = None,
    *,
    limits: ImportLimits | None = None,
) -> Table | None:
    """Read ``path`` (CSV or a workbook) as a ``kind`` file; None (with problems added) when it cannot be read.

    ``workbooks`` keeps workbooks open across the files of one import (the caller closes it). A file
    past ``limits`` (default: ``config.import_limits()``) is refused: by its size before it is opened,
    by its rows at the first one past the cap.
    """
    limits = limits or import_limits()
    if workbooks is None:
        with Workbooks() as own:
            return read_table(kind, path, mapping, problems, own, limits=limits)
    if _too_big(path, problems, limits):
        return None
    source = _open(kind, path, mapping, problems, workbooks)
    if source is None:
        return None
    table = Table(kind, path, source.sha256, {}, source=source.note, label=source.label)
    first = next(source.rows, None)
    if first is None and is_workbook(path):
        problems.add(
            table.file,
            None,
            None,
            None,
            "is an empty sheet",
            "choose the sheet that holds the data with --sheet, or export the data again",
        )
        return None
    if first is None or first[0] != 1 or not any(h.strip() for h in first[1]):
        problems.add(table.file, 1, None, None, "has no header row", "the first row must name the columns")
        return None
    header = [str(h) for h in first[1]]
    named = [i for i, h in enumerate(header) if h.strip()]
    gap = any(not h.strip() for h in header[: named[-1]]) if named else False
    merged = source.merged_header() if gap and source.merged_header else []
    if merged:
        problems.add(
            table.file,
            1,
            None,
            None,
            f"has merged header cells ({', '.join(merged)})",
            "unmerge them (Home > Merge & Center > Unmerge Cells) and give each column its own name",
        )
        return None
    if source.other_sheets and not any(
        fold(h) in _known_headers(kind, mapping) or mapping.rank_of(h) is not None for h in header if h.strip()
    ):
        # Not one column this kind has: the wrong sheet of the workbook, not a file to fix column by column.
        listed = ", ".join(repr(n) for n in source.other_sheets)
        problems.add(
            table.file,
            1,
            None,
            None,
            f"has none of the columns of {kind}: it looks like the wrong sheet",
            f'choose the sheet that holds the {kind} with --sheet (or sheet = "..." in the mapping file); '
            f"the workbook's other sheets: {listed}",
        )
        return None
    if mapping.wide:
        layout = _map_wide_header(table, header, mapping, problems)
        if layout is None:
            return None
        _read_wide_rows(
            table, _capped(table, source.rows, limits.max_rows, problems), header, layout, mapping, problems
        )
    else:
        keep = _map_header(table, header, mapping, problems)
        if keep is None:
            return None
        _read_rows(table, _capped(table, source.rows, limits.max_rows, problems), header, keep, mapping, problems)
    if not table.rows and not table.broken:
        problems.add(
            table.file,
            None,
            None,
            None,
            "has a header but no data rows",
            "export the file again with its rows, or leave it out of the import",
        )
    return table


def _open(kind: str, path: Path, mapping: FileMapping, problems: Problems, workbooks: Workbooks) -> _Source | None:
    name = path.name

    def refuse(problem: str, fix: str, line: int | None = None) -> None:
        problems.add(name, line, None, None, problem, fix)

    try:
        if is_workbook(path):
            with path.open("rb") as fh:
                sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
            try:
                sheet = open_sheet(path, mapping.sheet, workbooks)
            except WorkbookProblem as exc:
                refuse(exc.problem, exc.fix)
                return None
            return _Source(
                f"{name} (sheet {sheet.name!r})",
                sha256,
                sheet.rows,
                f"sheet {sheet.name!r}: {sheet.rule}",
                sheet.merged_header,
                sheet.others,
            )
        if mapping.sheet is not None:
            refuse(
                "is not a workbook, so it has no sheets",
                "leave out --sheet (and sheet = in the mapping file) for a CSV file",
            )
            return None
        text = scan(path, refuse)
        if text is None:
            return None
        delimiter = mapping.delimiter or _find_delimiter(kind, name, first_line(text), mapping, problems)
    except OSError as exc:
        refuse(f"cannot be read ({exc.strerror or exc})", "check the path and permissions")
        return None
    if delimiter is None:
        return None
    note = "" if delimiter == "," else f"separated by {_DELIMITER_NAMES.get(delimiter, repr(delimiter))}"
    return _Source(name, text.sha256, csv_rows(text, name, delimiter, refuse), note)


_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}


def _find_delimiter(kind: str, name: str, line: str, mapping: FileMapping, problems: Problems) -> str | None:
    """The delimiter the header row is written with: ``,``, ``;`` or tab, or None (refused) if unclear.

    A header splits into several names at its delimiter and (usually) into one
    at the others; when two delimiters both split it, the one giving more
    column names this import knows wins, and a tie is refused.
    """
    known = _known_headers(kind, mapping)
    scores: dict[str, tuple[int, int]] = {}
    for delimiter in (",", ";", "\t"):
        try:
            names = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(names) > 1:
            recognised = sum(1 for n in names if fold(n) in known or mapping.rank_of(n) is not None)
            scores[delimiter] = (recognised, len(names))
    if not scores:
        return ","  # one column (or another delimiter): the header check says what is missing
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if len(ranked) > 1 and ranked[0][1][0] == ranked[1][1][0]:
        choices = " or ".join(_DELIMITER_NAMES[d] for d, _ in ranked)
        shown = " or ".join(repr(d) for d, _ in ranked).replace("'\\t'", "tab")
        problems.add(
            name,
            1,
            None,
            None,
            f"has a header row that could be split at {choices}",
            f'say which with --delimiter (one of {shown}), or delimiter = "..." in the mapping '
            f"file's [{kind}] section",
        )
        return None
    return ranked[0][0]


def _known_headers(kind: str, mapping: FileMapping) -> set[str]:
    required, optional = columns(kind)
    return (
        {fold(c) for c in required + optional}
        | set(COLUMN_ALIASES.get(kind, {}))
        | set(mapping.columns)
        | set(mapping.ignore)
    )


def _map_header(
    table: Table, header: list[str], mapping: FileMapping, problems: Problems
) -> list[tuple[int, str]] | None:
    """(cell index, canonical column) of each kept column, or None if the header is unusable."""
    required, optional = columns(table.kind)
    canonical = {c.casefold(): c for c in required + optional}
    canonical.update(COLUMN_ALIASES.get(table.kind, {}))
    keep: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    ok = True
    how_to_map = f'map it in the mapping file: [{table.kind}.columns] "<export column>" = "<canonical column>"'
    for index, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").strip()
        key = fold(name)
        if not name:
            continue  # an unnamed column: its cells must be blank (checked per row)
        if key in mapping.ignore:  # the coordinator's explicit choice wins, even over a canonical name
            continue
        target = mapping.columns.get(key) or canonical.get(key)
        if target is None:
            ok = False
            problems.add(
                table.file,
                1,
                name,
                None,
                f"is not a column of {table.kind}",
                f"rename it to one of: {', '.join(required + optional)}; {how_to_map}; "
                f"or list it under ignore = [...] in [{table.kind}] if the import should leave it out"
                + _layout_hint(table.kind, name, len(header)),
            )
            continue
        if target in seen:
            ok = False
            problems.add(
                table.file,
                1,
                name,
                None,
                f"gives {target}, which column {seen[target]!r} gives too",
                "remove one of the two columns, or change the mapping so that each canonical column comes from one",
            )
            continue
        seen[target] = name
        table.labels[target] = column_label(name, target)
        keep.append((index, target))
    for column in required:
        if column not in seen:
            ok = False
            problems.add(
                table.file, 1, column, None, "is a required column and is missing", f"add the column, or {how_to_map}"
            )
    return keep if ok else None


def _layout_hint(kind: str, name: str, width: int) -> str:
    """A hint for an unknown header name that says what the file probably is."""
    if width == 1 and any(d in name for d in ";\t|"):
        return "; if the file is separated by another character, say which with --delimiter"
    numbered = _NUMBERED.fullmatch(name)
    if kind in WIDE_KINDS and numbered:
        owner = WIDE_KINDS[kind][0].removesuffix("_id")
        return (
            f"; if the file has one row per {owner} and a column per choice, read it with "
            f'layout = "wide" and choices = "{numbered.group(1).strip()} {{n}}" '
            f"in the mapping file's [{kind}] section (see docs/import.md)"
        )
    return ""


_NUMBERED = re.compile(r"(.*?\D)\s*\d+\s*")


def _cell(table: Table, problems: Problems, row: int, column: str, raw: str) -> str | None:
    """A cell's text for ``column``; None (reported) when a workbook cell cannot be read as that column."""
    if not isinstance(raw, SheetCell):
        return raw.strip()
    if raw.kind == "error":
        table.report(
            problems,
            row,
            column,
            str(raw),
            "holds a spreadsheet error (a formula that failed)",
            "correct the formula in the workbook, or type the value",
        )
        return None
    if raw.kind == "date":
        if column in DATE_COLUMNS:
            return str(raw)
        table.report(
            problems,
            row,
            column,
            str(raw),
            "is a date in the workbook, but this column is not a date",
            "Excel turned what was typed into a date: format the column as Text and type the value again",
        )
        return None
    if column in NUMBER_COLUMNS:
        return raw.number
    if raw.kind == "scientific":
        table.report(
            problems,
            row,
            column,
            str(raw),
            "is a number shown in scientific notation, not text",
            "Excel read what was typed (like 1E5) as a number: format the column as Text and type it again",
        )
        return None
    return str(raw)  # a zero-padded number: the text a person sees (00123)


def _data_rows(
    table: Table, rows: Iterator[tuple[int, list[str]]], header: list[str], problems: Problems
) -> Iterator[tuple[int, list[str], bool]]:
    """Rows with data (blank ones skipped), padded to the header, and whether the row is broken (reported):
    a value under no header name."""
    # Cells under no header name (beyond the header, or under a blank one) must be
    # blank: Excel leaves trailing commas, but a value there lost its column.
    width = len(header)
    unnamed = {i for i, h in enumerate(header) if not h.strip().lstrip("\ufeff").strip()}
    for row_number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank rows (often trailing ones) are not data
        stray = None
        if len(cells) > width or unnamed:
            stray = next((i for i, c in enumerate(cells) if c.strip() and (i >= width or i in unnamed)), None)
        if len(cells) < width:  # spreadsheets drop trailing empty cells
            cells = cells + [""] * (width - len(cells))
        if stray is not None:
            table.report(
                problems,
                row_number,
                None,
                None,
                f"has a value in column {stray + 1}, which has no name in the header",
                "remove the stray value, or give its column a name in the header row",
            )
        yield row_number, cells, stray is not None


def _too_long(table: Table, problems: Problems, row: int, column: str, value: str) -> bool:
    if len(value) <= MAX_CELL_CHARS:
        return False
    table.report(
        problems,
        row,
        column,
        value,
        f"has {len(value)} characters",
        f"no value needs more than {MAX_CELL_CHARS} characters: check the export",
    )
    return True


def _read_rows(
    table: Table,
    rows: Iterator[tuple[int, list[str]]],
    header: list[str],
    keep: list[tuple[int, str]],
    mapping: FileMapping,
    problems: Problems,
) -> None:
    value_maps = [(column, mapping.values[column]) for column in mapping.values if column in table.labels]
    for row_number, cells, bad in _data_rows(table, rows, header, problems):
        row: dict[str, str] = {}
        for index, column in keep:
            value = _cell(table, problems, row_number, column, cells[index])
            if value is None or _too_long(table, problems, row_number, column, value):
                bad = True
                value = str(cells[index]).strip()
            row[column] = value
        if bad:
            table.broken.append((row_number, row))
            continue
        for column, spellings in value_maps:
            row[column] = _map_value(row[column], spellings, column in LIST_COLUMNS)
        table.rows.append((row_number, row))


@dataclass
class _WideLayout:
    owner: tuple[int, str]  # (cell index, canonical column) of the id each row is about
    choices: list[tuple[int, int, str]]  # (cell index, rank, header) of each choice column


def _map_wide_header(table: Table, header: list[str], mapping: FileMapping, problems: Problems) -> _WideLayout | None:
    """The owner id column and the choice columns of a wide layout, or None if the header is unusable."""
    owner_column, item_column = WIDE_KINDS[table.kind]
    owner: tuple[int, str] | None = None
    choices: list[tuple[int, int, str]] = []
    ranks: dict[int, str] = {}
    ok = True
    for index, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").strip()
        key = fold(name)
        if not name or key in mapping.ignore:
            continue
        rank = mapping.rank_of(name)
        if rank is not None:
            if rank in ranks:
                ok = False
                problems.add(
                    table.file,
                    1,
                    name,
                    None,
                    f"gives choice {rank}, which column {ranks[rank]!r} gives too",
                    "give each choice column its own number",
                )
            ranks[rank] = name
            choices.append((index, rank, name))
        elif (mapping.columns.get(key) or key) == owner_column and owner is None:
            owner = (index, owner_column)
            table.labels[owner_column] = column_label(name, owner_column)
        else:
            ok = False
            problems.add(
                table.file,
                1,
                name,
                None,
                f"is neither the {owner_column} column nor a choice column of the wide layout",
                f'list it under ignore = [...] in [{table.kind}], map it with "{name}" = "{owner_column}" '
                f"in [{table.kind}.columns], or change choices in the mapping file",
            )
    if owner is None:
        ok = False
        problems.add(
            table.file,
            1,
            owner_column,
            None,
            "is a required column and is missing",
            f"add the column, or map it in the mapping file: [{table.kind}.columns] "
            f'"<export column>" = "{owner_column}"',
        )
    if not choices:
        ok = False
        problems.add(
            table.file,
            1,
            None,
            None,
            "has no choice columns for the wide layout",
            'check choices in the mapping file against the header (e.g. choices = "Choice {n}")',
        )
    table.labels.setdefault(item_column, item_column)
    return _WideLayout(owner, sorted(choices, key=lambda c: c[1])) if ok and owner else None


def _read_wide_rows(
    table: Table,
    rows: Iterator[tuple[int, list[str]]],
    header: list[str],
    layout: _WideLayout,
    mapping: FileMapping,
    problems: Problems,
) -> None:
    """Each row -> one canonical row per filled choice cell (blanks skipped); a repeated choice is refused."""
    owner_index, owner_column = layout.owner
    item_column = WIDE_KINDS[table.kind][1]
    owner_map = mapping.values.get(owner_column)
    item_map = mapping.values.get(item_column)
    for row_number, cells, bad in _data_rows(table, rows, header, problems):
        owner = _cell(table, problems, row_number, owner_column, cells[owner_index])
        if bad or owner is None or _too_long(table, problems, row_number, owner_column, owner):
            table.broken.append((row_number, {owner_column: str(cells[owner_index]).strip()}))
            continue
        if owner_map:
            owner = _map_value(owner, owner_map, False)
        chosen: dict[str, str] = {}
        for index, rank, name in layout.choices:
            at = WideRow(row_number, name)
            item = _cell(table, problems, at, item_column, cells[index])
            if item is None or _too_long(table, problems, at, item_column, item):
                table.broken.append((at, {owner_column: owner}))
                continue
            if not item:
                continue  # fewer choices than columns
            if item_map:
                item = _map_value(item, item_map, False)
            if item in chosen:
                table.report(
                    problems,
                    at,
                    item_column,
                    item,
                    f"is chosen in {chosen[item]!r} too",
                    f"keep {item} in one choice column of the row and clear the other",
                )
                table.broken.append((at, {owner_column: owner}))
                continue
            chosen[item] = name
            table.rows.append((at, {owner_column: owner, item_column: item, "rank": str(rank)}))


def _map_value(value: str, spellings: dict[str, str], is_list: bool) -> str:
    if not value:
        return value
    whole = spellings.get(fold(value))
    if whole is not None:
        return whole
    if is_list:
        return ";".join(spellings.get(fold(item), item.strip()) for item in value.split(";"))
    return value
