"""Machine description, goals met or missed, and the Markdown / JSON output of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.binding import BINDING, gap
from benchmarks.runner import PURE, TARGETS
from placement.solver.problem import TieBreak

GOAL_SECONDS_20K = 60.0
GOAL_MEMORY_MB_20K = 2048.0
GOAL_FLOW_RATIO = 3.0


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "ortools": _version("ortools"),
        "highs": _version("highspy"),
        "matching": _version("matching"),
        "placement": _version("placement"),
        "commit": commit,
    }


def _find(instances: list[dict], n: int | None, variant: str) -> list[dict]:
    return [i for i in instances if i["variant"] == variant and (n is None or i["candidates"] == n)]


def _secs(m: dict | None) -> float | None:
    return None if not m or m.get("status") in ("ERROR", "TIMEOUT", "SKIPPED") else m.get("seconds")


def goals(instances: list[dict], requested_sizes: list[int]) -> list[dict[str, Any]]:
    """Each goal of the issue with met (True / False / None = not measured) and the figure."""
    out: list[dict[str, Any]] = []
    figs, met = [], True
    pure = _find(instances, None, PURE)
    for inst in pure:
        s, f = _secs(inst["rows"].get("placement solve")), _secs(inst["rows"].get("min-cost flow"))
        if s is None or f is None:
            met = False
            figs.append(f"{inst['candidates']:,}: not measured")
            continue
        ok = s <= GOAL_FLOW_RATIO * f
        met &= ok
        figs.append(f"{inst['candidates']:,}: {s:.3f} s vs {f:.3f} s = {s / f:.1f}×")
    out.append(
        {
            "goal": "No side constraints: within 3× of min-cost flow at every size",
            "met": met if pure else None,
            "figure": "; ".join(figs) or "not measured",
        }
    )

    figs, met = [], True
    tgt = _find(instances, None, TARGETS)
    for inst in tgt:
        p, h = inst["rows"].get("placement solve", {}), inst["rows"].get("HiGHS MIP", {})
        ps, hs = _secs(p), _secs(h)
        if h.get("status") == "TIMEOUT" and ps is not None:
            # HiGHS gave no answer at all in this many seconds: placement is faster if it proved its optimum sooner.
            ok = p.get("status") == "OPTIMAL" and ps < h["seconds"]
            met &= ok
            figs.append(
                f"{inst['candidates']:,}: placement {p['status']} {ps:.2f} s vs HiGHS no answer in {h['seconds']:.0f} s"
            )
            continue
        if ps is None or hs is None:
            met = False if ps is None else met
            figs.append(f"{inst['candidates']:,}: placement {p.get('status')} {ps or 0:.2f} s, HiGHS {h.get('status')}")
            if hs is None:
                met = False
            continue
        ok = p.get("status") == "OPTIMAL" and ps < hs
        met &= ok
        figs.append(f"{inst['candidates']:,}: placement {p['status']} {ps:.2f} s vs HiGHS {h['status']} {hs:.2f} s")
    out.append(
        {
            "goal": "With targets: faster than HiGHS at every size, with a proven optimum",
            "met": met if tgt else None,
            "figure": "; ".join(figs) or "not measured",
        }
    )

    big = _find(instances, 20_000, TARGETS)
    if big:
        p = big[0]["rows"].get("placement solve", {})
        e2e = big[0]["rows"].get("placement end to end", {})
        s, mem = _secs(p), p.get("rss_peak_mb")
        ok = (
            p.get("status") == "OPTIMAL"
            and s is not None
            and s < GOAL_SECONDS_20K
            and mem is not None
            and mem < GOAL_MEMORY_MB_20K
        )
        figure = (
            f"solve {p.get('status')} in {s if s is not None else float('nan'):.1f} s, peak RSS {mem or float('nan'):.0f} MiB"
            f" (end to end {e2e.get('seconds', float('nan')):.1f} s, peak {e2e.get('rss_peak_mb', float('nan')):.0f} MiB)"
        )
        out.append(
            {
                "goal": "20,000 candidates with targets: proven optimal < 60 s on 2 cores, peak memory < 2 GB",
                "met": ok,
                "figure": figure,
            }
        )
    else:
        out.append(
            {
                "goal": "20,000 candidates with targets: proven optimal < 60 s on 2 cores, peak memory < 2 GB",
                "met": None,
                "figure": "not run (sizes: " + ", ".join(f"{n:,}" for n in requested_sizes) + ")",
            }
        )
    from benchmarks.binding import binding_goals

    return out + binding_goals(instances)


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# placement benchmarks",
        "",
        f"Run {result['started']} ({result['total_seconds'] / 60:.1f} min), `{result['command']}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['os']}; Python {m['python']}, "
        f"OR-Tools {m['ortools']}, HiGHS (highspy) {m['highs']}, matching {m['matching']}, placement {m['placement']}"
        f" (commit {m['commit']}).",
        "",
        f"Time limit per solve: {result['config']['time_limit']:.0f} s; placement with {result['config']['workers']} workers. "
        f"Load average (1/5/15 min) at start {result.get('load_average_start')}, at end {result.get('load_average_end')}: "
        "anything else running on the machine slows every solver alike.",
        "",
        "## Goals",
        "",
    ]
    for g in result["goals"]:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[g["met"]]
        lines.append(f"- {g['goal']}: {mark} — {g['figure']}")
    lines += [
        "",
        "## Solvers",
        "",
        "| candidates | pairs | scheme | solver | status | placed | rank cost | wall s | peak RSS MiB | Δ RSS MiB | × reference |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for inst in result["instances"]:
        for name, r in inst["rows"].items():
            obj = r.get("objective") or {}
            ratio = ""
            if r.get("ratio") is not None:
                # A run killed at its limit only bounds the time: say which way the ratio leans.
                ref_status = inst["rows"].get(r["reference"], {}).get("status")
                lean = "≥ " if r.get("status") == "TIMEOUT" else "≤ " if ref_status == "TIMEOUT" else ""
                ratio = f"{lean}{r['ratio']:.2f}× {r['reference']}"
            status = r.get("status", "")
            if r.get("status") == "OPTIMAL" and name == "min-cost flow" and inst["variant"] == TARGETS:
                status = "bound (no side constraints)"
            tie = TieBreak.parse(r.get("tie_break"))
            if tie.outcome is not None:
                status += f" (ties: {tie.outcome.value})"
            if inst["variant"] == BINDING and name.startswith("placement") and r.get("status") == "FEASIBLE":
                status += f" ({gap(r)})"
            lines.append(
                f"| {inst['candidates']:,} | {inst['pairs']:,} | {inst['variant']} | {name} | {status} | "
                f"{_fmt(obj.get('placed'))} | {_fmt(obj.get('rank_cost'))} | {_fmt(r.get('seconds'))} | "
                f"{_fmt(r.get('rss_peak_mb'), 0)} | {_fmt(r.get('rss_delta_mb'), 0)} | {ratio} |"
            )
    e2e = [(i, i["rows"]["placement end to end"]) for i in result["instances"] if "placement end to end" in i["rows"]]
    lines += [
        "",
        "End to end = fresh SQLite database + migrations + import of the generated CSVs + `solve_round`:",
        "",
        "| candidates | scheme | migrate s | import s | solve_round s | of which solver s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for inst, r in e2e:
        lines.append(
            f"| {inst['candidates']:,} | {inst['variant']} | {_fmt(r.get('migrate_seconds'))} | "
            f"{_fmt(r.get('import_seconds'))} | {_fmt(r.get('solve_round_seconds'))} | {_fmt(r.get('solver_seconds'))} |"
        )
    lines += ["", "## Import and audit", ""]
    for label, r in (("import", result.get("import")), ("audit", result.get("audit"))):
        if not r:
            continue
        if r.get("status") in ("ERROR", "TIMEOUT", "MISSING"):
            lines.append(f"- {label}: {r['status']}: {r.get('error', '')}")
        elif label == "import":
            d = r.get("detail") or {}
            lines.append(
                f"- Import of {r['rows']:,} preference rows ({d.get('candidates', 0):,} candidates) into a fresh "
                f"SQLite database: {d.get('first_import_total_s', float('nan')):.2f} s for candidates + hosts + "
                f"preferences (preferences alone {d.get('preferences_s', float('nan')):.2f} s); the same "
                f"preferences again (no-op) {d.get('preferences_again_s', float('nan')):.2f} s; every rank "
                f"changed {d.get('preferences_changed_s', float('nan')):.2f} s; peak RSS {r['rss_peak_mb']:.0f} MiB "
                "(benchmarks/import_bench.py)"
            )
        else:
            lines.append(
                f"- Audit report (HTML) of a {r['candidates']:,}-candidate round: {r['seconds']:.2f} s, "
                f"{r.get('bytes', 0) / 1024:.0f} KiB, peak RSS {r['rss_peak_mb']:.0f} MiB"
            )
    lines += ["", "## Notes", ""]
    lines += [f"- {n}" for n in result["notes"]]
    if result["errors"]:
        lines += ["", "## DISAGREEMENTS AND FAILURES", ""] + [f"- {e}" for e in result["errors"]]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], outdir: Path) -> tuple[Path, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    md, js = outdir / "latest.md", outdir / "latest.json"
    md.write_text(markdown(result), encoding="utf-8")
    js.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    return md, js


if __name__ == "__main__":  # re-render latest.md from a results JSON: python -m benchmarks.report FILE.json
    import sys

    data = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    (Path(sys.argv[1]).parent / "latest.md").write_text(markdown(data), encoding="utf-8")
    print(markdown(data))
