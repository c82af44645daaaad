"""Strict stability as a hard rule, for the diagnosis: no candidate and host who both prefer each other.

The solve itself treats stability as a mode (``stable_levels.py``: deferred
acceptance, or CP-SAT levels with the stability rows); this family is how
the diagnosis switches it on and off as one group.
"""

from __future__ import annotations

import numpy as np

from ..problem import Options, Problem
from ..stability import add_stability, blocking_pairs
from .base import Family, Group


class StrictStability(Family):
    name = "stability"
    noun = "strict stability"
    diagnosis_order = 50

    def groups(self, problem: Problem, options: Options) -> list[Group]:
        if options.stability != "strict":
            return []

        def add(model, x, literal) -> None:
            add_stability(model, x, problem, "strict", only_enforce_if=literal)

        def check(chosen: np.ndarray) -> bool:
            return not blocking_pairs(problem, chosen)

        return [Group(self.name, 0, [], add=add, check=check)]

    def what(self, problem: Problem, group: Group) -> str:
        return "strict stability"

    def fix(self, problem: Problem, group: Group) -> str:
        return "use stability 'prefer' instead of 'strict'"

    def generic(self, problem: Problem, group: Group) -> str:
        return "Strict stability: no candidate and host may both prefer each other to what they were given."
