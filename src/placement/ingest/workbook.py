"""Reading one sheet of a workbook (.xlsx, .xlsm, .ods) as rows of cell text.

A cell is read as the text a person sees in it, because ids are compared as
text: a text cell ``00123`` stays ``00123``, a number formatted ``00000``
shows (and is read as) ``00123`` in an id or name column, a text cell ``1E5``
is not a number. Number cells in number columns are read as the number they
hold (not rounded as the cell may show it). Formulas are read as the value
Excel last calculated and saved; macros are never run.

Cells that need a decision by column come back as :class:`SheetCell` (a
``str`` with what the cell really was), and the reader decides once it knows
the column: a date is accepted only in a date column, a spreadsheet error
(``#N/A``) nowhere, a number shown in scientific notation not as an id.

Readers: openpyxl in read-only mode for .xlsx/.xlsm — it streams rows in
little memory and gives each cell's type, number format and error value,
which "the text a person sees" needs (python-calamine is ~10x faster but
turns error cells into blanks and drops number formats, so ``00123`` would be
read as ``123``); python-calamine for .ods, which openpyxl does not read
(pandas' odfpy engine is far slower). ``docs/import.md`` has the figures.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKBOOK_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".ods")
# An OLE2 compound file: an Excel 97-2003 .xls, or an Office file encrypted with a password.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_PADDED = re.compile(r"0{2,}")  # a number format of zeros only: pads the number (00123)


class SheetCell(str):
    """A cell whose meaning depends on its column. ``kind`` is date, error, padded or scientific.

    The string is what to show in a message; ``number`` is the plain number a
    number column reads (padded and scientific cells); ``padded`` the text a
    person sees for a zero-padded number.
    """

    kind: str
    number: str

    def __new__(cls, text: str, kind: str, number: str = "") -> SheetCell:
        cell = super().__new__(cls, text)
        cell.kind = kind
        cell.number = number
        return cell


class WorkbookProblem(Exception):
    """The workbook (or the sheet asked for) cannot be read; ``problem`` and ``fix`` for the coordinator."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass
class Sheet:
    """The sheet chosen: its name, why it was chosen, and its rows (1-based row numbers, header first)."""

    name: str
    rule: str  # how the sheet was chosen, for the import report
    rows: Iterator[tuple[int, list[str]]]
    # Ranges of merged cells in the header row, e.g. "B1:D1" (xlsx only); asked only when the
    # header has a gap, since finding them reads the sheet a second time.
    merged_header: Callable[[], list[str]] = lambda: []
    others: list[str] = field(default_factory=list)  # the workbook's other visible sheets


class Workbooks:
    """The workbooks one import opens, each once: several kinds may come from sheets of one file.

    Opening an .xlsx reads every sheet's size, which for a workbook written
    without one (some libraries omit it; Excel never does) means reading the
    whole sheet: once per import, not once per kind. Close it when the import
    has read its files.
    """

    def __init__(self) -> None:
        self._open: dict[Path, Any] = {}

    def xlsx(self, path: Path) -> Any:
        key = path.resolve()
        if key not in self._open:
            import openpyxl

            with warnings.catch_warnings():  # openpyxl warns about features it skips (validation, styles): not ours
                warnings.simplefilter("ignore", UserWarning)
                self._open[key] = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        return self._open[key]

    def close(self) -> None:
        for wb in self._open.values():
            wb.close()
        self._open.clear()

    def __enter__(self) -> Workbooks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_workbook(path: Path) -> bool:
    return path.suffix.casefold() in WORKBOOK_SUFFIXES


def plain_number(value: float | int) -> str:
    """The number as a coordinator would type it: 78, 78.5, 0.4 (no float noise beyond repr)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _date_text(value: dt.date | dt.datetime | dt.time | dt.timedelta) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.timedelta):
        return str(value)
    return value.isoformat()


def cell_text(value: Any, number_format: str | None = None, data_type: str | None = None) -> str:
    """One cell's value (as openpyxl or python-calamine gives it) as text; see the module doc."""
    if value is None:
        return ""
    if data_type == "e":
        return SheetCell(str(value), "error")
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return SheetCell(_date_text(value), "date")
    if isinstance(value, int | float):
        plain = plain_number(value)
        fmt = (number_format or "General").split(";")[0]
        if fmt in ("General", "@", "0"):
            return plain
        if "%" in fmt:  # what the cell shows: a 0-100 score typed as 78% is caught, not read as 0.78
            decimals = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
            return f"{value * 100:.{decimals}f}%"
        if _PADDED.fullmatch(fmt) and float(value).is_integer() and value >= 0:
            return SheetCell(f"{int(value):0{len(fmt)}d}", "padded", plain)
        if "E+" in fmt.upper():
            decimals = len(fmt.upper().split("E")[0].split(".")[1]) if "." in fmt else 0
            return SheetCell(f"{value:.{decimals}E}", "scientific", plain)
        return plain
    return str(value)


def open_sheet(path: Path, sheet: str | None, workbooks: Workbooks) -> Sheet:
    """Choose and open the sheet to read: ``sheet`` if named, else the first, by the rule in the module doc.

    Raises OSError when the file cannot be read.
    """
    with path.open("rb") as fh:
        data = fh.read(512)  # enough to tell a zip from an OLE2 file or text
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED in path.read_bytes():  # refused either way: the whole file only says which message
            raise WorkbookProblem(
                "is protected with a password, so it cannot be read",
                "open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password: "
                "clear it), save, and import again",
            )
        raise WorkbookProblem(
            "is an Excel 97-2003 workbook (.xls), not .xlsx",
            "open it in Excel and use File > Save As > 'Excel Workbook (*.xlsx)'",
        )
    if not data.startswith(b"PK\x03\x04"):
        hint = "if it is CSV text, give it a .csv name" if data[:1].isascii() and b"\x00" not in data[:512] else ""
        raise WorkbookProblem(
            f"is not a {path.suffix} workbook (damaged, or another kind of file)",
            hint or f"save it again from Excel or LibreOffice as {path.suffix}",
        )
    if path.suffix.casefold() == ".ods":
        return _open_ods(path, sheet)
    return _open_xlsx(path, sheet, workbooks)


def _macros(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        return any(name.casefold().endswith("vbaproject.bin") for name in zf.namelist())


def _choose(names: list[str], sheet: str | None, *, macros: bool) -> tuple[str, str]:
    """(sheet name, rule said in the report). ``names`` are the visible worksheets, in order."""
    listed = ", ".join(repr(n) for n in names)
    if sheet is not None:
        exact = [n for n in names if n == sheet] or [
            n for n in names if n.strip().casefold() == sheet.strip().casefold()
        ]
        if not exact:
            raise WorkbookProblem(f"has no sheet named {sheet!r}", f"name one of its sheets with --sheet: {listed}")
        return exact[0], "the sheet named"
    if not names:
        raise WorkbookProblem(
            "has no worksheet to read (only charts or hidden sheets)",
            "save the data on a visible worksheet and import again",
        )
    if macros:
        # A macro workbook often opens on a menu or control sheet, and macros may
        # rebuild its data: the coordinator says which sheet holds the data.
        raise WorkbookProblem(
            "is a macro-enabled workbook; its macros are never run and its values are read as last saved, "
            "but which sheet holds the data must be named",
            f'name the sheet with --sheet (or sheet = "..." in the mapping file); its sheets: {listed}',
        )
    if len(names) == 1:
        return names[0], "its only sheet"
    return names[0], f"the first of {len(names)} sheets ({listed}); choose another with --sheet"


def _open_xlsx(path: Path, sheet: str | None, workbooks: Workbooks) -> Sheet:
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        macros = _macros(path)
        wb = workbooks.xlsx(path)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise WorkbookProblem(
            f"is not a readable {path.suffix} workbook ({type(exc).__name__})",
            "open it in Excel, save it again as .xlsx, and import again",
        ) from None
    names = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    name, rule = _choose(names, sheet, macros=macros)
    ws = wb[name]
    ws.reset_dimensions()  # some exporters write a wrong <dimension>; read every cell there is

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(ws.iter_rows(), start=1):
            cells = []
            for c in row:
                value = c.value
                if value is None:
                    cells.append("")
                elif type(value) is str and c.data_type != "e":
                    cells.append(value)
                else:
                    fmt = c.number_format if c.data_type == "n" else None
                    cells.append(cell_text(value, fmt, c.data_type))
            yield number, cells

    return Sheet(name, rule, rows(), lambda: _merged_header_xlsx(path, name), [n for n in names if n != name])


def _merged_header_xlsx(path: Path, name: str) -> list[str]:
    """Merged ranges touching row 1 (openpyxl's read-only mode does not give them; python-calamine does)."""
    try:
        from python_calamine import CalamineWorkbook

        ranges = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).merged_cell_ranges or []
    except Exception:  # noqa: BLE001 - only a better message is lost
        return []
    return [_a1(start, end) for start, end in ranges if start[0] == 0]


def _a1(start: tuple[int, int], end: tuple[int, int]) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(start[1] + 1)}{start[0] + 1}:{get_column_letter(end[1] + 1)}{end[0] + 1}"


def _open_ods(path: Path, sheet: str | None) -> Sheet:
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except PasswordError:
        raise WorkbookProblem(
            "is protected with a password, so it cannot be read",
            "open it in LibreOffice, remove the password, save, and import again",
        ) from None
    except (CalamineError, OSError, ValueError) as exc:
        raise WorkbookProblem(
            f"is not a readable .ods spreadsheet ({type(exc).__name__})",
            "open it in LibreOffice, save it again as .ods, and import again",
        ) from None
    names = [
        m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
    ]
    name, rule = _choose(names, sheet, macros=False)
    ws = wb.get_sheet_by_name(name)
    # calamine starts at the first used cell: the rows above and columns left of it are blank.
    top, left = ws.start if ws.start else (0, 0)

    def rows() -> Iterator[tuple[int, list[str]]]:
        pad = [""] * left
        for number, row in enumerate(ws.iter_rows(), start=top + 1):
            yield number, pad + [cell_text(v) if v != "" else "" for v in row]

    return Sheet(name, rule, rows(), others=[n for n in names if n != name])
