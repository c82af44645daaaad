"""What a placement is worth and whether it is allowed: the solver's own ruler.

:func:`check_validity` lists every hard constraint of ../shared/spec/model.md a set of
chosen pairs breaks, as data; :func:`evaluate` computes the lexicographic
objective, the target results and the soft shortfalls. Tests, benchmarks,
the audit and the solver itself (to certify what its engines return) all
measure with these, so "optimal" always means optimal by this one ruler.

Exact arithmetic. Shares are read exactly as written (``placement.shares``:
0.35 = 7/20, 0.33333 = 33,333/100,000, ``1/3`` = one third) and weights as
fractions with small denominators (2.5 = 5/2). Each constraint family
(``constraints/``) turns its rule into integer rows: with ``min_share = q/D``,
``D * shortfall = max(0, q * placed_in_scope - D * members_placed)``, an
integer, so ``0.35 x 7 - 2 = 0.45`` is ``(7*7 - 20*2)/20 = 9/20``. The second
objective level is held as an integer in units of ``1/K`` where ``K`` is the
least common multiple that makes every soft weight per unit of row a whole
number of ``1/K`` (:class:`Scaling`). Every engine optimises exactly these integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .constraints import Row, Rows, SoftShortfall, Violation, families, model_rows, soft_shortfalls, targets
from .constraints import violations as family_violations
from .problem import OBJECTIVES, STABILITIES, TIE_BREAKS, Options, Problem, Solution, TargetResult

__all__ = [
    "Evaluation",
    "Row",
    "Scaling",
    "Violation",
    "check_validity",
    "evaluate",
    "level_names",
    "scaling",
    "target_results",
]

# --------------------------------------------------------------------------- integer rows

# The rows live with their families (``constraints/``); these names stay for the callers.
Scaling = Rows
scaling = model_rows


# --------------------------------------------------------------------------- validity


def _as_pairs(problem: Problem, chosen: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(chosen, dtype=np.int64).reshape(-1)


def check_validity(problem: Problem, chosen: np.ndarray | list[int], options: Options | None = None) -> list[Violation]:
    """Every hard constraint of ../shared/spec/model.md that the placement ``chosen`` (pair indices) breaks.

    Eligibility and forbidden pairs: only eligible pairs exist in a Problem
    (the encoder drops forbidden and ineligible ones), so a placement is
    eligible exactly when every index names a pair, once. Then the network's
    structure (one place per candidate, capacities) and every registered
    constraint family's own rules.
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
        out.append(
            Violation("candidate-twice", f"{problem.candidate_label(c)} is placed {per_cand[c]} times", candidate=c)
        )

    load = np.bincount(problem.pair_host[idx], minlength=problem.n_hosts)
    for h in np.flatnonzero(load > problem.capacity).tolist():
        out.append(
            Violation(
                "capacity",
                f"{problem.host_label(h)} has {load[h]} placed for {problem.capacity[h]} places",
                host=h,
                amount=float(load[h] - problem.capacity[h]),
            )
        )
    out.extend(family_violations(problem, x, idx, options))
    return out


# --------------------------------------------------------------------------- evaluation


def target_results(problem: Problem, chosen: np.ndarray) -> list[TargetResult]:
    """Placed in scope, members placed and shortfall of each target (exact fractions, reported as floats)."""
    return targets.results(problem, _as_pairs(problem, chosen))


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
    shortfalls: list[SoftShortfall] = field(default_factory=list)

    @property
    def soft_violations(self) -> list[str]:
        return [s.text for s in self.shortfalls]

    def fill(self, sol: Solution) -> None:
        """Copy the figures of this evaluation into a solution."""
        sol.placed, sol.rank_sum = self.placed, self.rank_sum
        sol.objective = dict(self.objective)
        sol.targets = self.targets
        sol.soft_violations = self.soft_violations
        sol.shortfalls = list(self.shortfalls)

    @property
    def penalty(self) -> float:
        return self.penalty_scaled / self.K

    @property
    def rank_cost(self) -> float:
        return self.rank_sum + self.penalty


def evaluate(
    problem: Problem, chosen: np.ndarray | list[int], options: Options | None = None, scale: Scaling | None = None
) -> Evaluation:
    """The objective levels, target results and soft shortfalls of a placement."""
    options = options or Options()
    scale = scale or scaling(problem, options)
    idx = np.unique(_as_pairs(problem, chosen))
    x = np.zeros(problem.n_pairs, np.int64)
    x[idx] = 1
    rank_sum = int(problem.pair_rank[idx].sum())
    R = int(problem.pair_rank.max()) if problem.n_pairs else 1
    rank_counts = np.bincount(problem.pair_rank[idx], minlength=R + 1)

    penalty = scale.penalty(x)
    results = target_results(problem, idx)
    shortfalls = soft_shortfalls(problem, scale, x)

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
    return Evaluation(int(idx.size), rank_sum, penalty, scale.K, rank_counts, objective, scaled, results, shortfalls)


def _one_of(words: tuple[str, ...]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1]


def check_options(options: Options, engine: str, engines: tuple[str, ...]) -> None:
    """The solve options and engine name are ones the solver knows (ConfigError naming the fix if not)."""
    if options.objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {options.objective!r}", f"Use {_one_of(OBJECTIVES)}.")
    if options.stability not in STABILITIES:
        raise ConfigError(f"unknown stability option {options.stability!r}", f"Use {_one_of(STABILITIES)}.")
    if not options.time_limit > 0:
        raise ConfigError(f"time limit {options.time_limit} is not positive", "Give a time limit in seconds, e.g. 60.")
    for fam in families():
        fam.check_options(options)
    if options.tie_break not in TIE_BREAKS:
        raise ConfigError(f"unknown tie-break {options.tie_break!r}", f"Use {_one_of(TIE_BREAKS)}.")
    if engine not in engines:
        raise ValueError(f"engine must be one of {engines}")


def check_problem(p: Problem) -> None:
    """The Problem's arrays have the shapes and ranges the solver relies on (ValueError if not)."""
    n = p.n_pairs
    for name in ("pair_host", "pair_rank", "pair_host_rank"):
        if getattr(p, name).shape != (n,):
            raise ValueError(f"Problem.{name} has shape {getattr(p, name).shape}, expected ({n},)")
    for name in ("capacity", "host_region"):
        if getattr(p, name).shape != (p.n_hosts,):
            raise ValueError(f"Problem.{name} has shape {getattr(p, name).shape}, expected ({p.n_hosts},)")
    if n and (
        p.pair_cand.min() < 0
        or p.pair_cand.max() >= p.n_candidates
        or p.pair_host.min() < 0
        or p.pair_host.max() >= p.n_hosts
    ):
        raise ValueError("Problem pair arrays name candidates or hosts out of range")
    if n and p.pair_rank.min() < 1:
        raise ValueError("Problem.pair_rank must start at 1 (first choice)")
    for fam in families():
        fam.check_problem(p)
