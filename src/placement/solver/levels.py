"""The lexicographic levels of the objective, as integer costs per pair (minimised).

``placed`` (maximised: cost -1 per pair), then for ``rank-sum`` the rank cost
(K x rank per pair, soft penalties added), or for ``rank-maximal`` /
``generous`` the penalty level and one count per rank. Consecutive rank
counts are merged into weighted groups where the weights stay safe
(:func:`next_group`, weighted by the candidates whose rank is still open); a
solved level is held for the next ones by small equalities (:func:`held`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import level_names
from .problem import Options, Problem


@dataclass
class Level:
    """One lexicographic level as an integer cost per pair, minimised."""

    name: str
    cost: np.ndarray  # int64 per pair
    soft: bool  # the soft penalties belong to this level
    sign: int = 1  # reported value = sign * minimised value (-1 for maximised counts)
    members: tuple[Level, ...] = ()  # a grouped level: the rank-count levels it stands for
    # Soft penalties count this many times in the level's value: above 1, the level is "fewest penalties,
    # then ``cost``" in one (``penalty_then_rank``), and the penalty is ``value // soft_weight``.
    soft_weight: int = 1
    weights: tuple[int, ...] = ()  # a grouped level: each member's weight in ``cost``

    def first_bound(self, lb: int) -> int:
        """A lower bound on the first member's minimised count, from a lower bound ``lb`` on the group's
        value: the later members add at most one unit less than the first one's weight (at least 0 where
        their costs are counts taken away)."""
        w0 = self.weights[0]
        later = 0 if all(m.cost.max(initial=0) <= 0 for m in self.members[1:]) else w0 - 1
        return -((later - lb) // w0)  # ceil((lb - later) / w0)

    def penalty_of(self, value: int) -> int:
        """The soft penalty part of a value of this level (a lower bound on it, for a bound on the level)."""
        return value // self.soft_weight if self.soft_weight > 1 else value


def held(level: Level, x: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Equalities that hold a solved level at its value: one per rank count (small coefficients)."""
    return [(m.cost, int(np.dot(m.cost, x))) for m in (level.members or (level,))]


def make_levels(p: Problem, options: Options, K: int, *, rank_guided_penalty: bool = False) -> list[Level]:
    """The lexicographic levels of ``options.objective`` as integer costs per pair (level 2 in 1/K units).

    ``rank_guided_penalty``: rank-maximal's and generous' penalty level as :func:`penalty_then_rank` (the
    priced route, which needs pair costs to price, fix and repair by); the stable route's CP-SAT levels take
    the penalty alone."""
    names = level_names(p, options)
    out = [Level("placed", -np.ones(p.n_pairs, np.int64), False, -1)]
    for name in names[1:]:
        if name == "rank_cost":
            out.append(Level(name, K * p.pair_rank.astype(np.int64), True))
        elif name == "penalty":
            plain = Level(name, np.zeros(p.n_pairs, np.int64), True)
            out.append(penalty_then_rank(p, K, options.objective) if rank_guided_penalty else plain)
        else:
            r = int(name.split("_")[1])
            hit = (p.pair_rank == r).astype(np.int64)
            out.append(Level(name, -hit, False, -1) if options.objective == "rank-maximal" else Level(name, hit, False))
    return out


def penalty_then_rank(p: Problem, K: int, objective: str) -> Level:
    """rank-maximal's and generous' penalty level as the solver minimises it: fewest soft penalties, then a
    rank cost shaped like the objective, as one weighted level (the penalty weighs more than any
    placement's rank cost).

    The penalty alone has no pair costs: priced flows, reduced-cost fixing and the repair have nothing to
    go by, and at 1,000 binding candidates HiGHS needed 17-30 s on the full model to find a placement
    without penalty. With a rank cost beneath it this is rank-sum's level 2 with heavier soft weights,
    solved by the same machinery (1-7 s there, load 6-8), and its answer starts the rank counts close to
    their optimum: the cost is cubic in the rank (``generous``: worse ranks weigh ever more;
    ``rank-maximal``: better ranks gain ever more), which on seed 11's generous solve took the first rank
    group from 30 s to 9 s against the plain rank (load 6).
    """
    r = p.pair_rank.astype(np.int64)
    top = int(r.max(initial=1)) + 1
    cost = r**3 if objective == "generous" else top**3 - (top - r) ** 3
    worst = np.zeros(p.n_candidates, np.int64)
    np.maximum.at(worst, p.pair_cand, cost)
    return Level("penalty", K * cost, True, soft_weight=K * int(worst.sum()) + 1)


# Largest objective magnitude of a grouped count level (its first weight times the candidates whose rank is
# still open). Measured with open-rank weights at 1,000 binding candidates, five seeds (python -m
# benchmarks.seeds, load ~1; rank-maximal / generous, median and worst seconds, all proven): 2^26 26.6, 57.0 /
# 26.1, 33.6; 2^30 13.5, 38.7 / 12.8, 15.6; 2^34 14.7, 56.3 / 12.5, 15.3. (With weights from each rank's
# reach, one seed: 2^20 8.6 / 8.6; 2^30 7.2 / 10.4; 2^44 13.2 / 10.5; 2^60 17.4 / 16.9.)
GROUP_LIMIT = 2**30


def next_group(p: Problem, pending: list[Level], room: int) -> tuple[Level, list[Level]]:
    """The next level to solve from the rank-count levels ``pending``, and what is left after it: as many
    consecutive counts as one weighted level holds safely.

    ``room`` is how many placed candidates have a rank among ``pending`` (the number placed less the counts
    already held: every placed candidate has one rank). No count of ``pending`` can change by more, so the
    weights shrink as the levels above settle. At 1,000 binding candidates (seed 3) ranks 4-6 weighed about
    9e5, 900 and 1 by each rank's reach: HiGHS ended at the time limit with 33 at rank 4. By the 194
    candidates left they weigh 37,831, 195 and 1, and the level is proven with 50 at rank 4.
    """
    # How many candidates have a pair of each pending rank: counted once, not once per trial group.
    reach = [min(room, int(np.unique(p.pair_cand[lvl.cost != 0]).size)) for lvl in pending]
    group = [pending[0]]
    weights = [1]
    for lvl in pending[1:]:
        trial = _group_weights(reach[: len(group) + 1], room)
        if trial[0] * max(1, room) > GROUP_LIMIT:
            break
        group.append(lvl)
        weights = trial
    if len(group) == 1:
        return group[0], pending[1:]
    cost = np.sum([w * lvl.cost for w, lvl in zip(weights, group)], axis=0).astype(np.int64)
    name = "+".join(lvl.name for lvl in group)
    return Level(name, cost, False, 0, tuple(group), weights=tuple(weights)), pending[len(group) :]


def grouped(p: Problem, levels: list[Level]) -> list[Level]:
    """``levels`` with consecutive rank counts merged by :func:`next_group`, each with every candidate's rank
    open (the stable route, which solves them in one model after another without fixing the number placed)."""
    out: list[Level] = []
    rest = list(levels)
    while rest:
        if not rest[0].name[5:].isdigit():
            out.append(rest.pop(0))
            continue
        n = next((i for i, lvl in enumerate(rest) if not lvl.name[5:].isdigit()), len(rest))
        group, tail = next_group(p, rest[:n], p.n_candidates)
        out.append(group)
        rest = tail + rest[n:]
    return out


def open_ranks(pending: list[Level], x: np.ndarray) -> int:
    """How many placed candidates of ``x`` have a rank among the count levels ``pending``."""
    return int(sum(abs(int(np.dot(lvl.cost, x))) for lvl in pending))


def _group_weights(reach: list[int], room: int) -> list[int]:
    """Weights under which a group's weighted optimum is its lexicographic one: each count's weight exceeds
    the most the later counts can add (each count at most its ``reach``, all together at most ``room``:
    filled from the heaviest)."""
    weights = [1] * len(reach)
    for i in range(len(reach) - 2, -1, -1):
        left, most = room, 0
        for j in range(i + 1, len(reach)):  # weights fall with j: the heaviest first
            take = min(reach[j], left)
            most += weights[j] * take
            left -= take
        weights[i] = 1 + most
    return weights


def tie_level(p: Problem, keep: np.ndarray | None) -> Level:
    """The last level: which of the equally good placements to return.

    Without ``keep``: merit (:func:`host_order_cost`), so a tie is settled by
    the hosts' orders rather than by the engine's search order. With
    ``keep`` (pair indices of an earlier answer): fewest changes from it, for
    re-solves that are compared with that answer (the audit's re-solve without
    targets, explain's what-ifs), so every move they show is one the change
    made necessary.
    """
    if keep is None:
        return Level("host_order", host_order_cost(p), False)
    cost = np.zeros(p.n_pairs, np.int64)
    cost[np.asarray(keep, np.int64)] = -1
    return Level("kept", cost, False, -1)


def host_order_cost(p: Problem) -> np.ndarray:
    """Per pair: the host's position of the candidate x how high the candidate ranked the host.

    Position alone (host_rankings.csv, else score order) would settle who is
    placed but not who gets which choice: with every host ordering by score,
    the top scorer at their third choice and a lower scorer at their first
    cost the same as the other way round. Weighting the position by
    ``R + 1 - choice`` (R the longest list) makes a higher-ranked candidate at
    a better choice cheaper, so among equally good placements the candidates
    hosts rank higher come first, both for places and for their better
    choices (the rearrangement inequality on each swap).
    """
    R = int(p.pair_rank.max(initial=0))
    return p.pair_host_rank.astype(np.int64) * (R + 1 - p.pair_rank.astype(np.int64))
