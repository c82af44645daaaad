"""Printing user-supplied strings on the terminal as text, never as rich markup or escape sequences.

Use :func:`console` for every rich console (no emoji codes: ``:x:`` in a name
stays ``:x:``), :func:`cell` for every table cell that holds data, and
:func:`esc` for data interpolated into a line that also has markup. Plain
``click.echo`` lines pass their data through :func:`placement.text.visible`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from ..text import visible


def console(**kwargs: Any) -> Console:
    return Console(emoji=False, **kwargs)


def cell(value: object, style: str = "") -> Text:
    """A table cell showing ``value`` literally (no markup), hidden characters escaped."""
    return Text("" if value is None else visible(value), style=style)


def esc(value: object) -> str:
    """``value`` for an f-string printed with markup: brackets escaped, hidden characters escaped (``tables.text``)."""
    from .tables import text

    return text(value)
