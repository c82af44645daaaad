"""Plain-language flags and the legal notes of a report, built from the figures as shown.

A flag is raised only from published figures: a withheld ratio raises none
(it would say something about the small group behind it).
"""

from __future__ import annotations

from typing import Any

from . import labels as L
from .load import RoundFacts


def _v(c: dict[str, Any] | None) -> Any:
    return None if c is None else c["value"]


def p_phrase(p: float | None) -> str:
    if p is None:
        return ""
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    if p < 0.05:
        return f" Fisher's exact test: {shown}, so a gap this large is unlikely to be chance alone."
    return f" Fisher's exact test: {shown}; with groups this size a gap like this could be chance — watch it over rounds."


def shown_beside(x: float, edge: float, digits: int = 2, percent: bool = False) -> str:
    """x with enough decimals that it does not print as the threshold it was compared with (0.7996 -> "79.96%")."""
    scale = 100 if percent else 1
    while digits < 6 and round(x * scale, digits) == round(edge * scale, digits) and x != edge:
        digits += 1
    return f"{x * scale:.{digits}f}" + ("%" if percent else "")


def _flag(kind: str, message: str, characteristic: str | None = None, group: str | None = None, value: float | None = None) -> dict[str, Any]:
    return {"kind": kind, "characteristic": characteristic, "group": group, "value": value, "message": message}


def flags_and_notes(audit: dict[str, Any], facts: RoundFacts) -> tuple[list[dict[str, Any]], list[str]]:
    flags: list[dict[str, Any]] = []
    notes: list[str] = []

    if facts.status == "INFEASIBLE":
        flags.append(_flag("status", "Nobody was placed: the round's hard constraints cannot all be met together. "
                           f"`placement round show {facts.number}` lists the conflicting constraints."))
    elif facts.status not in ("OPTIMAL",):
        flags.append(_flag("status", f"The solver stopped with status {facts.status}: the placements are valid but not "
                           "proven to be the best possible (see the bound in the provenance block)."))

    for ch in audit["characteristics"]:
        name = ch["name"]
        for rl in ch["relative_likelihoods"]:
            if not rl["flag"]:
                continue
            what = "placed" if rl["outcome"] == "placed" else "placed at their first choice"
            if rl["infinite"]:
                size = "infinitely more likely (no one in the comparison group was)"
                value = None
            else:
                value = _v(rl["value"])
                edge = rl["band"][0] if value < 1 else rl["band"][1]
                size = f"{shown_beside(value, edge)} times as likely"
            flags.append(_flag(
                "relative_likelihood",
                f"{rl['reference_label']} candidates were {size} to be {what} as candidates in the group "
                f"“{rl['comparison_label']}” (1.00 is parity). That is outside the 0.80–1.25 band: {L.RL_BAND_SOURCE}."
                + p_phrase(_v(rl["fisher_p"])),
                name, rl["comparison_group"], value,
            ))
        for g in ch["groups"]:
            air = g.get("adverse_impact")
            if not air or not air["flag"]:
                continue
            ratio = _v(air["ratio"])
            ref = L.group_label(name, air["reference_group"])
            short = _v(air["shortfall"])
            more = f" {short} more placement{'s' if short != 1 else ''} for this group would close the gap." if short else ""
            flags.append(_flag(
                "adverse_impact",
                f"{ch['label']}: “{g['label']}” candidates were placed at {shown_beside(ratio, 0.8, 0, percent=True)} of the rate of “{ref}” candidates "
                f"(the highest). Below 80% is adverse impact under {L.FOUR_FIFTHS_SOURCE}.{more}" + p_phrase(_v(air["fisher_p"])),
                name, g["value"], ratio,
            ))
        if ch["protected"] and ch["note"]:
            notes.append(f"{ch['label']}: {ch['note']}")

    for t in audit["targets"]:
        if t["status"] == "missed":
            want = []
            if t["min_share"] is not None:
                want.append(f"at least {t['min_share']:.0%}")
            if t["max_share"] is not None:
                want.append(f"at most {t['max_share']:.0%}")
            got = _v(t["achieved_share"])
            edge = t["min_share"] if t["min_share"] is not None else t["max_share"]
            got_s = "" if got is None else f" (achieved {shown_beside(got, edge, 0, percent=True)})"
            flags.append(_flag(
                "target_missed",
                f"Target “{t['name']}” was missed in scope {t['scope']}: it asked for {' and '.join(want)} "
                f"“{t['value_label']}” among those placed there{got_s}. "
                + ("A soft target is weighed against candidates' preferences, so it can be missed." if not t["hard"] else ""),
                t["attribute"], t["value"], got,
            ))

    law = audit["law"]
    if law["hard_protected_targets"]:
        flags.append(_flag("quota", law["quota_note"]))
    if law["special_category_targets"]:
        flags.append(_flag("special_category_use", law["special_category_note"]))

    bp = _v(audit["stability"]["blocking_pairs"])
    if audit["stability"]["blocking_pairs"]["suppressed"] or (bp or 0) > 0:
        count = "a few" if bp is None else f"about {bp}" if audit["disclosure_control"]["applied"] else str(bp)
        flags.append(_flag(
            "stability",
            f"There are {count} blocking pairs: a candidate and a host who would both rather be placed together than "
            "as they are (justified envy). The stability option was "
            f"“{audit['stability']['option']}”; the tables count them by the envious candidate's group.",
        ))

    if audit["disclosure_control"]["applied"]:
        notes.append("Counts are rounded to the nearest 5 and counts of 1–7 withheld (*); rates are worked out "
                     "from the rounded counts, so they can differ slightly from exact figures.")
    else:
        notes.append("This report contains unsuppressed small numbers: it is for the scheme's restricted use only — do not publish.")
    return flags, notes


SPECIAL_TARGET_ATTRIBUTES = ("ethnic_group", "minority_ethnic", "disability")


def law_section(facts: RoundFacts, suppression: bool) -> dict[str, Any]:
    special = sorted({t["name"] for t in facts.targets if t.get("attribute") in SPECIAL_TARGET_ATTRIBUTES})
    quotas = list(facts.hard_protected_targets)
    if facts.state == "approved":
        decision = (f"Approved by {facts.approved_by} on {facts.approved_at:%d %B %Y}: a named person reviewed this "
                    "round before offers were made (UK GDPR Art. 22: no solely automated decision)."
                    if facts.approved_at else f"Approved by {facts.approved_by}.")
    elif facts.state == "superseded":
        decision = "This round was superseded by a later one and is kept for the record."
    else:
        decision = ("This round is a proposal, not a decision. Under UK GDPR Art. 22 nobody may be subject to a solely "
                    "automated decision: a named coordinator must review and approve it before any offer is made.")
    quota_note = (
        f"Hard share target(s) on a protected characteristic were applied: {', '.join(quotas)}. A hard share target is "
        "a quota. Under the Equality Act 2010 positive discrimination — a quota that overrides merit — is unlawful; "
        "s.159 lets an employer prefer a candidate of an under-represented group only between candidates who are "
        "“as qualified as” each other. The coordinator acknowledged the quota explicitly (--allow-quota); "
        "take legal advice before approving."
    ) if quotas else None
    special_note = (
        f"Targets on ethnicity or disability ({', '.join(special)}) influenced who was placed where. These are special "
        "category data (UK GDPR Art. 9): the equality-monitoring condition (DPA 2018 Sch. 1 para 8) covers monitoring, "
        "not decisions about individuals, so check the scheme's lawful basis for this use."
    ) if special else None
    data_note = (
        "Ethnicity and disability are special category data. This report holds only aggregates under disclosure "
        "control; the price-of-fairness list names candidate ids only, never their characteristics."
        if suppression else
        "Restricted report: it contains unsuppressed small numbers about special category data — do not publish."
    )
    return {
        "state": facts.state,
        "proposal": facts.state == "proposal",
        "decision_note": decision,
        "hard_protected_targets": quotas,
        "quota_note": quota_note,
        "special_category_targets": special,
        "special_category_note": special_note,
        "data_note": data_note,
    }
