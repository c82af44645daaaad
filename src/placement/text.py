"""Characters that must never act on a terminal or hide in an id: one rule, one place.

User-supplied strings (names, ids, target names, the approver's ``--by``, a
file name) reach the terminal in tables and messages. Two things can go wrong:

- rich reads ``[bold]`` or ``[link=...]`` in a string as markup (a
  ``MarkupError``, or an OSC 8 hyperlink the coordinator did not write): the
  CLI prints such strings as :class:`rich.text.Text` or escaped (see
  ``placement.cli.show``);
- control characters (ESC starts a terminal escape sequence, BEL, C1 codes),
  bidirectional overrides (U+202E turns ``C001evil`` into what looks like
  ``C001live``) and invisible format characters (zero-width space) change what
  the terminal shows or hide a difference between two ids.

The import refuses control characters and bidi controls in every cell, and
every invisible format character in ids (``refused_in_text``/``refused_in_id``);
anything already stored, or given on the command line, is shown *visibly* as
a Python-style escape (``\\x1b``, ``\\u202e``) by :func:`visible`.
"""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates, and the implicit marks (Unicode TR9).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_hidden(ch: str) -> bool:
    """A character a terminal acts on or does not show: controls, format characters, separators, surrogates."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def visible(value: object, *, multiline: bool = False) -> str:
    """``value`` as text with every hidden character written as an escape (``\\x1b``); newlines kept if ``multiline``."""
    text = str(value)
    if not any(is_hidden(ch) for ch in text):
        return text
    return "".join(ch if (multiline and ch == "\n") or not is_hidden(ch) else _escape(ch) for ch in text)


def refused_in_text(text: str) -> str | None:
    """The first character no cell may hold (a control character or a bidi control), escaped; else None.

    Tab, line feed and carriage return are left to the CSV reader (a quoted
    cell may span lines); zero-width joiners and non-joiners stay allowed in
    names (some scripts need them).
    """
    for ch in text:
        if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"):
            return _escape(ch)
    return None


def refused_in_id(text: str) -> str | None:
    """The first hidden character (control, format, separator) in an id or an email, escaped; else None."""
    for ch in text:
        if is_hidden(ch):
            return _escape(ch)
    return None
