"""Independent reference solvers for placement's model (../shared/spec/model.md), for tests and benchmarks.

None of these share code with ``placement.solver``: they are the checks its
tests and the benchmark compare against.

- :func:`flow_reference`: OR-Tools min-cost flow of the pure network model
  (no required/fixed pairs, links, lower quotas or targets). Exact for that
  model and the speed limit of the field; with side constraints its
  ``placed`` is an upper bound.
- :func:`highs_mip`: HiGHS MIP of the full model with every hard constraint
  and soft target, two lexicographic solves. Runs in a worker process,
  because OR-Tools and highspy cannot be loaded into one process (see
  ``benchmarks/_highs.py``).
- :func:`deferred_acceptance_matching`: the ``matching`` package's
  resident-optimal Gale–Shapley (HospitalResident), the candidate-optimal
  stable matching that ``stability="strict"`` must reproduce without targets.
- :func:`brute_force`: enumeration for tiny instances (the check of the checks).

Objectives are always recomputed from the chosen pairs by
:func:`benchmarks.evaluate.evaluate`: ``{"placed": int, "rank_cost": float}``.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np

from benchmarks._worker import run_highs, to_plain
from benchmarks.evaluate import evaluate, violations
from placement.solver.problem import Options, Problem
from placement.worker import Worker

__all__ = [
    "DA_NOTE",
    "brute_force",
    "deferred_acceptance_matching",
    "flow_reference",
    "highs_mip",
    "highs_mip_detail",
    "objective_of",
]

DA_NOTE = (
    "The matching package's HospitalResident deep-copies its linked player graph "
    "recursively: beyond a few hundred candidates it needs sys.setrecursionlimit "
    "raised and a large thread stack (here 1,000,000 and 512 MiB, solving in a thread)."
)


def objective_of(problem: Problem, chosen: np.ndarray, options: Options | None = None) -> dict[str, float]:
    """``{"placed", "rank_cost"}`` of a placement, recomputed from its pairs."""
    ev = evaluate(problem, options or Options(), chosen)
    return {"placed": ev["placed"], "rank_cost": ev["rank_cost"]}


# --------------------------------------------------------------------------- flow


def flow_reference(problem: Problem) -> tuple[np.ndarray, dict[str, float]]:
    """Most candidates placed, then least Σ rank, of the pure network model.

    Network: source → candidate (capacity 1) → host, one arc per eligible pair
    (capacity 1, cost = the candidate's rank of the host) → sink (capacity =
    the host's places). OR-Tools' ``solve_max_flow_with_min_cost`` gives the
    maximum flow and, among maximum flows, the least cost: exactly the
    two-level objective. Side constraints (required/fixed pairs, links, lower
    quotas, targets) are ignored; the objective is the pure rank sum.
    """
    from ortools.graph.python import min_cost_flow  # see module docstring (HiGHS clash)

    C, H, P = problem.n_candidates, problem.n_hosts, problem.n_pairs
    source, sink = C + H, C + H + 1
    cand_node = np.arange(C, dtype=np.int64)
    host_node = C + np.arange(H, dtype=np.int64)
    tails = np.concatenate([np.full(C, source), problem.pair_cand.astype(np.int64), host_node])
    heads = np.concatenate([cand_node, C + problem.pair_host.astype(np.int64), np.full(H, sink)])
    caps = np.concatenate([np.ones(C, np.int64), np.ones(P, np.int64), problem.capacity.astype(np.int64)])
    costs = np.concatenate([np.zeros(C, np.int64), problem.pair_rank.astype(np.int64), np.zeros(H, np.int64)])

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    smcf.set_nodes_supplies(np.array([source, sink]), np.array([C, -C]))
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow returned status {status}")
    pair_arcs = arcs[C : C + P]
    chosen = np.flatnonzero(smcf.flows(pair_arcs) > 0).astype(np.int32)
    objective = {"placed": int(chosen.size), "rank_cost": float(problem.pair_rank[chosen].sum())}
    assert objective["rank_cost"] == smcf.optimal_cost()
    return chosen, objective


# --------------------------------------------------------------------------- HiGHS

_worker = Worker("benchmarks-highs")  # placement.worker: one persistent child, closed at exit


def highs_mip_detail(
    problem: Problem,
    options: Options | None = None,
    time_limit: float | None = None,
    *,
    in_process: bool = False,
) -> dict[str, Any]:
    """HiGHS MIP of the full model; a dict with status, chosen, objective, bound,
    seconds (build + both solves, measured where HiGHS runs), levels, version.

    ``in_process=True`` solves here instead of in the worker: only for a
    process that has not loaded (and will not load) OR-Tools, such as the
    benchmark's per-measurement subprocess.
    """
    options = options or Options()
    limit = float(options.time_limit if time_limit is None else time_limit)
    plain, plain_options = to_plain(problem, options)
    if in_process:
        if any(m.startswith("ortools") for m in sys.modules):
            raise RuntimeError("OR-Tools is loaded in this process: HiGHS cannot be; use in_process=False")
        result = run_highs(plain, plain_options, limit)
    else:
        result = _worker.call(run_highs, (plain, plain_options, limit))
    if result["status"] in ("OPTIMAL", "FEASIBLE"):
        result["objective"] = objective_of(problem, result["chosen"], options)
        bad = violations(problem, options, result["chosen"])
        if bad:
            raise AssertionError(f"HiGHS answer breaks hard constraints: {bad[:3]}")
    else:
        result["objective"] = {}
    return result


def highs_mip(
    problem: Problem, options: Options | None = None, time_limit: float | None = None
) -> tuple[str, np.ndarray, dict[str, float], float]:
    """(status, chosen pair indices, {"placed", "rank_cost"}, seconds) from HiGHS.

    Status is "OPTIMAL" (both levels proven), "FEASIBLE" (a level stopped at
    the time limit with an answer), "INFEASIBLE" or "UNKNOWN".
    """
    r = highs_mip_detail(problem, options, time_limit)
    return r["status"], r["chosen"], r["objective"], r["seconds"]


# --------------------------------------------------------------------------- Gale–Shapley


def _da_inputs(problem: Problem) -> tuple[dict, dict, dict, dict]:
    """Preference dicts for ``matching``: candidates by their rank, hosts by
    pair_host_rank with ties broken by candidate index (lower index first).
    Hosts without places and candidates without a placeable pair are left out
    (the package refuses empty lists and zero capacities)."""
    usable = problem.capacity[problem.pair_host] > 0
    pairs = np.flatnonzero(usable)
    by_cand = pairs[np.lexsort((problem.pair_rank[pairs], problem.pair_cand[pairs]))]
    by_host = pairs[np.lexsort((problem.pair_cand[pairs], problem.pair_host_rank[pairs], problem.pair_host[pairs]))]
    resident_prefs: dict[int, list[int]] = {}
    for p in by_cand.tolist():
        resident_prefs.setdefault(int(problem.pair_cand[p]), []).append(int(problem.pair_host[p]))
    hospital_prefs: dict[int, list[int]] = {}
    for p in by_host.tolist():
        hospital_prefs.setdefault(int(problem.pair_host[p]), []).append(int(problem.pair_cand[p]))
    capacities = {h: int(problem.capacity[h]) for h in hospital_prefs}
    pair_of = {(int(problem.pair_cand[p]), int(problem.pair_host[p])): p for p in pairs.tolist()}
    return resident_prefs, hospital_prefs, capacities, pair_of


def deferred_acceptance_matching(problem: Problem) -> tuple[np.ndarray, float]:
    """The candidate-optimal stable matching by the ``matching`` package.

    Returns (chosen pair indices, seconds for building the package's game and
    solving it). See :data:`DA_NOTE` for the recursion limit and stack it needs.
    """
    from matching.games import HospitalResident  # optional (bench extra)

    resident_prefs, hospital_prefs, capacities, pair_of = _da_inputs(problem)
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
                matching = game.solve(optimal="resident")
            out["seconds"] = time.perf_counter() - t0
            out["pairs"] = [(int(r.name), int(h.name)) for h, rs in matching.items() for r in rs]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            out["error"] = exc

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    sys.setrecursionlimit(max(old_limit, 1_000_000))
    threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=run, name="deferred-acceptance")
        thread.start()
    finally:
        threading.stack_size(old_stack)
    thread.join()
    sys.setrecursionlimit(old_limit)
    if "error" in out:
        raise out["error"]
    chosen = np.sort(np.array([pair_of[cp] for cp in out["pairs"]], dtype=np.int32))
    return chosen, out["seconds"]


def blocking_pairs(problem: Problem, chosen: np.ndarray) -> list[tuple[int, int]]:
    """(candidate, host) pairs that block the placement, hosts' ties broken by candidate index.

    A pair blocks when the candidate is unplaced or ranks the host above their
    placement, and the host has a free place or prefers the candidate to
    someone placed there.
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    cand_rank = np.full(problem.n_candidates, np.iinfo(np.int64).max)
    cand_rank[problem.pair_cand[chosen]] = problem.pair_rank[chosen]
    load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts)
    # Host's worst placed candidate as a (host rank, candidate index) key.
    worst: dict[int, tuple[int, int]] = {}
    for p in chosen.tolist():
        h, key = int(problem.pair_host[p]), (int(problem.pair_host_rank[p]), int(problem.pair_cand[p]))
        worst[h] = max(worst.get(h, key), key)
    out = []
    for p in range(problem.n_pairs):
        c, h = int(problem.pair_cand[p]), int(problem.pair_host[p])
        if problem.pair_rank[p] >= cand_rank[c] or problem.capacity[h] == 0:
            continue
        if load[h] < problem.capacity[h] or (int(problem.pair_host_rank[p]), c) < worst[h]:
            out.append((c, h))
    return out


# --------------------------------------------------------------------------- brute force


def brute_force(problem: Problem, options: Options | None = None) -> tuple[str, np.ndarray, dict[str, float]]:
    """Best placement by enumerating every candidate's choice (tiny instances only).

    Returns ("OPTIMAL", chosen, {"placed", "rank_cost"}) or ("INFEASIBLE", [], {}).
    """
    options = options or Options()
    choices = [[-1, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    n = 1
    for ch in choices:
        n *= len(ch)
    if n > 200_000:
        raise ValueError(f"{n} combinations: too many to enumerate")
    best: tuple[float, float] | None = None
    best_chosen = np.zeros(0, np.int32)
    cap = problem.capacity
    for combo in itertools.product(*choices):
        chosen = np.array([p for p in combo if p >= 0], dtype=np.int32)
        if np.any(np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) > cap):
            continue  # cheap filter before the full check
        if violations(problem, options, chosen):
            continue
        ev = evaluate(problem, options, chosen)
        key = (-ev["placed"], ev["rank_cost"])
        if best is None or key[0] < best[0] or (key[0] == best[0] and key[1] < best[1] - 1e-9):
            best, best_chosen = key, chosen
    if best is None:
        return "INFEASIBLE", np.zeros(0, np.int32), {}
    return "OPTIMAL", best_chosen, objective_of(problem, best_chosen, options)
