"""The placement solver: arrays in (:class:`Problem`, :class:`Options`), a :class:`Solution` out.

``solve`` picks the method (min-cost flow, Lagrangian bound, reduced exact
model, CP-SAT for stability); ``check_validity`` and ``evaluate`` measure any
placement against ../shared/spec/model.md the same way the solver does.
"""

from __future__ import annotations

from .checks import Evaluation, Violation, check_validity, evaluate
from .problem import (
    Objective,
    Options,
    Problem,
    Solution,
    Stability,
    Status,
    Target,
    TargetResult,
    TieBreak,
    TieOutcome,
)
from .solve import solve

__all__ = [
    "Evaluation",
    "Objective",
    "Options",
    "Problem",
    "Solution",
    "Stability",
    "Status",
    "Target",
    "TargetResult",
    "TieBreak",
    "TieOutcome",
    "Violation",
    "check_validity",
    "evaluate",
    "solve",
]
