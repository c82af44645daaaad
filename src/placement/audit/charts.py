"""Charts for the HTML report: matplotlib figures written as inline SVG.

No network, no JavaScript: each chart is an ``<svg>`` element inside the
report. Text stays text (``svg.fonttype = none``) so it is selectable,
searchable and sharp when printed. Output is deterministic (fixed hash salt,
no date), and element ids are prefixed per chart so several charts can share
one page. Colours are from the NHS identity palette; withheld figures are
drawn as hatched grey and labelled, never guessed.
"""

from __future__ import annotations

import io
import re
from typing import Any

from . import labels as L

BLUES = ["#003087", "#005EB8", "#0072CE", "#41B6E6", "#9BD3EE", "#C8E6F5"]
UNPLACED = "#425563"
WITHHELD = "#E8EDEE"
POINT = "#005EB8"
THRESHOLD = "#DA291C"
TEXT = "#212B32"
FONT_STACK = "Arial, 'Helvetica Neue', Helvetica, 'DejaVu Sans', sans-serif"


def _new_figure(rows: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 0.9 + 0.42 * max(rows, 1)), dpi=96)
    ax = fig.add_subplot()
    ax.tick_params(colors=TEXT, labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#AEB7BD")
    return fig, ax


def _svg(fig, prefix: str, title: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(
        {"svg.hashsalt": "placement-audit", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
    ):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    svg = svg.replace("'DejaVu Sans'", FONT_STACK).replace('"DejaVu Sans"', FONT_STACK)
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    svg = re.sub(
        r"<svg\b([^>]*)>",
        rf'<svg\1 role="img" aria-labelledby="{prefix}-title"><title id="{prefix}-title">{esc}</title>',
        svg,
        count=1,
    )
    return svg


def _declared(ch: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in ch["groups"] if not g["missing_state"]]


def _short(label: str, width: int = 34) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def rank_profile_chart(ch: dict[str, Any], prefix: str) -> str | None:
    """Stacked bars: each declared group's share placed at their 1st, 2nd, … choice and unplaced."""
    groups = [g for g in _declared(ch) if g["eligible"]["suppressed"] or g["eligible"]["value"]]
    if not groups:
        return None
    rows = [*groups, {**ch["total"], "label": "All candidates"}]
    steps = [s["choice"] for s in rows[0]["rank_profile"]]
    colours = [BLUES[min(i, len(BLUES) - 1)] for i in range(len(steps) - 1)] + [UNPLACED]
    fig, ax = _new_figure(len(rows))
    y_labels = []
    for y, g in enumerate(reversed(rows)):
        y_labels.append(_short(g["label"]))
        if g["eligible"]["suppressed"]:
            ax.barh(y, 1.0, color=WITHHELD, hatch="///", edgecolor="#AEB7BD", linewidth=0)
            ax.text(0.5, y, "withheld: small numbers", va="center", ha="center", fontsize=8, color=TEXT)
            continue
        shown_total = sum(st["share"]["value"] or 0.0 for st in g["rank_profile"] if not st["share"]["suppressed"])
        withheld_drawn = False
        left = 0.0
        for step, colour in zip(g["rank_profile"], colours):
            share = step["share"]
            if share["suppressed"]:
                # The withheld steps together: what the shown ones leave of the bar, where the first of them falls.
                if not withheld_drawn and shown_total < 1.0:
                    ax.barh(
                        y, 1.0 - shown_total, left=left, color=WITHHELD, hatch="///", edgecolor="#AEB7BD", linewidth=0
                    )
                    left += 1.0 - shown_total
                withheld_drawn = True
                continue
            if share["value"] is None:
                continue
            ax.barh(y, share["value"], left=left, color=colour, edgecolor="white", linewidth=0.5)
            if share["value"] >= 0.07:
                ax.text(
                    left + share["value"] / 2,
                    y,
                    f"{share['value']:.0%}",
                    va="center",
                    ha="center",
                    fontsize=7.5,
                    color="white" if colour in (BLUES[0], BLUES[1], BLUES[2], UNPLACED) else TEXT,
                )
            left += share["value"]
    ax.set_yticks(range(len(rows)), y_labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.set_xlabel("Share of candidates with an eligible host", fontsize=9, color=TEXT)
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=("unplaced" if s == "unplaced" else L.ordinal(s))) for s, c in zip(steps, colours)]
    if any(g["eligible"]["suppressed"] or any(s["share"]["suppressed"] for s in g["rank_profile"]) for g in rows):
        handles.append(Patch(facecolor=WITHHELD, hatch="///", edgecolor="#AEB7BD", label="withheld"))
    legend_above(ax, handles)
    return _svg(fig, prefix, f"{ch['label']}: choice obtained by group")


def legend_above(ax, handles: list) -> None:
    """A stacked bar chart's key: one row of swatches above the plot, left-aligned (up to 8 a row)."""
    ax.legend(
        handles=handles,
        ncols=min(len(handles), 8),
        fontsize=8,
        frameon=False,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        handlelength=1.2,
        columnspacing=1.0,
    )


def _pct_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def rate_chart(ch: dict[str, Any], prefix: str) -> str | None:
    """Placement rate of each declared group with its 95% interval, and four-fifths of the highest rate."""
    groups = [g for g in _declared(ch) if g["eligible"]["suppressed"] or g["eligible"]["value"]]
    if not groups:
        return None
    fig, ax = _new_figure(len(groups))
    labels_ = []
    best = None
    for y, g in enumerate(reversed(groups)):
        labels_.append(_short(g["label"]))
        rate = g["placement_rate"]
        if rate["suppressed"] or rate["value"] is None:
            ax.text(
                0.02,
                y,
                "withheld: small numbers" if rate["suppressed"] else "no rate",
                va="center",
                fontsize=8,
                color=TEXT,
            )
            continue
        low, high = g["placement_rate_ci95"]["low"]["value"], g["placement_rate_ci95"]["high"]["value"]
        v = rate["value"]
        best = v if best is None else max(best, v)
        if low is not None and high is not None:
            ax.errorbar(
                v,
                y,
                xerr=[[v - low], [high - v]],
                fmt="o",
                color=POINT,
                ecolor=POINT,
                elinewidth=1.6,
                capsize=4,
                markersize=6,
            )
        else:
            ax.plot(v, y, "o", color=POINT, markersize=6)
        ax.text(min(v, 0.93), y + 0.28, f"{v:.0%}", fontsize=8, color=TEXT, ha="center")
    if best:
        ax.axvline(0.8 * best, color=THRESHOLD, linestyle="--", linewidth=1.2, label="four-fifths of the highest rate")
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), handlelength=2.0)
    ax.set_yticks(range(len(groups)), labels_)
    ax.set_ylim(-0.6, len(groups) - 0.2)
    ax.set_xlim(0, 1.04)
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.set_xlabel(
        "Placement rate (placed ÷ candidates with an eligible host), with 95% interval", fontsize=9, color=TEXT
    )
    return _svg(fig, prefix, f"{ch['label']}: placement rate by group with 95% intervals")
