"""The outcome audit as one JSON-ready structure: each cohort alone, and pooled across the cohorts named.

For each scope (a cohort, then all of them pooled, as small organisations
pool multi-year WRES data): scheme-wide figures (graduates, started,
completed, left and leavers' months in the scheme, bands at start and
latest), each measure's rate with its 95% Wilson interval, and per
characteristic (sex, ethnic group, White / all other ethnic groups combined,
disability, career changer) every group's rate of each measure and the
relative likelihood of the reference group against it (WRES indicator 2
form: 1.00 is parity, the band 0.80–1.25 the four-fifths rule made
symmetric), with Fisher's exact p, the 95% interval and a verdict:
"flagged", "within the band" or "too few to tell". By host organisation type
and region (where graduates were placed), each group's rate against the rest
of the scope's graduates, which tells a scheme where graduates stay.

Editions, as the placement audit's (``shared/spec/fairness.md``): the
internal edition shows exact counts; the publication edition applies
disclosure control (``disclosure.protect``: 1–7 withheld, others rounded to
5, secondary suppression along each table's totals) to every figure broken
down by group, and derives every rate and ratio from the counts it shows.
Scheme-wide figures break nobody down and are exact in both.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import date
from typing import Any

from .. import __version__
from ..domain import AFC_BANDS, ATTRIBUTE_VALUES, MISSING_STATES, ORG_TYPES, REGIONS
from . import editions
from . import labels as L
from .disclosure import Line
from .editions import FLAGGED, TOO_FEW, Edition
from .metrics import RL_BAND, SUPPRESSED, Comparison, Count, Figure, compare_rates, ratio, wilson_interval
from .outcome_metrics import MEASURES, Course, Graduate, Tally, by_group, course, tally

SCHEMA = "placement-outcomes/1"
CHARACTERISTICS: tuple[str, ...] = ("sex", "ethnic_group", "minority_ethnic", "disability", "career_changer")
# The relative likelihood's reference group per characteristic (WRES: White; WDES: not disabled).
REFERENCE: dict[str, str] = {
    "sex": "male",
    "ethnic_group": "white",
    "minority_ethnic": "no",
    "disability": "no",
    "career_changer": "no",
}
PLACED: tuple[str, ...] = ("org_type", "region")
PLACED_LABELS = {"org_type": "Host organisation type (where placed)", "region": "Region (where placed)"}


def verdict(stats: Comparison) -> str | None:
    """Whether the numbers can tell: the placement audit's rule (``editions.verdict``) on the RL band."""
    return editions.verdict(stats, RL_BAND)


def cell(value: Figure) -> dict[str, Any]:
    if value is SUPPRESSED:
        return {"value": None, "suppressed": True}
    return {"value": value, "suppressed": False}


def _interval(low: Figure, high: Figure) -> dict[str, Any]:
    return {"low": cell(low), "high": cell(high)}


def groups_of(key: str, seen: Sequence[str]) -> list[str]:
    """The groups a table shows: every known value in order (declared first), plus any other value seen."""
    if key in PLACED:
        known = list(ORG_TYPES if key == "org_type" else REGIONS) + ["not placed"]
        return [g for g in known if g in seen]
    order = list(L.groups_of(key)) if key in L.CHARACTERISTIC_LABELS else list(ATTRIBUTE_VALUES[key])
    return order + [g for g in seen if g not in order]


def _label(key: str, group: str) -> str:
    return L.group_label(key, group) if key not in PLACED else group.replace("_", " ").capitalize()


# --- One scope ------------------------------------------------------------------------------------


def _cells(key: str, groups: Sequence[str], tallies: Mapping[str, Tally], total: Tally) -> tuple[dict, list[Line]]:
    """Counts of one table: (key, group|"total", measure, "achieved"|"not"|"out_of"), and the lines adding up."""
    cells: dict[Hashable, int] = {}
    lines: list[Line] = []
    for measure in MEASURES:
        for g in [*groups, "total"]:
            k, n = (total if g == "total" else tallies[g]).counts[measure]
            cells[(key, g, measure, "achieved")] = k
            cells[(key, g, measure, "not")] = n - k
            cells[(key, g, measure, "out_of")] = n
            lines.append(Line((key, g, measure, "out_of"), ((key, g, measure, "achieved"), (key, g, measure, "not"))))
        for col in ("achieved", "not", "out_of"):
            lines.append(Line((key, "total", measure, col), tuple((key, g, measure, col) for g in groups)))
    return cells, lines


def _cost(member: Hashable) -> float:
    """Which second cell to withhold: a group's "not" before its achieved count, any group before the total."""
    assert isinstance(member, tuple)
    group, col = member[1], member[3]
    return (10.0 if group == "total" else 0.0) + {"not": 0.0, "achieved": 1.0, "out_of": 2.0}[col]


def _rate(k: Count, n: Count) -> dict[str, Any]:
    low, high = wilson_interval(k, n)
    return {"achieved": cell(k), "out_of": cell(n), "rate": cell(ratio(k, n)), "ci95": _interval(low, high)}


def _comparison(measure: str, group: str, reference: str, stats: Comparison, kind: str) -> dict[str, Any]:
    return {
        "measure": measure,
        "group": group,
        "reference": reference,
        "kind": kind,  # relative_likelihood (reference ÷ group) or against_rest (group ÷ the rest)
        "ratio": cell(stats.ratio),
        "infinite": stats.infinite,
        "fisher_p": cell(stats.fisher_p),
        "ci95": _interval(stats.ci_low, stats.ci_high),
        "verdict": verdict(stats),
    }


def _table(key: str, graduates: Sequence[Graduate], courses: Sequence[Course], total: Tally, edition: Edition) -> dict:
    tallies = by_group(graduates, courses, key)
    groups = groups_of(key, sorted(tallies))
    tallies = {g: tallies.get(g, tally([])) for g in groups}
    exact, lines = _cells(key, groups, tallies, total)
    shown: Mapping[Hashable, Count] = editions.shown_counts(edition, exact, lines, _cost)

    def get(g: str, m: str, col: str) -> Count:
        return shown[(key, g, m, col)]

    rows = [
        {
            "group": g,
            "label": _label(key, g),
            "missing_state": g in MISSING_STATES,
            "measures": {m: _rate(get(g, m, "achieved"), get(g, m, "out_of")) for m in MEASURES},
        }
        for g in groups
    ]
    comparisons = []
    if key in REFERENCE:
        ref = REFERENCE[key]
        for g in groups:
            if g == ref or g in MISSING_STATES:
                continue
            for m in MEASURES:
                stats = compare_rates(
                    get(ref, m, "achieved"), get(ref, m, "out_of"), get(g, m, "achieved"), get(g, m, "out_of")
                )
                comparisons.append(_comparison(m, g, ref, stats, "relative_likelihood"))
    else:
        for g in groups:
            for m in MEASURES:
                k, n = get(g, m, "achieved"), get(g, m, "out_of")
                tk, tn = get("total", m, "achieved"), get("total", m, "out_of")
                rest_k = SUPPRESSED if SUPPRESSED in (k, tk) else tk - k  # type: ignore[operator]
                rest_n = SUPPRESSED if SUPPRESSED in (n, tn) else tn - n  # type: ignore[operator]
                comparisons.append(_comparison(m, g, "the rest", compare_rates(k, n, rest_k, rest_n), "against_rest"))
    label = L.characteristic_label(key) if key not in PLACED else PLACED_LABELS[key]
    return {
        "name": key,
        "label": label,
        "protected": L.is_protected(key),
        "reference_group": REFERENCE.get(key),
        "groups": rows,
        "total": {m: _rate(get("total", m, "achieved"), get("total", m, "out_of")) for m in MEASURES},
        "comparisons": comparisons,
    }


def _bands(courses: Sequence[Course], which: str) -> dict[str, int]:
    counts = dict.fromkeys(AFC_BANDS, 0)
    for c in courses:
        band = c.band_start if which == "start" else c.band_latest
        if band:
            counts[band] += 1
    return {b: n for b, n in counts.items() if n}


def scope(name: str, graduates: Sequence[Graduate], as_of: date, edition: Edition, *, pooled: bool) -> dict[str, Any]:
    courses = [course(g.events, as_of) for g in graduates]
    total = tally(courses)
    return {
        "scope": name,
        "pooled": pooled,
        "cohorts": sorted({g.cohort for g in graduates}) if pooled else [name],
        "scheme_wide": {  # break nobody down: exact in both editions
            "graduates": total.graduates,
            "started": total.started,
            "completed": sum(c.completed is not None for c in courses),
            "left": sum(c.left is not None for c in courses),
            "leaver_months_median": total.months_median,
            "leaver_months": list(total.leaver_months) if edition.exact else None,
            "band_at_start": _bands(courses, "start"),
            "latest_band": _bands(courses, "latest"),
        },
        "measures": {m: _rate(*total.counts[m]) for m in MEASURES},
        "characteristics": [_table(ch, graduates, courses, total, edition) for ch in CHARACTERISTICS],
        "placement": [_table(key, graduates, courses, total, edition) for key in PLACED],
    }


def build_outcome_audit(
    cohorts: Mapping[str, Sequence[Graduate]], *, as_of: date, edition: Edition | str = Edition.INTERNAL
) -> dict[str, Any]:
    """Every cohort alone (in the order given), then pooled when there are several."""
    edition = Edition.parse(edition)
    scopes = [scope(name, grads, as_of, edition, pooled=False) for name, grads in cohorts.items()]
    if len(cohorts) > 1:
        everyone = [g for grads in cohorts.values() for g in grads]
        scopes.append(scope("pooled", everyone, as_of, edition, pooled=True))
    return {
        "schema": SCHEMA,
        "generator": f"placement {__version__}",
        "edition": edition.value,
        "stamp": edition.stamp,
        "disclosure_control": {"applied": not edition.exact, "notice": edition.stamp},
        "as_of": as_of.isoformat(),
        "cohorts": list(cohorts),
        "measures": {m: {"label": label, "out_of": out_of} for m, (label, out_of) in MEASURES.items()},
        "band": list(RL_BAND),
        "scopes": scopes,
        "flags": _flags(scopes, edition),
    }


def _flags(scopes: Sequence[dict[str, Any]], edition: Edition) -> list[dict[str, Any]]:
    """Every flagged or too-few-to-tell comparison (the publication edition names them without numbers)."""
    out = []
    for s in scopes:
        for table in (*s["characteristics"], *s["placement"]):
            for c in table["comparisons"]:
                if c["verdict"] in (FLAGGED, TOO_FEW):
                    group = next((g["label"] for g in table["groups"] if g["group"] == c["group"]), c["group"])
                    words = f"{table['label']}: {group}" + (" against the rest" if c["kind"] == "against_rest" else "")
                    out.append(
                        {
                            "scope": s["scope"],
                            "table": table["name"],
                            "measure": c["measure"],
                            "group": c["group"],
                            "verdict": c["verdict"],
                            "label": words,
                        }
                    )
    return out
