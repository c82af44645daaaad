"""Hosts' lower quotas: at least ``min_placements[h]`` placed at host h.

Hard when ``Options.hard_min_placements``, else soft at
``Options.min_placement_weight`` per unfilled place. The network models both
(lower bounds on the host's arc, or a reward per filled place), so the rows
here are for the exact engines, the check and the diagnosis.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...errors import ConfigError
from ...shares import exact_weight
from ..problem import Options, Problem
from .base import Family, Group, Row, SoftShortfall, Violation


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class LowerQuotas(Family):
    name = "min_placements"
    in_network = True
    noun = "hard lower quotas"
    diagnosis_order = 30

    def check_options(self, options: Options) -> None:
        if options.min_placement_weight < 0:
            raise ConfigError("the lower-quota weight is negative", "Give a weight of 0 or more.")

    def check_problem(self, problem: Problem) -> None:
        if problem.min_placements.shape != (problem.n_hosts,):
            raise ValueError(
                f"Problem.min_placements has shape {problem.min_placements.shape}, expected ({problem.n_hosts},)"
            )

    def constrains(self, problem: Problem, options: Options) -> bool:
        # Soft quotas are a cost deferred acceptance ignores; hard ones constrain who is placed.
        return bool(options.hard_min_placements and np.any(problem.min_placements > 0))

    def denominators(self, problem: Problem, options: Options) -> list[int]:
        if np.any(problem.min_placements > 0) and not options.hard_min_placements:
            return [exact_weight(options.min_placement_weight).denominator]
        return []

    def rows(self, problem: Problem, options: Options, K: int) -> list[Row]:
        out: list[Row] = []
        if not np.any(problem.min_placements > 0):
            return out
        hard = options.hard_min_placements
        weight = 0 if hard else int(Fraction(K) * exact_weight(options.min_placement_weight))
        for h in np.flatnonzero(problem.min_placements > 0).tolist():
            # The quota minus those placed at the host must not be positive.
            pairs = np.flatnonzero(problem.pair_host == h).astype(np.int64)
            out.append(
                Row(
                    pairs,
                    -np.ones(pairs.size, np.int64),
                    int(problem.min_placements[h]),
                    "le" if hard else "soft",
                    weight,
                    f"{self.name}:{h}",
                )
            )
        return out

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        if not options.hard_min_placements:
            return []
        load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts)
        return [
            Violation(
                "min-placements",
                f"{problem.host_label(h)} has {load[h]} placed, needs at least {problem.min_placements[h]}",
                host=h,
                amount=float(problem.min_placements[h] - load[h]),
            )
            for h in np.flatnonzero(load < problem.min_placements).tolist()
        ]

    def soft_shortfall(self, problem: Problem, row: Row, value: int, K: int, x: np.ndarray) -> SoftShortfall:
        h = row.index
        need = int(problem.min_placements[h])
        penalty = row.weight * value / K
        text = (
            f"lower quota of {problem.host_label(h)}: {need - value} of {need} filled, short by {value}, "
            f"penalty {penalty:.2f}"
        )
        return SoftShortfall(self.name, h, "", float(value), penalty, text)

    def missed(self, problem: Problem, index: int, host: int | None = None) -> str:
        return "a host's minimum number of graduates"

    def what(self, problem: Problem, group: Group) -> str:
        return f"{problem.host_label(group.index)}'s hard lower quota of {int(problem.min_placements[group.index])}"

    def fix(self, problem: Problem, group: Group) -> str:
        return f"lower {problem.host_label(group.index)}'s min_placements or make lower quotas soft"

    def generic(self, problem: Problem, group: Group) -> str:
        h = group.index
        eligible = int(np.count_nonzero(problem.pair_host == h))
        return (
            f"{problem.host_label(h)} needs at least {_count(int(problem.min_placements[h]), 'placement')} "
            f"(hard lower quota); {_count(eligible, 'candidate')} eligible there."
        )
