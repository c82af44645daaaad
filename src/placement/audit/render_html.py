"""The audit as one self-contained HTML file (jinja2 template, inline SVG charts, print CSS).

Nothing is fetched from the network — NHS machines are often offline — and
there is no JavaScript: styles and charts are inside the file. Every withheld
cell is shown as a marked ``*`` with an explanation; a restricted report
(``--no-suppression``) carries its notice at the top of every printed page.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from . import charts
from . import labels as L

WITHHELD = Markup('<span class="withheld" title="Withheld: small numbers (disclosure control)">*</span>')
NOT_APPLICABLE = Markup('<span class="na" title="Not applicable">—</span>')


def _cell(c: dict[str, Any] | None, fmt) -> Markup:
    if c is None:
        return NOT_APPLICABLE
    if c["suppressed"]:
        return WITHHELD
    if c["value"] is None:
        return NOT_APPLICABLE
    return escape(fmt(c["value"]))


def count(c: dict[str, Any] | None) -> Markup:
    return _cell(c, lambda v: f"{int(v):,}")


def pct(c: dict[str, Any] | None, digits: int = 0) -> Markup:
    return _cell(c, lambda v: f"{100 * v:.{digits}f}%")


def dec(c: dict[str, Any] | None, digits: int = 2) -> Markup:
    return _cell(c, lambda v: f"{v:.{digits}f}")


def pvalue(c: dict[str, Any] | None) -> Markup:
    return _cell(c, lambda v: "< 0.001" if v < 0.001 else f"{v:.3f}")


def interval(iv: dict[str, Any] | None, kind: str = "pct") -> Markup:
    """ "(40%–62%)" or "(0.55–1.10)"; withheld or undefined ends are marked."""
    if iv is None:
        return Markup("")
    f = pct if kind == "pct" else dec
    low, high = iv["low"], iv["high"]
    if not low["suppressed"] and not high["suppressed"] and low["value"] is None and high["value"] is None:
        return Markup("")
    return Markup('<span class="ci">(') + f(low) + Markup("–") + f(high) + Markup(")</span>")


def rate(v: float | None, digits: int = 0) -> str:
    """A plain (never withheld) share as a percentage; "—" when undefined."""
    return "—" if v is None else f"{100 * v:.{digits}f}%"


VERDICT_BADGES = {
    "flagged": Markup('<span class="badge flagged">flagged</span>'),
    "within the band": Markup('<span class="badge met">within the band</span>'),
    "too few to tell": Markup('<span class="badge withheld-status">too few to tell</span>'),
}
FLAG_TITLES = {
    "relative_likelihood_placed": "Relative likelihood of being placed outside 0.80–1.25",
    "relative_likelihood_first_choice": "Relative likelihood of a first choice outside 0.80–1.25",
    "adverse_impact": "Adverse impact (four-fifths rule)",
    "target_missed": "Target missed",
    "quota": "Quota on a protected characteristic",
    "special_category_use": "Special category data used in decisions",
    "stability": "Justified envy",
    "status": "Solver status",
}


def verdict_badge(v: str | None) -> Markup:
    return VERDICT_BADGES.get(v or "", Markup('<span class="na">not assessed</span>'))


def flag_title(f: dict[str, Any]) -> str:
    title = FLAG_TITLES.get(f["metric"], f["metric"])
    if f.get("characteristic") and f["metric"] in (
        "relative_likelihood_placed",
        "relative_likelihood_first_choice",
        "adverse_impact",
    ):
        return f"{L.characteristic_label(f['characteristic'])}: {title[0].lower()}{title[1:]}"
    return title


def option_value(v: Any) -> str:
    """An option as a coordinator would write it: yes/no, 60 rather than 60.0."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return "—" if v is None else str(v)


def plain_number(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def objective_text(objective: dict[str, Any]) -> str:
    """{"placed": 410.0, "rank_cost": 1033.5} -> "placed 410, rank_cost 1,033.5"."""
    if not objective:
        return "—"
    return ", ".join(f"{k} {v:,.10g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in objective.items())


def price_text(x: float | None) -> str:
    """0.0123 -> "0.0123 (1.23% worse)"; None -> "—"."""
    if x is None:
        return "—"
    if x == 0:
        return "0 (no cost)"
    return f"{x:.4f} ({abs(100 * x):.2f}% {'worse' if x > 0 else 'better'})"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("placement.audit", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        count=count,
        pct=pct,
        dec=dec,
        pvalue=pvalue,
        interval=interval,
        num=plain_number,
        opt=option_value,
        ordinal=L.ordinal,
        rate=rate,
    )
    env.globals.update(
        group_label=L.group_label,
        characteristic_label=L.characteristic_label,
        objective_text=objective_text,
        price_text=price_text,
        verdict_badge=verdict_badge,
        flag_title=flag_title,
    )
    return env


def to_html(audit: dict[str, Any]) -> str:
    figures = {}
    for i, ch in enumerate(audit["characteristics"]):
        figures[ch["name"]] = {
            "profile": charts.rank_profile_chart(ch, f"c{i}p"),
            "rates": charts.rate_chart(ch, f"c{i}r"),
        }
    template = environment().get_template("report.html")
    return template.render(
        a=audit, figures={k: {n: Markup(v) if v else None for n, v in d.items()} for k, d in figures.items()}
    )
