"""The audit as JSON (the machine contract, ``docs/audit-json.md``) and as one tidy CSV table.

The CSV has five columns — characteristic, group, metric, value, suppressed —
(``summary`` rows hold the scheme-wide totals, exact in both editions)
one figure a row, so a coordinator can pivot it in Excel. It is written as
UTF-8 with a byte-order mark, which Excel needs to read the dashes and
accents right, and every cell passes through ``export.csv_safe`` so that
free text starting with = + - @ is shown as text, never run as a formula. Both formats are deterministic: the same round gives the same
bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

Row = tuple[str, str, str, Any, bool]


def to_json(audit: dict[str, Any]) -> str:
    return json.dumps(audit, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _cell_rows(characteristic: str, group: str, prefix: str, obj: dict[str, Any]) -> Iterator[Row]:
    """Rows for every {"value", "suppressed"} cell in ``obj`` (one level of nesting for intervals)."""
    for key, val in obj.items():
        if isinstance(val, dict) and set(val) == {"value", "suppressed"}:
            yield characteristic, group, prefix + key, val["value"], val["suppressed"]
        elif isinstance(val, dict) and set(val) == {"low", "high"}:
            for end in ("low", "high"):
                yield characteristic, group, f"{prefix}{key}_{end}", val[end]["value"], val[end]["suppressed"]


def rows(audit: dict[str, Any]) -> Iterator[Row]:
    yield "report", "", "schema", audit["schema"], False
    yield "report", "", "generator", audit["generator"], False
    yield "report", "", "edition", audit["edition"], False
    if audit["stamp"]:
        yield "report", "", "stamp", audit["stamp"], False
    yield "report", "", "round", audit["round"], False
    yield (
        "report",
        "",
        "disclosure_control",
        "applied" if audit["disclosure_control"]["applied"] else "not applied",
        False,
    )

    for key, val in audit["provenance"].items():
        if isinstance(val, dict):
            for k, v in val.items():
                yield "provenance", "", f"{key}.{k}", v, False
        else:
            yield "provenance", "", key, val, False

    for key, val in audit["summary"].items():
        yield "summary", "", key, val, False
    for key, val in audit["headline"].items():
        yield "summary", "", key, val, False

    for ch in audit["characteristics"]:
        name = ch["name"]
        for g in [*ch["groups"], {**ch["total"], "value": "total"}]:
            gv = g["value"]
            yield from _cell_rows(name, gv, "", g)
            for step in g["rank_profile"]:
                yield (
                    name,
                    gv,
                    f"rank_profile_count_{step['choice']}",
                    step["count"]["value"],
                    step["count"]["suppressed"],
                )
                yield (
                    name,
                    gv,
                    f"rank_profile_share_{step['choice']}",
                    step["share"]["value"],
                    step["share"]["suppressed"],
                )
            air = g.get("adverse_impact")
            if air:
                yield from _cell_rows(name, gv, "adverse_impact_", air)
                yield name, gv, "adverse_impact_reference_group", air["reference_group"], False
                yield name, gv, "adverse_impact_flag", air["flag"], False
                yield name, gv, "adverse_impact_verdict", air["verdict"], False
        for rl in ch["relative_likelihoods"]:
            pre = f"relative_likelihood_{rl['outcome']}"
            yield name, "", f"{pre}_reference_group", rl["reference_group"], False
            yield name, "", f"{pre}_comparison_group", rl["comparison_group"], False
            yield name, "", pre, rl["value"]["value"], rl["value"]["suppressed"]
            yield from _cell_rows(name, "", f"{pre}_", {k: rl[k] for k in ("fisher_p", "ci95")})
            yield name, "", f"{pre}_infinite", rl["infinite"], False
            yield name, "", f"{pre}_flag", rl["flag"], False
            yield name, "", f"{pre}_verdict", rl["verdict"], False
        p = ch["parity"]
        yield from _cell_rows(name, "", "parity_", p)
        yield name, "", "parity_highest_group", p["highest_group"], False
        yield name, "", "parity_lowest_group", p["lowest_group"], False
        for state, d in ch["declaration"].items():
            yield from _cell_rows(name, state, "declaration_", d)

    for t in audit["targets"]:
        key = f"target:{t['name']}"
        for field in ("attribute", "value", "hard", "min_share", "max_share", "status", "binding"):
            yield key, t["scope"], field, t[field], False
        yield from _cell_rows(key, t["scope"], "", t)

    st = audit["stability"]
    for key in ("option", "stable", "blocking_pairs", "envious_candidates"):
        yield "stability", "", key, st[key], False

    pf = audit["price_of_fairness"]
    for key, val in pf.items():
        if key == "moved":
            continue
        if isinstance(val, dict):
            for k, v in val.items():
                yield "price_of_fairness", "", f"{key}.{k}", v, False
        else:
            yield "price_of_fairness", "", key, val, False
    for m in pf["moved"] or []:
        for key in ("choice_with_targets", "choice_without_targets", "change"):
            yield "price_of_fairness_moved", m["candidate_id"], key, m[key], False

    for f in audit["flags"]:
        where = "/".join(x for x in (f["characteristic"], *f["groups"]) if x)
        yield "flag", where, f["metric"], f["message"], False
        yield "flag", where, f"{f['metric']}_verdict", f["verdict"], False
        if f["value"] is not None:
            yield "flag", where, f"{f['metric']}_value", f["value"], False
    for n in audit["notes"]:
        yield "note", "", "note", n, False


def to_csv(audit: dict[str, Any]) -> str:
    """The tidy table; free text (an approver's name, a target's name, an id) never runs as a formula."""
    from ..export import csv_safe

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["characteristic", "group", "metric", "value", "suppressed"])
    for characteristic, group, metric, value, suppressed in rows(audit):
        w.writerow([csv_safe(x) for x in (characteristic, group, metric, _fmt(value), _fmt(bool(suppressed)))])
    return "\ufeff" + buf.getvalue()
