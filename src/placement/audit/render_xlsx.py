"""The audit as an Excel workbook: one sheet per table of the report.

It reads the same figures as the CSV (``render_data.rows``: one figure a row,
already through disclosure control) and lays each family out as a table a
coordinator can filter: the groups of every characteristic with one column
per measure, the targets with one column per field, and the report's facts
(summary, provenance, stability, price of fairness) as name/value lists.
A withheld (suppressed) figure shows as ``[c]``, the ONS mark for a
confidential cell; a figure that does not apply is left blank.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..spreadsheet import SheetData, sheet_title
from .render_data import rows

WITHHELD = "[c]"

# Families of the tidy rows (their first column) and the sheet each goes to.
_FACT_SHEETS = {
    "report": "Report",
    "provenance": "Provenance",
    "summary": "Summary",
    "stability": "Stability",
    "price_of_fairness": "Price of fairness",
    "note": "Report",
}


def _value(value: Any, suppressed: bool) -> Any:
    if suppressed:
        return WITHHELD
    if isinstance(value, dict) and set(value) == {"value", "suppressed"}:
        return _value(value["value"], value["suppressed"])
    if isinstance(value, dict):  # a small record (e.g. counts by kind): one cell, readable
        return "; ".join(f"{k}: {_value(v, False)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(str(_value(v, False)) for v in value)
    return value


def sheets(audit: dict[str, Any]) -> list[SheetData]:
    """The workbook's sheets, in the report's order."""
    characteristics = {ch["name"] for ch in audit["characteristics"]}
    facts: dict[str, list[list[Any]]] = {title: [] for title in _FACT_SHEETS.values()}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    group_columns: dict[str, None] = {}
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    target_columns: dict[str, None] = {}
    moved: dict[str, dict[str, Any]] = {}
    flags: list[list[Any]] = []
    for family, group, metric, value, suppressed in rows(audit):
        shown = _value(value, suppressed)
        if family in _FACT_SHEETS:
            facts[_FACT_SHEETS[family]].append([metric, shown])
        elif family in characteristics:
            groups.setdefault((family, group), {})[metric] = shown
            group_columns.setdefault(metric)
        elif family.startswith("target:"):
            targets.setdefault((family.removeprefix("target:"), group), {})[metric] = shown
            target_columns.setdefault(metric)
        elif family == "price_of_fairness_moved":
            moved.setdefault(group, {})[metric] = shown
        elif family == "flag":
            flags.append([group, metric, shown])

    stamp = audit.get("stamp")
    notes = [stamp] if stamp else []
    taken: set[str] = set()
    out = [SheetData(sheet_title("Summary", taken), ["measure", "value"], facts["Summary"], notes=notes)]
    out.append(_pivot(sheet_title("Groups", taken), ["characteristic", "group"], groups, group_columns, notes))
    if targets:
        out.append(_pivot(sheet_title("Targets", taken), ["target", "scope"], targets, target_columns, notes))
    for title in ("Stability", "Price of fairness"):
        out.append(SheetData(sheet_title(title, taken), ["measure", "value"], facts[title], notes=notes))
    if moved:
        columns = list(dict.fromkeys(k for m in moved.values() for k in m))
        out.append(
            SheetData(
                sheet_title("Moved by targets", taken),
                ["candidate_id", *columns],
                [[cid, *(m.get(c) for c in columns)] for cid, m in moved.items()],
                notes=notes,
            )
        )
    out.append(SheetData(sheet_title("Flags", taken), ["where", "kind", "message"], flags, notes=notes))
    out.append(
        SheetData(
            sheet_title("Report", taken), ["fact", "value"], [*facts["Report"], *facts["Provenance"]], notes=notes
        )
    )
    return out


def _pivot(
    title: str,
    keys: list[str],
    cells: dict[tuple[str, str], dict[str, Any]],
    columns: dict[str, None],
    notes: list[str],
) -> SheetData:
    names = list(columns)

    def body() -> Iterator[list[Any]]:
        for key, values in cells.items():
            yield [*key, *(values.get(c) for c in names)]

    return SheetData(title, [*keys, *names], body(), notes=notes)
