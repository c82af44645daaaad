"""One measurement in its own process: ``python -m benchmarks.measure SPEC.json RESULT.json``.

Why a process per measurement, and how memory is read: the figure wanted is
the resident set at its peak, which counts what the C++ solvers allocate
(tracemalloc sees only Python's allocator, so it misses OR-Tools and HiGHS
entirely). Linux keeps that high-water mark per address space as ``VmHWM`` in
``/proc/self/status``. ``resource.getrusage(...).ru_maxrss`` would be the
textbook call, but on Linux it survives ``exec``: a child started from a
300 MiB parent reports at least 300 MiB whatever it does (measured here).
So each measurement runs in a fresh interpreter and reports:
``rss_peak_mb``, the process's peak (Python, libraries, instance, solver),
and ``rss_delta_mb``, the peak *during the timed call* minus the resident
set just before it: the high-water mark is reset right before the call by
writing 5 to ``/proc/self/clear_refs`` (Linux ≥ 4.0). Elsewhere the figures
fall back to ``ru_maxrss``. No psutil needed.

Second reason: HiGHS (highspy) and OR-Tools cannot be loaded into one process
(see ``benchmarks/_highs.py``). The ``highs`` kind imports neither OR-Tools
nor ``placement``: it reads the plain-dict pickle of the instance.

Large outputs (chosen pair indices) go to ``.npy`` files beside the result.
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _proc_status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Peak resident set of this process so far, MiB."""
    hwm = _proc_status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mark() -> dict[str, float]:
    """Just before the timed call: remember the peak so far and the current size, reset the peak."""
    state = {"peak_before": rss_mb(), "start": _proc_status_mb("VmRSS") or rss_mb()}
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current resident set
    except OSError:
        pass
    return state


def _load(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _save_chosen(spec: dict, chosen: np.ndarray) -> str:
    out = Path(spec["result"]).with_suffix(".chosen.npy")
    np.save(out, np.asarray(chosen, dtype=np.int32))
    return str(out)


# Each kind: load inputs (untimed), then `timed()` runs the measured call.


def _kind_solve(spec: dict) -> dict:
    from placement.solver import solve
    from placement.solver.problem import Options

    problem = _load(spec["problem"])
    options = Options(**spec["options"])
    base = mark()
    t0 = time.perf_counter()
    sol = solve(problem, options, engine=spec.get("engine", "auto"))
    seconds = time.perf_counter() - t0
    return {
        "engines": dict(sol.engines),
        "bound_reported": {k: float(v) for k, v in sol.bound.items()},
        "status": sol.status,
        "objective": {k: float(v) for k, v in sol.objective.items()},
        "bound": {k: float(v) for k, v in sol.bound.items()},
        "method": sol.method,
        "tie_break": str(sol.tie_break),
        "solver_seconds": sol.solve_seconds,
        "seconds": seconds,
        "chosen_file": _save_chosen(spec, sol.chosen),
        "blocking_pairs": len(sol.blocking_pairs),
        "messages": list(sol.messages)[:10],
        "rss_base_mb": base,
    }


def _kind_flow(spec: dict) -> dict:
    from benchmarks.references import flow_reference

    problem = _load(spec["problem"])
    from ortools.graph.python import min_cost_flow  # noqa: F401 - library load outside the timing

    base = mark()
    t0 = time.perf_counter()
    chosen, objective = flow_reference(problem)
    seconds = time.perf_counter() - t0
    return {
        "status": "OPTIMAL",
        "objective": objective,
        "bound": dict(objective),
        "method": "ortools min-cost flow",
        "seconds": seconds,
        "chosen_file": _save_chosen(spec, chosen),
        "rss_base_mb": base,
    }


def _kind_highs(spec: dict) -> dict:
    from benchmarks._highs import solve_plain  # highspy, no OR-Tools in this process

    plain, options = _load(spec["plain"])
    base = mark()
    t0 = time.perf_counter()
    r = solve_plain(plain, options, float(spec["time_limit"]))
    seconds = time.perf_counter() - t0
    return {
        "status": r["status"],
        "levels": r["levels"],
        "bound": r["bound"],
        "method": f"HiGHS {r['version']} MIP, two solves",
        "seconds": seconds,
        "build_seconds": r["build_seconds"],
        "level_seconds": r["level_seconds"],
        "chosen_file": _save_chosen(spec, r["chosen"]),
        "rss_base_mb": base,
    }


def _kind_da(spec: dict) -> dict:
    from benchmarks.references import DA_NOTE, deferred_acceptance_matching

    problem = _load(spec["problem"])
    import matching.games  # noqa: F401

    base = mark()
    t0 = time.perf_counter()
    chosen, inner = deferred_acceptance_matching(problem)
    seconds = time.perf_counter() - t0
    return {
        "status": "OPTIMAL",
        "method": "matching HospitalResident (resident-optimal)",
        "seconds": seconds,
        "inner_seconds": inner,
        "chosen_file": _save_chosen(spec, chosen),
        "note": DA_NOTE,
        "rss_base_mb": base,
    }


def _kind_e2e(spec: dict) -> dict:
    """Fresh SQLite database, import the scheme's CSVs, ``solve_round``; then store the Problem."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from placement.db.migrate import upgrade
    from placement.db.models import Candidate, Host, Placement, Round
    from placement.db.session import make_engine
    from placement.ingest import import_dir
    from placement.resolves import stored_inputs
    from placement.rounds import RoundOptions, solve_round

    db = Path(spec["db"])
    db.unlink(missing_ok=True)
    base = mark()
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    t_migrate = time.perf_counter()
    import_dir(engine, spec["csv_dir"])
    t_import = time.perf_counter()
    result = solve_round(engine, RoundOptions(**spec["round_options"]))
    t_solve = time.perf_counter()
    with Session(engine) as session:
        _, encoded = stored_inputs(session, result.round)
        # The round's placements as stored, back to pair indices: checked like any solver's answer.
        rows = session.execute(
            select(Candidate.candidate_id, Host.host_id)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Placement.host_pk == Host.id)
            .join(Round, Placement.round_id == Round.id)
            .where(Round.number == result.round)
        ).all()
    index = encoded.pair_index()
    chosen = np.array(sorted(index[(c, h)] for c, h in rows), dtype=np.int32)
    with open(spec["problem_out"], "wb") as fh:
        pickle.dump(encoded.problem, fh, protocol=pickle.HIGHEST_PROTOCOL)
    engine.dispose()
    return {
        "status": result.status,
        "objective": {k: float(v) for k, v in result.objective.items()},
        "bound": {k: float(v) for k, v in result.bound.items()},
        "method": result.method,
        "round": result.round,
        "seconds": t_solve - t0,
        "migrate_seconds": t_migrate - t0,
        "import_seconds": t_import - t_migrate,
        "solve_round_seconds": t_solve - t_import,
        "solver_seconds": result.solve_seconds,
        "dropped": result.dropped,
        "chosen_file": _save_chosen(spec, chosen),
        "rss_base_mb": base,
    }


def _kind_import_rows(spec: dict) -> dict:
    from benchmarks.import_bench import time_import  # the ingest helper's

    base = mark()
    t0 = time.perf_counter()
    detail = time_import(int(spec["rows"]), Path(spec["workdir"]))
    seconds = time.perf_counter() - t0
    return {"status": "DONE", "seconds": seconds, "detail": detail, "rss_base_mb": base}


def _kind_audit(spec: dict) -> dict:
    from placement.audit import write_report
    from placement.db.session import make_engine

    engine = make_engine(f"sqlite:///{spec['db']}")
    base = mark()
    t0 = time.perf_counter()
    write_report(engine, int(spec["round"]), spec["fmt"], spec["out"])
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"status": "DONE", "seconds": seconds, "bytes": Path(spec["out"]).stat().st_size, "rss_base_mb": base}


def _kind_stable_reference(spec: dict) -> dict:
    """The plain CP-SAT model of the same rules (``benchmarks.stable_reference``), for ``prefer`` / ``strict``."""
    from benchmarks.stable_reference import solve_reference, weak_blocking
    from placement.solver.problem import Options

    problem = _load(spec["problem"])
    options = Options(**spec["options"])
    base = mark()
    out = solve_reference(problem, options, float(spec["time_limit"]), workers=int(spec.get("workers", 2)))
    chosen = out["chosen"] if out["chosen"] is not None else np.zeros(0, np.int64)
    levels = out["levels"]
    return {
        "status": out["status"],
        "seconds": out["seconds"],
        "objective": {"placed": float(chosen.size), **{k: float(v[0]) for k, v in levels.items()}},
        "bound": {k: float(v[1]) for k, v in levels.items()},
        "blocking_pairs": len(weak_blocking(problem, chosen)) if out["chosen"] is not None else None,
        "chosen_file": _save_chosen(spec, chosen),
        "rss_base_mb": base,
    }


KINDS = {
    "stable_reference": _kind_stable_reference,
    "solve": _kind_solve,
    "flow": _kind_flow,
    "highs": _kind_highs,
    "da": _kind_da,
    "e2e": _kind_e2e,
    "import_rows": _kind_import_rows,
    "audit": _kind_audit,
}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    spec["result"] = argv[1]
    out = KINDS[spec["kind"]](spec)
    base = out.pop("rss_base_mb")
    during = rss_mb()
    out["rss_peak_mb"] = max(base["peak_before"], during)
    out["rss_delta_mb"] = max(0.0, during - base["start"])
    Path(argv[1]).write_text(json.dumps(out, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
