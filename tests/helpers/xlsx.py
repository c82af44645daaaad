"""Write small .xlsx/.xlsm workbooks byte for byte reproducibly, for tests and the bad-input corpus.

Spreadsheet programs write what a coordinator sends (formulas with their cached
values, error cells, number formats, merged header cells, macros); a writing
library would either compute nothing (openpyxl writes formulas without cached
values) or stamp the time into the file. This writes the few XML parts Excel
needs, with fixed timestamps, so a committed workbook can be regenerated
exactly.

Cells: ``str`` (a text cell), ``int``/``float`` (a number, General format),
``None`` (no cell), or one of :class:`Num`, :class:`Date`, :class:`Formula`,
:class:`Err`.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class Num:
    value: float
    fmt: str  # a number format code, e.g. "00000", "0%", "0.00E+00"


@dataclass(frozen=True)
class Date:
    value: dt.date
    fmt: str = "dd/mm/yyyy"


@dataclass(frozen=True)
class Formula:
    formula: str  # without the leading =
    cached: object  # the value Excel saved (str or number)


@dataclass(frozen=True)
class Err:
    code: str = "#N/A"


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]
    merged: list[str] = field(default_factory=list)  # e.g. ["B1:D1"]
    hidden: bool = False


def _col(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _serial(d: dt.date) -> float:
    return float((d - dt.date(1899, 12, 30)).days)


def workbook(sheets: list[Sheet], *, macros: bool = False) -> bytes:
    """The bytes of an .xlsx (or, with ``macros``, .xlsm) workbook holding ``sheets``."""
    formats: dict[str, int] = {}

    def style(fmt: str) -> int:
        if fmt not in formats:
            formats[fmt] = len(formats) + 1  # xf index; xf 0 is the default
        return formats[fmt]

    sheet_xml = []
    for sheet in sheets:
        rows = []
        for r, cells in enumerate(sheet.rows, start=1):
            out = []
            for c, value in enumerate(cells):
                ref = f"{_col(c)}{r}"
                if value is None:
                    continue
                if isinstance(value, str):
                    out.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>')
                elif isinstance(value, bool):
                    out.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
                elif isinstance(value, int | float):
                    out.append(f'<c r="{ref}"><v>{value!r}</v></c>')
                elif isinstance(value, Num):
                    out.append(f'<c r="{ref}" s="{style(value.fmt)}"><v>{value.value!r}</v></c>')
                elif isinstance(value, Date):
                    out.append(f'<c r="{ref}" s="{style(value.fmt)}"><v>{_serial(value.value)!r}</v></c>')
                elif isinstance(value, Formula):
                    if isinstance(value.cached, str):
                        out.append(
                            f'<c r="{ref}" t="str"><f>{escape(value.formula)}</f><v>{escape(value.cached)}</v></c>'
                        )
                    else:
                        out.append(f'<c r="{ref}"><f>{escape(value.formula)}</f><v>{value.cached!r}</v></c>')
                elif isinstance(value, Err):
                    out.append(f'<c r="{ref}" t="e"><v>{escape(value.code)}</v></c>')
                else:  # pragma: no cover
                    raise TypeError(value)
            rows.append(f'<row r="{r}">{"".join(out)}</row>')
        merged = ""
        if sheet.merged:
            merged = (
                f'<mergeCells count="{len(sheet.merged)}">'
                + "".join(f'<mergeCell ref="{m}"/>' for m in sheet.merged)
                + "</mergeCells>"
            )
        sheet_xml.append(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
            f"<sheetData>{''.join(rows)}</sheetData>{merged}</worksheet>"
        )

    custom = {fmt: 164 + i for i, fmt in enumerate(formats)}
    num_fmts = "".join(
        f'<numFmt numFmtId="{i}" formatCode="{escape(f, {chr(34): "&quot;"})}"/>' for f, i in custom.items()
    )
    xfs = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' + "".join(
        f'<xf numFmtId="{custom[f]}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        for f in formats
    )
    styles = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}">'
        f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(formats) + 1}">{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )

    main_type = (
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        if macros
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    vba_default = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if macros else ""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{vba_default}'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main_type}"/>{overrides}'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
    )
    root_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_entries = "".join(
        f'<sheet name="{escape(s.name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"'
        f"{' state=' + chr(34) + 'hidden' + chr(34) if s.hidden else ''}/>"
        for i, s in enumerate(sheets, start=1)
    )
    wb_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        f"<sheets>{sheet_entries}</sheets></workbook>"
    )
    n = len(sheets)
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1)
    )
    rels += f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    if macros:
        rels += (
            f'<Relationship Id="rId{n + 2}" Type="http://schemas.microsoft.com/office/2006/relationships/'
            'vbaProject" Target="vbaProject.bin"/>'
        )
    wb_rels = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">{rels}</Relationships>'

    parts = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", root_rels),
        ("xl/workbook.xml", wb_xml),
        ("xl/_rels/workbook.xml.rels", wb_rels),
        ("xl/styles.xml", styles),
    ]
    parts += [(f"xl/worksheets/sheet{i}.xml", x) for i, x in enumerate(sheet_xml, start=1)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts:
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text.encode("utf-8"))
        if macros:  # a stand-in VBA project: never run, only its presence matters
            zf.writestr(zipfile.ZipInfo("xl/vbaProject.bin", (1980, 1, 1, 0, 0, 0)), b"\xd0\xcf\x11\xe0VBA" + bytes(64))
    return buf.getvalue()


def ods(sheets: list[Sheet]) -> bytes:
    """The bytes of an OpenDocument spreadsheet (.ods) holding ``sheets`` (text and number cells only)."""
    tables = []
    for sheet in sheets:
        rows = []
        for cells in sheet.rows:
            out = []
            for value in cells:
                if value is None:
                    out.append("<table:table-cell/>")
                elif isinstance(value, str):
                    out.append(
                        f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
                        "</table:table-cell>"
                    )
                else:
                    out.append(
                        f'<table:table-cell office:value-type="float" office:value="{value!r}">'
                        f"<text:p>{value!r}</text:p></table:table-cell>"
                    )
            rows.append(f"<table:table-row>{''.join(out)}</table:table-row>")
        tables.append(f'<table:table table:name="{escape(sheet.name)}">{"".join(rows)}</table:table>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype", (1980, 1, 1, 0, 0, 0)), b"application/vnd.oasis.opendocument.spreadsheet"
        )
        zf.writestr(zipfile.ZipInfo("META-INF/manifest.xml", (1980, 1, 1, 0, 0, 0)), manifest.encode())
        zf.writestr(zipfile.ZipInfo("content.xml", (1980, 1, 1, 0, 0, 0)), content.encode())
    return buf.getvalue()
