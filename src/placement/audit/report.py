"""Build the audit of one round: the single structure every renderer writes out.

``build_audit`` turns a round's records (``load.RoundFacts``) and its price of
fairness into a plain, JSON-ready dict — the machine contract documented in
``docs/audit-json.md``. The HTML and CSV renderers only format this dict, so
the three formats always carry the same figures.

Two editions (``editions``): the internal one shows every count exactly; the
publication one applies disclosure control to every count broken down by a
characteristic. Order of work: count exactly; take the edition's view of the
counts (scheme-wide totals stay exact in both, and are the very figures of
``totals.round_totals``, which ``round show`` gives too); compute every rate,
ratio, test and interval from the counts shown; raise every flag from the
exact figures, with its verdict (``editions.verdict``) — the publication
edition names each flagged comparison per characteristic, without numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from .. import __version__
from ..totals import RoundTotals, target_status
from . import labels as L
from .disclosure import Line, characteristic_lines, cohort_lines, row_lines, target_lines
from .editions import Edition, published_flags, shown_counts, verdict
from .load import CHARACTERISTICS, RoundFacts
from .metrics import (
    BLOCKING_COLUMNS,
    COHORT_ONLY_COLUMNS,
    FOUR_FIFTHS,
    GROUP_COUNT_COLUMNS,
    RL_BAND,
    SUPPRESSED,
    Comparison,
    Figure,
    Person,
    adverse_impact,
    choice_bins,
    declaration_rates,
    demographic_parity,
    group_counts,
    rank_summary,
    ratio,
    relative_likelihood,
    target_figures,
    wilson_interval,
)
from .narrative import flags_and_notes, law_section
from .price import Price

SCHEMA = "placement-audit/2"
# What the audit log and the CLI call the flags' metrics, in words (the publication edition names them).
METRIC_WORDS = {
    "relative_likelihood_placed": "placement-rate relative likelihood",
    "relative_likelihood_first_choice": "first-choice relative likelihood",
    "adverse_impact": "placement-rate (adverse impact)",
}
DISCLOSURE_RULES = (
    "Counts of 1 to 7 are withheld (*) and counts of 8 or more rounded to the nearest 5; 0 stays 0. "
    "Where a withheld count could be worked out from a total, a second count is withheld too. "
    "Every rate, share, ratio, test and interval is computed from the counts as shown, and is withheld "
    "when any of them is."
)


def cell(value: Figure) -> dict[str, Any]:
    """A figure as the JSON carries it: the value, or null with ``suppressed: true``."""
    if value is SUPPRESSED:
        return {"value": None, "suppressed": True}
    return {"value": value, "suppressed": False}


def _interval(low: Figure, high: Figure) -> dict[str, Any]:
    return {"low": cell(low), "high": cell(high)}


def _groups(characteristic: str, facts: RoundFacts) -> list[str]:
    known = list(L.groups_of(characteristic))
    extra = sorted({c.attributes[characteristic] for c in facts.candidates} - set(known))
    return known + extra


# Which cell secondary suppression gives up first (cheapest): detail before substance.
COLUMN_COST = {
    "no_eligible_host": 0.0,
    "pool": 1.0,
    "envious_candidates": 3.0,
    "blocking_pairs": 3.0,
    "unplaced": 4.0,
    "placed": 5.0,
    "eligible": 6.0,
    "placed_in_scope": 5.0,
    "members_placed": 4.0,
}


def secondary_cost(key: Any) -> float:
    """A later choice's count before a group's placed count before its eligible count; groups before the cohort."""
    column = key[-1]
    if column.startswith("choice_"):
        k = column.removeprefix("choice_").rstrip("+")
        base = 2.0 - int(k) / 100
    else:
        base = COLUMN_COST[column]
    if key[0] == "cohort":
        return base + 10.0
    if key[0] != "target" and L.is_missing(key[1]):
        return base - 0.5
    return base


def build_audit(facts: RoundFacts, price: Price, *, edition: Edition | str = Edition.INTERNAL) -> dict[str, Any]:
    """The audit of one round in ``edition`` (internal: exact; publication: disclosure control)."""
    edition = Edition.parse(edition)
    bins = choice_bins(max((c.choice for c in facts.candidates if c.choice), default=1))
    choice_cols = [f"choice_{b}" for b in bins]
    columns = [*GROUP_COUNT_COLUMNS, *choice_cols, *BLOCKING_COLUMNS]
    envy = Counter(cid for cid, _ in facts.record.blocking_pairs)

    # 1. Exact counts: one table per characteristic, all sharing the cohort's total row.
    groups_of = {ch: _groups(ch, facts) for ch in CHARACTERISTICS}
    cells: dict[Any, int] = {}
    lines: list[Line] = []
    for ch in CHARACTERISTICS:
        people = [Person(c.attributes[ch], c.eligible, c.choice, envy.get(c.candidate_id, 0)) for c in facts.candidates]
        table = group_counts(people, groups_of[ch], bins)
        for g in groups_of[ch]:
            for col in columns:
                cells[(ch, g, col)] = table[g][col]
        for col in [*COHORT_ONLY_COLUMNS, *columns]:
            cells[("cohort", col)] = table["total"][col]
        lines += characteristic_lines(ch, groups_of[ch], columns, choice_cols)
    lines += row_lines(lambda col: ("cohort", col), choice_cols) + cohort_lines()
    for i, t in enumerate(facts.record.targets):
        cells[("target", i, "placed_in_scope")] = int(t.get("placed_in_scope", 0) or 0)
        cells[("target", i, "members_placed")] = int(t.get("members_placed", 0) or 0)
    lines += target_lines(facts.record.targets, cells)

    # 2. The edition's view of the counts. Scheme-wide figures (the cohort's row, the number placed in
    # each target's scope of hosts) break nobody down: exact in both editions.
    scheme_wide = {k for k in cells if k[0] == "cohort" or (k[0] == "target" and k[2] == "placed_in_scope")}
    shown = shown_counts(edition, cells, lines, secondary_cost, exact=scheme_wide)

    # 3. Every figure from the counts as shown; every flag from the exact ones.
    def tables(counts: dict[Any, Any], exact: bool) -> list[dict[str, Any]]:
        cohort = {col: counts[("cohort", col)] for col in [*COHORT_ONLY_COLUMNS, *columns]}
        return [
            _characteristic(ch, groups_of[ch], facts, counts, cohort, bins, choice_cols, columns, exact)
            for ch in CHARACTERISTICS
        ]

    exact_tables = tables(cells, True)
    characteristics = exact_tables if edition.exact else tables(shown, False)
    targets = [
        _target(i, t, shown, facts.record.targets_assessed, exact=edition.exact)
        for i, t in enumerate(facts.record.targets)
    ]
    totals = facts.totals
    assert totals is not None, "load_round_facts sets the round's totals"
    stability = {
        "option": facts.record.options.get("stability", "none"),
        "blocking_pairs": totals.blocking_pairs,
        "envious_candidates": len(envy),
        "stable": totals.blocking_pairs == 0 and facts.record.status in SOLVED,
    }
    pf = asdict(price)
    if not edition.exact:
        pf["moved"] = None  # candidate ids: the internal edition only
    audit: dict[str, Any] = {
        "schema": SCHEMA,
        "generator": f"placement {__version__}",
        "edition": edition.value,
        "stamp": edition.stamp,
        "round": facts.record.number,
        "cohort": facts.record.cohort.name if facts.record.cohort is not None else None,
        "disclosure_control": {"applied": not edition.exact, "rules": None if edition.exact else DISCLOSURE_RULES},
        "provenance": _provenance(facts),
        "summary": totals.as_dict(),
        "headline": _headline(totals),
        "flags": [],
        "notes": [],
        "characteristics": characteristics,
        "targets": targets,
        "targets_assessed": facts.record.targets_assessed,
        "stability": stability,
        "price_of_fairness": pf,
        "law": law_section(facts, edition),
    }
    exact_flags, notes = flags_and_notes(exact_tables, audit, facts)
    flags = (
        exact_flags
        if edition.exact
        else published_flags(exact_flags, characteristic_label=L.characteristic_label, metric_words=METRIC_WORDS)
    )
    audit["flags"] = [f.as_dict() for f in flags]
    audit["notes"] = notes
    return audit


SOLVED = ("OPTIMAL", "FEASIBLE")


def _headline(t: RoundTotals) -> dict[str, Any]:
    """The two rates a reader looks for first, from the exact totals."""
    return {
        "placement_rate": t.placed / t.eligible if t.eligible else None,
        "first_choice_share_of_placed": t.first_choice / t.placed if t.placed else None,
    }


def _characteristic(
    ch, groups, facts: RoundFacts, shown, cohort, bins, choice_cols, columns, exact: bool
) -> dict[str, Any]:
    """One characteristic's tables from ``shown`` counts; verdicts only when they are the exact ones."""
    counts: dict[str, dict[str, Any]] = {g: {col: shown[(ch, g, col)] for col in columns} for g in groups}
    counts["total"] = dict(cohort)
    declared = [g for g in groups if not L.is_missing(g)]
    missing = [g for g in groups if L.is_missing(g)]
    choices: dict[str, list[int]] = {g: [] for g in groups}
    for c in facts.candidates:
        if c.choice is not None:
            choices[c.attributes[ch]].append(c.choice)
    all_choices = [c.choice for c in facts.candidates if c.choice is not None]
    air = adverse_impact(counts, declared)

    def row(g: str, *, is_total: bool = False) -> dict[str, Any]:
        k = counts[g]
        rated = is_total or not L.is_missing(g)  # missing states are left out of every rate
        out: dict[str, Any] = (
            {} if is_total else {"value": g, "label": L.group_label(ch, g), "missing_state": not rated}
        )
        out.update(
            {
                col: cell(k[col])
                for col in ((*COHORT_ONLY_COLUMNS, *GROUP_COUNT_COLUMNS) if is_total else GROUP_COUNT_COLUMNS)
            }
        )
        rate = ratio(k["placed"], k["eligible"]) if rated else None
        out["placement_rate"] = cell(rate)
        out["placement_rate_ci95"] = _interval(
            *(wilson_interval(k["placed"], k["eligible"]) if rated else (None, None))
        )
        out["share_of_placements"] = cell(ratio(k["placed"], cohort["placed"]))
        out["first_choice_rate"] = cell(ratio(k["choice_1"], k["eligible"]) if rated else None)
        out["rank_profile"] = [
            {"choice": b, "count": cell(k[col]), "share": cell(ratio(k[col], k["eligible"]) if rated else None)}
            for b, col in zip(bins, choice_cols)
        ] + [
            {
                "choice": "unplaced",
                "count": cell(k["unplaced"]),
                "share": cell(ratio(k["unplaced"], k["eligible"]) if rated else None),
            }
        ]
        mean, med = rank_summary(all_choices if is_total else choices[g])
        hidden = k["placed"] is SUPPRESSED  # a mean of 1-7 people is withheld with their count
        out["mean_choice"] = cell(SUPPRESSED if hidden else mean)
        out["median_choice"] = cell(SUPPRESSED if hidden else med)
        out["envious_candidates"] = cell(k["envious_candidates"])
        out["blocking_pairs"] = cell(k["blocking_pairs"])
        out["envious_share"] = cell(ratio(k["envious_candidates"], k["eligible"]) if rated else None)
        if not is_total:
            out["adverse_impact"] = _air(air[g], exact) if rated else None
        return out

    rl = [
        _rl(ch, relative_likelihood(outcome, *L.RELATIVE_LIKELIHOOD_PAIRS[ch], counts), exact)
        for outcome in ("placed", "first_choice")
        if ch in L.RELATIVE_LIKELIHOOD_PAIRS
    ]
    parity = demographic_parity(counts, declared)
    declared_people = sum(1 for c in facts.candidates if c.eligible and not L.is_missing(c.attributes[ch]))
    note = None
    if declared_people == 0:
        what = "declared this" if missing else "has a value for this"
        note = f"No candidate with an eligible host {what}: rates cannot be calculated or compared."
    elif any(counts[g]["eligible"] is SUPPRESSED for g in declared) and all(
        counts[g]["eligible"] is SUPPRESSED or counts[g]["eligible"] == 0 for g in declared
    ):
        note = "Every declared group is small: its figures are withheld."
    return {
        "name": ch,
        "label": L.characteristic_label(ch),
        "protected": L.is_protected(ch),
        "special_category": L.is_special_category(ch),
        "note_on_law": None if L.is_protected(ch) else L.NOT_PROTECTED_NOTE,
        "choice_bins": list(bins),
        "declared_eligible_candidates": declared_people > 0,
        "note": note,
        "groups": [row(g) for g in groups],
        "total": row("total", is_total=True),
        "relative_likelihoods": rl,
        "parity": {
            "difference": cell(parity.difference),
            "ratio": cell(parity.ratio),
            "highest_group": parity.highest,
            "lowest_group": parity.lowest,
            "groups_compared": list(parity.compared),
            "groups_not_compared": list(parity.not_compared),
        },
        "declaration": {
            m: {"count": cell(n), "share": cell(share)} for m, (n, share) in declaration_rates(counts, missing).items()
        },
    }


def _stats(s: Comparison) -> dict[str, Any]:
    return {"fisher_p": cell(s.fisher_p), "ci95": _interval(s.ci_low, s.ci_high)}


def _air(a, exact: bool) -> dict[str, Any]:
    """Flag and verdict come from exact figures only: null in the publication edition (its flags name them)."""
    return {
        "ratio": cell(a.stats.ratio),
        "reference_group": a.reference,
        **_stats(a.stats),
        "shortfall": cell(a.shortfall),
        "threshold": FOUR_FIFTHS,
        "flag": a.flag if exact else None,
        "verdict": (verdict(a.stats, RL_BAND) if a.flag is not None else None) if exact else None,
    }


def _rl(ch: str, r, exact: bool) -> dict[str, Any]:
    return {
        "outcome": r.outcome,
        "reference_group": r.reference,
        "comparison_group": r.comparison,
        "reference_label": L.group_label(ch, r.reference),
        "comparison_label": L.group_label(ch, r.comparison),
        "value": cell(r.stats.ratio),
        "infinite": r.stats.infinite,
        **_stats(r.stats),
        "band": list(RL_BAND),
        "flag": r.flag if exact else None,
        "verdict": verdict(r.stats, RL_BAND) if exact else None,
    }


def _target(i: int, t: Mapping[str, Any], shown: Mapping[Any, Any], assessed: bool, *, exact: bool) -> dict[str, Any]:
    """One target scope. Its status is the round's own, from exact counts, in both editions."""
    placed = shown[("target", i, "placed_in_scope")]
    members = shown[("target", i, "members_placed")]
    fig = target_figures(t.get("min_share"), t.get("max_share"), placed, members)
    status = target_status(dict(t)) if assessed else "not_assessed"
    attribute = t.get("attribute", "")
    # Binding says the exact count (it sits at its limit): shown only where the count itself is exact.
    binding = fig.binding if status in ("met", "missed") and exact else None
    return {
        "name": t.get("name", ""),
        "scope": t.get("scope", ""),
        "attribute": attribute,
        "value": t.get("value", ""),
        "value_label": L.group_label(attribute, t.get("value", "")),
        "hard": bool(t.get("hard", False)),
        "protected_characteristic": L.is_protected(attribute),
        "min_share": t.get("min_share"),
        "max_share": t.get("max_share"),
        "placed_in_scope": cell(placed) if assessed else cell(None),
        "members_placed": cell(members) if assessed else cell(None),
        "achieved_share": cell(fig.achieved_share) if assessed else cell(None),
        "required_min": cell(fig.required_min) if assessed else cell(None),
        "required_max": cell(fig.required_max) if assessed else cell(None),
        "status": status,
        "binding": binding,
    }


def _provenance(f: RoundFacts) -> dict[str, Any]:
    r = f.record
    return {
        "number": r.number,
        "state": r.state,
        "parent_number": r.parent_number,
        "created_at": r.created_at.isoformat() if r.created_at else None,
        "created_by": r.created_by,
        "approved_by": r.approved_by,
        "approved_at": r.approved_at.isoformat() if r.approved_at else None,
        "options": r.options,
        "input_hash": r.input_hash,
        "solver_version": r.solver_version,
        "status": r.status,
        "method": f.method,
        "objective": r.objective,
        "bound": r.bound,
        "solve_seconds": r.solve_seconds,
        "dropped_preferences": f.dropped,
        "choice_positions_from": r.positions_from,
    }
