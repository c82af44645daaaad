"""How long `placement scenario compare` takes against one solve of the same round.

    python -m benchmarks.scenario_bench                      # 2,000 candidates, four variants
    python -m benchmarks.scenario_bench --candidates 500 --workdir /tmp/scen

The goal (issue 13): comparing four variants of a 2,000-candidate round takes
at most 4x one solve of that round. Both are timed in the same run, so load
from anything else on the machine slows them alike; the load averages are
written beside the figures.

Steps: a seeded scheme from ``placement.generate`` (three target families:
women per region, soft; minority ethnic in the cohort, soft; career changers
per org type, hard) imported into a fresh SQLite database and solved as round
1; then, on that round's stored inputs and options, ``--repeats`` pairs of

- **one solve**: ``placement.solver.solve`` of the stored problem, in this
  process;
- **scenario compare**: ``placement.scenario.write_scenarios`` end to end, HTML
  with its charts: reading the round, solving the four variants (in worker
  processes and this one, where there are cores), measuring each with the
  audit's code, rendering and writing the page;

one after the other, each with the 1-minute load average at its start (other
helpers share the machine); the ratio is of the medians. The first compare
pays this process's first imports of the audit's and the charts' libraries,
as a command would.

**Where the time goes** (``phases``, untimed in the ratio): the same work one
piece at a time in this process — a worker's start-up (a fresh interpreter
loading the solver), reading the round, the round's own audit, each variant's
solve and its measuring by the audit's code, the page — so a slow comparison
can be traced to its part.

Also checked, untimed: the comparison's base column equals the round's own
audit (summary, headline rates, flags, relative likelihoods), and no round is
stored. Writes ``benchmarks/results/scenario-<N>.md`` and ``.json``; exits 1
if the check fails, 0 otherwise (a missed goal is reported, not an error).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

# A board's questions about the targets: none at all, a lower and a higher share, the hard target dropped.
VARIANTS = (
    "no targets",
    "women-per-region min 0.35",
    "minority-ethnic-cohort min 0.3",
    "drop career-changers-per-org-type",
)
GOAL = 4.0
RESULTS = Path(__file__).resolve().parent / "results"


def run(candidates: int, seed: int, workdir: Path, repeats: int, time_limit: float) -> dict[str, Any]:
    from sqlalchemy import func, select

    from placement.audit import audit_round
    from placement.db.migrate import upgrade
    from placement.db.models import Round
    from placement.db.session import make_engine, transaction
    from placement.generate import generate_scheme
    from placement.ingest import import_dir
    from placement.resolves import stored_inputs
    from placement.rounds import RoundOptions, solve_round
    from placement.scenario import compare_scenarios, write_scenarios
    from placement.solver import solve

    load_start = list(os.getloadavg())
    generate_scheme(workdir / "scheme", candidates=candidates, seed=seed)
    engine = make_engine(f"sqlite:///{workdir / 'placement.db'}")
    upgrade(engine)
    import_dir(engine, workdir / "scheme")
    result = solve_round(engine, RoundOptions(time_limit=time_limit))

    with transaction(engine) as s:
        rnd, encoded = stored_inputs(s, result.round)
        options = RoundOptions.stored(rnd.options)
    one: list[float] = []
    compare: list[float] = []
    one_load: list[float] = []
    compare_load: list[float] = []
    solution = None
    for i in range(repeats):  # interleaved, so a change in the machine's load falls on both alike
        one_load.append(os.getloadavg()[0])
        started = time.perf_counter()
        solution = solve(encoded.problem, options.solver_options())
        one.append(time.perf_counter() - started)
        compare_load.append(os.getloadavg()[0])
        started = time.perf_counter()
        write_scenarios(engine, result.round, VARIANTS, "html", workdir / f"scenarios-{i}.html")
        compare.append(time.perf_counter() - started)
    assert solution is not None

    # Untimed checks: the base column is the round's own audit; nothing was stored.
    comparison = compare_scenarios(engine, result.round, VARIANTS)
    audit = audit_round(engine, result.round)
    base = comparison["variants"][0]
    checks = {
        "summary": base["summary"] == audit["summary"],
        "headline": base["headline"] == audit["headline"],
        "flags": base["flags"] == audit["flags"],
        "relative_likelihoods": [r["value"] for r in base["relative_likelihoods"]]
        == [rl["value"] for ch in audit["characteristics"] for rl in ch["relative_likelihoods"]],
    }
    with transaction(engine) as s:
        checks["no_round_stored"] = s.scalar(select(func.count()).select_from(Round)) == 1

    one_s, compare_s = statistics.median(one), statistics.median(compare)
    return {
        "candidates": candidates,
        "seed": seed,
        "round": {
            "status": result.status,
            "placed": result.placed,
            "solve_seconds": result.solve_seconds,
            "method": result.method,
        },
        "one_solve": {"status": solution.status, "seconds": one, "load_1min": one_load},
        "variants": [
            {
                "label": v["label"],
                "status": v["status"],
                "placed": v["summary"]["placed"],
                "solve_seconds": v["solve_seconds"],
            }
            for v in comparison["variants"][1:]
        ],
        "scenario_compare_seconds": compare,
        "scenario_compare_load_1min": compare_load,
        "phases": phases(engine, result.round),
        "ratio": compare_s / one_s if one_s else None,
        "goal": GOAL,
        "met": one_s > 0 and compare_s <= GOAL * one_s,
        "base_equals_audit": checks,
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
        "cores": os.cpu_count(),
    }


def phases(engine: Any, number: int) -> dict[str, Any]:
    """The comparison's parts, one at a time in this process (seconds each, and the load at the start)."""
    import subprocess
    import sys

    import numpy as np

    from placement.audit.editions import Edition
    from placement.audit.price import not_applicable
    from placement.audit.report import build_audit
    from placement.rounds import RoundOptions
    from placement.scenario import render
    from placement.scenario.compare import _read, _variant_column, compare_scenarios
    from placement.scenario.solving import PRELOAD, Job, solve_job
    from placement.scenario.variants import parse_variant
    from placement.totals import chosen_pairs

    out: dict[str, Any] = {"load_1min": os.getloadavg()[0]}

    def timed(name: str, fn: Any) -> Any:
        started = time.perf_counter()
        value = fn()
        out[name] = time.perf_counter() - started
        return value

    # A worker's start-up: a fresh interpreter importing what the worker imports (the solver alone).
    timed(
        "worker_start_up",
        lambda: subprocess.run([sys.executable, "-c", "import placement.worker, " + ", ".join(PRELOAD)], check=True),
    )
    parsed = [parse_variant(v) for v in VARIANTS]
    record, facts, applied = timed("read_round_and_apply_variants", lambda: _read(engine, number, None, parsed, False))
    timed("round_audit", lambda: build_audit(facts, not_applicable(facts, "—")))
    kept = np.asarray(chosen_pairs(record.inputs, record.placed), np.int64)
    out["variants"] = []
    columns = []
    for i, (v, a) in enumerate(zip(parsed, applied)):
        assert a is not None
        job = Job(i, a.problem.targets, RoundOptions.stored(a.options).solver_options(), kept)
        answer = timed("_solve", lambda job=job: solve_job(record.inputs.problem, job))
        col = timed(
            "_measure",
            lambda v=v, a=a, answer=answer: _variant_column(
                v.label, [], record, facts, a, answer.solution, Edition.INTERNAL
            ),
        )
        columns.append(col)
        out["variants"].append(
            {
                "label": v.label,
                "solve": out.pop("_solve"),
                "measure": out.pop("_measure"),
                "tie_break": str(answer.solution.tie_break),
            }
        )
    comparison = compare_scenarios(engine, number, VARIANTS, workers=1)
    timed("page_html", lambda: render(comparison, "html"))
    out["load_1min_end"] = os.getloadavg()[0]
    return out


def markdown(r: dict[str, Any], machine: dict[str, Any]) -> str:
    one_s, comp_s = statistics.median(r["one_solve"]["seconds"]), statistics.median(r["scenario_compare_seconds"])
    runs = ", ".join(
        f"{s:.2f} (load {lo:.1f})" for s, lo in zip(r["one_solve"]["seconds"], r["one_solve"]["load_1min"])
    )
    comps = ", ".join(
        f"{s:.2f} (load {lo:.1f})" for s, lo in zip(r["scenario_compare_seconds"], r["scenario_compare_load_1min"])
    )
    lines = [
        f"# Scenario comparison: {r['candidates']:,} candidates, {len(r['variants'])} variants",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python -m benchmarks.scenario_bench "
        f"--candidates {r['candidates']} --repeats {len(r['scenario_compare_seconds'])}`. Machine: {machine.get('cpu', '?')}, "
        f"{r['cores']} cores, shared; load average (1/5/15 min) at start {_loads(r['load_average']['start'])}, at end "
        f"{_loads(r['load_average']['end'])}. One solve and one comparison are timed in turn, each with the 1-minute "
        "load at its start: other work on the machine slows both alike.",
        "",
        f"**Goal: scenario compare within {r['goal']:g}x one solve of the round: "
        f"{'met' if r['met'] else 'missed'}** — median {comp_s:.2f} s against {one_s:.2f} s = {r['ratio']:.2f}x.",
        "",
        f"Round 1: {r['round']['status']} by {r['round']['method']}, {r['round']['placed']:,} placed "
        f"(its own solve {r['round']['solve_seconds']:.2f} s).",
        "",
        "| measurement | status | wall s (each run, 1-min load at its start) |",
        "|---|---|---|",
        f"| one solve of the round (`placement.solver.solve`, in process) | {r['one_solve']['status']} | {runs} |",
        f"| scenario compare, end to end, HTML (`placement.scenario.write_scenarios`) | | {comps} |",
        "",
        "| variant | status | placed | its solve s (in whichever process took it) |",
        "|---|---|---:|---:|",
    ]
    for v in r["variants"]:
        lines.append(f"| {v['label']} | {v['status']} | {v['placed']:,} | {v['solve_seconds']:.2f} |")
    ph = r["phases"]
    lines += [
        "",
        f"Where the time goes: each part alone, one after another in this process (load {ph['load_1min']:.1f} "
        f"at the start, {ph['load_1min_end']:.1f} at the end). In the comparison the workers' start-up overlaps "
        "reading the round, and the variants' solves are shared between the worker processes and this one.",
        "",
        "| part | wall s |",
        "|---|---:|",
        f"| a worker's start-up (fresh interpreter, the solver's libraries) | {ph['worker_start_up']:.2f} |",
        f"| reading the round once (record, characteristics, stored inputs) and applying the variants | "
        f"{ph['read_round_and_apply_variants']:.2f} |",
        f"| the round's own audit (the base column) | {ph['round_audit']:.2f} |",
    ]
    for v in ph["variants"]:
        lines.append(
            f"| “{v['label']}”: solve ({v['tie_break']}) / measure with the audit's code | "
            f"{v['solve']:.2f} / {v['measure']:.2f} |"
        )
    lines += [f"| the page (HTML and its two charts) | {ph['page_html']:.2f} |", ""]
    lines += [
        "Base column equals the round's own audit: "
        + ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in r["base_equals_audit"].items()),
        "",
    ]
    return "\n".join(lines)


def _loads(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--outdir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from .report import machine_info

    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.candidates, args.seed, workdir, args.repeats, args.time_limit)
    machine = machine_info()
    result["machine"] = machine
    args.outdir.mkdir(parents=True, exist_ok=True)
    stem = args.outdir / f"scenario-{args.candidates}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = markdown(result, machine)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(result["base_equals_audit"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
