"""Writing formatted Excel workbooks (.xlsx): placements exports and audit tables.

Each sheet has a bold, shaded header row frozen at the top, filters on every
column and widths fitted to the content. Numbers stay numbers (so a
coordinator can sort and sum), and every text cell is stored as text, never
as a formula: a name like ``=HYPERLINK(...)`` or ``@SUM(...)`` is shown
exactly as typed and never runs (OWASP "CSV injection", which applies to
workbooks as much as to CSV), with Excel's quote prefix so that editing the
cell does not turn it into a formula either.

Files are written owner-only (0600): they hold names and emails. A workbook
is built in openpyxl's write-only mode (rows streamed, little memory) and
written under a temporary name first, so a half-written export never takes
the real file's name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

# Characters that make a spreadsheet treat typed text as a formula (or a DDE command).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 60
_HEADER_FILL = "DDEBF7"


@dataclass
class SheetData:
    """One sheet: a title (31 characters at most, Excel's limit), column names and rows of values."""

    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence[object]]
    notes: list[str] = field(default_factory=list)  # lines shown above the table (e.g. a do-not-publish notice)


def sheet_title(text: str, taken: set[str]) -> str:
    """A valid, unique sheet title: no ``[]:*?/\\``, at most 31 characters."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in text).strip("'") or "Sheet"
    title = clean[:31]
    n = 2
    while title.casefold() in {t.casefold() for t in taken}:
        suffix = f" ({n})"
        title = clean[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title)
    return title


def write_workbook(path: Path, sheets: Sequence[SheetData]) -> None:
    """Write ``sheets`` to ``path`` (.xlsx), owner-only, atomically."""
    _save(_build(sheets), path)


def workbook_bytes(sheets: Sequence[SheetData]) -> bytes:
    """The .xlsx file of ``sheets``, for a caller that writes it itself (the audit's editions)."""
    import io

    buf = io.BytesIO()
    _build(sheets).save(buf)
    return buf.getvalue()


def _build(sheets: Sequence[SheetData]) -> Any:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    wrap = Alignment(wrap_text=False, vertical="top")
    note_font = Font(bold=True, color="C00000")
    for data in sheets:
        ws = wb.create_sheet(title=data.title)
        widths = [len(str(c)) for c in data.columns]
        top = len(data.notes) + 1 if data.notes else 0  # notes, then a blank row, then the header
        # Widths must be set before rows are streamed, so rows are held for this sheet only.
        body = [list(r) for r in data.rows]
        for r in body:
            for i, v in enumerate(r[: len(widths)]):
                widths[i] = max(widths[i], len(_shown(v)))
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(_MAX_WIDTH, max(8, w + 2))
        header_row = top + 1
        ws.freeze_panes = f"A{header_row + 1}"
        if body or data.columns:
            last = get_column_letter(max(1, len(data.columns)))
            ws.auto_filter.ref = f"A{header_row}:{last}{header_row + len(body)}"
        for line in data.notes:
            cell = _text_cell(WriteOnlyCell(ws), line)
            cell.font = note_font
            ws.append([cell])
        if data.notes:
            ws.append([])
        header = []
        for name in data.columns:
            cell = _text_cell(WriteOnlyCell(ws), str(name))
            cell.font, cell.fill, cell.alignment = bold, fill, wrap
            header.append(cell)
        ws.append(header)
        for r in body:
            ws.append([_value_cell(ws, WriteOnlyCell, v) for v in r])
    return wb


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def _text_cell(cell, text: str):
    cell.value = text
    cell.data_type = "s"  # text, even when it starts with '=': stored as a string, never a formula
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True  # Excel keeps it text when the cell is edited
    return cell


def _value_cell(ws, make, value: object):
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return _text_cell(make(ws), str(value))


def _save(wb: Any, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                wb.save(fh)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"Cannot write {path}: {exc.strerror}.", "Choose another place with --out.") from exc
