"""A bounded load test of the web console: concurrent signed-in sessions against 127.0.0.1, a solve running.

    python -m benchmarks.web_load                          # 20,000 candidates, 20 sessions x 60 s
    python -m benchmarks.web_load --candidates 2000 --sessions 5 --seconds 15    # a short run

The goal (issue 16): at 20,000 candidates every page answers within 300 ms at
the 95th percentile on this machine while a solve runs in the background.

Steps: a seeded scheme from ``placement.generate`` imported into a fresh
SQLite database, round 1 solved and approved, one coordinator account; then
`placement serve` (a subprocess, on 127.0.0.1 and a free port only), each
session signs in and walks the pages in turn for ``--seconds`` (bounded: it
stops by itself, and at ``--max-requests`` per session): the season, the
rounds, a random page of round 1 by candidate, by host and the unplaced
(sorted and filtered too), a random page of the offers, a random candidate,
a random host's page in round 1, the audit log. At the start one session starts a solve through the solve page
(strict stability, a time limit of ``--solve-seconds``): it runs in its own
process during the measurement (when it ends, and stores a round, the data
has changed and the caches refill: the report says when). Before the clock
starts one session opens each kind of page once (reported apart as
``first``: what the first visitor after a change waits, as the per-process
cache fills). Each page's latencies are reported (p50, p95, max); any answer
other than 200 is counted as an error.

Writes ``benchmarks/results/web-load-<N>.md`` and ``.json``; exits 1 when a
request failed, 0 otherwise (a missed goal is reported, not an error).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

GOAL_MS = 300.0
WALK = 10  # kinds of page in a session's walk
RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "load test passphrase"


def prepare(workdir: Path, candidates: int, seed: int) -> tuple[str, list[str], list[str], int]:
    """The database: scheme imported, round 1 solved and approved, one coordinator. Returns (url, candidate ids,
    host ids, pages)."""
    from sqlalchemy import select

    from placement.accounts import add_user
    from placement.approval import approve_round
    from placement.db.migrate import upgrade
    from placement.db.models import Candidate, Host
    from placement.db.session import make_engine, transaction
    from placement.generate import generate_scheme
    from placement.ingest import import_dir
    from placement.rounds import RoundOptions, solve_round

    url = f"sqlite:///{workdir / 'load.db'}"
    engine = make_engine(url)
    upgrade(engine)
    generate_scheme(workdir / "scheme", candidates=candidates, seed=seed, targets=False)
    import_dir(engine, workdir / "scheme")
    result = solve_round(engine, RoundOptions(time_limit=120))
    approve_round(engine, 1, "Load Test")
    add_user(engine, "load", "coordinator", PASSWORD, full_name="Load Test")
    with transaction(engine) as s:
        ids = list(s.scalars(select(Candidate.candidate_id)))
        hosts = list(s.scalars(select(Host.host_id)))
    engine.dispose()
    return url, ids, hosts, max(result.placed // 50, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Session:
    """One signed-in person walking the pages."""

    def __init__(self, base: str, ids: list[str], hosts: list[str], pages: int, seed: int):
        import httpx

        self.client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.ids, self.hosts, self.pages, self.rng = ids, hosts, pages, random.Random(seed)
        form = self.client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        answer = self.client.post("/login", data={"username": "load", "password": PASSWORD, "csrf_token": token})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in failed: {answer.status_code}")

    def next_page(self, i: int) -> tuple[str, str]:
        r = self.rng
        walk = [
            ("season", "/"),
            ("rounds", "/rounds"),
            ("round by candidate", f"/rounds/1?page={r.randint(1, self.pages)}"),
            ("round by host", "/rounds/1?by=host&sort=empty&dir=desc"),
            ("round unplaced", f"/rounds/1?by=unplaced&page={r.randint(1, 3)}"),
            ("round sorted+filtered", f"/rounds/1?sort=name&dir=desc&q={r.choice('aeiou')}"),
            ("offers", f"/offers?page={r.randint(1, self.pages)}"),
            ("candidate", f"/candidates/{r.choice(self.ids)}"),
            ("host", f"/hosts/{r.choice(self.hosts)}?round=1"),
            ("audit log", "/log"),
        ]
        assert len(walk) == WALK
        return walk[i % len(walk)]

    def csrf(self) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.client.get("/").text).group(1)  # type: ignore[union-attr]


def run(
    base: str,
    ids: list[str],
    hosts: list[str],
    pages: int,
    sessions: int,
    seconds: float,
    max_requests: int,
    solve_seconds: float | None,
) -> dict[str, Any]:
    people = [Session(base, ids, hosts, pages, seed=i) for i in range(sessions)]
    job = ""
    if solve_seconds:  # a solve in the background during the measurement
        started = people[0].client.post(
            "/solve",
            data={
                "csrf_token": people[0].csrf(),
                "objective": "rank-sum",
                "stability": "strict",
                "decline_policy": "host",
                "engine": "auto",
                "time_limit": str(solve_seconds),
            },
        )
        job = started.headers.get("location", "").split("?")[0]
    timings: dict[str, list[float]] = {}
    first: dict[str, float] = {}
    errors: list[str] = []
    lock = threading.Lock()
    # Warm-up, untimed in the figures: one session opens each kind of page once (the per-process cache is
    # filled on first use; what the first visitor after a change waits is reported as "first").
    for i in range(WALK):
        kind, path = people[0].next_page(i)
        t0 = time.perf_counter()
        status = people[0].client.get(path).status_code
        first[kind] = (time.perf_counter() - t0) * 1000
        if status != 200:
            errors.append(f"{path}: HTTP {status} (warm-up)")
    start = time.monotonic()
    stop_at = start + seconds
    solve_ended: list[float] = []

    def watch_solve() -> None:  # when the background solve ends (a new round changes the data: caches refill)
        watcher = people[-1]
        while time.monotonic() < stop_at and job:
            if "<h1>Solve: running" not in watcher.client.get(job).text:
                solve_ended.append(time.monotonic() - start)
                return
            time.sleep(2)

    def walk(n: int, person: Session) -> None:
        i = n  # sessions start at different pages
        done = 0
        while time.monotonic() < stop_at and done < max_requests:
            kind, path = person.next_page(i)
            t0 = time.perf_counter()
            try:
                status = person.client.get(path).status_code
            except Exception as exc:  # noqa: BLE001 - counted, not raised
                status = -1
                with lock:
                    errors.append(f"{path}: {exc}")
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if status != 200:
                    errors.append(f"{path}: HTTP {status}")
                else:
                    timings.setdefault(kind, []).append(ms)
            i += 1
            done += 1

    threads = [threading.Thread(target=walk, args=(n, p)) for n, p in enumerate(people)]
    threads.append(threading.Thread(target=watch_solve))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    solve_state = re.search(r"<h1>Solve: (\w+)", people[0].client.get(job).text) if job else None
    everything = [ms for values in timings.values() for ms in values]
    return {
        "sessions": sessions,
        "seconds": round(wall, 1),
        "requests": len(everything) + len(first),
        "errors": errors[:20],
        "error_count": len(errors),
        "solve_during": (solve_state.group(1) if solve_state else "not started")
        + " at the end"
        + (f", it ended {solve_ended[0]:.0f} s into the measurement" if solve_ended else ", running throughout"),
        "pages": {
            k: {
                "n": len(v),
                "p50_ms": round(statistics.median(v), 1),
                "p95_ms": round(percentile(v, 0.95), 1),
                "max_ms": round(max(v), 1),
                "first_ms": round(first.get(k, float("nan")), 1),
            }
            for k, v in sorted(timings.items())
        },
        "all_p95_ms": round(percentile(everything, 0.95), 1),
    }


def markdown(r: dict[str, Any]) -> str:
    worst = max((p["p95_ms"] for p in r["pages"].values()), default=float("nan"))
    lines = [
        f"# Web console under load: {r['candidates']:,} candidates",
        "",
        f"`python -m benchmarks.web_load --candidates {r['candidates']} --sessions {r['sessions']} "
        f"--seconds {r['target_seconds']:g} --workers {r['workers']}{'' if r['solve'] else ' --no-solve'}` on {r['machine'].get('cpu', '?')} "
        f"({r['machine'].get('cores', '?')} cores), load average before {r['load_before']}, after {r['load_after']}.",
        "",
        f"{r['sessions']} signed-in sessions for {r['seconds']} s against 127.0.0.1 ({r['workers']} uvicorn "
        f"worker(s), SQLite), {'a strict-stability solve running in the background (' + r['solve_during'] + ')' if r['solve'] else 'no solve running'}: "
        f"{r['requests']:,} requests, {r['error_count']} errors.",
        "",
        "| page | requests | p50 ms | p95 ms | max ms | first (cold cache) ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {k} | {p['n']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} | {p['first_ms']} |"
        for k, p in r["pages"].items()
    ]
    verdict = "met" if worst <= GOAL_MS else "NOT met"
    lines += [
        "",
        f"All pages p95: {r['all_p95_ms']} ms; worst page p95 {worst} ms: the goal of "
        f"{GOAL_MS:g} ms per page at the 95th percentile is **{verdict}**.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=5000, help="per session")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--solve-seconds", type=float, default=300.0)
    parser.add_argument("--no-solve", action="store_true", help="no solve in the background (the steady state)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--outdir", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only (the CI's short run)")
    args = parser.parse_args(argv)
    from tests.helpers.web import Served

    from .report import machine_info

    with tempfile.TemporaryDirectory(prefix="web-load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        url, ids, hosts, pages = prepare(workdir, args.candidates, args.seed)
        prepared = time.monotonic() - t0
        load_before = round(os.getloadavg()[0], 1)
        with Served(url, workers=args.workers, timeout=120) as served:
            result = run(
                served.url,
                ids,
                hosts,
                pages,
                args.sessions,
                args.seconds,
                args.max_requests,
                None if args.no_solve else args.solve_seconds,
            )
        load_after = round(os.getloadavg()[0], 1)
    result.update(
        solve=not args.no_solve,
        candidates=args.candidates,
        target_seconds=args.seconds,
        workers=args.workers,
        prepare_seconds=round(prepared, 1),
        load_before=load_before,
        load_after=load_after,
        machine=machine_info(),
    )
    text = markdown(result)
    print(text)
    if not args.no_write:
        args.outdir.mkdir(parents=True, exist_ok=True)
        stem = args.outdir / f"web-load-{args.candidates}{'-no-solve' if args.no_solve else ''}-{args.workers}w"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        stem.with_suffix(".md").write_text(text, encoding="utf-8")
    return 1 if result["error_count"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
