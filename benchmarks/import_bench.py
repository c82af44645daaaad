"""How long importing a large scheme takes: ~100,000 preference rows into a fresh SQLite database.

    python -m benchmarks.import_bench                    # 100,000 preference rows, 10,000 candidates
    python -m benchmarks.import_bench --rows 20000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

The scheme comes from ``placement.generate`` (the same synthetic schemes as
``placement fixtures generate``), each candidate ranking
``PREFERENCES_PER_CANDIDATE`` hosts, so 100,000 rows is a 10,000-candidate
scheme. Timings are wall-clock seconds per step: the candidates, hosts and
preferences files imported one by one, a re-import of the same preferences
(a no-op), and a changed preferences file (every candidate's order reversed:
an upsert touching every row).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.generate import generate_scheme
from placement.ingest import import_file

PREFERENCES_PER_CANDIDATE = 10


def generate(workdir: Path, n_preference_rows: int, seed: int = 1) -> dict[str, Path]:
    """Write candidates.csv, hosts.csv, preferences.csv and preferences_changed.csv (each order reversed)."""
    n_candidates = max(1, n_preference_rows // PREFERENCES_PER_CANDIDATE)
    generate_scheme(workdir, candidates=n_candidates, seed=seed, preferences=PREFERENCES_PER_CANDIDATE,
                    targets=False, host_rankings_share=0.0)
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
        for step, kind, path in (("candidates", "candidates", paths["candidates"]),
                                 ("hosts", "hosts", paths["hosts"]),
                                 ("preferences", "preferences", paths["preferences"]),
                                 ("preferences_again", "preferences", paths["preferences"]),
                                 ("preferences_changed", "preferences", paths["preferences_changed"])):
            start = time.perf_counter()
            report = import_file(engine, kind, path)
            elapsed = time.perf_counter() - start
            timings[f"{step}_s"] = round(elapsed, 3)
            timings[f"{step}_report"] = {k: getattr(report, k) for k in
                                         ("rows", "added", "updated", "unchanged", "removed", "skipped_same_file")}
            if step in ("candidates", "hosts", "preferences"):
                total += elapsed
        timings["first_import_total_s"] = round(total, 3)
        timings["candidates"] = timings["candidates_report"]["rows"]
    finally:
        engine.dispose()
    timings["generate_s"] = round(timings["generate_s"], 3)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="preference rows (default 100000)")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file); must be empty")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(time_import(args.rows, tmp, args.db), indent=2))


if __name__ == "__main__":
    main()
