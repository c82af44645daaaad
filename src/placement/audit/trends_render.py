"""Placement trends formatted: HTML (a table per characteristic, cohorts down, and a chart), JSON, or CSV.

Only formats what ``trends.audit_trends`` built from the placement audit's
own structures; nothing is computed here beyond picking figures out.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..errors import ConfigError
from . import charts

# Distinct NHS identity colours, one per group's line.
LINE_COLOURS = ("#003087", "#ED8B00", "#009639", "#DA291C", "#7C2855", "#41B6E6", "#425563", "#AE2573")


def render_trends(report: dict[str, Any], fmt: str) -> bytes:
    if fmt == "xlsx":  # a workbook: one sheet per cohort and one pooled
        from ..spreadsheet import SheetData, sheet_title, workbook_bytes

        taken: set[str] = set()
        by_scope: dict[str, list[list[str]]] = {}
        for row in list(csv.reader(io.StringIO(to_csv(report))))[1:]:
            by_scope.setdefault(row[1], []).append(row)
        notes = [report["stamp"]] if report.get("stamp") else []
        return workbook_bytes(
            [
                SheetData(
                    title=sheet_title("Pooled" if scope == "pooled" else f"Cohort {scope}", taken),
                    columns=CSV_COLUMNS,
                    rows=scope_rows,
                    notes=notes,
                )
                for scope, scope_rows in by_scope.items()
            ]
        )
    if fmt == "json":
        return (json.dumps(report, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    raise ConfigError(f"Unknown report format {fmt!r}.", "Use html, json, csv or xlsx.")


def scopes(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, audit) for each cohort, then the pooled one."""
    out = [(c["cohort"], a) for c, a in zip(report["cohorts"], report["per_cohort"], strict=True)]
    return [*out, ("pooled", report["pooled"])]


def _v(c: dict[str, Any] | None) -> str:
    if c is None:
        return ""
    if c["suppressed"]:
        return "*"
    v = c["value"]
    return "" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)


CSV_COLUMNS = [
    "edition",
    "scope",
    "round",
    "characteristic",
    "group",
    "figure",
    "value",
    "ci_low",
    "ci_high",
    "fisher_p",
    "verdict",
]


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    ed = report["edition"]
    rounds = {c["cohort"]: c["round"] for c in report["cohorts"]}
    for name, a in scopes(report):
        rnd = rounds.get(name, "")
        for ch in a["characteristics"]:
            for g in ch["groups"]:
                w.writerow([ed, name, rnd, ch["name"], g["value"], "eligible", _v(g["eligible"]), "", "", "", ""])
                w.writerow([ed, name, rnd, ch["name"], g["value"], "placed", _v(g["placed"]), "", "", "", ""])
                ci = g["placement_rate_ci95"]
                w.writerow(
                    [
                        ed,
                        name,
                        rnd,
                        ch["name"],
                        g["value"],
                        "placement_rate",
                        _v(g["placement_rate"]),
                        _v(ci["low"]),
                        _v(ci["high"]),
                        "",
                        "",
                    ]
                )
            for r in ch["relative_likelihoods"]:
                w.writerow(
                    [
                        ed,
                        name,
                        rnd,
                        ch["name"],
                        r["comparison_group"],
                        f"relative_likelihood_{r['outcome']}",
                        "inf" if r["infinite"] else _v(r["value"]),
                        _v(r["ci95"]["low"]),
                        _v(r["ci95"]["high"]),
                        _v(r["fisher_p"]),
                        r["verdict"] or "",
                    ]
                )
    return buf.getvalue()


def rate_trend_chart(report: dict[str, Any], characteristic: str, prefix: str) -> str | None:
    """Each declared group's placement rate over the cohorts (a line per group)."""
    per = list(zip(report["cohorts"], report["per_cohort"], strict=True))
    first = next(ch for ch in report["pooled"]["characteristics"] if ch["name"] == characteristic)
    groups = [g["value"] for g in first["groups"] if not g["missing_state"]]
    if len(per) < 2 or not groups:
        return None
    fig, ax = charts._new_figure(5)
    xs = list(range(len(per)))
    drawn = False
    for i, group in enumerate(groups):
        points = []
        for x, (_, a) in zip(xs, per):
            ch = next(c for c in a["characteristics"] if c["name"] == characteristic)
            g = next((g for g in ch["groups"] if g["value"] == group), None)
            if g is not None and not g["placement_rate"]["suppressed"] and g["placement_rate"]["value"] is not None:
                points.append((x, g["placement_rate"]["value"]))
        if points:
            label = next(g["label"] for g in first["groups"] if g["value"] == group)
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                "o-",
                label=label,
                linewidth=1.6,
                markersize=5,
                color=LINE_COLOURS[i % len(LINE_COLOURS)],
            )
            drawn = True
    if not drawn:
        return None
    ax.set_xticks(xs, [c["cohort"] for c, _ in per])
    ax.set_ylim(0, 1.04)
    ax.yaxis.set_major_formatter(charts._pct_formatter())
    ax.set_ylabel("Placement rate", fontsize=9, color=charts.TEXT)
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3)
    return charts._svg(fig, prefix, f"{first['label']}: placement rate by cohort")


def to_html(report: dict[str, Any]) -> str:
    from markupsafe import Markup

    from .render_html import environment

    figures = {}
    for i, ch in enumerate(report["pooled"]["characteristics"]):
        svg = rate_trend_chart(report, ch["name"], f"t{i}")
        figures[ch["name"]] = Markup(svg) if svg else None
    return environment().get_template("trends.html").render(r=report, scopes=scopes(report), figures=figures)
