"""The registry of constraint families: the model's side rules, one module each.

``solve``, ``ties``, ``stable_levels``, ``diagnose`` and ``checks`` iterate
over :func:`families`; none of them names a family. The built-in families,
in the order their rows reach the engines:

* ``targets`` - diversity share targets per scope (hard or soft);
* ``quotas`` - hosts' lower quotas (hard or soft; the network models them);
* ``links`` - linked candidates placed in one region or both unplaced;
* ``pairs`` - required pairs and placements accepted in an earlier round
  (the network forces them);
* ``stability`` - strict stability, for the diagnosis (the stable route
  in ``stable_levels.py`` is a solve mode of its own).

See ``base.py`` for the contract and ``docs/solver.md`` for adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..problem import Options, Problem
from .base import Family, Group, Row, SoftShortfall, Violation, lcm

__all__ = [
    "Family",
    "Group",
    "Row",
    "Rows",
    "SoftShortfall",
    "Violation",
    "families",
    "family",
    "model_rows",
    "register",
    "unregister",
]

_REGISTRY: dict[str, Family] = {}


def register(fam: Family) -> Family:
    """Add ``fam`` (replacing a family of the same name); its rows come after those registered before it."""
    if not fam.name or ":" in fam.name:
        raise ValueError("a constraint family needs a name without ':'")
    _REGISTRY.pop(fam.name, None)
    _REGISTRY[fam.name] = fam
    return fam


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def families() -> list[Family]:
    return list(_REGISTRY.values())


def family(name: str) -> Family:
    return _REGISTRY[name]


@dataclass(frozen=True)
class Rows:
    """Every family's integer rows for one problem, and level 2's scale.

    Level 2 in units of ``1/K``: ``K * sum(rank * x) + sum(row.weight * max(0, row))``
    over the soft rows; ``K`` is the least common multiple that makes every soft
    weight per unit of row a whole number of 1/K units.
    """

    K: int
    rows: tuple[Row, ...]
    network_families: frozenset[str]  # families the min-cost flow models exactly

    @cached_property
    def hard(self) -> list[Row]:
        """Rows every placement must meet ("le" and "eq"): the exact engines' constraints."""
        return [r for r in self.rows if r.kind in ("le", "eq")]

    @cached_property
    def soft(self) -> list[Row]:
        """Rows that cost level 2 when positive."""
        return [r for r in self.rows if r.kind == "soft"]

    @cached_property
    def side_hard(self) -> list[Row]:
        """Hard rows the network does not model: priced by the Lagrangian, checked after every flow."""
        return [r for r in self.hard if r.family not in self.network_families]

    @cached_property
    def side_soft(self) -> list[Row]:
        """Soft rows the network does not model."""
        return [r for r in self.soft if r.family not in self.network_families]

    @cached_property
    def network_reward(self) -> int:
        """Level-2 reward per unit of the network's own soft rows (a filled lower-quota place)."""
        net = [r for r in self.soft if r.family in self.network_families]
        return net[0].weight if net else 0

    def meets_hard(self, x: np.ndarray) -> bool:
        return all(r.holds(x) for r in self.hard)

    def penalty(self, x: np.ndarray) -> int:
        return sum(r.weight * max(0, r.value(x)) for r in self.soft)


def model_rows(problem: Problem, options: Options) -> Rows:
    """The integer rows of every registered family, with the level-2 scale K they share."""
    fams = families()
    dens = [d for f in fams for d in f.denominators(problem, options)]
    K = lcm(dens) if dens else 1
    rows = tuple(r for f in fams for r in f.rows(problem, options, K))
    return Rows(K, rows, frozenset(f.name for f in fams if f.in_network))


def pure_network(problem: Problem, options: Options) -> bool:
    """Whether the min-cost flow is the whole model: no family outside the network has anything to say."""
    return not any(f.constrains(problem, options) for f in families() if not f.in_network)


def beyond_capacities(problem: Problem, options: Options) -> bool:
    """Whether any family constrains the problem beyond capacities (deferred acceptance then is not enough)."""
    return any(f.constrains(problem, options) for f in families())


def violations(problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
    return [v for f in families() for v in f.violations(problem, x, chosen, options)]


def groups(problem: Problem, options: Options) -> list[Group]:
    """Every family's diagnosis groups, the most concrete rules first."""
    ordered = sorted(families(), key=lambda f: f.diagnosis_order)
    return [g for f in ordered for g in f.groups(problem, options)]


def soft_shortfalls(problem: Problem, rows: Rows, x: np.ndarray) -> list[SoftShortfall]:
    """Each soft row the placement ``x`` leaves positive, as its family words it."""
    out = []
    for r in rows.soft:
        v = r.value(x)
        if v > 0:
            out.append(family(r.family).soft_shortfall(problem, r, v, rows.K, x))
    return out


def hard_nouns() -> str:
    """The hard rules in words, for sentences that list them all."""
    nouns = ["capacities"] + [f.noun for f in sorted(families(), key=lambda f: f.diagnosis_order) if f.noun]
    return ", ".join(nouns[:-1]) + " and " + nouns[-1] if len(nouns) > 1 else nouns[0]


# The built-in families, in the order their rows reach the engines.
from . import links, pairs, quotas, stability, targets  # noqa: E402

register(targets.Targets())
register(quotas.LowerQuotas())
register(links.Links())
register(pairs.ForcedPairs())
register(stability.StrictStability())
