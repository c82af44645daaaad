"""Stability: candidate-proposing deferred acceptance, blocking pairs, and the CP-SAT form.

A placement is *stable* when no candidate and host would both rather be
placed with each other than keep what they were given (a blocking pair, the
"justified envy" of ../shared/spec/fairness.md §7). With hosts' orders that contain ties we
use *weak* stability: a host only envies a candidate it ranks strictly better
than someone it was given, so a tie never blocks.

Three views of the same definition live here and are tested against each
other:

* :func:`deferred_acceptance` - Gale–Shapley with candidates proposing and
  hosts holding their best ``capacity`` proposers: the candidate-optimal
  stable placement (the NRMP/Roth–Peranson principle). Used when stability is
  strict and there are no side constraints.
* :func:`blocking_pairs` - checks any placement, for reports and for the
  ``prefer`` option.
* :func:`add_stability` - the no-blocking condition as linear constraints on
  CP-SAT pair variables, for models with side constraints (targets, links,
  required pairs) where deferred acceptance cannot be used.

Tie-breaking in deferred acceptance: between two proposers a host ranks
equally, the one with the lower candidate index is held. The encoder orders
candidates by their id, so the result is reproducible from the input files.
"""

from __future__ import annotations

import heapq
from typing import Literal

import numpy as np

from placement.solver.ortools_lazy import cp_model
from placement.solver.problem import Problem

# Hosts whose list of eligible candidates is longer than this get running
# "placed so far" count variables in :func:`add_stability`, so the host side
# of the constraints is linear in the list length instead of quadratic.
PREFIX_VARIABLES_ABOVE = 24


def _candidate_order(problem: Problem) -> np.ndarray:
    """Pair indices sorted by candidate, then by the candidate's rank (best first)."""
    return np.lexsort((problem.pair_rank, problem.pair_cand)).astype(np.int64)


def _host_order(problem: Problem) -> np.ndarray:
    """Pair indices sorted by host, then by the host's rank, then by candidate index."""
    return np.lexsort((problem.pair_cand, problem.pair_host_rank, problem.pair_host)).astype(np.int64)


def _group_starts(keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Start offsets of each key's run in a key-sorted array (length n_groups + 1)."""
    return np.searchsorted(keys, np.arange(n_groups + 1), side="left")


def deferred_acceptance(problem: Problem, *, promote: bool = False) -> np.ndarray:
    """The candidate-optimal stable placement, as sorted pair indices.

    Candidates propose to their eligible hosts in order of ``pair_rank``; each
    host holds its best ``capacity`` proposers by ``pair_host_rank`` (ties to
    the lower candidate index) and rejects the rest, who propose to their next
    choice. Ignores required/fixed pairs, links, targets and lower quotas: the
    caller uses it only when strict stability is the sole side condition.

    ``promote`` (Király's promotion, for hosts' orders with ties): a
    candidate rejected by every host on their list is promoted once and
    proposes down the list again; between two candidates a host ranks
    equally, a promoted one wins. The result is still weakly stable (a host
    only ever turns a candidate away for ones it ranks at least as high) and
    usually places more where ties matter: the most placed among weakly
    stable placements is NP-hard with ties, and this is the 3/2
    approximation for one-sided ties (Király 2011), used as the first
    incumbent of the exact model (``stable_levels``).

    Runs in O(P log capacity) with one heap per host.
    """
    order = _candidate_order(problem)
    starts = _group_starts(problem.pair_cand[order], problem.n_candidates).tolist()
    # Plain Python lists: the proposal loop is scalar and lists index fastest.
    pref_pairs = order.tolist()
    host_of = problem.pair_host.tolist()
    host_rank = problem.pair_host_rank.tolist()
    capacity = problem.capacity.tolist()

    # Each host's heap holds (-host_rank, promoted, -candidate, pair) so its root is the
    # proposer it wants least (worst rank, then not promoted, then highest index) - the one to bump.
    held: list[list[tuple[int, int, int, int]]] = [[] for _ in range(problem.n_hosts)]
    next_choice = starts[:-1]  # per candidate: offset of the next pair to propose on
    promoted = [0] * problem.n_candidates
    free = list(range(problem.n_candidates - 1, -1, -1))  # stack; order does not change the result

    while free:
        c = free.pop()
        end = starts[c + 1]
        k = next_choice[c]
        while k < end:
            p = pref_pairs[k]
            k += 1
            h = host_of[p]
            cap = capacity[h]
            if cap <= 0:
                continue
            key = (-host_rank[p], promoted[c], -c, p)
            heap = held[h]
            if len(heap) < cap:
                heapq.heappush(heap, key)
                break
            if key > heap[0]:  # the host prefers c to its least wanted holder
                bumped = heapq.heapreplace(heap, key)
                free.append(-bumped[2])
                break
        else:
            if promote and not promoted[c] and starts[c] < end:
                # Rejected everywhere: promoted, c proposes down the list again and wins the host's ties.
                promoted[c] = 1
                k = starts[c]
                free.append(c)
        next_choice[c] = k

    chosen = [entry[3] for heap in held for entry in heap]
    return np.array(sorted(chosen), dtype=np.int32)


def ties_matter(problem: Problem) -> bool:
    """Whether some host may have to choose between candidates it ranks equally.

    That is: a host with more eligible candidates than places whose order has
    a tie. Without such a host, deferred acceptance's placement is the
    candidate-optimal stable one whatever the tie-break, and by the rural
    hospitals theorem every stable placement places the same candidates, so
    deferred acceptance is exact at every level. With one, the stable
    placements (weakly stable: a tie never blocks) can place different
    numbers, and which is best takes a search.
    """
    if problem.n_pairs == 0:
        return False
    per_host = np.bincount(problem.pair_host, minlength=problem.n_hosts)
    crowded = per_host > problem.capacity
    order = _host_order(problem)
    h = problem.pair_host[order]
    r = problem.pair_host_rank[order]
    same = (h[1:] == h[:-1]) & (r[1:] == r[:-1])
    return bool(np.any(same & crowded[h[1:]]))


def blocking_pairs(problem: Problem, chosen: np.ndarray) -> list[tuple[int, int]]:
    """Every (candidate, host) pair that blocks the placement ``chosen``, sorted.

    A pair blocks when it is eligible, the candidate is unplaced or ranks the
    host above (lower ``pair_rank``) the host they were given, and the host has
    a free place or ranks the candidate strictly above (lower
    ``pair_host_rank``) someone it was given. Hosts with no places never block.
    """
    block = np.flatnonzero(blocking_mask(problem, chosen))
    return sorted(zip(problem.pair_cand[block].tolist(), problem.pair_host[block].tolist()))


def blocking_mask(problem: Problem, chosen: np.ndarray) -> np.ndarray:
    """Per eligible pair: whether it blocks ``chosen`` (the pairs of :func:`blocking_pairs`)."""
    chosen = np.asarray(chosen, dtype=np.int64)
    cand = problem.pair_cand
    host = problem.pair_host
    ch_cand = cand[chosen]
    if np.unique(ch_cand).size != ch_cand.size:
        raise ValueError("blocking_pairs: a candidate is placed more than once in 'chosen'")

    # Rank of what each candidate got; unplaced candidates would take anything.
    big = np.iinfo(np.int64).max
    got_rank = np.full(problem.n_candidates, big, dtype=np.int64)
    got_rank[ch_cand] = problem.pair_rank[chosen]

    # Per host: how many placed there, and the host rank of the least wanted of them.
    ch_host = host[chosen]
    placed = np.bincount(ch_host, minlength=problem.n_hosts)
    worst = np.full(problem.n_hosts, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(worst, ch_host, problem.pair_host_rank[chosen].astype(np.int64))

    cand_wants = problem.pair_rank.astype(np.int64) < got_rank[cand]
    host_wants = (placed[host] < problem.capacity[host]) | (problem.pair_host_rank.astype(np.int64) < worst[host])
    return cand_wants & host_wants


def add_stability(
    model: cp_model.CpModel,
    x: list[cp_model.IntVar],
    problem: Problem,
    mode: Literal["strict", "prefer"],
    *,
    only_enforce_if: cp_model.IntVar | None = None,
) -> list[cp_model.IntVar]:
    """Adds "no blocking pair" for every eligible pair to ``model``.

    For pair p = (c, h) with capacity_h > 0 (weak stability, ties never block)::

        capacity_h * sum(x[q] : q of c, rank_q <= rank_p)
          + sum(x[q'] : q' at h, host_rank_q' <= host_rank_p) >= capacity_h

    i.e. c gets h or a host they like better, or h is filled with candidates
    it wants at least as much as c. The host sum may include c's own pair: when
    x[p] = 1 the candidate term already satisfies the constraint, so this is
    the same condition as summing over the other candidates only.

    ``strict``: hard constraints, returns ``[]``. ``prefer``: each constraint
    is relaxed by a Boolean ``blocking_p`` (right-hand side
    ``capacity_h * (1 - blocking_p)``); returns one per pair, in pair order
    (a constant 0 for hosts with no places), for the caller to minimise.
    At a minimum of their sum, ``blocking_p`` is 1 exactly for the blocking
    pairs, so the sum equals ``len(blocking_pairs(...))``.

    ``only_enforce_if`` (strict only): a Boolean that switches all the
    stability constraints on together, as one group - the diagnosis uses it
    as an assumption literal to ask whether stability is part of a conflict.
    """
    if mode not in ("strict", "prefer"):
        raise ValueError(f"add_stability: mode must be 'strict' or 'prefer', not {mode!r}")
    if only_enforce_if is not None and mode != "strict":
        raise ValueError("add_stability: only_enforce_if applies to strict mode only")
    n_pairs = problem.n_pairs
    if len(x) != n_pairs:
        raise ValueError(f"add_stability: {len(x)} pair variables for {n_pairs} eligible pairs")
    cand_prefix = _candidate_prefixes(problem, x)
    host_part = _host_parts(model, problem, x)
    capacity = problem.capacity.tolist()
    pair_cand = problem.pair_cand.tolist()
    pair_host = problem.pair_host.tolist()
    indicators: list[cp_model.IntVar] = []
    for p in range(n_pairs):
        h = pair_host[p]
        cap = capacity[h]
        if cap <= 0:
            if mode == "prefer":
                indicators.append(model.new_constant(0))
            continue
        terms = cand_prefix[p] + host_part[p]
        coeffs = [cap] * len(cand_prefix[p]) + [1] * len(host_part[p])
        if mode == "prefer":
            b = model.new_bool_var(f"blocking_{pair_cand[p]}_{h}")
            terms.append(b)
            coeffs.append(cap)
            indicators.append(b)
        constraint = model.add_linear_constraint(cp_model.LinearExpr.weighted_sum(terms, coeffs), cap, cp_model.INT_MAX)
        if only_enforce_if is not None:
            constraint.only_enforce_if(only_enforce_if)
    return indicators


def _candidate_prefixes(problem: Problem, x: list[cp_model.IntVar]) -> list[list[cp_model.IntVar]]:
    """Per pair (c, h): the variables of c's pairs at least as preferred as h, a prefix of c's list."""
    n_pairs = problem.n_pairs
    c_order = _candidate_order(problem)
    c_starts = _group_starts(problem.pair_cand[c_order], problem.n_candidates).tolist()
    c_order_list = c_order.tolist()
    cand_prefix: list[list[cp_model.IntVar]] = [[] for _ in range(n_pairs)]
    for c in range(problem.n_candidates):
        seq = [x[q] for q in c_order_list[c_starts[c] : c_starts[c + 1]]]
        for i, q in enumerate(c_order_list[c_starts[c] : c_starts[c + 1]]):
            cand_prefix[q] = seq[: i + 1]
    return cand_prefix


def _host_parts(model: cp_model.CpModel, problem: Problem, x: list[cp_model.IntVar]) -> list[list[cp_model.IntVar]]:
    """Per pair (c, h): what counts the places of h taken by candidates h ranks at least as well as c.

    A prefix of h's list up to the end of c's tie group: the variables themselves for short lists, one
    running count per tie group for long ones (so each stability row adds one term, not the whole list).
    """
    n_pairs = problem.n_pairs
    capacity = problem.capacity.tolist()
    h_order = _host_order(problem)
    h_sorted_host = problem.pair_host[h_order]
    h_starts = _group_starts(h_sorted_host, problem.n_hosts).tolist()
    h_rank_sorted = problem.pair_host_rank[h_order]
    h_order_list = h_order.tolist()
    host_part: list[list[cp_model.IntVar]] = [[] for _ in range(n_pairs)]
    for h in range(problem.n_hosts):
        lo, hi = h_starts[h], h_starts[h + 1]
        if lo == hi or capacity[h] <= 0:
            continue
        ranks = h_rank_sorted[lo:hi]
        # Position just past each pair's tie group within the host's list.
        group_end = np.searchsorted(ranks, ranks, side="right").tolist()
        pairs_here = h_order_list[lo:hi]
        vars_here = [x[q] for q in pairs_here]
        if hi - lo <= PREFIX_VARIABLES_ABOVE:
            for i, p in enumerate(pairs_here):
                host_part[p] = vars_here[: group_end[i]]
            continue
        # Long list: one running count per tie group, so each constraint adds one term.
        running: dict[int, cp_model.IntVar] = {}
        prev_end, prev_var = 0, None
        for e in sorted(set(group_end)):
            count = model.new_int_var(0, min(capacity[h], e), f"placed_at_{h}_top_{e}")
            chunk = vars_here[prev_end:e]
            terms = chunk if prev_var is None else [prev_var, *chunk]
            model.add_linear_constraint(
                cp_model.LinearExpr.weighted_sum([count, *terms], [-1] + [1] * len(terms)), 0, 0
            )
            running[e] = count
            prev_end, prev_var = e, count
        for i, p in enumerate(pairs_here):
            host_part[p] = [running[group_end[i]]]
    return host_part
