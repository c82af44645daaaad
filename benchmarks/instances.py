"""Array-level placement problems for tests and for timing the solver alone.

The end-to-end benchmark goes through the real generator (``placement.generate``),
importer and encoder; these build :class:`~placement.solver.problem.Problem`
directly, so the reference solvers and the solver can be exercised while those
are being written, and on shapes the generator may not produce (tiny
instances for brute force, links, required pairs, lower quotas).
tests/test_references.py uses them.

tests/helpers/strategies.py has two more builders that look like these but are
different generators, and stay separate. ``realistic_problem`` (the solver
tests' scheme) draws a lognormal appeal per host, drops preferences that fail
eligibility (specialism, relocation, minimum score), makes women and career
changers rank some regions and org types less so that the targets bite, and
uses the brief's three target families, soft but one; :func:`synthetic_problem`
draws a Pareto popularity, keeps every preference, and has hard targets by
default. ``problems`` is a hypothesis strategy (shrinkable); :func:`tiny_problem`
a seeded numpy draw for brute force. Tests pin seeds and sizes whose
instances they were written against, so one generator for both would change
them all. What the builders share - turning preference lists into pair
arrays, the region count - lives here, and tests/helpers/strategies.py imports it
(benchmarks never import from tests/: they run without the test extras).

Shape of :func:`synthetic_problem` follows ../shared/spec/model.md's reference runs: 7
regions, hosts of 1–6 places (about 0.4 hosts per candidate, so places exceed
candidates), 10 preferences each with popularity skew (some hosts are asked
for far more than they can take), candidates mostly willing to relocate, and
the three target families: women per region, minority ethnic groups in the
cohort, disabled candidates per region.
"""

from __future__ import annotations

import numpy as np

from placement.domain import REGIONS
from placement.solver.problem import Problem, Target

N_REGIONS = len(REGIONS)  # the seven NHS England regions


def pairs_from_lists(prefs: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pair_cand, pair_host, pair_rank) from each candidate's hosts in order of preference, 1 = first."""
    cand, host, rank = [], [], []
    for c, hs in enumerate(prefs):
        for r, h in enumerate(hs, start=1):
            cand.append(c)
            host.append(h)
            rank.append(r)
    return (np.array(cand, np.int32), np.array(host, np.int32), np.array(rank, np.int32))


def tiny_problem(
    seed: int,
    *,
    n_candidates: int = 5,
    n_hosts: int = 3,
    max_prefs: int = 2,
    targets: bool = False,
    links: bool = False,
    required: bool = False,
    min_placements: bool = False,
    host_ties: bool = True,
) -> Problem:
    """A random instance small enough to enumerate (brute force)."""
    rng = np.random.default_rng(seed)
    prefs = []
    for _ in range(n_candidates):
        k = int(rng.integers(0, max_prefs + 1))
        prefs.append(rng.permutation(n_hosts)[:k].tolist())
    pc, ph, pr = pairs_from_lists(prefs)
    score = rng.integers(0, 3 if host_ties else 10_000, n_candidates)
    host_rank = (score.max() - score)[pc].astype(np.int32)
    capacity = rng.integers(0, 3, n_hosts).astype(np.int32)
    mins = (
        (rng.integers(0, 2, n_hosts) * (capacity > 0)).astype(np.int32)
        if min_placements
        else np.zeros(n_hosts, np.int32)
    )
    region = rng.integers(0, 2, n_hosts).astype(np.int32)
    req = np.zeros(0, np.int32)
    placeable = np.flatnonzero(capacity[ph] > 0)
    if required and placeable.size:
        req = np.array([int(rng.choice(placeable))], np.int32)
    link_arr = np.zeros((0, 2), np.int32)
    if links and n_candidates >= 2:
        a, b = rng.choice(n_candidates, 2, replace=False)
        link_arr = np.array([[a, b]], np.int32)
    tgts: list[Target] = []
    if targets:
        female = rng.random(n_candidates) < 0.5
        tgts.append(
            Target(
                name="women",
                scope="cohort",
                scope_hosts=np.arange(n_hosts, dtype=np.int32),
                member=female,
                min_share=float(rng.choice([0.3, 0.4, 0.5])),
                max_share=None,
                hard=bool(rng.random() < 0.5),
                weight=float(rng.choice([1.0, 2.5, 7.0])),
                attribute="sex",
                value="female",
            )
        )
        other = rng.random(n_candidates) < 0.4
        tgts.append(
            Target(
                name="group-cap",
                scope="region=0",
                scope_hosts=np.flatnonzero(region == 0).astype(np.int32),
                member=other,
                min_share=None if rng.random() < 0.5 else 0.25,
                max_share=0.5,
                hard=bool(rng.random() < 0.5),
                weight=float(rng.choice([1.0, 3.0])),
                attribute="ethnic_group",
                value="asian",
            )
        )
    return Problem(
        n_candidates=n_candidates,
        n_hosts=n_hosts,
        pair_cand=pc,
        pair_host=ph,
        pair_rank=pr,
        pair_host_rank=host_rank,
        capacity=capacity,
        min_placements=mins,
        host_region=region,
        required=req,
        links=link_arr,
        targets=tuple(tgts),
    )


def synthetic_problem(
    n_candidates: int,
    seed: int = 0,
    *,
    preferences: int = 10,
    targets: bool = True,
    hard_targets: bool = True,
    women_min_share: float = 0.41,
) -> Problem:
    """A realistic-shaped instance straight as arrays (no database).

    Hosts rank candidates by an assessment score with ties (whole points),
    as hosts without their own ranking do.
    """
    rng = np.random.default_rng(seed)
    n_hosts = max(N_REGIONS, int(round(0.4 * n_candidates)))
    host_region = rng.integers(0, N_REGIONS, n_hosts).astype(np.int32)
    capacity = rng.integers(1, 7, n_hosts).astype(np.int32)
    # Popularity skew: a few hosts (big teaching trusts, London) are asked for far more.
    popularity = rng.pareto(1.2, n_hosts) + 0.05
    popularity[host_region == 0] *= 2.0
    home = rng.integers(0, N_REGIONS, n_candidates)
    relocate = rng.random(n_candidates) < 0.7
    region_hosts = [np.flatnonzero(host_region == r) for r in range(N_REGIONS)]
    prefs = []
    for c in range(n_candidates):
        pool = np.arange(n_hosts) if relocate[c] else region_hosts[home[c]]
        k = min(preferences, pool.size)
        w = popularity[pool] / popularity[pool].sum()
        prefs.append(rng.choice(pool, size=k, replace=False, p=w).tolist())
    pc, ph, pr = pairs_from_lists(prefs)
    score = np.clip(np.round(rng.normal(62, 12, n_candidates)), 0, 100).astype(np.int32)
    host_rank = (100 - score)[pc].astype(np.int32)
    tgts: list[Target] = []
    if targets:
        female = rng.random(n_candidates) < 0.45
        minority = rng.random(n_candidates) < 0.3
        disabled = rng.random(n_candidates) < 0.12
        all_hosts = np.arange(n_hosts, dtype=np.int32)
        for r in range(N_REGIONS):
            tgts.append(
                Target(
                    name="women-per-region",
                    scope=f"region={r}",
                    scope_hosts=region_hosts[r].astype(np.int32),
                    member=female,
                    min_share=women_min_share,
                    max_share=None,
                    hard=hard_targets,
                    attribute="sex",
                    value="female",
                )
            )
        tgts.append(
            Target(
                name="minority-ethnic-cohort",
                scope="cohort",
                scope_hosts=all_hosts,
                member=minority,
                min_share=0.25,
                max_share=None,
                hard=hard_targets,
                attribute="minority_ethnic",
                value="yes",
            )
        )
        for r in range(N_REGIONS):
            tgts.append(
                Target(
                    name="disabled-per-region",
                    scope=f"region={r}",
                    scope_hosts=region_hosts[r].astype(np.int32),
                    member=disabled,
                    min_share=0.08,
                    max_share=None,
                    hard=False,
                    weight=5.0,
                    attribute="disability",
                    value="yes",
                )
            )
    return Problem(
        n_candidates=n_candidates,
        n_hosts=n_hosts,
        pair_cand=pc,
        pair_host=ph,
        pair_rank=pr,
        pair_host_rank=host_rank,
        capacity=capacity,
        min_placements=np.zeros(n_hosts, np.int32),
        host_region=host_region,
        targets=tuple(tgts),
        region_labels=tuple(f"region {r}" for r in range(N_REGIONS)),
    )
