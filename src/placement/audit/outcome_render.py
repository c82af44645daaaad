"""The outcome audit formatted: HTML (jinja2, inline SVG trend charts), JSON, or one tidy CSV table.

Renderers only format the structure ``outcome_report`` built; no figure is
computed here. Every user-supplied string reaches the HTML through jinja2's
autoescaping; the CSV neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..errors import ConfigError
from . import charts
from .outcome_metrics import MEASURES

MEASURE_COLOURS = {"retained_12": "#003087", "retained_24": "#0072CE", "completed": "#009639", "band_7": "#ED8B00"}


def render_outcomes(audit: dict[str, Any], fmt: str) -> bytes:
    if fmt == "xlsx":  # a workbook: one sheet per cohort and one for the pooled figures
        from ..spreadsheet import workbook_bytes

        return workbook_bytes(to_sheets(audit))
    if fmt == "json":
        return (json.dumps(audit, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
    if fmt == "csv":
        return to_csv(audit).encode("utf-8")
    if fmt == "html":
        return to_html(audit).encode("utf-8")
    raise ConfigError(f"Unknown report format {fmt!r}.", "Use html, json, csv or xlsx.")


# --- CSV: one row per figure -------------------------------------------------------------------------

CSV_COLUMNS = [
    "edition",
    "scope",
    "table",
    "group",
    "measure",
    "figure",
    "value",
    "ci_low",
    "ci_high",
    "fisher_p",
    "verdict",
]


def _v(c: dict[str, Any] | None) -> str:
    if c is None:
        return ""
    if c["suppressed"]:
        return "*"
    return "" if c["value"] is None else f"{c['value']:.6g}" if isinstance(c["value"], float) else str(c["value"])


def to_csv(audit: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for row in rows(audit):
        w.writerow(row)
    return buf.getvalue()


def to_sheets(audit: dict[str, Any]) -> list:
    """The CSV's rows as a workbook: a sheet per scope (each cohort, then pooled), the edition's notice on each."""
    from ..spreadsheet import SheetData, sheet_title

    taken: set[str] = set()
    notes = [audit["stamp"]] if audit.get("stamp") else []
    by_scope: dict[str, list[list[Any]]] = {}
    for row in rows(audit):
        by_scope.setdefault(row[1], []).append(row)
    return [
        SheetData(
            title=sheet_title("Pooled" if scope == "pooled" else f"Cohort {scope}", taken),
            columns=CSV_COLUMNS,
            rows=scope_rows,
            notes=notes,
        )
        for scope, scope_rows in by_scope.items()
    ]


def rows(audit: dict[str, Any]) -> list[list[Any]]:
    """One row per figure (the CSV and the workbook)."""
    out: list[list[Any]] = []
    w = _Rows(out)
    ed = audit["edition"]
    for s in audit["scopes"]:
        for key, value in s["scheme_wide"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                w.writerow([ed, s["scope"], "scheme", "", "", key, value, "", "", "", ""])
        for m, r in s["measures"].items():
            _rate_rows(w, ed, s["scope"], "scheme", "all", m, r)
        for table in (*s["characteristics"], *s["placement"]):
            for g in table["groups"]:
                for m, r in g["measures"].items():
                    _rate_rows(w, ed, s["scope"], table["name"], g["group"], m, r)
            for c in table["comparisons"]:
                figure = "relative_likelihood" if c["kind"] == "relative_likelihood" else "ratio_to_rest"
                w.writerow(
                    [
                        ed,
                        s["scope"],
                        table["name"],
                        c["group"],
                        c["measure"],
                        figure,
                        "inf" if c["infinite"] else _v(c["ratio"]),
                        _v(c["ci95"]["low"]),
                        _v(c["ci95"]["high"]),
                        _v(c["fisher_p"]),
                        c["verdict"] or "",
                    ]
                )
    return out


class _Rows:
    """Collects rows with the csv writer's one method."""

    def __init__(self, out: list[list[Any]]):
        self.out = out

    def writerow(self, row: list[Any]) -> None:
        self.out.append(list(row))


def _rate_rows(w, edition: str, scope: str, table: str, group: str, measure: str, r: dict[str, Any]) -> None:
    w.writerow([edition, scope, table, group, measure, "achieved", _v(r["achieved"]), "", "", "", ""])
    w.writerow([edition, scope, table, group, measure, "out_of", _v(r["out_of"]), "", "", "", ""])
    w.writerow(
        [
            edition,
            scope,
            table,
            group,
            measure,
            "rate",
            _v(r["rate"]),
            _v(r["ci95"]["low"]),
            _v(r["ci95"]["high"]),
            "",
            "",
        ]
    )


# --- Charts ----------------------------------------------------------------------------------------


def trend_chart(audit: dict[str, Any]) -> str | None:
    """Each measure's rate in each cohort, in the order the cohorts were named (a line per measure)."""
    scopes = [s for s in audit["scopes"] if not s["pooled"]]
    if len(scopes) < 2:
        return None
    fig, ax = charts._new_figure(6)
    xs = list(range(len(scopes)))
    for m, (label, _) in MEASURES.items():
        points = [
            (x, s["measures"][m]["rate"]["value"])
            for x, s in zip(xs, scopes)
            if s["measures"][m]["rate"]["value"] is not None
        ]
        if points:
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                "o-",
                color=MEASURE_COLOURS[m],
                label=label,
                linewidth=1.8,
                markersize=5,
            )
    ax.set_xticks(xs, [s["scope"] for s in scopes])
    ax.set_ylim(0, 1.04)
    ax.yaxis.set_major_formatter(charts._pct_formatter())
    ax.set_xlabel("Cohort", fontsize=9, color=charts.TEXT)
    ax.set_ylabel("Rate", fontsize=9, color=charts.TEXT)
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
    return charts._svg(fig, "trend", "Retention, completion and progression by cohort")


def rl_chart(audit: dict[str, Any], measure: str = "retained_12") -> str | None:
    """The relative likelihood (White ÷ all other ethnic groups combined) per cohort and pooled, with intervals."""
    rows = []
    for s in audit["scopes"]:
        table = next(t for t in s["characteristics"] if t["name"] == "minority_ethnic")
        c = next((c for c in table["comparisons"] if c["measure"] == measure and c["group"] == "yes"), None)
        if c is not None:
            rows.append((s["scope"], c))
    if not rows:
        return None
    fig, ax = charts._new_figure(len(rows))
    low_band, high_band = audit["band"]
    ax.axvspan(low_band, high_band, color="#E8EDEE", label="0.80–1.25 band")
    ax.axvline(1.0, color="#AEB7BD", linewidth=1)
    labels = []
    top = 2.0
    for y, (name, c) in enumerate(reversed(rows)):
        labels.append(name)
        v = c["ratio"]["value"]
        if c["ratio"]["suppressed"] or v is None:
            ax.text(
                0.05,
                y,
                "withheld: small numbers" if c["ratio"]["suppressed"] else "not assessable",
                va="center",
                fontsize=8,
                color=charts.TEXT,
            )
            continue
        low, high = c["ci95"]["low"]["value"], c["ci95"]["high"]["value"]
        top = max(top, v * 1.1, (high or 0) * 1.05)
        if low is not None and high is not None:
            ax.errorbar(v, y, xerr=[[v - low], [high - v]], fmt="o", color=charts.POINT, capsize=4, markersize=6)
        else:
            ax.plot(v, y, "o", color=charts.POINT, markersize=6)
        ax.text(v, y + 0.28, f"{v:.2f} · {c['verdict'] or ''}", fontsize=8, ha="center", color=charts.TEXT)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(-0.6, len(rows) - 0.2)
    ax.set_xlim(0, min(top, 6.0))
    ax.set_xlabel(
        f"Relative likelihood of {MEASURES[measure][0].lower()}: White ÷ all other ethnic groups "
        "combined (95% interval)",
        fontsize=9,
        color=charts.TEXT,
    )
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    return charts._svg(fig, f"rl-{measure}", f"Relative likelihood of {MEASURES[measure][0].lower()} by cohort")


# --- HTML ------------------------------------------------------------------------------------------


def to_html(audit: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    from . import render_html as R

    env = Environment(
        loader=PackageLoader("placement.audit", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(count=R.count, pct=R.pct, dec=R.dec, pvalue=R.pvalue, interval=R.interval)
    svg = {
        "trend": trend_chart(audit),
        "rl_12": rl_chart(audit, "retained_12"),
        "rl_24": rl_chart(audit, "retained_24"),
    }
    return env.get_template("outcomes.html").render(
        a=audit,
        measures=MEASURES,
        charts={k: Markup(v) if v else None for k, v in svg.items()},
    )
