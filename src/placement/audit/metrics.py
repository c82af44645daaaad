"""The audit's metrics as pure functions (``shared/spec/fairness.md``): no database, no I/O.

Every function takes counts that are either exact integers or, in a published
report, the disclosure-controlled counts, where a withheld count is
:data:`SUPPRESSED`. A figure any part of which is suppressed is suppressed
too; a figure with nothing to divide by is ``None`` ("not applicable"), never
a division by zero. The same functions therefore serve the restricted
(exact) and the published report, and the published one is computed only
from what it shows.

Statistics come from ``scipy.stats``: Fisher's exact test (two-sided) for
each comparison of two placement rates, the Katz log interval for the ratio
of two rates (``scipy.stats.contingency.relative_risk``) and the Wilson score
interval for a single rate (``binomtest(...).proportion_ci("wilson")``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Final, NamedTuple

from ..shares import ShareLike, exact_share


class _Suppressed:
    """A withheld figure (shown as ``*``). A singleton, so ``x is SUPPRESSED`` works."""

    _instance: _Suppressed | None = None

    def __new__(cls) -> _Suppressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "*"

    def __reduce__(self) -> str:  # survives copy/pickle as the same singleton
        return "SUPPRESSED"


SUPPRESSED: Final = _Suppressed()
Count = int | _Suppressed
# A derived figure: a number, SUPPRESSED, or None when it is not defined (e.g. nobody to divide by).
Figure = float | int | _Suppressed | None

# The four-fifths rule (29 CFR 1607.4(D)) and its symmetric band (as Aequitas computes disparity).
FOUR_FIFTHS: Final = 0.80
RL_BAND: Final = (0.80, 1.25)
CONFIDENCE: Final = 0.95


def is_suppressed(*values: object) -> bool:
    return any(v is SUPPRESSED for v in values)


def ratio(num: Figure, den: Figure) -> Figure:
    """num / den; suppressed if either part is, None when undefined (no denominator)."""
    if isinstance(num, _Suppressed) or isinstance(den, _Suppressed):
        return SUPPRESSED
    if num is None or den is None or den == 0:
        return None
    return num / den


def difference(a: Count, b: Count) -> Count:
    if is_suppressed(a, b):
        return SUPPRESSED
    return a - b  # type: ignore[operator]


# --- Counting (exact data -> exact counts) ----------------------------------------------------


def choice_bins(max_choice: int, last_single: int = 5) -> list[str]:
    """Rank-profile columns: "1", "2", ... up to ``last_single``, then "6+" when anyone is placed lower."""
    if max_choice <= last_single + 1:
        return [str(k) for k in range(1, max(max_choice, 1) + 1)]
    return [str(k) for k in range(1, last_single + 1)] + [f"{last_single + 1}+"]


def choice_bin(choice: int, bins: Sequence[str]) -> str:
    last = bins[-1]
    if last.endswith("+") and choice >= int(last[:-1]):
        return last
    return str(choice)


class Person(NamedTuple):
    """What the metrics need of one candidate of the round: no names, no ids (a tuple: built per
    candidate and characteristic, so cheap to make)."""

    group: str  # the candidate's value of the characteristic being counted
    eligible: bool  # had at least one eligible host
    choice: int | None  # placed at their n-th choice; None = unplaced
    envy_pairs: int = 0  # blocking pairs in which this candidate is the envious party


COUNT_COLUMNS: Final = ("pool", "eligible", "no_eligible_host", "placed", "unplaced")
GROUP_COUNT_COLUMNS: Final = ("eligible", "placed", "unplaced")  # what the tables show by group
COHORT_ONLY_COLUMNS: Final = ("pool", "no_eligible_host")  # shown for the whole cohort only
BLOCKING_COLUMNS: Final = ("envious_candidates", "blocking_pairs")


def group_counts(people: Iterable[Person], groups: Sequence[str], bins: Sequence[str]) -> dict[str, dict[str, int]]:
    """Exact counts per group (S_g = eligible, A_g = placed) plus a ``"total"`` row.

    Columns: pool, eligible, no_eligible_host, placed, unplaced, ``choice_<bin>``
    for each rank-profile bin, envious_candidates, blocking_pairs.
    """
    columns = [*COUNT_COLUMNS, *(f"choice_{b}" for b in bins), *BLOCKING_COLUMNS]
    table = {g: dict.fromkeys(columns, 0) for g in [*groups, "total"]}
    for p in people:
        for row in (table[p.group], table["total"]):
            row["pool"] += 1
            if not p.eligible:
                row["no_eligible_host"] += 1
                continue
            row["eligible"] += 1
            if p.choice is None:
                row["unplaced"] += 1
            else:
                row["placed"] += 1
                row[f"choice_{choice_bin(p.choice, bins)}"] += 1
            if p.envy_pairs:
                row["envious_candidates"] += 1
                row["blocking_pairs"] += p.envy_pairs
    return table


def rank_summary(choices: Sequence[int]) -> tuple[float | None, float | None]:
    """Mean and median choice obtained by those placed (None when nobody was)."""
    if not choices:
        return None, None
    return sum(choices) / len(choices), float(median(choices))


# --- Intervals and tests ---------------------------------------------------------------------


def wilson_interval(k: Count, n: Count) -> tuple[Figure, Figure]:
    """95% Wilson score interval of the rate k/n."""
    if isinstance(k, _Suppressed) or isinstance(n, _Suppressed):
        return SUPPRESSED, SUPPRESSED
    if not n:
        return None, None
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Comparison:
    """Group g's rate against a reference group's: ratio, Fisher p, 95% Katz interval."""

    ratio: Figure
    fisher_p: Figure
    ci_low: Figure
    ci_high: Figure
    infinite: bool = False  # the denominator group had no successes but g had some


def compare_rates(a: Count, n: Count, a_ref: Count, n_ref: Count) -> Comparison:
    """(a/n) / (a_ref/n_ref) with a two-sided Fisher exact p-value and the Katz 95% interval.

    The Katz interval exp(ln RR ± z·sqrt(1/a − 1/n + 1/c − 1/m)) is undefined
    when either group has no successes; that bound is then None. When the
    reference group has no successes the ratio is infinite (if g has some)
    or undefined (if g has none either): ratio None, with ``infinite`` set
    in the first case.
    """
    if is_suppressed(a, n, a_ref, n_ref):
        return Comparison(SUPPRESSED, SUPPRESSED, SUPPRESSED, SUPPRESSED)
    if not n or not n_ref:
        return Comparison(None, None, None, None)
    from scipy.stats import fisher_exact
    from scipy.stats.contingency import relative_risk

    a, n, a_ref, n_ref = int(a), int(n), int(a_ref), int(n_ref)  # type: ignore[arg-type]
    p = min(float(fisher_exact([[a, n - a], [a_ref, n_ref - a_ref]], alternative="two-sided").pvalue), 1.0)
    if a_ref == 0:
        return Comparison(None, p, None, None, infinite=a > 0)
    rr = relative_risk(a, n, a_ref, n_ref)
    ci = rr.confidence_interval(confidence_level=CONFIDENCE)
    low, high = float(ci.low), float(ci.high)
    return Comparison(
        ratio=float(rr.relative_risk),
        fisher_p=p,
        ci_low=None if math.isnan(low) else low,
        ci_high=None if math.isnan(high) or math.isinf(high) else high,
    )


# --- Relative likelihood, adverse impact, parity ------------------------------------------------


@dataclass(frozen=True)
class RelativeLikelihood:
    outcome: str  # "placed" or "first_choice"
    reference: str
    comparison: str
    stats: Comparison
    flag: bool | None  # outside RL_BAND; None when not assessable


def relative_likelihood(
    outcome: str, reference: str, comparison: str, counts: Mapping[str, Mapping[str, Count]]
) -> RelativeLikelihood:
    """RL = SR_reference / SR_comparison (WRES indicator 2, WDES metric 2 form); 1.00 is parity.

    For ``first_choice`` the outcome counted is "placed at first choice", out
    of the same denominator S_g (those with an eligible host).
    """
    column = "placed" if outcome == "placed" else "choice_1"
    ref, cmp = counts[reference], counts[comparison]
    stats = compare_rates(ref[column], ref["eligible"], cmp[column], cmp["eligible"])
    flag = True if stats.infinite else band_flag(stats.ratio, RL_BAND)
    return RelativeLikelihood(outcome, reference, comparison, stats, flag)


def band_flag(value: Figure, band: tuple[float, float]) -> bool | None:
    if value is None or value is SUPPRESSED:
        return None
    return not (band[0] <= value <= band[1])  # type: ignore[operator]


@dataclass(frozen=True)
class AdverseImpact:
    group: str
    reference: str | None  # the group with the highest rate among those compared
    stats: Comparison
    shortfall: Figure  # further placements g would need for AIR = 1
    flag: bool | None  # AIR < 0.80


def adverse_impact(counts: Mapping[str, Mapping[str, Count]], groups: Sequence[str]) -> dict[str, AdverseImpact]:
    """AIR_g = SR_g / max_h SR_h over ``groups`` whose rate is defined and shown.

    Groups with no eligible candidate, or whose rate is withheld, are not
    compared (their AIR is None or SUPPRESSED). The reference group itself
    has AIR 1 and no test.
    """
    rates = {g: ratio(counts[g]["placed"], counts[g]["eligible"]) for g in groups}
    shown = {g: r for g, r in rates.items() if isinstance(r, (int, float))}
    out: dict[str, AdverseImpact] = {}
    if not shown or max(shown.values()) == 0:
        for g in groups:
            marker = SUPPRESSED if rates[g] is SUPPRESSED else None
            out[g] = AdverseImpact(g, None, Comparison(marker, marker, marker, marker), marker, None)
        return out
    best = max(shown.values())
    reference = next(g for g in groups if shown.get(g) == best)  # first in the characteristic's order
    ref_a, ref_n = counts[reference]["placed"], counts[reference]["eligible"]
    for g in groups:
        if rates[g] is SUPPRESSED or rates[g] is None:
            marker = SUPPRESSED if rates[g] is SUPPRESSED else None
            out[g] = AdverseImpact(g, reference, Comparison(marker, marker, marker, marker), marker, None)
            continue
        a, n = counts[g]["placed"], counts[g]["eligible"]
        if g == reference:
            stats = Comparison(1.0, None, None, None)
        else:
            stats = compare_rates(a, n, ref_a, ref_n)
        need = max(0, math.ceil(best * n - 1e-9) - a)  # type: ignore[operator]
        out[g] = AdverseImpact(g, reference, stats, need, stats.ratio < FOUR_FIFTHS)  # type: ignore[operator]
    return out


@dataclass(frozen=True)
class Parity:
    """Fairlearn's demographic parity difference (max − min rate) and ratio (min / max)."""

    difference: Figure
    ratio: Figure
    highest: str | None
    lowest: str | None
    compared: tuple[str, ...]
    not_compared: tuple[str, ...]  # rate withheld or no eligible candidates


def demographic_parity(counts: Mapping[str, Mapping[str, Count]], groups: Sequence[str]) -> Parity:
    rates = {g: ratio(counts[g]["placed"], counts[g]["eligible"]) for g in groups}
    shown = {g: float(r) for g, r in rates.items() if isinstance(r, (int, float))}
    not_compared = tuple(g for g in groups if g not in shown)
    if len(shown) < 2:
        return Parity(None, None, None, None, tuple(shown), not_compared)
    hi = max(shown.values())
    lo = min(shown.values())
    highest = next(g for g in groups if shown.get(g) == hi)
    lowest = next(g for g in reversed(groups) if shown.get(g) == lo)  # a different group when all are equal
    return Parity(hi - lo, ratio(lo, hi), highest, lowest, tuple(shown), not_compared)


# --- Declaration, targets, price of fairness helpers -----------------------------------------


def declaration_rates(
    counts: Mapping[str, Mapping[str, Count]], missing_states: Sequence[str], column: str = "eligible"
) -> dict[str, tuple[Count, Figure]]:
    """Per missing state: (count, share of all) — how many did not declare, or are not known.

    Counted, like every figure of the tables, among the candidates with an eligible host.
    """
    total = counts["total"][column]
    return {m: (counts[m][column], ratio(counts[m][column], total)) for m in missing_states if m in counts}


@dataclass(frozen=True)
class TargetFigures:
    achieved_share: Figure
    required_min: Figure  # whole candidates of the value needed in the scope (ceil of min_share x placed)
    required_max: Figure  # most allowed (floor of max_share x placed)
    binding: bool | None  # hard or soft, the count sits exactly at its limit


def target_figures(
    min_share: ShareLike | None, max_share: ShareLike | None, placed_in_scope: Count, members_placed: Count
) -> TargetFigures:
    """Required vs achieved for one target on one scope.

    A target holds only for scopes with someone placed (../shared/spec/model.md); the
    required counts are whole people: at least ceil(min_share × placed), at
    most floor(max_share × placed). A target is *binding* when its count sits
    exactly at that limit (one fewer, or one more, would break it).
    """
    share = ratio(members_placed, placed_in_scope)
    if is_suppressed(placed_in_scope):
        return TargetFigures(
            share, SUPPRESSED if min_share is not None else None, SUPPRESSED if max_share is not None else None, None
        )
    p = int(placed_in_scope)  # type: ignore[arg-type]
    # The share exactly as written (placement.shares), as the solver enforced it: no rounding slack.
    req_min = math.ceil(exact_share(min_share) * p) if min_share is not None else None
    req_max = math.floor(exact_share(max_share) * p) if max_share is not None else None
    binding: bool | None
    if is_suppressed(members_placed) or p == 0:
        binding = None
    else:
        m = int(members_placed)  # type: ignore[arg-type]
        binding = (req_min is not None and m == req_min and req_min > 0) or (
            req_max is not None and m == req_max and req_max < p
        )
    return TargetFigures(share, req_min, req_max, binding)


def price_of_fairness(z_free: float | None, z_targets: float | None, *, maximise: bool) -> float | None:
    """Bertsimas, Farias & Trichakis's price of fairness for one objective level, as a loss ≥ 0.

    For a level to maximise (candidates placed) it is (Z_free − Z_targets) / Z_free,
    ../shared/spec/fairness.md #8 as written. For a level to minimise (rank cost) the same
    formula would come out ≤ 0, so the loss is reported with the sign turned:
    (Z_targets − Z_free) / Z_free, the relative increase in cost. Either way 0
    means the targets cost nothing and 0.05 means 5% worse.
    """
    if z_free is None or z_targets is None or z_free == 0:
        return None
    loss = (z_free - z_targets) if maximise else (z_targets - z_free)
    return loss / z_free
