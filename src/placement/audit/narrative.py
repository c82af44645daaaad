"""Plain-language flags and the legal notes of a report, built from the figures as shown.

Flags are raised from the exact figures in both editions (a flag hidden by
disclosure control would defeat the audit); the publication edition then
names them per characteristic without numbers.
"""

from __future__ import annotations

from typing import Any

from . import labels as L
from .editions import Edition, Flag
from .load import RoundFacts


def _v(c: dict[str, Any] | None) -> Any:
    return None if c is None else c["value"]


def shown_beside(x: float, edge: float, digits: int = 2, percent: bool = False) -> str:
    """x with enough decimals that it does not print as the threshold it was compared with (0.7996 -> "79.96%")."""
    scale = 100 if percent else 1
    while digits < 6 and round(x * scale, digits) == round(edge * scale, digits) and x != edge:
        digits += 1
    return f"{x * scale:.{digits}f}" + ("%" if percent else "")


def flags_and_notes(
    exact_tables: list[dict[str, Any]], audit: dict[str, Any], facts: RoundFacts
) -> tuple[list[Flag], list[str]]:
    """Every finding of the round, from the exact figures (``exact_tables``), and the report's notes.

    A comparison whose exact ratio is outside its band becomes a flag with
    its verdict: "flagged" when Fisher's test says the gap is unlikely to be
    chance, "too few to tell" when it could be. The publication edition turns
    these into one flag per characteristic and metric, without numbers
    (``editions.published_flags``).
    """
    flags = _status_flags(facts) + _disparity_flags(exact_tables) + _target_flags(audit, facts)
    flags += _law_and_stability_flags(audit, facts)
    notes = [f"{ch['label']}: {ch['note']}" for ch in exact_tables if ch["protected"] and ch["note"]]
    if not facts.record.targets_assessed and facts.record.targets:
        notes.append(
            f"This round had {len(facts.record.targets)} target scope(s) but no placements, so none could be assessed."
        )
    notes.append(_edition_note(audit))
    return flags, notes


def _status_flags(facts: RoundFacts) -> list[Flag]:
    """A round that placed nobody, or whose placements are not proven the best possible."""
    flags: list[Flag] = []
    if facts.record.status == "INFEASIBLE":
        flags.append(
            Flag(
                "status",
                "Nobody was placed: the round's hard constraints cannot all be met together. "
                f"`placement round show {facts.record.number}` lists the conflicting constraints.",
            )
        )
    elif facts.record.status not in ("OPTIMAL", "FEASIBLE"):
        flags.append(Flag("status", f"The solver stopped with status {facts.record.status} and no placements."))
    elif facts.record.status != "OPTIMAL":
        flags.append(
            Flag(
                "status",
                f"The solver stopped with status {facts.record.status}: the placements are valid but not "
                "proven to be the best possible (see the bound in the provenance block).",
            )
        )
    return flags


def _disparity_flags(exact_tables: list[dict[str, Any]]) -> list[Flag]:
    """Relative likelihoods outside the 0.80–1.25 band and adverse impact (four-fifths rule), with verdicts."""
    flags: list[Flag] = []
    for ch in exact_tables:
        name = ch["name"]
        for rl in ch["relative_likelihoods"]:
            if not rl["flag"]:
                continue
            what = "placed" if rl["outcome"] == "placed" else "placed at their first choice"
            value = None if rl["infinite"] else _v(rl["value"])
            if value is None:
                size = "infinitely more likely (no one in the comparison group was)"
            else:
                edge = rl["band"][0] if value < 1 else rl["band"][1]
                size = f"{shown_beside(value, edge)} times as likely"
            flags.append(
                Flag(
                    f"relative_likelihood_{rl['outcome']}",
                    f"{rl['reference_label']} candidates were {size} to be {what} as candidates in the group "
                    f"“{rl['comparison_label']}” (1.00 is parity). That is outside the 0.80–1.25 band: {L.RL_BAND_SOURCE}."
                    + verdict_phrase(rl["verdict"], _v(rl["fisher_p"]), rl["ci95"]),
                    name,
                    (rl["comparison_group"], rl["reference_group"]),
                    value,
                    rl["verdict"],
                    _v(rl["fisher_p"]),
                    _ci(rl["ci95"]),
                )
            )
        for g in ch["groups"]:
            air = g.get("adverse_impact")
            if not air or not air["flag"]:
                continue
            ratio = _v(air["ratio"])
            ref = L.group_label(name, air["reference_group"])
            short = _v(air["shortfall"])
            more = (
                f" {short} more placement{'s' if short != 1 else ''} for this group would close the gap."
                if short
                else ""
            )
            flags.append(
                Flag(
                    "adverse_impact",
                    f"{ch['label']}: “{g['label']}” candidates were placed at {shown_beside(ratio, 0.8, 0, percent=True)} of the rate of “{ref}” candidates "
                    f"(the highest). Below 80% is adverse impact under {L.FOUR_FIFTHS_SOURCE}.{more}"
                    + verdict_phrase(air["verdict"], _v(air["fisher_p"]), air["ci95"]),
                    name,
                    (g["value"], air["reference_group"]),
                    ratio,
                    air["verdict"],
                    _v(air["fisher_p"]),
                    _ci(air["ci95"]),
                )
            )
    return flags


def _target_flags(audit: dict[str, Any], facts: RoundFacts) -> list[Flag]:
    """Every target scope that was missed, with what it asked for and (exact edition) what was achieved."""
    flags: list[Flag] = []
    for t, raw in zip(audit["targets"], facts.record.targets):
        if t["status"] != "missed":
            continue
        want = []
        if t["min_share"] is not None:
            want.append(f"at least {float(t['min_share']):.0%}")  # a variant's share is a Fraction
        if t["max_share"] is not None:
            want.append(f"at most {float(t['max_share']):.0%}")
        placed, members = int(raw.get("placed_in_scope", 0) or 0), int(raw.get("members_placed", 0) or 0)
        got = members / placed if placed else None
        edge = t["min_share"] if t["min_share"] is not None else t["max_share"]
        exact = not audit["disclosure_control"]["applied"]
        got_s = f" (achieved {shown_beside(got, edge, 0, percent=True)})" if got is not None and exact else ""
        flags.append(
            Flag(
                "target_missed",
                f"Target “{t['name']}” was missed in scope {t['scope']}: it asked for {' and '.join(want)} "
                f"“{t['value_label']}” among those placed there{got_s}. "
                + (
                    "A soft target is weighed against candidates' preferences, so it can be missed."
                    if not t["hard"]
                    else ""
                ),
                t["attribute"],
                (t["value"],),
                got if exact else None,
            )
        )
    return flags


def _law_and_stability_flags(audit: dict[str, Any], facts: RoundFacts) -> list[Flag]:
    """Hard targets on protected characteristics (quotas), special category data used, blocking pairs."""
    flags: list[Flag] = []
    totals = facts.totals
    law = audit["law"]
    if law["hard_protected_targets"]:
        flags.append(Flag("quota", law["quota_note"]))
    if law["special_category_targets"]:
        flags.append(Flag("special_category_use", law["special_category_note"]))

    bp = totals.blocking_pairs if totals else 0
    if bp:
        flags.append(
            Flag(
                "stability",
                f"There {'is' if bp == 1 else 'are'} {bp} blocking pair{'' if bp == 1 else 's'}: a candidate and a host who would "
                "both rather be placed together than as they are (justified envy). The stability option was "
                f"“{audit['stability']['option']}”; the tables count them by the envious candidate's group.",
                value=float(bp),
            )
        )
    return flags


def _edition_note(audit: dict[str, Any]) -> str:
    """What the figures are: rounded and withheld (publication) or exact and for whom (internal)."""
    if audit["disclosure_control"]["applied"]:
        return (
            "Figures broken down by a characteristic are rounded to the nearest 5, counts of 1–7 withheld (*), "
            "each independently, so a row's parts may not add up to its total; rates are worked out from the "
            "rounded counts. Scheme-wide totals are exact. Flags were raised on the exact figures."
        )
    return (
        f"{audit['stamp']}. Exact counts, including small ones: for the people entitled to the individual "
        "records only (the coordinator, the equality lead). Use the publication edition for anyone else."
    )


def verdict_phrase(verdict: str | None, p: float | None, ci: dict[str, Any] | None) -> str:
    """The verdict in words, with the Fisher p-value and the 95% interval it rests on."""
    if verdict is None or p is None:
        return ""
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    low, high = _ci(ci) or (None, None)
    iv = f", 95% interval {low:.2f}–{high:.2f}" if low is not None and high is not None else ""
    if verdict == "flagged":
        return f" Verdict: flagged (Fisher's exact test {shown}{iv}): a gap this large is unlikely to be chance alone."
    return (
        f" Verdict: too few to tell (Fisher's exact test {shown}{iv}): with groups this size a gap like this "
        "could be chance — watch it over rounds, or pool it with other cohorts."
    )


def _ci(ci: dict[str, Any] | None) -> tuple[float | None, float | None] | None:
    if ci is None:
        return None
    return _v(ci["low"]), _v(ci["high"])


SPECIAL_TARGET_ATTRIBUTES = ("ethnic_group", "minority_ethnic", "disability")


def law_section(facts: RoundFacts, edition: Edition) -> dict[str, Any]:
    special = sorted({t["name"] for t in facts.record.targets if t.get("attribute") in SPECIAL_TARGET_ATTRIBUTES})
    quotas = list(facts.hard_protected_targets)
    if facts.record.state == "approved":
        decision = (
            f"Approved by {facts.record.approved_by} on {facts.record.approved_at:%d %B %Y}: a named person reviewed this "
            "round before offers were made (UK GDPR Art. 22: no solely automated decision)."
            if facts.record.approved_at
            else f"Approved by {facts.record.approved_by}."
        )
    elif facts.record.state == "superseded":
        decision = "This round was superseded by a later one and is kept for the record."
    else:
        decision = (
            "This round is a proposal, not a decision. Under UK GDPR Art. 22 nobody may be subject to a solely "
            "automated decision: a named coordinator must review and approve it before any offer is made."
        )
    quota_note = (
        (
            f"Hard share target(s) on a protected characteristic were applied: {', '.join(quotas)}. A hard share target is "
            "a quota. Under the Equality Act 2010 positive discrimination — a quota that overrides merit — is unlawful; "
            "s.159 lets an employer prefer a candidate of an under-represented group only between candidates who are "
            "“as qualified as” each other. The coordinator acknowledged the quota explicitly (--allow-quota); "
            "take legal advice before approving."
        )
        if quotas
        else None
    )
    special_note = (
        (
            f"Targets on ethnicity or disability ({', '.join(special)}) influenced who was placed where. These are special "
            "category data (UK GDPR Art. 9): the equality-monitoring condition (DPA 2018 Sch. 1 para 8) covers monitoring, "
            "not decisions about individuals, so check the scheme's lawful basis for this use."
        )
        if special
        else None
    )
    data_note = (
        "Ethnicity and disability are special category data. This publication edition holds only aggregates: "
        "figures broken down by a characteristic are under disclosure control, and no candidate is named."
        if not edition.exact
        else "Internal edition: exact small numbers about special category data, and the ids of candidates the targets "
        "moved. For the people already entitled to the individual records only — do not publish or forward."
    )
    return {
        "state": facts.record.state,
        "proposal": facts.record.state == "proposal",
        "decision_note": decision,
        "hard_protected_targets": quotas,
        "quota_note": quota_note,
        "special_category_targets": special,
        "special_category_note": special_note,
        "data_note": data_note,
    }
