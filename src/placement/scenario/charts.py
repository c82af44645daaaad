"""The scenario page's charts: the trade-off a board weighs, as inline SVG (matplotlib, no JavaScript).

1. Placed and first-choice share against target attainment, one point per
   variant (two panels side by side): what each variant gains or gives up.
2. The rank profile of each variant: the share placed at their 1st, 2nd, …
   choice and unplaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..audit import labels as L
from ..audit.charts import BLUES, TEXT, THRESHOLD, UNPLACED, _pct_formatter, _short, _svg, legend_above

MARKERS = "osD^vP*Xh"


def _attainment(col: dict[str, Any]) -> float | None:
    bt = col.get("base_targets") or {}
    applicable = bt.get("scopes", 0) - bt.get("not_applicable", 0)
    return bt["met"] / applicable if applicable else None


def tradeoff_chart(columns: Sequence[dict[str, Any]], prefix: str) -> str | None:
    """Placed (left) and first-choice share (right) against the share of the round's target scopes met."""
    # Numbered as in the table (1 = the round as solved); variants with no answer are left off.
    points = [(c, _attainment(c) if c.get("solved", True) else None) for c in columns]
    if not any(x is not None for _, x in points):
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 3.3), dpi=96)
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "placed", "Candidates placed"), (axes[1], "first", "Placed at first choice")):
        # The round as solved is drawn last, as a larger ring, so a variant on the same spot cannot hide it.
        order = sorted(enumerate(points), key=lambda ip: ip[1][0]["base"])
        for i, (col, x) in order:
            if x is None:
                continue
            y = (
                col["summary"]["placed"]
                if key == "placed"
                else (col["headline"]["first_choice_share_of_placed"] or 0.0)
            )
            if col["base"]:
                ax.plot(
                    x,
                    y,
                    "o",
                    markersize=11,
                    markerfacecolor="none",
                    markeredgecolor=THRESHOLD,
                    markeredgewidth=2,
                    label=_short(col["label"], 40),
                    zorder=5,
                )
            else:
                ax.plot(
                    x,
                    y,
                    MARKERS[i % len(MARKERS)],
                    color=BLUES[min(1 + i % 4, len(BLUES) - 1)],
                    markersize=8,
                    label=_short(col["label"], 40),
                    zorder=3,
                )
            ax.annotate(str(i + 1), (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8, color=TEXT)
        ax.set_title(title, fontsize=10, color=TEXT)
        ax.set_xlabel("Share of the round's target scopes met", fontsize=9, color=TEXT)
        ax.xaxis.set_major_formatter(_pct_formatter())
        ax.set_xlim(-0.05, 1.05)
        if key == "first":
            ax.yaxis.set_major_formatter(_pct_formatter())
        ax.tick_params(colors=TEXT, labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.margins(y=0.15)
    handles, labels_ = axes[0].get_legend_handles_labels()
    numbered = {_short(col["label"], 40): i + 1 for i, (col, _) in enumerate(points)}
    pairs = sorted(zip(handles, labels_), key=lambda hl: numbered.get(hl[1], 0))
    handles, labels_ = [h for h, _ in pairs], [t for _, t in pairs]
    fig.legend(
        handles,
        [f"{numbered.get(t, '')}. {t}" for t in labels_],
        loc="lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, -0.02 - 0.06 * ((len(labels_) + 1) // 2)),
    )
    fig.tight_layout()
    return _svg(
        fig, prefix, "Trade-off: candidates placed and first-choice share against target attainment, by variant"
    )


def profile_chart(
    columns: Sequence[dict[str, Any]], bins: Sequence[str], rows: Sequence[Sequence[int]], prefix: str
) -> str | None:
    """Stacked bars: each variant's share of those with an eligible host placed at each choice, and unplaced."""
    if not columns:
        return None
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(7.2, 0.9 + 0.42 * len(columns)), dpi=96)
    ax = fig.add_subplot()
    colours = [BLUES[min(i, len(BLUES) - 1)] for i in range(len(bins))] + [UNPLACED]
    labels_ = []
    for y, (col, counts) in enumerate(reversed(list(zip(columns, rows)))):
        labels_.append(_short(f"{len(columns) - y}. {col['label']}", 40))
        total = sum(counts)
        left = 0.0
        for n, colour in zip(counts, colours):
            share = n / total if total else 0.0
            if share <= 0:
                continue
            ax.barh(y, share, left=left, color=colour, edgecolor="white", linewidth=0.5)
            if share >= 0.07:
                ax.text(
                    left + share / 2,
                    y,
                    f"{share:.0%}",
                    va="center",
                    ha="center",
                    fontsize=7.5,
                    color="white" if colour in (BLUES[0], BLUES[1], BLUES[2], UNPLACED) else TEXT,
                )
            left += share
    ax.set_yticks(range(len(columns)), labels_)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_pct_formatter())
    ax.set_xlabel("Share of candidates with an eligible host", fontsize=9, color=TEXT)
    ax.tick_params(colors=TEXT, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [
        Patch(color=c, label=("unplaced" if i == len(bins) else f"{L.ordinal(b)}"))
        for i, (b, c) in enumerate(zip([*bins, "unplaced"], colours))
    ]
    legend_above(ax, handles)
    return _svg(fig, prefix, "Choice obtained by variant")
