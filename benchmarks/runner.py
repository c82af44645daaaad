"""The benchmark run: instances, measurements (each in its own process), agreement checks.

For each size N (seeded, 10 preferences each) two schemes from
``placement.generate.generate_scheme``:

- ``no side constraints``: generated without targets, and with the
  generator's linked pairs and lower quotas blanked in the CSVs, so the whole
  chain (database, encoder, solver) sees a pure network problem and every
  solver's optimum must be the same number;
- ``targets``: the generator's scheme as it is (the three target families,
  linked pairs, lower quotas, forbidden pairs).

Measured on each: placement end to end (fresh SQLite, import, ``solve_round``),
placement's solver alone on the encoded Problem, OR-Tools min-cost flow of the
network part (exact for the first scheme, an upper bound on placements for the
second), HiGHS MIP of the full model; and on the first scheme the strict-
stability solve against the ``matching`` package's Gale–Shapley.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._worker import to_plain
from benchmarks.evaluate import evaluate, violations
from placement.solver.problem import Options, Problem

PURE, TARGETS = "no side constraints", "targets"
TOL = 1e-6
HIGHS_GRACE = 120.0  # seconds past its own time limit before a HiGHS run is killed


class BenchmarkError(RuntimeError):
    """The benchmark could not run or the solvers disagree where the models agree."""


# ---------------------------------------------------------------------------- dependencies

DEPENDENCIES = {
    "instance generator": ("placement.generate", "generate_scheme"),
    "importer": ("placement.ingest", "import_dir"),
    "rounds": ("placement.rounds", "solve_round"),
    "solver": ("placement.solver", "solve"),
    "import benchmark": ("benchmarks.import_bench", "time_import"),
    "audit": ("placement.audit", "write_report"),
}


def missing_dependencies() -> list[str]:
    """Parts of placement the benchmark needs that are not there (yet)."""
    import importlib

    missing = []
    for label, (module, name) in DEPENDENCIES.items():
        try:
            ok = hasattr(importlib.import_module(module), name)
        except ImportError:
            ok = False
        if not ok:
            missing.append(f"{label} ({module}.{name})")
    return missing


# ---------------------------------------------------------------------------- processes


def run_child(kind: str, spec: dict[str, Any], workdir: Path, name: str, timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (see benchmarks/measure.py); never raises."""
    spec = {**spec, "kind": kind}
    spec_path = workdir / f"{name}.spec.json"
    result_path = workdir / f"{name}.result.json"
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.measure", str(spec_path), str(result_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"status": "TIMEOUT", "seconds": time.perf_counter() - started, "error": f"killed after {timeout:.0f} s"}
    if proc.returncode != 0 or not result_path.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        return {"status": "ERROR", "error": "\n".join(tail), "seconds": time.perf_counter() - started}
    out = json.loads(result_path.read_text())
    if "chosen_file" in out:
        out["chosen"] = np.load(out.pop("chosen_file"))
    return out


def _dump(obj: Any, path: Path) -> Path:
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


# ---------------------------------------------------------------------------- instances


def make_pure(csv_dir: Path) -> None:
    """Blank linked pairs and lower quotas, drop required pairs: a pure network scheme."""

    def rewrite(name: str, blank: tuple[str, ...], keep=lambda row: True) -> None:
        path = csv_dir / name
        if not path.exists():
            return
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
            fields = list(rows[0].keys()) if rows else []
        if not fields:
            return
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fields, lineterminator="\n")
            w.writeheader()
            for row in rows:
                if keep(row):
                    w.writerow({k: ("" if k in blank else v) for k, v in row.items()})

    rewrite("candidates.csv", ("linked_with",))
    rewrite("hosts.csv", ("min_placements",))
    rewrite("pairs.csv", (), keep=lambda row: row.get("rule") != "require")
    (csv_dir / "targets.csv").unlink(missing_ok=True)


def generate(n: int, variant: str, seed: int, workdir: Path) -> Path:
    from placement.generate import generate_scheme

    out = workdir / f"scheme-{n}-{'pure' if variant == PURE else 'targets'}"
    generate_scheme(out, candidates=n, seed=seed, preferences=10, targets=variant == TARGETS)
    if variant == PURE:
        make_pure(out)
    return out


def network_part(problem: Problem) -> Problem:
    """The same instance without side constraints (what min-cost flow solves)."""
    return dataclasses.replace(
        problem,
        targets=(),
        links=np.zeros((0, 2), np.int32),
        required=np.zeros(0, np.int32),
        fixed=np.zeros(0, np.int32),
        min_placements=np.zeros(problem.n_hosts, np.int32),
    )


def is_pure(problem: Problem) -> bool:
    return not (
        problem.targets or len(problem.links) or len(problem.required) or len(problem.fixed)
        or int(np.asarray(problem.min_placements).sum())
    )  # fmt: skip


# ---------------------------------------------------------------------------- checks


def _objective_row(problem: Problem, options: Options, m: dict, name: str, errors: list[str]) -> None:
    """Recompute a measurement's objective from its chosen pairs; flag broken hard constraints."""
    if "chosen" not in m or m["status"] not in ("OPTIMAL", "FEASIBLE"):
        return
    bad = violations(problem, options, m["chosen"])
    if bad:
        errors.append(f"{name}: answer breaks hard constraints: {'; '.join(bad[:3])}")
    ev = evaluate(problem, options, m["chosen"])
    reported = m.get("objective")
    m["objective"] = {"placed": ev["placed"], "rank_cost": ev["rank_cost"]}
    m["rank_sum"] = ev["rank_sum"]
    if (
        reported
        and ("placed" in reported and "rank_cost" in reported)
        and (
            reported["placed"] != ev["placed"]
            or abs(reported["rank_cost"] - ev["rank_cost"]) > TOL * max(1, ev["rank_cost"])
        )
    ):
        errors.append(f"{name}: reported objective {reported} but its placements score {m['objective']}")


def _better(a: dict, b: dict) -> bool:
    """Is objective a strictly better than b (lexicographic)?"""
    if a["placed"] != b["placed"]:
        return a["placed"] > b["placed"]
    return a["rank_cost"] < b["rank_cost"] - TOL * max(1.0, abs(b["rank_cost"]))


def agreement(rows: dict[str, dict], same_model: list[str], errors: list[str], where: str) -> None:
    """Among solvers of one model: no answer beats a claimed optimum; two optima are equal."""
    have = {k: rows[k] for k in same_model if k in rows and rows[k].get("status") in ("OPTIMAL", "FEASIBLE")}
    for a, ra in have.items():
        for b, rb in have.items():
            if a != b and rb["status"] == "OPTIMAL" and _better(ra["objective"], rb["objective"]):
                errors.append(
                    f"{where}: {a} found {ra['objective']}, better than {b}'s claimed optimum {rb['objective']}"
                )


# ---------------------------------------------------------------------------- one instance


def bench_instance(n: int, variant: str, cfg: dict[str, Any], workdir: Path, log) -> dict[str, Any]:
    """Every measurement on one generated scheme. Returns rows and the errors found."""
    tag = f"{n}-{'pure' if variant == PURE else 'targets'}"
    limit = float(cfg["time_limit"])
    timeout = 3 * limit + 600
    errors: list[str] = []
    log(f"[{tag}] generating the scheme")
    t0 = time.perf_counter()
    csv_dir = generate(n, variant, cfg["seed"], workdir)
    generate_seconds = time.perf_counter() - t0
    problem_path = workdir / f"{tag}.problem.pkl"

    rows: dict[str, dict] = {}
    log(f"[{tag}] placement end to end (import into a fresh SQLite database + solve_round)")
    rows["placement end to end"] = run_child(
        "e2e",
        {
            "csv_dir": str(csv_dir),
            "db": str(workdir / f"{tag}.db"),
            "problem_out": str(problem_path),
            "round_options": {"time_limit": limit, "workers": cfg["workers"]},
        },
        workdir,
        f"{tag}-e2e",
        timeout,
    )
    e2e = rows["placement end to end"]
    if e2e["status"] in ("ERROR", "TIMEOUT"):
        raise BenchmarkError(f"[{tag}] end-to-end run failed: {e2e.get('error')}")
    with problem_path.open("rb") as fh:
        problem: Problem = pickle.load(fh)
    if variant == PURE and not is_pure(problem):
        errors.append(f"[{tag}] the scheme meant to have no side constraints encodes some")
    # "placement solve" is the model HiGHS is given (no tie-break level); the row after it adds the
    # default host-order tie-break, which a coordinator gets (and "end to end" includes).
    options = Options(time_limit=limit, workers=cfg["workers"], tie_break="none")
    network = network_part(problem)
    network_path = _dump(network, workdir / f"{tag}.network.pkl")

    log(f"[{tag}] {problem.n_candidates} candidates, {problem.n_hosts} hosts, {problem.n_pairs} pairs: placement solve")
    solve_spec = {"problem": str(problem_path), "options": dataclasses.asdict(options)}
    rows["placement solve"] = run_child("solve", solve_spec, workdir, f"{tag}-solve", timeout)
    log(f"[{tag}] placement solve with the host-order tie-break")
    tied_spec = {
        "problem": str(problem_path),
        "options": dataclasses.asdict(dataclasses.replace(options, tie_break="host-order")),
    }
    rows["placement solve + tie-break"] = run_child("solve", tied_spec, workdir, f"{tag}-tied", timeout)
    log(f"[{tag}] OR-Tools min-cost flow")
    rows["min-cost flow"] = run_child("flow", {"problem": str(network_path)}, workdir, f"{tag}-flow", timeout)
    if cfg["skip_highs_above"] is None or n <= cfg["skip_highs_above"]:
        log(f"[{tag}] HiGHS MIP (time limit {limit:.0f} s)")
        plain_path = _dump(to_plain(problem, options), workdir / f"{tag}.plain.pkl")
        # HiGHS does not always stop at its time limit (at 20,000 candidates it ran on for minutes
        # inside a solve): the process is killed HIGHS_GRACE seconds after it and counts as no answer.
        rows["HiGHS MIP"] = run_child(
            "highs", {"plain": str(plain_path), "time_limit": limit}, workdir, f"{tag}-highs", limit + HIGHS_GRACE
        )
        if rows["HiGHS MIP"]["status"] == "TIMEOUT":
            rows["HiGHS MIP"]["error"] = (
                f"no answer: still running {HIGHS_GRACE:.0f} s past its {limit:.0f} s time limit, killed"
            )
    else:
        rows["HiGHS MIP"] = {"status": "SKIPPED", "error": f"--skip-highs-above {cfg['skip_highs_above']}"}

    for name in ("placement end to end", "placement solve", "placement solve + tie-break", "HiGHS MIP"):
        _objective_row(problem, options, rows[name], f"[{tag}] {name}", errors)
    _objective_row(network, options, rows["min-cost flow"], f"[{tag}] min-cost flow", errors)
    for name, m in rows.items():
        if m.get("status") == "ERROR" or (m.get("status") == "TIMEOUT" and name != "HiGHS MIP"):
            errors.append(f"[{tag}] {name}: {m['status']}: {m.get('error')}")

    same_model = ["placement end to end", "placement solve", "placement solve + tie-break", "HiGHS MIP"]
    if variant == PURE:
        same_model.append("min-cost flow")
    agreement(rows, same_model, errors, f"[{tag}]")
    flow = rows["min-cost flow"]
    if variant == TARGETS and flow.get("status") == "OPTIMAL":
        for name in same_model:
            m = rows[name]
            if m.get("objective") and m["objective"].get("placed", 0) > flow["objective"]["placed"]:
                errors.append(f"[{tag}] {name} placed more than the network relaxation allows")

    if variant == PURE:
        log(f"[{tag}] strict stability: placement vs matching's Gale–Shapley")
        strict = dataclasses.asdict(dataclasses.replace(options, stability="strict"))
        rows["placement solve, strict stability"] = run_child(
            "solve", {"problem": str(problem_path), "options": strict}, workdir, f"{tag}-strict", timeout
        )
        rows["matching (Gale–Shapley)"] = run_child("da", {"problem": str(problem_path)}, workdir, f"{tag}-da", timeout)
        ps, da = rows["placement solve, strict stability"], rows["matching (Gale–Shapley)"]
        for name in ("placement solve, strict stability", "matching (Gale–Shapley)"):
            _objective_row(problem, options, rows[name], f"[{tag}] {name}", errors)
            if rows[name].get("status") in ("ERROR", "TIMEOUT"):
                errors.append(f"[{tag}] {name}: {rows[name]['status']}: {rows[name].get('error')}")
        from placement.solver.stability import ties_matter

        if "chosen" in ps and "chosen" in da and ties_matter(problem):
            # Hosts' orders tie (equal scores): the most placed among weakly stable placements is searched
            # for (issue 18), and Gale–Shapley with ties broken by index is one weakly stable placement.
            from benchmarks.stable_reference import weak_blocking

            if weak_blocking(problem, ps["chosen"]):
                errors.append(f"[{tag}] strict stability: placement's answer has blocking pairs")
            if ps["chosen"].size < da["chosen"].size:
                errors.append(
                    f"[{tag}] strict stability: placement placed {ps['chosen'].size}, fewer than "
                    f"Gale–Shapley's weakly stable {da['chosen'].size}"
                )
        elif "chosen" in ps and "chosen" in da and not np.array_equal(np.sort(ps["chosen"]), np.sort(da["chosen"])):
            errors.append(
                f"[{tag}] strict stability: placement {ps['objective']} and matching {da['objective']} "
                "give different placements (both are the candidate-optimal stable matching with "
                "hosts' ties broken by candidate index, so they must be equal)"
            )

    # Ratios to the reference of the same run.
    refs = {
        "placement solve": "min-cost flow" if variant == PURE else "HiGHS MIP",
        "placement solve + tie-break": "placement solve",
        "placement end to end": "min-cost flow" if variant == PURE else "HiGHS MIP",
        "HiGHS MIP": "min-cost flow",
        "placement solve, strict stability": "matching (Gale–Shapley)",
    }
    attach_ratios(rows, refs)
    return {
        "tag": tag,
        "candidates": problem.n_candidates,
        "hosts": problem.n_hosts,
        "pairs": problem.n_pairs,
        "targets": len(problem.targets),
        "links": int(len(problem.links)),
        "variant": variant,
        "generate_seconds": generate_seconds,
        "db": str(workdir / f"{tag}.db"),
        "rows": rows,
        "errors": errors,
    }


# ---------------------------------------------------------------------------- extras


def bench_import(rows: int, workdir: Path, log) -> dict[str, Any]:
    log(f"[import] {rows:,} preference rows (benchmarks.import_bench.time_import)")
    sub = workdir / f"import-{rows}"
    sub.mkdir(exist_ok=True)
    return run_child("import_rows", {"rows": rows, "workdir": str(sub)}, workdir, f"import-{rows}", 3600)


def bench_audit(db: Path, round_number: int, candidates: int, workdir: Path, log) -> dict[str, Any]:
    log(f"[audit] round {round_number} of {candidates:,} candidates (placement.audit.write_report, html)")
    spec = {"db": str(db), "round": round_number, "fmt": "html", "out": str(workdir / f"audit-{candidates}.html")}
    out = run_child("audit", spec, workdir, f"audit-{candidates}", 3600)
    out["candidates"] = candidates
    return out


def attach_ratios(rows: dict[str, dict[str, Any]], refs: dict[str, str]) -> None:
    """Each row's time as a ratio to its reference's in the same run; the placements are dropped from the record."""
    for name, ref in refs.items():
        m, r = rows.get(name), rows.get(ref)
        if m and r and m.get("seconds") and r.get("seconds") and r.get("status") not in ("ERROR", "SKIPPED"):
            m["reference"] = ref
            m["ratio"] = m["seconds"] / r["seconds"]
    for m in rows.values():
        m.pop("chosen", None)
