"""The solver's contract: a placement problem and its answer as plain arrays.

The encoder (``placement.solver.encode``) turns stored rows into a
:class:`Problem`; solvers see only these arrays and return a
:class:`Solution` of pair indices; the decoder turns indices back into ids.
Nothing in the solver imports the database, pydantic row schemas or click, so
it can be tested and benchmarked alone.

Indices: candidates ``0..n_candidates-1``, hosts ``0..n_hosts-1``, eligible
pairs ``0..n_pairs-1`` (only eligible pairs exist here: ineligible preferences
were dropped by the encoder, which keeps the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

if TYPE_CHECKING:
    from .constraints.base import SoftShortfall

# The solve options' vocabularies, spelled here only: the CLI's choices, the web form, scenario variants and
# the option checks read these.
Objective = Literal["rank-sum", "rank-maximal", "generous"]
Stability = Literal["none", "strict", "prefer"]
TieBreakRule = Literal["host-order", "none"]
OBJECTIVES: tuple[str, ...] = get_args(Objective)
STABILITIES: tuple[str, ...] = get_args(Stability)
TIE_BREAKS: tuple[str, ...] = get_args(TieBreakRule)
Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]


@dataclass(frozen=True)
class Target:
    """One concrete diversity target on one scope (``region=*`` is already expanded).

    Counts candidates placed at ``scope_hosts`` and, among them, those with
    ``member[c]`` true (the attribute has the target's value). With
    ``placed_in_scope > 0``: ``min_share * placed_in_scope <= members_placed
    <= max_share * placed_in_scope``.
    """

    name: str  # e.g. "women-per-region"
    scope: str  # e.g. "region=North West", "cohort", "host=RX1"
    scope_hosts: np.ndarray  # int32 host indices in the scope
    member: np.ndarray  # bool per candidate: has the counted value
    # Exactly as written (``placement.shares.exact_share``): 0.33333 is not one third; Fraction(1, 3) is.
    min_share: float | Fraction | None
    max_share: float | Fraction | None
    hard: bool
    weight: float = 0.0  # soft only: penalty per candidate of shortfall (fractional shortfall allowed)
    attribute: str = ""  # for messages and the quota check ("sex", "ethnic_group", ...)
    value: str = ""


@dataclass(frozen=True)
class Problem:
    n_candidates: int
    n_hosts: int
    # Eligible pairs, one entry each.
    pair_cand: np.ndarray  # int32 [P]
    pair_host: np.ndarray  # int32 [P]
    pair_rank: np.ndarray  # int32 [P]: the candidate's rank of the host, 1 = first choice (gaps removed)
    # Host's order of the candidate for stability: lower = more wanted, equal = tie.
    pair_host_rank: np.ndarray  # int32 [P]
    capacity: np.ndarray  # int32 [H]
    min_placements: np.ndarray  # int32 [H] (lower quotas; 0 = none)
    host_region: np.ndarray  # int32 [H] region index, for linked candidates
    required: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # pair indices that must be placed
    # Pair indices held from the latest approved round: offers awaiting an answer and accepted placements.
    fixed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    links: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))  # [L, 2] candidate indices
    targets: tuple[Target, ...] = ()
    # Human-readable labels for messages (diagnosis, blocking pairs); optional, never special category data.
    candidate_labels: tuple[str, ...] = ()
    host_labels: tuple[str, ...] = ()
    region_labels: tuple[str, ...] = ()
    # The offer state of each ``fixed`` pair, for messages: "offered" (awaiting an answer) or "accepted".
    fixed_states: tuple[str, ...] = ()

    def fixed_state(self, i: int) -> str:
        """The offer state of ``fixed[i]`` ("offered" or "accepted"); "held" when not recorded."""
        return self.fixed_states[i] if i < len(self.fixed_states) else "held"

    def candidate_label(self, c: int) -> str:
        return self.candidate_labels[c] if self.candidate_labels else f"candidate #{c}"

    def host_label(self, h: int) -> str:
        return self.host_labels[h] if self.host_labels else f"host #{h}"

    def region_label(self, r: int) -> str:
        return self.region_labels[r] if self.region_labels else f"region #{r}"

    @property
    def n_pairs(self) -> int:
        return int(self.pair_cand.shape[0])


@dataclass(frozen=True)
class Options:
    objective: Objective = "rank-sum"
    stability: Stability = "none"
    hard_min_placements: bool = False  # lower quotas hard, else soft with the weight below
    min_placement_weight: float = 10.0  # soft lower quota: penalty per unfilled needed place (level 2)
    time_limit: float = 60.0  # seconds, whole solve
    workers: int = 2
    # Among equally good placements: places to the candidates hosts rank higher ("host-order"), or the
    # engine's own choice ("none"). solve(keep=...) settles them by fewest changes instead.
    tie_break: TieBreakRule = "host-order"


@dataclass
class TargetResult:
    name: str
    scope: str
    hard: bool
    placed_in_scope: int
    members_placed: int
    required_min: float | None  # min_share * placed_in_scope
    required_max: float | None
    shortfall: float  # how far below min / above max (0 when met)

    @property
    def met(self) -> bool:
        return self.shortfall <= 1e-9


class TieOutcome(StrEnum):
    """How the tie-break level ended (its value is the wording stored with a round)."""

    OPTIMAL = "optimal"
    NO_TIME = "not settled: no time left"
    TIMED_OUT = "not settled in the time allowed"
    MOVED_LEVEL = "not settled: the engine's answer moved a level"
    NOT_SETTLED = "not settled"
    NOT_USED = "not used with stability"


@dataclass(frozen=True)
class TieBreak:
    """How equally good placements were settled: the rule (``host_order``, ``kept``, or ``none``) and its outcome.

    ``str()`` gives the form stored in a round's summary ("host_order: optimal"); :meth:`parse` reads it back.
    """

    rule: str = "none"
    outcome: TieOutcome | None = None

    @property
    def settled(self) -> bool:
        return self.outcome is TieOutcome.OPTIMAL

    def __str__(self) -> str:
        return "none" if self.outcome is None else f"{self.rule}: {self.outcome.value}"

    @classmethod
    def parse(cls, text: str | None) -> TieBreak:
        """A stored tie-break text back as data; unknown wording reads as not settled."""
        rule, sep, outcome = (text or "none").partition(": ")
        if not sep:
            return cls(rule or "none", None)
        try:
            return cls(rule, TieOutcome(outcome))
        except ValueError:
            return cls(rule, TieOutcome.NOT_SETTLED)


@dataclass
class Solution:
    status: Status
    chosen: np.ndarray  # int32 pair indices placed (each candidate at most once)
    placed: int
    rank_sum: int
    # The value of each lexicographic level in order, e.g. {"placed": 410, "rank_cost": 1033.5}
    objective: dict[str, float]
    bound: dict[str, float]  # proven bound of each level (equal to the value when OPTIMAL)
    solve_seconds: float
    method: str  # "min-cost-flow", "cp-sat", "cp-sat+flow-hint", ...
    targets: list[TargetResult] = field(default_factory=list)
    blocking_pairs: list[tuple[int, int]] = field(default_factory=list)  # (candidate, host)
    diagnosis: list[str] = field(default_factory=list)  # plain-words reasons when INFEASIBLE
    soft_violations: list[str] = field(default_factory=list)  # which soft constraints cost what, in words
    shortfalls: list[SoftShortfall] = field(default_factory=list)  # the same as data
    messages: list[str] = field(default_factory=list)
    tie_break: TieBreak = field(default_factory=TieBreak)  # how ties were settled
    # Which exact engine worked on which step ({"rank_cost": "highs", "tie-break": "highs"}); empty when the
    # network (min-cost flow, pricing, repair) settled everything.
    engines: dict[str, str] = field(default_factory=dict)
