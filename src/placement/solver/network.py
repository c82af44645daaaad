"""The network part of the model: OR-Tools min-cost flow and its duals.

Without targets and links the placement model is a network: source ->
candidate (1 place) -> host (one arc per eligible pair, cost = level-2 cost)
-> sink (capacity). Required and fixed pairs are placed beforehand (their
candidates leave the network, their hosts lose a place). A lower quota is a
host->sink arc of ``min`` units in front of the rest: with a reward per unit
when the quota is soft (the penalty is convex, so the cheaper arc fills
first), or as a lower bound through node supplies when it is hard. Such a
model is solved exactly by :class:`Network`, in well under a second at
20,000 candidates.

Shortest paths in the residual network of an optimal flow give node
potentials - two different ones, from a virtual root and towards a virtual
sink - and so the reduced cost of every arc under two optimal duals. They
lock a solved lexicographic level (:meth:`Network.lock`, exact lexicographic
flows) and, priced by ``lagrange.py``, fix the pairs that cannot be in a
near-optimal placement when side constraints make the network a relaxation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from .problem import Options, Problem

FLOW_OPTIMAL = min_cost_flow.SimpleMinCostFlow.OPTIMAL


@dataclass
class Flow:
    """One optimal flow: the placement it makes and what the network charged."""

    ok: bool
    x: np.ndarray  # int64 0/1 over all pairs (forced pairs included)
    value: int  # candidates placed (forced included)
    cost: int  # OR-Tools' optimal cost (free arcs only; slot rewards included)
    arc_flow: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    arc_cost: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    arc_lo: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the bounds it was solved with
    arc_hi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class Network:
    """Min-cost-flow form of a problem's candidates, hosts, forced pairs and lower quotas."""

    # Why no flow exists when ``solve`` finds none: only hard lower bounds can make it so.
    NO_FLOW = "no placement fills every hard lower quota"

    def __init__(self, problem: Problem, options: Options):
        self.problem = problem
        self.options = options
        nc, nh, n_pairs = problem.n_candidates, problem.n_hosts, problem.n_pairs
        forced = np.unique(
            np.concatenate([np.asarray(problem.required, np.int64), np.asarray(problem.fixed, np.int64)])
        )
        self.forced = forced
        self.conflicts: list[str] = []
        fc = problem.pair_cand[forced]
        if np.unique(fc).size != fc.size:
            self.conflicts.append("a candidate has two required, offered or accepted placements")
        forced_load = np.bincount(problem.pair_host[forced], minlength=nh)
        if np.any(forced_load > problem.capacity):
            self.conflicts.append("required, offered and accepted placements exceed a host's places")
        self.forced_load = forced_load
        cap_rem = np.maximum(problem.capacity.astype(np.int64) - forced_load, 0)
        min_rem = np.minimum(np.maximum(problem.min_placements.astype(np.int64) - forced_load, 0), cap_rem)
        self.hard_min = bool(options.hard_min_placements)
        if self.hard_min and np.any(problem.min_placements.astype(np.int64) - forced_load > cap_rem):
            self.conflicts.append("a host's lower quota is more than its places")
        self.cap_rem, self.min_rem = cap_rem, min_rem

        cand_forced = np.zeros(nc, bool)
        cand_forced[fc] = True
        self.cand_forced = cand_forced
        # Pairs in the network: those of candidates without a forced pair, at hosts with a place left.
        free = ~cand_forced[problem.pair_cand] & (cap_rem[problem.pair_host] > 0)
        self.free_pairs = np.flatnonzero(free).astype(np.int64)
        cands = np.unique(problem.pair_cand[self.free_pairs]).astype(np.int64)
        self.S, self.T = nc + nh, nc + nh + 1
        self.n_nodes = nc + nh + 2
        slot_a = np.flatnonzero(min_rem > 0) if not self.hard_min else np.zeros(0, np.int64)
        cap_b = cap_rem - min_rem  # a hard quota's part travels through node supplies instead
        hosts_b = np.flatnonzero(cap_b > 0)
        self.pair_arc0 = cands.size
        self.slot_a_hosts = slot_a
        self.slot_a0 = self.pair_arc0 + self.free_pairs.size
        self.slot_b0 = self.slot_a0 + slot_a.size
        # Arcs: source->candidate, candidate->host (pairs), host->sink (quota part, then the rest),
        # and last a source->sink bypass, open only when any number placed will do.
        self.tails = np.concatenate(
            [
                np.full(cands.size, self.S),
                problem.pair_cand[self.free_pairs],
                nc + slot_a,
                nc + hosts_b,
                [self.S],
            ]
        ).astype(np.int32)
        self.heads = np.concatenate(
            [
                cands,
                nc + problem.pair_host[self.free_pairs],
                np.full(slot_a.size, self.T),
                np.full(hosts_b.size, self.T),
                [self.T],
            ]
        ).astype(np.int32)
        self.caps = np.concatenate(
            [
                np.ones(cands.size, np.int64),
                np.ones(self.free_pairs.size, np.int64),
                min_rem[slot_a],
                cap_b[hosts_b],
                [0],
            ]
        ).astype(np.int64)
        self.n_arcs = self.tails.size
        self.bypass = self.n_arcs - 1
        # Arc bounds after locking earlier levels (see lock): flow in [lo, hi].
        self.lo = np.zeros(self.n_arcs, np.int64)
        self.hi = self.caps.copy()
        self.forced_count = int(forced.size)
        self.n_pairs = n_pairs

    # ------------------------------------------------------------------ solving

    def arc_costs(self, pair_cost: np.ndarray, slot_reward: int) -> np.ndarray:
        costs = np.zeros(self.n_arcs, np.int64)
        costs[self.pair_arc0 : self.slot_a0] = pair_cost[self.free_pairs]
        costs[self.slot_a0 : self.slot_b0] = -slot_reward
        return costs

    def solve(self, pair_cost: np.ndarray, slot_reward: int = 0, value: int | str | None = None) -> Flow:
        """Least-cost flow placing ``value`` candidates in all (forced ones included).

        ``value=None``: the most candidates possible, and the least cost among
        those; ``value="any"``: the least cost whatever the number placed
        (costs may be negative). ``pair_cost`` is indexed by pair (int64);
        ``slot_reward`` is paid per filled place of a soft lower quota.
        """
        costs = self.arc_costs(pair_cost, slot_reward)
        empty = Flow(False, np.zeros(self.n_pairs, np.int64), 0, 0)
        if self.conflicts:
            return empty
        nc = self.problem.n_candidates
        hard_need = int(self.min_rem.sum()) if self.hard_min else 0
        locked = bool(np.any(self.lo > 0)) or not np.array_equal(self.hi, self.caps)
        hi = self.hi.copy()
        if value is None and not locked:
            smcf = min_cost_flow.SimpleMinCostFlow()
            smcf.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, self.caps, costs)
            if self.hard_min:
                # The largest flow ignoring lower quotas: lower quotas never lower it (transversal
                # matroid: slots some placement fills are filled by some largest placement too).
                hb = np.flatnonzero(self.min_rem > 0)
                smcf.add_arcs_with_capacity_and_unit_cost(
                    (nc + hb).astype(np.int32),
                    np.full(hb.size, self.T, np.int32),
                    self.min_rem[hb],
                    np.zeros(hb.size, np.int64),
                )
            smcf.set_nodes_supplies(np.array([self.S, self.T], np.int32), np.array([nc, -nc], np.int64))
            if smcf.solve_max_flow_with_min_cost() != FLOW_OPTIMAL:
                raise RuntimeError("min-cost flow failed on the placement network")
            if not self.hard_min:
                return self._flow(smcf, costs, self.lo, hi)
            value = int(smcf.maximum_flow()) + self.forced_count
        if value is None:
            raise ValueError("a locked network needs the number placed")
        bypass = value == "any"
        free_value = nc if bypass else int(value) - self.forced_count
        if not bypass and (free_value < hard_need or free_value < 0):
            return empty
        if bypass:
            hi[self.bypass] = nc
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, hi - self.lo, costs)
        supply = np.zeros(self.n_nodes, np.int64)
        supply[self.S] += free_value
        supply[self.T] -= free_value - hard_need
        if self.hard_min:
            hb = np.flatnonzero(self.min_rem > 0)
            supply[nc + hb] -= self.min_rem[hb]
        # Lower bounds: the forced flow leaves its tail and reaches its head beforehand.
        np.subtract.at(supply, self.tails.astype(np.int64), self.lo)
        np.add.at(supply, self.heads.astype(np.int64), self.lo)
        nodes = np.flatnonzero(supply).astype(np.int32)
        smcf.set_nodes_supplies(nodes, supply[nodes])
        if smcf.solve() != FLOW_OPTIMAL:
            return empty
        return self._flow(smcf, costs, self.lo, hi)

    def _flow(self, smcf: min_cost_flow.SimpleMinCostFlow, costs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Flow:
        arc_flow = smcf.flows(np.arange(self.n_arcs, dtype=np.int32)).astype(np.int64) + lo
        x = np.zeros(self.n_pairs, np.int64)
        x[self.forced] = 1
        x[self.free_pairs] = arc_flow[self.pair_arc0 : self.slot_a0]
        cost = int(np.dot(arc_flow, costs))
        return Flow(True, x, int(x.sum()), cost, arc_flow, costs, lo.copy(), hi.copy())

    # ------------------------------------------------------------------ duals

    def arc_reduced_costs(self, flow: Flow) -> tuple[np.ndarray, np.ndarray]:
        """Reduced costs of every arc under two optimal dual solutions.

        Potentials are shortest-path distances in the residual network (no
        negative cycle at an optimum): once from a virtual root joined to every
        node, once towards a virtual sink. Both are dual optimal; they differ
        on the many ties of rank costs, and each certifies its own fixings.
        An arc that can still gain flow has reduced cost >= 0, one that can
        still lose flow <= 0.
        """
        fw = flow.arc_flow < flow.arc_hi
        bw = flow.arc_flow > flow.arc_lo
        rt = np.concatenate([self.tails[fw], self.heads[bw]]).astype(np.int64)
        rh = np.concatenate([self.heads[fw], self.tails[bw]]).astype(np.int64)
        rw = np.concatenate([flow.arc_cost[fw], -flow.arc_cost[bw]])
        d_from = _bellman_ford(rt, rh, rw, self.n_nodes)
        d_to = _bellman_ford(rh, rt, rw, self.n_nodes)
        t = self.tails.astype(np.int64)
        h = self.heads.astype(np.int64)
        return flow.arc_cost + d_from[t] - d_from[h], flow.arc_cost - d_to[t] + d_to[h]

    def reduced_costs(self, flow: Flow) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`arc_reduced_costs` of the pair arcs, indexed by pair (0 outside the network)."""
        a1, a2 = self.arc_reduced_costs(flow)
        rc1 = np.zeros(self.n_pairs, np.int64)
        rc2 = np.zeros(self.n_pairs, np.int64)
        rc1[self.free_pairs] = a1[self.pair_arc0 : self.slot_a0]
        rc2[self.free_pairs] = a2[self.pair_arc0 : self.slot_a0]
        return rc1, rc2

    def lock(self, flow: Flow) -> None:
        """Keep only the flows as good as ``flow`` (optimal) for the costs it was solved with.

        Complementary slackness with any optimal dual: an arc with positive
        reduced cost carries no flow in any optimal flow, one with negative
        reduced cost is full. Bounding arcs so leaves exactly the optimal flows,
        so the next lexicographic level is optimised among them by a plain
        min-cost flow.
        """
        for rc in self.arc_reduced_costs(flow):
            self.hi = np.where(rc > 0, self.lo, self.hi)
            self.lo = np.where(rc < 0, self.hi, self.lo)


def _bellman_ford(tails: np.ndarray, heads: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Shortest distances from a virtual root (0 to every node), vectorised rounds."""
    d = np.zeros(n, np.int64)
    for _ in range(n + 1):
        nd = d.copy()
        np.minimum.at(nd, heads, d[tails] + w)
        if np.array_equal(nd, d):
            return d
        d = nd
    raise RuntimeError("negative cycle in a residual network: the flow was not optimal")


# --------------------------------------------------------------------------- Lagrangian bound
