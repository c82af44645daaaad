"""Terminal output shared by the commands: tables that wrap rather than truncate, text never read as markup.

Every user-supplied string (names, ids, reasons, target names) goes through
:func:`text` before it reaches rich, so ``[bold]`` in a host's name is shown
as typed, never interpreted. Columns fold long values onto further lines and
never end a word with an ellipsis, so a table read at 80 columns still says
``superseded``, not ``supers…``.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text as RichText

from ..text import visible


def text(value: Any) -> str:
    """A value shown as text: rich markup escaped, control/bidi/invisible characters written visibly
    (``placement.text.visible``: ``\x1b``, ``\u202e``), None as blank."""
    return "" if value is None else escape(visible(value))


def console(*, stderr: bool = False) -> Console:
    """A console for command output (no emoji codes: ``:x:`` in a name stays ``:x:``); wide enough for
    tables when the output is piped or captured."""
    out = Console(stderr=stderr, emoji=False)
    if not out.is_terminal:
        out = Console(stderr=stderr, width=120, emoji=False)
    return out


def table(title: str | None, *columns: str | tuple[str, dict[str, Any]]) -> Table:
    """A table whose columns wrap (fold) instead of truncating; a column is a header or (header, options)."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for col in columns:
        name, opts = (col, {}) if isinstance(col, str) else col
        opts = {"overflow": "fold", "min_width": min(len(name), 12), **opts}
        t.add_column(name, **opts)
    return t


def row(t: Table, *values: Any) -> None:
    """Add a row of values, each shown as text (escaped)."""
    t.add_row(*(text(v) for v in values))


def cell(value: Any, style: str = "") -> RichText:
    """A table cell showing ``value`` literally (a rich Text: never markup), hidden characters escaped."""
    return RichText("" if value is None else visible(value), style=style)


# ``value`` for an f-string printed with markup: brackets and hidden characters escaped.
esc = text
