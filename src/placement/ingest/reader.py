"""Reading one CSV file into canonical rows: bytes -> text -> header -> mapped cells.

Encodings: UTF-8 with or without BOM, else Windows-1252 (what Excel writes
when told "CSV" on a UK Windows machine). Anything else — an Excel workbook
saved with a .csv name, UTF-16 "Unicode text", NUL bytes, binary junk, a file
mixing UTF-8 and Windows-1252 — is refused with a message saying how to save
the file properly, because guessing would silently corrupt names.

Row numbers are the ones a spreadsheet shows: the header is row 1, and a cell
with line breaks inside quotes still counts as one row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ImportLimits, import_limits
from ..domain import NEVER_ECHOED, looks_sensitive
from ..errors import RowProblem
from ..schemas import LIST_COLUMNS, MAX_CELL_CHARS, columns
from .mapping import FileMapping, fold

# C0 controls other than tab, line feed and carriage return, and DEL: never in a real export.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A well-formed UTF-8 multi-byte sequence: if a file that is not valid UTF-8
# has these, it mixes encodings (e.g. two exports pasted together).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
SAVE_AS_CSV = "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"


class Problems:
    """Every problem found across the files of one import, up to a limit, then a count."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: list[RowProblem] = []
        self.truncated = 0

    def add(
        self, file: str, row: int | None, column: str | None, value: str | None, problem: str, fix: str,
        *, canonical: str | None = None,
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
    """One file read and mapped: canonical cells per row, ready for validation."""

    kind: str
    path: Path
    sha256: str
    labels: dict[str, str]  # canonical column -> how to name it in messages (the export's header)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (spreadsheet row, cells)
    # Rows already reported as broken (stray cells, huge fields): not validated
    # further, but their ids still count as present so other files do not
    # report them as unknown too.
    broken: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    def report(
        self, problems: Problems, row: int | None, column: str | None, value: str | None, problem: str, fix: str
    ) -> None:
        """Add a problem about a canonical column, named as the export names it."""
        problems.add(self.file, row, self.labels.get(column, column) if column else None, value, problem, fix,
                     canonical=column)


def column_label(header: str, canonical: str) -> str:
    return canonical if header == canonical else f"{header} ({canonical})"


def _read_capped(path: Path, problems: Problems, limits: ImportLimits | None) -> bytes | None:
    """The file's bytes, unless it is larger than the import reads (checked before reading a byte of it)."""
    limits = limits or import_limits()
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            problems.add(
                path.name, None, None, None,
                f"is {_megabytes(size)}, more than the {_megabytes(limits.max_bytes)} an import reads",
                "check it is the right file; for a genuinely larger file raise the limit with --max-bytes "
                "(or PLACEMENT_MAX_IMPORT_BYTES)",
            )
            return None
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)  # a file still growing is refused too
    except OSError as exc:
        problems.add(path.name, None, None, None, f"cannot be read ({exc.strerror or exc})",
                     "check the path and permissions")
        return None
    if len(data) > limits.max_bytes:
        problems.add(path.name, None, None, None, f"is more than the {_megabytes(limits.max_bytes)} an import reads",
                     "raise the limit with --max-bytes (or PLACEMENT_MAX_IMPORT_BYTES)")
        return None
    return data


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def read_table(
    kind: str, path: Path, mapping: FileMapping, problems: Problems, *, limits: ImportLimits | None = None
) -> Table | None:
    """Read ``path`` as a ``kind`` file; None (with problems added) when it cannot be read at all."""
    name = path.name
    limits = limits or import_limits()
    data = _read_capped(path, problems, limits)
    if data is None:
        return None
    text = _decode(name, data, problems)
    if text is None:
        return None
    table = Table(kind, path, hashlib.sha256(data).hexdigest(), {})
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(name, 1, None, None, f"has a header row that is not valid CSV ({exc})", SAVE_AS_CSV)
        return None
    if header is None or not any(h.strip() for h in header):
        problems.add(name, 1, None, None, "has no header row", "the first row must name the columns")
        return None
    keep = _map_header(table, header, mapping, problems)
    if keep is None:
        return None
    _read_rows(table, reader, header, keep, mapping, problems, limits.max_rows)
    if not table.rows and not table.broken:
        problems.add(name, None, None, None, "has a header but no data rows",
                     "export the file again with its rows, or leave it out of the import")
    return table


def read_text(path: Path, problems: Problems, *, limits: ImportLimits | None = None) -> str | None:
    """A small CSV file's text, decoded by the same rules as an import; None with problems added."""
    data = _read_capped(path, problems, limits)
    if data is None:
        return None
    return _decode(path.name, data, problems)


def _decode(name: str, data: bytes, problems: Problems) -> str | None:
    def refuse(problem: str, fix: str = SAVE_AS_CSV, line: int | None = None) -> None:
        problems.add(name, line, None, None, problem, fix)

    if not data.strip():
        refuse("is empty", "export the file again; it must have a header row and data rows")
        return None
    if data.startswith(b"PK\x03\x04"):
        refuse("is an Excel workbook (or another zip file), not CSV")
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        refuse("is saved as UTF-16 ('Unicode text'), not CSV UTF-8")
        return None
    nul = data.find(b"\x00")
    if nul >= 0:
        refuse("contains NUL bytes: it is a binary file, not CSV text", line=data.count(b"\n", 0, nul) + 1)
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if _UTF8_MULTIBYTE.search(data):
            refuse(
                "mixes two text encodings (UTF-8 and another); names would come out garbled",
                line=data.count(b"\n", 0, exc.start) + 1,
            )
            return None
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc2:
            refuse("is neither UTF-8 nor Windows-1252 text", line=data.count(b"\n", 0, exc2.start) + 1)
            return None
    junk = _CONTROL.search(text)
    if junk:
        refuse("contains control characters (binary junk), not CSV text", line=text.count("\n", 0, junk.start()) + 1)
        return None
    return text


def _map_header(table: Table, header: list[str], mapping: FileMapping, problems: Problems) -> list[tuple[int, str]] | None:
    """(cell index, canonical column) of each kept column, or None if the header is unusable."""
    required, optional = columns(table.kind)
    canonical = {c.casefold(): c for c in required + optional}
    keep: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    ok = True
    how_to_map = f"map it in the mapping file: [{table.kind}.columns] \"<export column>\" = \"<canonical column>\""
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
                table.file, 1, name, None, f"is not a column of {table.kind}",
                f"rename it to one of: {', '.join(required + optional)}; {how_to_map}; "
                f"or list it under ignore = [...] in [{table.kind}] if the import should leave it out",
            )
            continue
        if target in seen:
            ok = False
            problems.add(
                table.file, 1, name, None, f"gives {target}, which column {seen[target]!r} gives too",
                "remove one of the two columns, or change the mapping so that each canonical column comes from one",
            )
            continue
        seen[target] = name
        table.labels[target] = column_label(name, target)
        keep.append((index, target))
    for column in required:
        if column not in seen:
            ok = False
            problems.add(table.file, 1, column, None, "is a required column and is missing",
                         f"add the column, or {how_to_map}")
    return keep if ok else None


def _read_rows(
    table: Table, reader, header: list[str], keep: list[tuple[int, str]], mapping: FileMapping, problems: Problems,
    max_rows: int,
) -> None:
    # Cells under no header name (beyond the header, or under a blank one) must be
    # blank: Excel leaves trailing commas, but a value there lost its column.
    width = len(header)
    unnamed = {i for i, h in enumerate(header) if not h.strip().lstrip("\ufeff").strip()}
    value_maps = [(column, mapping.values[column]) for column in mapping.values if column in table.labels]
    row_number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            table.report(problems, row_number + 1, None, None, f"is not valid CSV ({exc})",
                         "check for a stray quote or a cell far longer than any real value; " + SAVE_AS_CSV)
            return
        row_number += 1
        if not any(c.strip() for c in cells):
            continue  # blank rows (often trailing ones) are not data
        if len(table.rows) + len(table.broken) >= max_rows:
            table.report(problems, row_number, None, None,
                         f"is past the {max_rows:,} data rows an import reads (the rest of the file was not read)",
                         "check it is the right file; for a genuinely larger file raise the limit with --max-rows "
                         "(or PLACEMENT_MAX_IMPORT_ROWS)")
            return
        bad = False
        stray = None
        if len(cells) > width or unnamed:
            stray = next((i for i, c in enumerate(cells) if c.strip() and (i >= width or i in unnamed)), None)
        if stray is not None:
            table.report(problems, row_number, None, None,
                         f"has a value in column {stray + 1}, which has no name in the header",
                         "remove the stray value, or give its column a name in the header row")
            bad = True
        if len(cells) < width:  # spreadsheets drop trailing empty cells
            cells = cells + [""] * (width - len(cells))
        row = {column: cells[index].strip() for index, column in keep}
        for column, value in row.items():
            if len(value) > MAX_CELL_CHARS:
                table.report(problems, row_number, column, value, f"has {len(value)} characters",
                             f"no value needs more than {MAX_CELL_CHARS} characters: check the export")
                bad = True
        if bad:
            table.broken.append((row_number, row))
            continue
        for column, spellings in value_maps:
            row[column] = _map_value(row[column], spellings, column in LIST_COLUMNS)
        table.rows.append((row_number, row))


def _map_value(value: str, spellings: dict[str, str], is_list: bool) -> str:
    if not value:
        return value
    whole = spellings.get(fold(value))
    if whole is not None:
        return whole
    if is_list:
        return ";".join(spellings.get(fold(item), item.strip()) for item in value.split(";"))
    return value
