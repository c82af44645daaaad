"""How long importing a large scheme takes: ~100,000 preference rows into a fresh SQLite database.

    python -m benchmarks.import_bench                    # CSV: 100,000 preference rows, 10,000 candidates;
                                                         # then CSV against a workbook: 20,000 candidates,
                                                         # 200,000 wide preference cells
    python -m benchmarks.import_bench --rows 20000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python -m benchmarks.import_bench --workbook-only --candidates 20000
    python -m benchmarks.import_bench --large            # 2,000,000 preference rows (100,000 candidates x 20):
                                                         # peak memory and time of `placement import`, each in a
                                                         # process of its own, against csv and pandas.read_csv

The scheme comes from ``placement.generate`` (the same synthetic schemes as
``placement fixtures generate``), each candidate ranking
``PREFERENCES_PER_CANDIDATE`` hosts, so 100,000 rows is a 10,000-candidate
scheme. Timings are wall-clock seconds per step: the candidates, hosts and
preferences files imported one by one, a re-import of the same preferences
(a no-op), and a changed preferences file (every candidate's order reversed:
an upsert touching every row).

The workbook comparison (``time_workbook_import``) imports one scheme twice
into fresh databases, each in a process of its own: from the CSV files, and
from one .xlsx workbook (candidates and hosts sheets, preferences in the wide
layout: a row per candidate, ``Choice 1`` ... ``Choice 10``) read through a
mapping file. It reports both times, their ratio (the target: under 3x) and
each process's peak memory (the target: under 1 GB).

The large case (``time_large_import``, ``--large``) is the size limit of the
import: a scheme of 2,000,000 preference rows (100,000 candidates ranking 20
hosts each, a 33 MB preferences.csv), imported by the ``placement`` command
in a fresh process, as a coordinator runs it: ``import dir`` of the whole
scheme into a fresh database, then ``import preferences`` of the same file
again (a no-op against 2,000,000 stored rows). Each process reports its
peak resident set (``VmHWM``, see ``benchmarks/measure.py`` for why not
``ru_maxrss``) and its wall time. References in the same run, each in a
process of its own: one pass of the csv module over preferences.csv (the
floor: reading and splitting the file) and ``pandas.read_csv(dtype=str)``
of it (what loading the file as a table costs). The target: peak under
1 GiB.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.generate import generate_scheme
from placement.ingest import import_file
from placement.schemas import NUMBER_COLUMNS

PREFERENCES_PER_CANDIDATE = 10


def generate(workdir: Path, n_preference_rows: int, seed: int = 1) -> dict[str, Path]:
    """Write candidates.csv, hosts.csv, preferences.csv and preferences_changed.csv (each order reversed)."""
    n_candidates = max(1, n_preference_rows // PREFERENCES_PER_CANDIDATE)
    generate_scheme(
        workdir,
        candidates=n_candidates,
        seed=seed,
        preferences=PREFERENCES_PER_CANDIDATE,
        targets=False,
        host_rankings_share=0.0,
    )
    paths = {name: workdir / f"{name}.csv" for name in ("candidates", "hosts", "preferences", "preferences_changed")}
    with paths["preferences"].open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    longest: dict[str, int] = {}
    for candidate_id, _, rank in rows[1:]:
        longest[candidate_id] = max(longest.get(candidate_id, 0), int(rank))
    with paths["preferences_changed"].open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(rows[0])
        out.writerows([c, h, longest[c] + 1 - int(r)] for c, h, r in rows[1:])
    return paths


def time_import(n_preference_rows: int, workdir, db_url: str | None = None) -> dict:
    """Generate a scheme with ``n_preference_rows`` preferences and time importing it into a fresh database."""
    workdir = Path(workdir)
    timings: dict = {"preference_rows": n_preference_rows}
    start = time.perf_counter()
    paths = generate(workdir, n_preference_rows)
    timings["generate_s"] = time.perf_counter() - start

    engine = make_engine(db_url or f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    try:
        total = 0.0
        for step, kind, path in (
            ("candidates", "candidates", paths["candidates"]),
            ("hosts", "hosts", paths["hosts"]),
            ("preferences", "preferences", paths["preferences"]),
            ("preferences_again", "preferences", paths["preferences"]),
            ("preferences_changed", "preferences", paths["preferences_changed"]),
        ):
            start = time.perf_counter()
            report = import_file(engine, kind, path)
            elapsed = time.perf_counter() - start
            timings[f"{step}_s"] = round(elapsed, 3)
            timings[f"{step}_report"] = {
                k: getattr(report, k) for k in ("rows", "added", "updated", "unchanged", "removed", "skipped_same_file")
            }
            if step in ("candidates", "hosts", "preferences"):
                total += elapsed
        timings["first_import_total_s"] = round(total, 3)
        timings["candidates"] = timings["candidates_report"]["rows"]
    finally:
        engine.dispose()
    timings["generate_s"] = round(timings["generate_s"], 3)
    return timings


WORKBOOK_MAPPING = """
[candidates]
file = "scheme.xlsx"
sheet = "Candidates"
[hosts]
file = "scheme.xlsx"
sheet = "Hosts"
[preferences]
file = "scheme.xlsx"
sheet = "Preferences"
layout = "wide"
choices = "Choice {n}"
"""


def write_workbook_scheme(csv_dir: Path, out: Path) -> int:
    """The scheme in ``csv_dir`` as one workbook (preferences wide); returns the number of choice cells filled."""
    from openpyxl import Workbook

    def rows(name: str) -> list[list[str]]:
        with (csv_dir / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))

    def typed(cell: str, numeric: bool) -> object:  # number columns as number cells, ids and codes as text
        if not numeric or not cell:
            return cell or None
        return float(cell) if "." in cell else int(cell)

    wb = Workbook(write_only=True)
    sizes = []  # (rows, columns) of each sheet, for its <dimension>
    for title, name in (("Candidates", "candidates"), ("Hosts", "hosts")):
        ws = wb.create_sheet(title)
        header, *body = rows(name)
        numeric = [h in NUMBER_COLUMNS for h in header]
        ws.append(header)
        for r in body:
            ws.append([typed(c, n) for c, n in zip(r, numeric, strict=False)])
        sizes.append((len(body) + 1, len(header)))
    ranked: dict[str, dict[int, str]] = {}
    for candidate_id, host_id, rank in rows("preferences")[1:]:
        ranked.setdefault(candidate_id, {})[int(rank)] = host_id
    width = max(max(r) for r in ranked.values())
    ws = wb.create_sheet("Preferences")
    ws.append(["candidate_id", *(f"Choice {n}" for n in range(1, width + 1))])
    for candidate_id, choices in ranked.items():
        ws.append([candidate_id, *(choices.get(n) for n in range(1, width + 1))])
    sizes.append((len(ranked) + 1, width + 1))
    wb.save(out)
    _add_dimensions(out, sizes)
    return sum(len(c) for c in ranked.values())


def _add_dimensions(path: Path, sizes: list[tuple[int, int]]) -> None:
    """Give each sheet the <dimension> Excel writes (openpyxl's write-only mode leaves it out).

    Without it a reader must read a whole sheet to learn its size before
    reading it: the benchmark measures workbooks as Excel saves them.
    """
    import zipfile

    from openpyxl.utils import get_column_letter

    with zipfile.ZipFile(path) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    for i, (n_rows, n_cols) in enumerate(sizes, start=1):
        name = f"xl/worksheets/sheet{i}.xml"
        ref = f'<dimension ref="A1:{get_column_letter(n_cols)}{n_rows}" />'.encode()
        parts[name] = parts[name].replace(b"</sheetPr>", b"</sheetPr>" + ref, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def _import_in_child(folder: str, db_url: str, mapping: str | None, queue) -> None:
    import resource

    from placement.db.migrate import upgrade as migrate
    from placement.db.session import make_engine as engine_for
    from placement.ingest import import_dir

    engine = engine_for(db_url)
    migrate(engine)
    start = time.perf_counter()
    reports = import_dir(engine, folder, mapping=mapping)
    elapsed = time.perf_counter() - start
    engine.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "seconds": round(elapsed, 3),
            "peak_rss_mib": round(peak_kib / 1024, 1),
            "rows": {r.kind: r.rows for r in reports},
        }
    )


def _measure(folder: Path, db_url: str, mapping: Path | None) -> dict:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fresh process: its peak memory is this import's alone
    queue = ctx.Queue()
    proc = ctx.Process(target=_import_in_child, args=(str(folder), db_url, str(mapping) if mapping else None, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def time_workbook_import(n_candidates: int, workdir, seed: int = 1) -> dict:
    """CSV against workbook (wide preferences) import of one scheme of ``n_candidates``; see the module doc."""
    workdir = Path(workdir)
    csv_dir, wb_dir = workdir / "csv", workdir / "workbook"
    wb_dir.mkdir(parents=True, exist_ok=True)
    generate_scheme(
        csv_dir,
        candidates=n_candidates,
        seed=seed,
        preferences=PREFERENCES_PER_CANDIDATE,
        targets=False,
        host_rankings_share=0.0,
    )
    for extra in csv_dir.iterdir():  # the comparison is candidates, hosts and preferences
        if extra.stem not in ("candidates", "hosts", "preferences"):
            extra.unlink()
    start = time.perf_counter()
    cells = write_workbook_scheme(csv_dir, wb_dir / "scheme.xlsx")
    written = time.perf_counter() - start
    (wb_dir / "mapping.toml").write_text(WORKBOOK_MAPPING, encoding="utf-8")
    from_csv = _measure(csv_dir, f"sqlite:///{workdir / 'csv.db'}", None)
    from_workbook = _measure(wb_dir, f"sqlite:///{workdir / 'workbook.db'}", wb_dir / "mapping.toml")
    assert from_csv["rows"] == from_workbook["rows"], (from_csv["rows"], from_workbook["rows"])
    return {
        "candidates": n_candidates,
        "wide_preference_cells": cells,
        "workbook_bytes": (wb_dir / "scheme.xlsx").stat().st_size,
        "write_workbook_s": round(written, 3),
        "csv": from_csv,
        "workbook": from_workbook,
        "ratio_workbook_to_csv": round(from_workbook["seconds"] / from_csv["seconds"], 2),
        "targets": {"ratio_below": 3.0, "peak_rss_mib_below": 1024},
    }


LARGE_CANDIDATES = 100_000
LARGE_PREFERENCES = 20  # 2,000,000 preference rows


def _peak_mib() -> float:
    """This process's peak resident set (VmHWM), MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(what: str, args: list[str]) -> None:
    """In the measured process: run one step, then print its peak memory as the last line of stdout."""
    if what == "placement":
        from placement.cli import cli

        try:
            code = cli.main(args, prog_name="placement", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()
        if code not in (0, None):
            print(f"placement exited {code}", file=sys.stderr)
            sys.exit(1)
    elif what == "csv":
        with open(args[0], newline="", encoding="utf-8") as fh:
            rows = sum(1 for _ in csv.reader(fh))
        print(rows)
    elif what == "pandas":
        import pandas as pd

        frame = pd.read_csv(args[0], dtype=str, keep_default_na=False)
        print(len(frame))
    print(json.dumps({"peak_rss_mib": round(_peak_mib(), 1)}))


def _run_measured(what: str, args: list[str]) -> dict:
    """``_child(what, args)`` in a fresh interpreter: its wall time (start-up included) and peak memory."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_bench", "--child", what, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{what} {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return {"seconds": round(elapsed, 2), **json.loads(done.stdout.strip().splitlines()[-1])}


def time_large_import(
    workdir,
    db_url: str | None = None,
    *,
    candidates: int = LARGE_CANDIDATES,
    preferences: int = LARGE_PREFERENCES,
    seed: int = 1,
) -> dict:
    """The large case of the module doc: 2,000,000 preference rows by default."""
    workdir = Path(workdir)
    folder = workdir / "scheme"
    generate_scheme(
        folder, candidates=candidates, seed=seed, preferences=preferences, targets=False, host_rankings_share=0.0
    )
    prefs = folder / "preferences.csv"
    with prefs.open("rb") as fh:
        n_rows = sum(1 for _ in fh) - 1
    db = db_url or f"sqlite:///{workdir / 'large.db'}"
    caps = ["--max-rows", str(n_rows + 1), "--max-bytes", str(max(100_000_000, 2 * prefs.stat().st_size))]
    steps = {
        "import_dir": _run_measured("placement", ["--db", db, "import", "dir", str(folder), *caps]),
        "preferences_again": _run_measured("placement", ["--db", db, "import", "preferences", str(prefs), *caps]),
        "csv_module_pass": _run_measured("csv", [str(prefs)]),
        "pandas_read_csv": _run_measured("pandas", [str(prefs)]),
    }
    first, pandas_step, floor = steps["import_dir"], steps["pandas_read_csv"], steps["csv_module_pass"]
    return {
        "preference_rows": n_rows,
        "candidates": candidates,
        "preferences_csv_bytes": prefs.stat().st_size,
        "database": db.split(":", 1)[0],
        **steps,
        "ratios": {
            "import_dir_time_to_pandas": round(first["seconds"] / pandas_step["seconds"], 2),
            "import_dir_time_to_csv_pass": round(first["seconds"] / floor["seconds"], 2),
            "import_dir_peak_to_pandas": round(first["peak_rss_mib"] / pandas_step["peak_rss_mib"], 2),
        },
        "target": {
            "peak_rss_mib_below": 1024,
            "met": max(first["peak_rss_mib"], steps["preferences_again"]["peak_rss_mib"]) < 1024,
        },
    }


def large_markdown(result: dict, command: str) -> str:
    """The large case as a Markdown table, with the command that produced it."""
    lines = [
        f"# Import of {result['preference_rows']:,} preference rows",
        "",
        f"`{command}` — {result['candidates']:,} candidates, preferences.csv "
        f"{result['preferences_csv_bytes'] / 1e6:.1f} MB, database {result['database']}. Each step in a fresh "
        "process; peak = its VmHWM; seconds include interpreter start-up.",
        "",
        "| step | seconds | peak RSS MiB |",
        "|---|---:|---:|",
    ]
    for step in ("import_dir", "preferences_again", "csv_module_pass", "pandas_read_csv"):
        lines.append(f"| {step} | {result[step]['seconds']:.2f} | {result[step]['peak_rss_mib']:,.0f} |")
    r = result["ratios"]
    lines += [
        "",
        f"Ratios: import dir / pandas.read_csv time {r['import_dir_time_to_pandas']}x, "
        f"/ csv pass time {r['import_dir_time_to_csv_pass']}x; peak / pandas peak "
        f"{r['import_dir_peak_to_pandas']}x. Target peak < 1,024 MiB: "
        f"{'met' if result['target']['met'] else 'MISSED'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="preference rows (default 100000)")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file); must be empty")
    parser.add_argument(
        "--candidates",
        type=int,
        default=20_000,
        help="candidates of the CSV-against-workbook comparison (default 20000: 200,000 choices)",
    )
    parser.add_argument("--workbook-only", action="store_true", help="run only the CSV-against-workbook comparison")
    parser.add_argument(
        "--large",
        action="store_true",
        help="run only the large case: 2,000,000 preference rows, peak memory (see the module doc)",
    )
    parser.add_argument(
        "--large-candidates",
        type=int,
        default=LARGE_CANDIDATES,
        help=f"with --large: candidates, each ranking {LARGE_PREFERENCES} hosts (default {LARGE_CANDIDATES})",
    )
    parser.add_argument("--markdown", default=None, metavar="PATH", help="with --large: also write a Markdown table")
    args = parser.parse_args()
    results = {}
    if args.large:
        with tempfile.TemporaryDirectory() as tmp:
            results["large"] = time_large_import(tmp, args.db, candidates=args.large_candidates)
        if args.markdown:
            command = "python -m benchmarks.import_bench " + " ".join(sys.argv[1:])
            Path(args.markdown).write_text(large_markdown(results["large"], command), encoding="utf-8")
        print(json.dumps(results, indent=2))
        return
    if not args.workbook_only:
        with tempfile.TemporaryDirectory() as tmp:
            results["csv"] = time_import(args.rows, tmp, args.db)
    with tempfile.TemporaryDirectory() as tmp:
        results["workbook"] = time_workbook_import(args.candidates, tmp)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
