"""What a solve's parts share while it runs: the typed context ``ties`` and ``stable_levels`` work in.

``run.Run`` is the one implementation; the tie-break and the stability
route see only this interface (the problem, its rows and network, the clock,
the exact engine and what was said), never the solver's private state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from .constraints import Row, Rows
    from .cpsat import EngineResult, ModelSpec
    from .levels import Level
    from .network import Network
    from .problem import Options, Problem, TieOutcome


class SolveContext(Protocol):
    problem: Problem
    options: Options
    net: Network  # the min-cost-flow form of the problem (capacities, eligibility, in-network families)
    scale: Rows  # every family's rows, with level 2's scale K
    hard_rows: list[Row]  # what the exact engines must meet
    soft_rows: list[Row]  # what costs level 2
    side_soft_rows: list[Row]  # soft rows the network does not model
    messages: list[str]  # said to the coordinator with the answer
    tie_result: TieOutcome  # how the tie-break ended (set by the route that settles ties)
    say: Callable[[str], None]  # progress, as the solve goes
    start: float  # time.perf_counter() when the solve began
    level_deadline: float  # a level's own share of the time limit (inf: none)

    def remaining(self) -> float:
        """Seconds left of the solve's time limit."""
        ...

    def cuts(self, placed: int | None = None) -> list[Row]:
        """Valid inequalities on the hard rows (share cuts): no placement of ``placed`` breaks them."""
        ...

    def penalty(self, x: np.ndarray) -> int:
        """Level-2 penalty of the soft rows, in 1/K units."""
        ...

    def value(self, level: Level, x: np.ndarray) -> int:
        """The level's exact integer value of placement ``x``."""
        ...

    def meets(self, x: np.ndarray, eqs: list[tuple[np.ndarray, int]], cap: int | None) -> bool:
        """Hard rows, the levels held so far and the penalty cap."""
        ...

    def valid(self, x: np.ndarray, eqs: list[tuple[np.ndarray, int]], cap: int | None) -> bool:
        """``meets`` and every hard constraint of ``check_validity``."""
        ...

    def exact(self, spec: ModelSpec, step: str = "exact") -> EngineResult:
        """The chosen exact engine on ``spec``, within the time left; ``step`` names it in the provenance."""
        ...

    def used(self, step: str, engine: str) -> None:
        """Record which engine worked on ``step`` (the round's provenance)."""
        ...
