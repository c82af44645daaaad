"""``python -m benchmarks``: time placement against the field; exit non-zero if answers disagree.

Writes benchmarks/results/latest.md and latest.json and prints the table.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.binding import bench_binding
from benchmarks.references import DA_NOTE
from benchmarks.report import goals as evaluate_goals
from benchmarks.report import machine_info, markdown, write
from benchmarks.runner import PURE as PURE_VARIANT
from benchmarks.runner import (
    TARGETS,
    BenchmarkError,
    bench_audit,
    bench_import,
    bench_instance,
    missing_dependencies,
    run_child,
)

RESULTS = Path(__file__).resolve().parent / "results"
CORE = ("instance generator", "importer", "rounds", "solver")

NOTES = [
    "Every measurement runs in its own Python process. Peak RSS is that process's resident-set high-water "
    "mark (VmHWM: counts C++ allocations, which tracemalloc cannot see; getrusage's ru_maxrss is not used "
    "because on Linux it carries the forking parent's size across exec). Δ RSS is the peak during the timed "
    "call (high-water mark reset just before it) minus the resident set at its start.",
    "Scheme 'no side constraints': generated without targets, with the generator's linked pairs and lower "
    "quotas blanked, so every solver solves the same pure network model and all objectives must be equal.",
    "Scheme 'targets': as generated (three target families - two soft, one hard -, linked pairs, lower "
    "quotas, forbidden pairs). There min-cost flow solves only the network part: its 'placed' is an upper "
    "bound, its time the speed limit of the field.",
    "HiGHS runs the plain two-level MIP (maximise placed; then fix it and minimise Σ rank + soft penalties) "
    "with mip_rel_gap 0, in a process without OR-Tools: OR-Tools 9.15 and highspy ship clashing libhighs.so.1.",
    "Objectives in the table are recomputed from each solver's chosen pairs by benchmarks/evaluate.py "
    "(rank cost = Σ rank + soft penalties), and every answer is checked against the hard constraints.",
    DA_NOTE,
    "Scheme 'binding targets' (benchmarks/binding.py): the generated scheme plus a hard women-per-region share "
    "and a soft (weight 5) minority-ethnic-per-region share, each set at the median region's share in the "
    "unconstrained optimum plus one point (rounded up), so both bite in most regions; solved with allow_quota. "
    "Every placement row there is the solver alone on the encoded Problem, each engine in its own process; "
    "'+ tie-break' is the default options (`placement solve --allow-quota`).",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--sizes", default="1000,5000,20000", help="candidate counts, comma-separated")
    ap.add_argument("--quick", action="store_true", help="1,000 candidates only (smoke test)")
    ap.add_argument("--skip-highs-above", type=int, default=None, metavar="N", help="no HiGHS above N candidates")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per solve, every solver (default 300)")
    ap.add_argument("--workers", type=int, default=2, help="placement's solver workers (default 2)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workdir", type=Path, default=None, help="keep schemes and databases here (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where latest.md / latest.json go")
    ap.add_argument("--no-extras", action="store_true", help="skip the import and audit timings")
    ap.add_argument(
        "--cases",
        default="standard,binding,objectives,prefer",
        help="which cases, comma-separated: standard (no side constraints / generated targets), binding "
        "(hard and soft share targets set just above the optimum, every engine), objectives "
        "(rank-maximal and generous on the binding scheme, 5,000 candidates and up), prefer "
        "(--stability prefer on the binding scheme, up to 5,000)",
    )
    args = ap.parse_args(argv)
    args.cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    unknown = args.cases - {"standard", "binding", "objectives", "prefer"}
    if unknown:
        ap.error(f"unknown case(s) {', '.join(sorted(unknown))}: use standard, binding, objectives, prefer")
    args.sizes = [1000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)

    missing = missing_dependencies()
    core_missing = [m for m in missing if m.split(" (")[0] in CORE]
    if core_missing:
        print("Cannot benchmark yet; missing: " + "; ".join(core_missing), file=sys.stderr)
        return 2

    started = time.perf_counter()
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="placement-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    cfg = {
        "time_limit": args.time_limit,
        "workers": args.workers,
        "seed": args.seed,
        "skip_highs_above": args.skip_highs_above,
        "sizes": args.sizes,
    }
    result = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in argv),
        "machine": machine_info(),
        "config": cfg,
        "instances": [],
        "errors": [],
        "notes": list(NOTES),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for n in args.sizes:
            insts = []
            if "standard" in args.cases:
                insts += [bench_instance(n, variant, cfg, workdir, log) for variant in (PURE_VARIANT, TARGETS)]
            objectives, prefer = "objectives" in args.cases and n >= 5000, "prefer" in args.cases and n <= 5000
            if "binding" in args.cases or objectives or prefer:
                insts.append(bench_binding(n, cfg, workdir, log, objectives=objectives, prefer=prefer))
            for inst in insts:
                result["instances"].append(inst)
                result["errors"] += inst["errors"]
                for e in inst["errors"]:
                    log("DISAGREEMENT / FAILURE: " + e)
        if not args.no_extras:
            rows = 10_000 if args.quick else 100_000
            if any(m.startswith("import benchmark") for m in missing):
                result["import"] = {
                    "status": "MISSING",
                    "error": "benchmarks/import_bench.py time_import not there yet",
                }
            else:
                result["import"] = {**bench_import(rows, workdir, log), "rows": rows}
            if any(m.startswith("audit") for m in missing):
                result["audit"] = {"status": "MISSING", "error": "placement.audit.write_report not there yet"}
            else:
                result["audit"] = audit_round(args, cfg, result, workdir, log)
            for label in ("import", "audit"):
                r = result[label]
                if r.get("status") in ("ERROR", "TIMEOUT"):
                    result["errors"].append(f"{label}: {r['status']}: {r.get('error')}")
    except BenchmarkError as exc:
        result["errors"].append(str(exc))
        log(str(exc))
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    result["goals"] = evaluate_goals(result["instances"], args.sizes)
    result["total_seconds"] = time.perf_counter() - started
    md_path, json_path = write(result, args.out)
    print(markdown(result))
    print(f"Written: {md_path}, {json_path}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    if result["errors"]:
        print(f"FAILED: {len(result['errors'])} disagreement(s) or failure(s), listed above.", file=sys.stderr)
        return 1
    return 0


def audit_round(args, cfg, result, workdir: Path, log) -> dict:
    """Audit a 10,000-candidate round (1,000 with --quick), reusing a solved database when there is one."""
    n = 1000 if args.quick else 10_000
    for inst in result["instances"]:
        if inst["candidates"] == n and inst["variant"] == TARGETS:
            return bench_audit(Path(inst["db"]), inst["rows"]["placement end to end"]["round"], n, workdir, log)
    from benchmarks.runner import generate

    log(f"[audit] preparing a {n:,}-candidate round (import + solve_round, not timed here)")
    csv_dir = generate(n, TARGETS, args.seed, workdir)
    db = workdir / f"audit-{n}.db"
    prep = run_child(
        "e2e",
        {
            "csv_dir": str(csv_dir),
            "db": str(db),
            "problem_out": str(workdir / f"audit-{n}.problem.pkl"),
            "round_options": {"time_limit": cfg["time_limit"], "workers": cfg["workers"]},
        },
        workdir,
        f"audit-{n}-prep",
        3 * cfg["time_limit"] + 600,
    )
    if prep.get("status") in ("ERROR", "TIMEOUT"):
        return {"status": prep["status"], "error": f"preparing the round: {prep.get('error')}"}
    return bench_audit(db, prep["round"], n, workdir, log)


if __name__ == "__main__":
    sys.exit(main())
