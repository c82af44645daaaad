"""What a placement is worth and whether it is allowed: the solver's own ruler.

:func:`check_validity` lists every hard constraint of ../shared/spec/model.md a set of
chosen pairs breaks, as data; :func:`evaluate` computes the lexicographic
objective, the target results and the soft shortfalls. Tests, benchmarks,
the audit and the solver itself (to certify what its engines return) all
measure with these, so "optimal" always means optimal by this one ruler.

Exact arithmetic. Shares and weights are read as the nearest fraction with a
small denominator (shares: denominator <= 10,000; weights: <= 1,000), which
is exact for the decimals a coordinator writes (0.35 = 7/20, 2.5 = 5/2).
A target side then becomes an integer row: with ``min_share = q/D``,
``D * shortfall = max(0, q * placed_in_scope - D * members_placed)``, an
integer, so ``0.35 x 7 - 2 = 0.45`` is ``(7*7 - 20*2)/20 = 9/20``. The second
objective level is held as an integer in units of ``1/K`` where ``K`` is the
least common multiple that makes every ``weight/D`` an integer multiple of
``1/K`` (:class:`Scaling`). Every engine optimises exactly these integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .problem import Options, Problem, Target, TargetResult

SHARE_MAX_DENOMINATOR = 10_000
WEIGHT_MAX_DENOMINATOR = 1_000


def as_fraction(value: float, max_denominator: int) -> Fraction:
    """The fraction a coordinator meant by a decimal share or weight."""
    return Fraction(value).limit_denominator(max_denominator)


# --------------------------------------------------------------------------- integer rows


@dataclass(frozen=True)
class Row:
    """One integer side constraint over pair variables: ``sum(coef * x[pairs]) + const``.

    ``kind``: ``"le"`` must be <= 0 (hard), ``"eq"`` must be 0, ``"soft"``
    costs ``weight * max(0, value)`` in level-2 units (1/K each).
    ``source`` says what the row stands for, for messages and results.
    """

    pairs: np.ndarray  # int64 pair indices
    coef: np.ndarray  # int64, same length
    const: int
    kind: str  # "le" | "eq" | "soft"
    weight: int = 0
    source: str = ""  # "target:<i>:min", "target:<i>:max", "min:<h>", "link:<l>:<r>"

    def value(self, x: np.ndarray) -> int:
        """The row's value for a 0/1 vector over all pairs."""
        return int(np.dot(self.coef, x[self.pairs])) + self.const


@dataclass(frozen=True)
class Scaling:
    """Integer form of the soft and hard side constraints and of level 2.

    Level 2 in units of ``1/K``: ``K * sum(rank * x) + sum(row.weight * max(0, row))``
    over the soft rows (targets and, unless hard, lower quotas).
    """

    K: int
    target_rows: tuple[Row, ...]  # both sides of every target, hard ("le") or soft
    min_rows: tuple[Row, ...]  # one per host with a lower quota: min - load, "le" (hard) or "soft"
    denominators: tuple[int, ...]  # D per target (for reporting shortfalls)

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.target_rows + self.min_rows


def _lcm(values: list[int]) -> int:
    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out


def _target_parts(t: Target) -> tuple[Fraction | None, Fraction | None, int]:
    lo = None if t.min_share is None else as_fraction(float(t.min_share), SHARE_MAX_DENOMINATOR)
    hi = None if t.max_share is None else as_fraction(float(t.max_share), SHARE_MAX_DENOMINATOR)
    D = _lcm([f.denominator for f in (lo, hi) if f is not None])
    return lo, hi, D


def scaling(problem: Problem, options: Options) -> Scaling:
    """The integer rows and the level-2 scale K of a problem under given options."""
    pair_host = problem.pair_host
    pair_cand = problem.pair_cand
    dens: list[int] = []
    parts = []
    for t in problem.targets:
        lo, hi, D = _target_parts(t)
        w = as_fraction(float(t.weight), WEIGHT_MAX_DENOMINATOR)
        parts.append((lo, hi, D, w))
        if not t.hard:
            # weight/D per unit of a row must be a whole number of 1/K units.
            dens.append((D * w.denominator) // math.gcd(w.numerator, D * w.denominator) if w.numerator else 1)
    wmin = as_fraction(float(options.min_placement_weight), WEIGHT_MAX_DENOMINATOR)
    has_min = bool(np.any(problem.min_placements > 0))
    if has_min and not options.hard_min_placements:
        dens.append(wmin.denominator)
    K = _lcm(dens) if dens else 1

    target_rows: list[Row] = []
    for i, (t, (lo, hi, D, w)) in enumerate(zip(problem.targets, parts)):
        in_scope = np.isin(pair_host, np.asarray(t.scope_hosts, dtype=np.int64))
        pairs = np.flatnonzero(in_scope).astype(np.int64)
        member = np.asarray(t.member, dtype=bool)[pair_cand[pairs]].astype(np.int64)
        weight = 0 if t.hard else int(Fraction(K) * w / D)
        kind = "le" if t.hard else "soft"
        if lo is not None:
            # q*S - D*M <= 0: each pair in scope adds q, each member also takes D away.
            coef = lo.numerator * (D // lo.denominator) - D * member
            target_rows.append(Row(pairs, coef.astype(np.int64), 0, kind, weight, f"target:{i}:min"))
        if hi is not None:
            coef = D * member - hi.numerator * (D // hi.denominator)
            target_rows.append(Row(pairs, coef.astype(np.int64), 0, kind, weight, f"target:{i}:max"))

    min_rows: list[Row] = []
    if has_min:
        wscaled = int(Fraction(K) * wmin)
        for h in np.flatnonzero(problem.min_placements > 0).tolist():
            pairs = np.flatnonzero(pair_host == h).astype(np.int64)
            kind = "le" if options.hard_min_placements else "soft"
            min_rows.append(
                Row(pairs, -np.ones(pairs.size, np.int64), int(problem.min_placements[h]), kind,
                    0 if options.hard_min_placements else wscaled, f"min:{h}")
            )
    return Scaling(K, tuple(target_rows), tuple(min_rows), tuple(p[2] for p in parts))


def link_rows(problem: Problem) -> list[Row]:
    """Linked candidates a, b: for each region, a placed there exactly when b is.

    With "each candidate at most once" these equalities say "both placed in
    the same region, or both unplaced".
    """
    rows: list[Row] = []
    region_of_pair = problem.host_region[problem.pair_host]
    for li, (a, b) in enumerate(np.asarray(problem.links, dtype=np.int64).reshape(-1, 2).tolist()):
        pa = np.flatnonzero(problem.pair_cand == a)
        pb = np.flatnonzero(problem.pair_cand == b)
        regions = sorted(set(region_of_pair[pa].tolist()) | set(region_of_pair[pb].tolist()))
        for r in regions:
            qa = pa[region_of_pair[pa] == r]
            qb = pb[region_of_pair[pb] == r]
            pairs = np.concatenate([qa, qb]).astype(np.int64)
            coef = np.concatenate([np.ones(qa.size, np.int64), -np.ones(qb.size, np.int64)])
            rows.append(Row(pairs, coef, 0, "eq", 0, f"link:{li}:{r}"))
        if not regions:
            continue
    return rows


# --------------------------------------------------------------------------- validity


@dataclass(frozen=True)
class Violation:
    """One broken hard constraint. ``kind`` is one of: ``pair-index``,
    ``candidate-twice``, ``capacity``, ``required``, ``fixed``, ``link``,
    ``target``, ``min-placements``."""

    kind: str
    message: str
    candidate: int | None = None
    host: int | None = None
    target: int | None = None
    amount: float = 0.0


def _as_pairs(problem: Problem, chosen: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(chosen, dtype=np.int64).reshape(-1)


def check_validity(problem: Problem, chosen: np.ndarray | list[int], options: Options | None = None) -> list[Violation]:
    """Every hard constraint of ../shared/spec/model.md that the placement ``chosen`` (pair indices) breaks.

    Eligibility and forbidden pairs: only eligible pairs exist in a Problem
    (the encoder drops forbidden and ineligible ones), so a placement is
    eligible exactly when every index names a pair, once. Lower quotas are
    checked only when ``options.hard_min_placements``.
    """
    options = options or Options()
    out: list[Violation] = []
    idx = _as_pairs(problem, chosen)
    bad = (idx < 0) | (idx >= problem.n_pairs)
    for p in idx[bad].tolist():
        out.append(Violation("pair-index", f"pair index {p} is not an eligible pair"))
    idx = idx[~bad]
    if np.unique(idx).size != idx.size:
        out.append(Violation("pair-index", "a pair is listed more than once"))
        idx = np.unique(idx)
    x = np.zeros(problem.n_pairs, np.int64)
    x[idx] = 1

    cands = problem.pair_cand[idx]
    per_cand = np.bincount(cands, minlength=problem.n_candidates)
    for c in np.flatnonzero(per_cand > 1).tolist():
        out.append(Violation("candidate-twice", f"{problem.candidate_label(c)} is placed {per_cand[c]} times", candidate=c))

    load = np.bincount(problem.pair_host[idx], minlength=problem.n_hosts)
    for h in np.flatnonzero(load > problem.capacity).tolist():
        out.append(Violation("capacity", f"{problem.host_label(h)} has {load[h]} placed for {problem.capacity[h]} places",
                             host=h, amount=float(load[h] - problem.capacity[h])))
    if options.hard_min_placements:
        for h in np.flatnonzero(load < problem.min_placements).tolist():
            out.append(Violation("min-placements", f"{problem.host_label(h)} has {load[h]} placed, needs at least "
                                 f"{problem.min_placements[h]}", host=h, amount=float(problem.min_placements[h] - load[h])))

    for kind, arr in (("required", problem.required), ("fixed", problem.fixed)):
        for i, p in enumerate(np.asarray(arr, dtype=np.int64).tolist()):
            if not x[p]:
                c, h = int(problem.pair_cand[p]), int(problem.pair_host[p])
                state = problem.fixed_state(i)
                what = ("must be placed at" if kind == "required"
                        else f"holds an offer {state} in an earlier round at" if state in ("offered", "accepted")
                        else "holds a placement from an earlier round at")
                out.append(Violation(kind, f"{problem.candidate_label(c)} {what} {problem.host_label(h)} but is not there",
                                     candidate=c, host=h))

    region_of = np.full(problem.n_candidates, -1, np.int64)
    region_of[cands] = problem.host_region[problem.pair_host[idx]]
    for a, b in np.asarray(problem.links, dtype=np.int64).reshape(-1, 2).tolist():
        if region_of[a] != region_of[b]:
            out.append(Violation("link", f"linked candidates {problem.candidate_label(a)} and {problem.candidate_label(b)} "
                                 "are not both placed in one region, nor both unplaced", candidate=a))

    for i, res in enumerate(target_results(problem, idx)):
        if problem.targets[i].hard and not res.met:
            out.append(Violation("target", f"hard target {res.name} ({res.scope}) is not met: {res.members_placed} of "
                                 f"{res.placed_in_scope} placed, short by {res.shortfall:.2f}", target=i,
                                 amount=res.shortfall))
    return out


# --------------------------------------------------------------------------- evaluation


def target_results(problem: Problem, chosen: np.ndarray) -> list[TargetResult]:
    """Placed in scope, members placed and shortfall of each target (exact fractions, reported as floats)."""
    idx = _as_pairs(problem, chosen)
    hosts = problem.pair_host[idx]
    cands = problem.pair_cand[idx]
    out = []
    for t in problem.targets:
        in_scope = np.isin(hosts, np.asarray(t.scope_hosts, dtype=np.int64))
        S = int(in_scope.sum())
        M = int(np.asarray(t.member, dtype=bool)[cands[in_scope]].sum())
        lo, hi, _ = _target_parts(t)
        short = Fraction(0)
        if lo is not None:
            short += max(Fraction(0), lo * S - M)
        if hi is not None:
            short += max(Fraction(0), M - hi * S)
        out.append(TargetResult(
            name=t.name, scope=t.scope, hard=t.hard, placed_in_scope=S, members_placed=M,
            required_min=None if lo is None else float(lo * S), required_max=None if hi is None else float(hi * S),
            shortfall=float(short),
        ))
    return out


def level_names(problem: Problem, options: Options) -> list[str]:
    """Names of the lexicographic levels, in order, for ``options.objective``.

    ``rank-sum``: placed, rank_cost. ``rank-maximal``: placed, penalty (the
    weighted soft shortfall, first because no common unit trades a rank
    against a shortfall), rank_1, rank_2, ... (maximised).
    ``generous``: placed, penalty, rank_R, ..., rank_1 (minimised).
    """
    if options.objective == "rank-sum":
        return ["placed", "rank_cost"]
    R = int(problem.pair_rank.max()) if problem.n_pairs else 1
    ranks = list(range(1, R + 1)) if options.objective == "rank-maximal" else list(range(R, 0, -1))
    return ["placed", "penalty", *[f"rank_{r}" for r in ranks]]


@dataclass
class Evaluation:
    placed: int
    rank_sum: int
    penalty_scaled: int  # soft penalties in 1/K units
    K: int
    rank_counts: np.ndarray  # [R + 1], index r = placed at their r-th choice
    objective: dict[str, float]  # level name -> value, in level order
    scaled: dict[str, int]  # the same, as the integers the engines optimise
    targets: list[TargetResult] = field(default_factory=list)
    soft_violations: list[str] = field(default_factory=list)

    @property
    def penalty(self) -> float:
        return self.penalty_scaled / self.K

    @property
    def rank_cost(self) -> float:
        return self.rank_sum + self.penalty


def evaluate(problem: Problem, chosen: np.ndarray | list[int], options: Options | None = None,
             scale: Scaling | None = None) -> Evaluation:
    """The objective levels, target results and soft shortfalls of a placement."""
    options = options or Options()
    scale = scale or scaling(problem, options)
    idx = np.unique(_as_pairs(problem, chosen))
    x = np.zeros(problem.n_pairs, np.int64)
    x[idx] = 1
    rank_sum = int(problem.pair_rank[idx].sum())
    R = int(problem.pair_rank.max()) if problem.n_pairs else 1
    rank_counts = np.bincount(problem.pair_rank[idx], minlength=R + 1)

    penalty = 0
    soft_violations: list[str] = []
    results = target_results(problem, idx)
    for row in scale.rows:
        if row.kind != "soft":
            continue
        v = row.value(x)
        if v <= 0:
            continue
        penalty += row.weight * v
        kind, ident, *rest = row.source.split(":")
        if kind == "target":
            i = int(ident)
            t, res = problem.targets[i], results[i]
            side = "at least" if rest[0] == "min" else "at most"
            share = t.min_share if rest[0] == "min" else t.max_share
            short = v / scale.denominators[i]
            soft_violations.append(
                f"soft target {t.name} ({t.scope}): {res.members_placed} of {res.placed_in_scope} placed, "
                f"{side} {share:.0%} asked, short by {short:.2f}, penalty {row.weight * v / scale.K:.2f}"
            )
        else:
            h = int(ident)
            soft_violations.append(
                f"lower quota of {problem.host_label(h)}: {problem.min_placements[h] - v} of {problem.min_placements[h]} "
                f"filled, short by {v}, penalty {row.weight * v / scale.K:.2f}"
            )

    scaled: dict[str, int] = {}
    for name in level_names(problem, options):
        if name == "placed":
            scaled[name] = int(idx.size)
        elif name == "rank_cost":
            scaled[name] = scale.K * rank_sum + penalty
        elif name == "penalty":
            scaled[name] = penalty
        else:
            r = int(name.split("_")[1])
            scaled[name] = int(rank_counts[r]) if r < rank_counts.size else 0
    objective = {k: (v / scale.K if k in ("rank_cost", "penalty") else float(v)) for k, v in scaled.items()}
    return Evaluation(int(idx.size), rank_sum, penalty, scale.K, rank_counts, objective, scaled, results, soft_violations)
