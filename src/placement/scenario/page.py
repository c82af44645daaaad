"""The scenario comparison as one self-contained HTML page (the audit's styles, inline SVG charts, no JavaScript)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from . import charts
from .compare import rank_profile


def to_html(comparison: dict[str, Any]) -> str:
    from ..audit.render_html import environment

    columns = comparison["variants"]
    bins, rows = rank_profile(columns)
    figures = {
        "tradeoff": charts.tradeoff_chart(columns, "s1"),
        "profile": charts.profile_chart(columns, bins, rows, "s2"),
    }
    template = environment().get_template("scenario.html")
    return template.render(
        a=comparison, bins=bins, profile=rows, figures={k: Markup(v) if v else None for k, v in figures.items()}
    )
