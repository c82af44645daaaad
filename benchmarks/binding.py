"""Schemes whose targets bite: the generator's scheme plus two share targets set just above its optimum.

The generator's three target families (``placement.generate.TARGET_FAMILIES``)
rarely change the optimum by more than a few rank units: the network answer
nearly meets them. A coordinator who raises a share target past what the
candidates' own choices give makes the solver work. This module builds that
case from any generated scheme, the same way at every size:

1. generate the scheme (``generate_scheme``), import it into a fresh SQLite
   database and encode it (the encoder a round uses);
2. solve it with no targets at all (links and lower quotas kept): the
   *unconstrained optimum*;
3. read off, per region, the share of women and of minority ethnic
   candidates among those placed there, and set
   - a **hard** women-per-region target at the median region's share plus
     one percentage point (rounded up to a whole point): it binds in at least
     four of the seven regions;
   - a **soft** minority-ethnic-per-region target (weight 5) the same way;
4. write both beside the three sample families in ``targets.csv``.

A hard share target on sex is a quota under the Equality Act 2010, so the
scheme is solved with ``allow_quota`` (``placement solve --allow-quota``).
The chosen shares are returned so the benchmark report can state them.
"""

from __future__ import annotations

import csv
import math
import pickle
from pathlib import Path

import numpy as np

BINDING = "binding targets"
HARD_NAME = "women-per-region-binding"
SOFT_NAME = "minority-ethnic-per-region-binding"


def _encode(db: Path, csv_dir: Path):
    from placement.db.migrate import upgrade
    from placement.db.session import make_engine
    from placement.ingest import import_dir
    from placement.rounds import RoundOptions, prepare

    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    import_dir(engine, csv_dir)
    encoded, _, _ = prepare(engine, RoundOptions(allow_quota=True))
    engine.dispose()
    db.unlink(missing_ok=True)
    return encoded.problem


def region_shares(problem, chosen: np.ndarray, member: np.ndarray) -> dict[str, float]:
    """Per region scope of ``problem``'s women-per-region targets: share of ``member`` among those placed."""
    placed_host = np.full(problem.n_candidates, -1)
    placed_host[problem.pair_cand[chosen]] = problem.pair_host[chosen]
    out: dict[str, float] = {}
    for t in problem.targets:
        if t.name != "women-per-region":
            continue
        in_scope = np.isin(placed_host, t.scope_hosts) & (placed_host >= 0)
        n = int(in_scope.sum())
        out[t.scope] = float((in_scope & member).sum()) / n if n else 0.0
    return out


def binding_share(shares: dict[str, float]) -> float:
    """The median region's share plus one point, rounded up to a whole point."""
    med = float(np.median(list(shares.values())))
    return math.ceil(100 * med + 1e-9) / 100 + 0.01


def make_binding(n: int, seed: int, workdir: Path) -> tuple[Path, dict]:
    """Write the binding-target scheme of ``n`` candidates; returns its CSV folder and what was set."""
    import dataclasses

    from placement.generate import generate_scheme
    from placement.solver import solve
    from placement.solver.problem import Options

    out = workdir / f"scheme-{n}-binding"
    info_path = out / "binding.pkl"
    if info_path.exists():
        with info_path.open("rb") as fh:
            return out, pickle.load(fh)
    generate_scheme(out, candidates=n, seed=seed, preferences=10, targets=True)
    problem = _encode(workdir / f"binding-{n}-prep.db", out)
    free = solve(dataclasses.replace(problem, targets=()), Options(tie_break="none", time_limit=120))
    women = next(t.member for t in problem.targets if t.name == "women-per-region")
    minority = next(t.member for t in problem.targets if t.name == "minority-ethnic-cohort")
    women_shares = region_shares(problem, free.chosen, women)
    minority_shares = region_shares(problem, free.chosen, minority)
    hard, soft = binding_share(women_shares), binding_share(minority_shares)
    with (out / "targets.csv").open("a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([HARD_NAME, "region=*", "sex", "female", f"{hard:.2f}", "", "hard", ""])
        w.writerow([SOFT_NAME, "region=*", "minority_ethnic", "yes", f"{soft:.2f}", "", "soft", "5"])
    info = {
        "women_share_hard": hard,
        "minority_share_soft": soft,
        "binds_in": sum(s < hard for s in women_shares.values()),
        "soft_short_in": sum(s < soft for s in minority_shares.values()),
        "unconstrained_placed": free.placed,
        "women_shares": women_shares,
        "minority_shares": minority_shares,
    }
    with info_path.open("wb") as fh:
        pickle.dump(info, fh)
    return out, info


def binding_problem(n: int, seed: int, workdir: Path):
    """The encoded Problem of the binding-target scheme (cached beside its CSVs)."""
    csv_dir, info = make_binding(n, seed, workdir)
    path = csv_dir / "problem.pkl"
    if path.exists():
        with path.open("rb") as fh:
            return pickle.load(fh), info
    problem = _encode(workdir / f"binding-{n}.db", csv_dir)
    with path.open("wb") as fh:
        pickle.dump(problem, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return problem, info


if __name__ == "__main__":
    import sys

    for size in [int(s) for s in sys.argv[1].split(",")]:
        p, inf = binding_problem(size, 2024, Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/i11"))
        print(size, p.n_pairs, {k: v for k, v in inf.items() if "shares" not in k})
