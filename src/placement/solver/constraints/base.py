"""What a constraint family is: the contract every side family of the model fulfils.

The network - "each candidate at most once", capacities, eligibility - is the
scheme's structure and lives in ``network.py``. Everything else the model says
is a *family*: share targets, linked candidates, lower quotas, required and
accepted pairs, strict stability. A family is one module that states its rule
once, as integer rows over the pair variables, and derives from those rows
what every part of the solver needs:

* the exact engines (CP-SAT, HiGHS) get :meth:`Family.rows`;
* ``check_validity`` gets :meth:`Family.violations`;
* the min-cost-flow route asks :meth:`Family.constrains` and ``in_network``
  whether the flow alone is the whole model;
* the diagnosis gets :meth:`Family.groups` - the family's hard rows, grouped
  by what a coordinator can relax, each switched on by one literal - so the
  solver and the diagnosis use the same rows and cannot disagree;
* ``explain`` and the diagnosis's words get :meth:`Family.what` / :meth:`Family.fix`.

Adding a family: subclass :class:`Family`, implement the methods whose default
does not fit, and ``register`` an instance (``docs/solver.md`` walks through an
example that lives outside ``src/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..problem import Options, Problem


@dataclass(frozen=True)
class Row:
    """One integer side constraint over pair variables: ``sum(coef * x[pairs]) + const``.

    ``kind``: ``"le"`` must be <= 0 (hard), ``"eq"`` must be 0, ``"soft"``
    costs ``weight * max(0, value)`` in level-2 units (1/K each).
    ``source`` says what the row stands for: ``"<family>:<index>[:<part>]"``
    (e.g. ``"target:3:min"``, ``"link:0:2"``, ``"min:7"``).
    """

    pairs: np.ndarray  # int64 pair indices
    coef: np.ndarray  # int64, same length
    const: int
    kind: str  # "le" | "eq" | "soft"
    weight: int = 0
    source: str = ""

    def value(self, x: np.ndarray) -> int:
        """The row's value for a 0/1 vector over all pairs."""
        return int(np.dot(self.coef, x[self.pairs])) + self.const

    def holds(self, x: np.ndarray) -> bool:
        """Whether a hard row is met by ``x`` (soft rows always hold; they cost)."""
        if self.kind == "le":
            return self.value(x) <= 0
        if self.kind == "eq":
            return self.value(x) == 0
        return True

    @property
    def family(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def index(self) -> int:
        return int(self.source.split(":")[1])


@dataclass(frozen=True)
class Violation:
    """One broken hard constraint. ``kind`` names the rule (``capacity``, ``target``, ...)."""

    kind: str
    message: str
    candidate: int | None = None
    host: int | None = None
    target: int | None = None
    amount: float = 0.0


@dataclass(frozen=True)
class SoftShortfall:
    """What one soft row costs a placement: which rule, how far short, at what penalty."""

    family: str
    index: int  # into the family's items (target, host, ...)
    side: str  # "min" | "max" | "" - which side of a two-sided rule
    short: float  # how far from holding, in the rule's own unit (candidates)
    penalty: float  # level-2 units (ranks)
    text: str  # one sentence for the coordinator


@dataclass
class Group:
    """What a coordinator can relax as one: a family's item, its hard rows, and how to tell it holds.

    ``rows`` are enforced in the diagnosis model under one literal; ``add`` is
    for a rule that is not linear rows (stability) and gets the model, the pair
    variables and the literal; ``check`` replaces "every row holds" for such a
    rule. ``forces`` are the pairs the group puts in every placement (a witness
    that places exactly those is tried before any solve).
    """

    kind: str
    index: int
    rows: list[Row] = field(default_factory=list)
    add: Callable[[Any, list, Any], None] | None = None
    check: Callable[[np.ndarray], bool] | None = None
    forces: tuple[int, ...] = ()
    family: str = ""  # the family that words it (defaults to ``kind``)
    literal: Any = None  # set by the diagnosis

    def __post_init__(self) -> None:
        if not self.family:
            self.family = self.kind

    def holds(self, problem: Problem, chosen: np.ndarray) -> bool:
        """Whether the placement ``chosen`` (pair indices) meets this group."""
        if self.check is not None:
            return self.check(chosen)
        x = np.zeros(problem.n_pairs, np.int64)
        x[np.asarray(chosen, dtype=np.int64)] = 1
        return all(r.holds(x) for r in self.rows)


class Family:
    """A side family of the model. Subclasses set ``name`` and override what applies to them.

    ``in_network``: the min-cost flow already models the family exactly (its
    rows then need no pricing and no check after a flow); otherwise any item
    of the family makes the model more than a network.
    """

    name: str = ""
    in_network: bool = False
    # For sentences listing every hard rule ("required and accepted placements, links, ...").
    noun: str = ""
    # Where the family's groups come in a diagnosis (the most concrete rules first).
    diagnosis_order: int = 50

    def check_options(self, options: Options) -> None:
        """Raise ``ConfigError`` if an option of this family is unusable (with how to fix it)."""

    def check_problem(self, problem: Problem) -> None:
        """Raise ``ValueError`` if the family's arrays in ``problem`` are malformed (shapes, ranges)."""

    def constrains(self, problem: Problem, options: Options) -> bool:
        """Whether this problem has anything of this family (beyond what deferred acceptance honours)."""
        return False

    def denominators(self, problem: Problem, options: Options) -> list[int]:
        """Denominators of the soft weights per unit of row; level 2's scale K clears them all."""
        return []

    def rows(self, problem: Problem, options: Options, K: int) -> list[Row]:
        """The family's integer rows for the exact engines; soft rows weighted in 1/K units."""
        return []

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        """The hard rules of this family that the placement breaks (``x`` 0/1 per pair, ``chosen`` its pairs)."""
        return []

    def groups(self, problem: Problem, options: Options) -> list[Group]:
        """The family's hard rules as diagnosis groups: by default one per item, from its hard rows."""
        by_index: dict[int, list[Row]] = {}
        for r in self.rows(problem, options, 1):
            if r.kind in ("le", "eq"):
                by_index.setdefault(r.index, []).append(r)
        # A rule over no pair that holds anyway (a target whose scope nobody can reach) is no group.
        return [
            Group(self.name, i, rows)
            for i, rows in sorted(by_index.items())
            if any(r.pairs.size or not r.holds(np.zeros(0, np.int64)) for r in rows)
        ]

    def soft_shortfall(self, problem: Problem, row: Row, value: int, K: int, x: np.ndarray) -> SoftShortfall:
        """What a soft row of this family, at the positive ``value`` under placement ``x``, costs, in words."""
        return SoftShortfall(
            self.name,
            row.index,
            "",
            float(value),
            row.weight * value / K,
            f"{self.name} {row.index}: short by {value}, penalty {row.weight * value / K:.2f}",
        )

    def missed(self, problem: Problem, index: int, host: int | None = None) -> str:
        """How ``explain`` names item ``index`` when forcing a placement at ``host`` would miss it."""
        return f"a {self.noun or self.name} rule of the scheme"

    def what(self, problem: Problem, group: Group) -> str:
        """A short name for the group, used in sentences and the closing suggestion."""
        return f"{self.name} {group.index}"

    def fix(self, problem: Problem, group: Group) -> str:
        """What to change so the group no longer binds."""
        return f"relax {self.what(problem, group)}"

    def generic(self, problem: Problem, group: Group) -> str:
        """One sentence for the group when no more specific finding covers it."""
        text = self.what(problem, group)
        return f"{text[0].upper()}{text[1:]} cannot hold together with the rest."


def lcm(values: list[int]) -> int:
    import math

    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out
