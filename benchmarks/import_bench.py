"""How long importing a large scheme takes: ~100,000 preference rows into a fresh SQLite database.

    python -m benchmarks.import_bench                    # 100,000 preference rows, 10,000 candidates
    python -m benchmarks.import_bench --rows 20000 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

Each candidate ranks ``PREFERENCES_PER_CANDIDATE`` hosts, so 100,000 rows is
a 10,000-candidate scheme. Timings are wall-clock seconds per step: the
candidates, hosts and preferences files imported one by one, a re-import of
the same preferences (a no-op), and a changed preferences file (every
candidate's ranks shuffled: an upsert touching every row).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from pathlib import Path

from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.domain import ETHNIC_GROUP_OF_CODE, ORG_TYPES, REGIONS, SPECIALISMS
from placement.ingest import import_file

PREFERENCES_PER_CANDIDATE = 10


def generate(workdir: Path, n_preference_rows: int, seed: int = 1) -> dict[str, Path]:
    """Write candidates.csv, hosts.csv, preferences.csv and a reshuffled preferences_changed.csv."""
    rng = random.Random(seed)
    n_candidates = max(1, n_preference_rows // PREFERENCES_PER_CANDIDATE)
    n_hosts = max(PREFERENCES_PER_CANDIDATE, n_candidates // 20)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {name: workdir / f"{name}.csv" for name in ("candidates", "hosts", "preferences", "preferences_changed")}
    codes = list(ETHNIC_GROUP_OF_CODE)

    def specialisms() -> str:
        return ";".join(sorted(rng.sample(SPECIALISMS, rng.randint(1, 3))))

    with paths["candidates"].open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["candidate_id", "given_name", "family_name", "email", "assessment_score", "specialisms",
                      "home_region", "willing_to_relocate", "sex", "ethnic_category", "disability",
                      "career_changer", "linked_with"])
        for i in range(n_candidates):
            out.writerow([f"C{i:06d}", f"Given{i}", f"Family{i}", f"c{i}@example.org", round(rng.uniform(40, 100), 1),
                          specialisms(), rng.choice(REGIONS), rng.choice(["yes", "no"]),
                          rng.choice(["female", "male", "not_stated", ""]), rng.choice(codes),
                          rng.choice(["yes", "no", "not_known"]), rng.choice(["yes", "no", ""]), ""])
    with paths["hosts"].open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["host_id", "name", "org_type", "region", "capacity", "specialisms", "min_score",
                      "min_placements"])
        for j in range(n_hosts):
            out.writerow([f"H{j:05d}", f"Host Trust {j}", rng.choice(ORG_TYPES), rng.choice(REGIONS),
                          rng.randint(10, 40), specialisms(), rng.choice(["", "50", "60"]), rng.choice(["", "0", "1"])])
    hosts = [f"H{j:05d}" for j in range(n_hosts)]
    choices = {i: rng.sample(hosts, PREFERENCES_PER_CANDIDATE) for i in range(n_candidates)}
    for name, shuffle in (("preferences", False), ("preferences_changed", True)):
        with paths[name].open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["candidate_id", "host_id", "rank"])
            for i, ranked in choices.items():
                ranked = rng.sample(ranked, len(ranked)) if shuffle else ranked
                for rank, host in enumerate(ranked, start=1):
                    out.writerow([f"C{i:06d}", host, rank])
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
