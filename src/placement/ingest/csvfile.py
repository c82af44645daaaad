"""A CSV file read in bounded memory: its encoding checked in one pass over the bytes, then its rows streamed.

Encodings: UTF-8 with or without BOM, else Windows-1252 (what Excel writes
when told "CSV" on a UK Windows machine). Anything else — an Excel workbook
saved with a .csv name, UTF-16 "Unicode text", NUL bytes, binary junk, a file
mixing UTF-8 and Windows-1252 — is refused with a message saying how to save
the file properly, because guessing would silently corrupt names.

The file is never held whole: :func:`scan` reads it in chunks of
``CHUNK`` bytes (hashing it and noting the first of each problem with its
line), and :func:`csv_rows` then reads it again through the csv module one
record at a time, so reading a file of any size takes a few megabytes. Every
problem of the encoding is found before the first row is given, as when the
whole file was decoded first.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time
SAVE_AS_CSV = "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"
# C0 controls other than tab, line feed and carriage return, and DEL: never in a real export. Found in the
# bytes: in UTF-8 and Windows-1252 alike a byte below 0x80 is that character and nothing else.
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A well-formed UTF-8 multi-byte sequence: if a file that is not valid UTF-8
# has these, it mixes encodings (e.g. two exports pasted together).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")  # the five bytes Windows-1252 leaves undefined

Refuse = Callable[[str, str, int | None], None]  # (problem, fix, line)


@dataclass(frozen=True)
class CsvText:
    """A CSV file that passed the encoding checks: how to read it, and its SHA-256 (of the bytes read)."""

    path: Path
    encoding: str  # "utf-8-sig" or "cp1252"
    sha256: str


@dataclass
class _Findings:
    """The first line of each kind of problem in the file (None: not found), gathered chunk by chunk."""

    head: bytes = b""
    blank: bool = True
    nul: int | None = None
    control: int | None = None
    utf8: int | None = None  # the line of the first byte that is not UTF-8
    multibyte: bool = False
    cp1252: int | None = None


def scan(path: Path, refuse: Refuse) -> CsvText | None:
    """Check the file's encoding (see the module doc) in one pass; None after ``refuse`` when it is refused.

    Raises OSError when the file cannot be read.
    """
    digest = hashlib.sha256()
    found = _Findings()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    lines = 0  # line breaks before this chunk
    tail = b""  # the end of the previous chunk: a multi-byte sequence may straddle two
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if not found.head:
                found.head = chunk[:4]
            found.blank = found.blank and not chunk.strip()
            if found.nul is None and (at := chunk.find(b"\x00")) >= 0:
                found.nul = lines + chunk.count(b"\n", 0, at) + 1
            if found.control is None and (m := _CONTROL.search(chunk)):
                found.control = lines + chunk.count(b"\n", 0, m.start()) + 1
            if found.utf8 is None:
                pending = len(utf8.getstate()[0])  # bytes of a sequence begun in the previous chunk
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError as exc:
                    found.utf8 = lines + chunk.count(b"\n", 0, max(0, exc.start - pending)) + 1
            found.multibyte = found.multibyte or bool(_UTF8_MULTIBYTE.search(tail + chunk))
            if found.cp1252 is None and (m := _NOT_CP1252.search(chunk)):
                found.cp1252 = lines + chunk.count(b"\n", 0, m.start()) + 1
            lines += chunk.count(b"\n")
            tail = chunk[-3:]
    if found.utf8 is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:  # the file ends inside a multi-byte sequence
            found.utf8 = lines + 1
    encoding = _judge(found, refuse)
    return CsvText(path, encoding, digest.hexdigest()) if encoding else None


def _judge(found: _Findings, refuse: Refuse) -> str | None:
    """The encoding, or None after refusing; problems in the order the coordinator should fix them."""
    if found.blank:
        refuse("is empty", "export the file again; it must have a header row and data rows", None)
    elif found.head.startswith(b"PK\x03\x04"):
        refuse("is an Excel workbook (or another zip file), not CSV", SAVE_AS_CSV, None)
    elif found.head.startswith((b"\xff\xfe", b"\xfe\xff")):
        refuse("is saved as UTF-16 ('Unicode text'), not CSV UTF-8", SAVE_AS_CSV, None)
    elif found.nul is not None:
        refuse("contains NUL bytes: it is a binary file, not CSV text", SAVE_AS_CSV, found.nul)
    elif found.utf8 is not None and found.multibyte:
        refuse("mixes two text encodings (UTF-8 and another); names would come out garbled", SAVE_AS_CSV, found.utf8)
    elif found.utf8 is not None and found.cp1252 is not None:
        refuse("is neither UTF-8 nor Windows-1252 text", SAVE_AS_CSV, found.cp1252)
    elif found.control is not None:
        refuse("contains control characters (binary junk), not CSV text", SAVE_AS_CSV, found.control)
    else:
        return "utf-8-sig" if found.utf8 is None else "cp1252"
    return None


def first_line(text: CsvText) -> str:
    """The header row's line (for finding the delimiter), without a byte-order mark."""
    with text.path.open(encoding=text.encoding, newline="") as fh:
        return fh.readline().lstrip("\ufeff").rstrip("\r\n")


def csv_rows(text: CsvText, name: str, delimiter: str, refuse: Refuse) -> Iterator[tuple[int, list[str]]]:
    """CSV records with their spreadsheet row numbers (a quoted cell with line breaks is still one row)."""
    try:
        fh = text.path.open(encoding=text.encoding, newline="")
    except OSError as exc:
        refuse(f"cannot be read ({exc.strerror or exc})", "check the path and permissions", None)
        return
    with fh:
        reader = csv.reader(fh, delimiter=delimiter)
        row_number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, OSError):  # it passed the checks of scan() a moment before
                refuse(
                    "changed while it was being read", "import it again once nothing is writing to it", row_number + 1
                )
                return
            except csv.Error as exc:
                if row_number == 0:
                    refuse(f"has a header row that is not valid CSV ({exc})", SAVE_AS_CSV, 1)
                else:
                    refuse(
                        f"is not valid CSV ({exc})",
                        "check for a stray quote or a cell far longer than any real value; " + SAVE_AS_CSV,
                        row_number + 1,
                    )
                return
            row_number += 1
            yield row_number, cells
