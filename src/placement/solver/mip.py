"""HiGHS branch-and-bound (through ``scipy.optimize.milp``) on a reduced :class:`ModelSpec`.

Why HiGHS as well as CP-SAT: after Lagrangian pricing and reduced-cost
fixing, what is left is closing a gap of a rank unit or so between the LP
bound and the best placement. That is branch-and-bound with an LP at every
node, which HiGHS does well and CP-SAT does not: on the reduced model of a
5,000-candidate instance with the three target families, HiGHS proved the
optimum in 6.5 s where CP-SAT (1 worker, linearization 2, no presolve) needed
10 s; at 20,000 candidates HiGHS took 24 s and CP-SAT had not closed the gap
after 200 s, even handed the optimal placement as a hint.

HiGHS works in floating point. The solver therefore recomputes every answer
exactly (``checks.evaluate``, ``checks.check_validity``), and an optimum
whose value equals the rounded-up Lagrangian bound is certified by that
integer bound alone; the relative MIP gap is set to 0 so HiGHS only stops on
a proof.

HiGHS reads its clock only now and then, so on its own it does not keep to
the time limit: on a 93,000-column model its presolve alone ran 87 s past a
60 s limit, and the full model of a 10,000-candidate scheme (95,000 columns)
came back after 642 s with a 5 s limit. A model big enough to overrun runs in
a persistent worker process (``placement.worker``), killed at the limit plus
``GRACE`` and started afresh for the next one; the answer is then UNKNOWN and
``solve`` keeps its best placement and proven bound. Small models
(milliseconds, and thousands of them in the property tests) stay in process,
and so does every model where no worker process can be started.
"""

from __future__ import annotations

import os
import time
from typing import Any, NamedTuple, cast

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..worker import TIMED_OUT, Worker, WorkerError, WorkerStartError
from .cpsat import EngineResult, ModelSpec

# Seconds past its limit before HiGHS is killed. Past presolve it stops on its own clock (39,000
# nonzeros: 0.04 s late) and answers with its incumbent and bound, which a kill would lose; in the
# root LP of a 76,000-nonzero model it came back 1.9 s late. Much more defeats the cap.
GRACE = 2.0
# Models with this many nonzeros or more run in the child. Measured (full models of realistic_problem,
# limit 0.01 s; two cores, loaded): 11,000 nonzeros came back 0.2-0.3 s late, 24,000 0.5-0.7 s,
# 39,000 1.5-2.8 s, 57,000 4 s, 76,000 7.5-9 s: below 20,000 an in-process run stays within GRACE,
# and HiGHS takes 0.2 s or more there, against 15 ms to start a child.
SUBPROCESS_NNZ = 20_000


class Model(NamedTuple):
    """The MILP as milp takes it; plain arrays, so it pickles to the child."""

    c: np.ndarray
    integrality: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    a: sp.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray


def build(spec: ModelSpec) -> tuple[Model, int]:
    """The MILP of ``spec`` as plain arrays, and the objective's constant (the fixed pairs' cost)."""
    p = spec.problem
    free = spec.free
    nf = free.size
    col_of = np.full(p.n_pairs, -1, np.int64)
    col_of[free] = np.arange(nf)

    soft = [r for r in spec.rows if r.kind == "soft"]
    n_soft = len(soft)
    n_cols = nf + n_soft
    blocks: list[sp.csr_matrix] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def add(mat: sp.csr_matrix, lower, upper) -> None:
        blocks.append(mat)
        lo.append(np.broadcast_to(np.asarray(lower, float), (mat.shape[0],)).copy())
        hi.append(np.broadcast_to(np.asarray(upper, float), (mat.shape[0],)).copy())

    ones = np.ones(nf)
    cols = np.arange(nf)
    # Each candidate at most once; each host at most its places left.
    cand_rows = sp.csr_matrix((ones, (p.pair_cand[free], cols)), shape=(p.n_candidates, n_cols))
    add(cand_rows, -np.inf, 1.0)
    add(
        sp.csr_matrix((ones, (p.pair_host[free], cols)), shape=(p.n_hosts, n_cols)),
        -np.inf,
        spec.host_room().astype(float),
    )

    # Side rows; soft ones get a shortfall column s >= row.
    soft_j = 0
    r_idx: list[np.ndarray] = []
    c_idx: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    r_lo: list[float] = []
    r_hi: list[float] = []
    for row in spec.rows:
        qs, coef, const = spec.fixed_const(row.pairs, row.coef)
        const += row.const
        i = len(r_lo)
        r_idx.append(np.full(qs.size, i))
        c_idx.append(col_of[qs])
        vals.append(coef.astype(float))
        if row.kind == "le":
            r_lo.append(-np.inf)
            r_hi.append(-const)
        elif row.kind == "eq":
            r_lo.append(-const)
            r_hi.append(-const)
        else:
            r_idx.append(np.array([i]))
            c_idx.append(np.array([nf + soft_j]))
            vals.append(np.array([-1.0]))
            soft_j += 1
            r_lo.append(-np.inf)
            r_hi.append(-const)
    if r_lo:
        add(
            sp.csr_matrix(
                (np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))), shape=(len(r_lo), n_cols)
            ),
            np.array(r_lo),
            np.array(r_hi),
        )

    # Levels above, held at their optimum.
    if spec.placed is not None:
        add(
            sp.csr_matrix((ones, (np.zeros(nf, np.int64), cols)), shape=(1, n_cols)),
            spec.placed - spec.fixed_one.size,
            spec.placed - spec.fixed_one.size,
        )
    for cost, value in spec.equalities:
        rhs = value - int(cost[spec.fixed_one].sum())
        add(sp.csr_matrix((cost[free].astype(float), (np.zeros(nf, np.int64), cols)), shape=(1, n_cols)), rhs, rhs)
    weights = np.array([r.weight for r in soft], float)
    if spec.penalty_cap is not None and n_soft:
        add(
            sp.csr_matrix((weights, (np.zeros(n_soft, np.int64), nf + np.arange(n_soft))), shape=(1, n_cols)),
            -np.inf,
            spec.penalty_cap,
        )

    c = np.concatenate([spec.pair_cost[free].astype(float), weights if spec.soft_in_objective else np.zeros(n_soft)])
    offset = int(spec.pair_cost[spec.fixed_one].sum()) + spec.constant

    integrality = np.concatenate([np.ones(nf), np.zeros(n_soft)])
    upper = np.concatenate([np.ones(nf), np.full(n_soft, np.inf)])
    # One stacked matrix, as milp itself would stack the blocks: the same model either way.
    a = sp.vstack(blocks, format="csc")
    return Model(c, integrality, np.zeros(n_cols), upper, a, np.concatenate(lo), np.concatenate(hi)), offset


_MilpOut = tuple[int, np.ndarray | None, float, float | None]  # (status, x, objective, dual bound)


def _run_milp(model: Model, time_limit: float, disp: bool) -> _MilpOut:
    """HiGHS on ``model``: (status, x, objective, dual bound). The worker is sent whatever this name holds
    in the caller at the call (tests put a sleeper here)."""
    res = milp(
        model.c,
        integrality=model.integrality,
        bounds=Bounds(model.lower, model.upper),
        constraints=[LinearConstraint(model.a, model.row_lo, model.row_hi)],
        options={"time_limit": max(0.05, float(time_limit)), "mip_rel_gap": 0.0, "disp": disp},
    )
    return res.status, res.x, res.fun, getattr(res, "mip_dual_bound", None)


def solve_highs(
    spec: ModelSpec, time_limit: float, subprocess_nnz: int | None = None, kill_after: float | None = None
) -> EngineResult:
    """``subprocess_nnz``: models with at least this many nonzeros run in a child (default SUBPROCESS_NNZ).
    ``kill_after``: seconds from this call after which a model in the child is killed (default: GRACE past
    ``time_limit``)."""
    t0 = time.perf_counter()
    model, offset = build(spec)
    disp = bool(os.environ.get("PLACEMENT_HIGHS_LOG"))
    threshold = SUBPROCESS_NNZ if subprocess_nnz is None else subprocess_nnz
    out: object = _NO_CHILD
    t_run = time.perf_counter()
    if model.a.nnz >= threshold:
        budget = None if kill_after is None else kill_after - (time.perf_counter() - t0)
        out = _in_child(model, time_limit, disp, budget)
    if out is _NO_CHILD:
        out = _run_milp(model, time_limit - (time.perf_counter() - t_run), disp)
    seconds = time.perf_counter() - t0
    if out is None:  # killed at the limit (or the child died): nothing proven, nothing found
        return EngineResult("UNKNOWN", None, None, None, seconds, "highs")
    status, x, fun, dual = cast(_MilpOut, out)
    p, free = spec.problem, spec.free
    if x is not None:
        xs = np.zeros(p.n_pairs, np.int64)
        xs[spec.fixed_one] = 1
        xs[free] = np.round(x[: free.size]).astype(np.int64)
        value = int(round(fun)) + offset
        if status == 0:
            return EngineResult("OPTIMAL", xs, value, value, seconds, "highs")
        bound = None if dual is None or not np.isfinite(dual) else int(np.ceil(dual - 1e-6)) + offset
        return EngineResult("FEASIBLE", xs, value, bound, seconds, "highs")
    if status == 2:
        return EngineResult("INFEASIBLE", None, None, None, seconds, "highs")
    return EngineResult("UNKNOWN", None, None, None, seconds, "highs")


# --------------------------------------------------------------------------- the child process

_NO_CHILD: Any = object()  # _in_child could not run the model in the worker: run it in process
# One persistent worker for every big model of this process (placement.worker), started on first use.
# It preloads this module, so a call pays only for sending the model.
_worker = Worker("placement-highs", preload=["placement.solver.mip"])


def _in_child(model: Model, time_limit: float, disp: bool, budget: float | None = None) -> Any:
    """``_run_milp`` in the worker, killed at ``budget`` seconds (default ``time_limit + GRACE``): its answer,
    None if killed or it died, or _NO_CHILD if no worker could be started."""
    try:
        if budget is None:
            budget = max(0.05, float(time_limit)) + GRACE
        else:
            # Killed at ``budget``: HiGHS's own clock must stop it before that, GRACE early or halfway.
            budget = max(0.05, float(budget))
            time_limit = min(float(time_limit), budget - GRACE if budget > 2 * GRACE else 0.5 * budget)
        # Starting the worker (about a second: it imports OR-Tools and scipy; 3-4 s on a loaded machine, and
        # again after a kill) may take the run's own budget; past that the model runs here instead, as where
        # no process can be started. The start comes out of the model's time, not on top of it.
        t0 = time.monotonic()
        _worker.call(int, (), timeout=budget, start_timeout=budget)
        spent = time.monotonic() - t0
        time_limit = max(0.05, float(time_limit) - spent)
        out = _worker.call(
            _run_milp,
            (model, time_limit, disp),
            timeout=max(0.05, budget - spent),
            start_timeout=max(0.05, budget - spent),
        )
    except WorkerStartError:
        return _NO_CHILD
    except WorkerError:
        return None  # it died (out of memory, a crash in HiGHS): nothing proven, nothing found
    return None if out is TIMED_OUT else out
