"""Problems for solver tests: hypothesis strategies for small ones, a builder for realistic ones.

``problems(...)`` draws small random :class:`Problem` s whose features are
switched on by keyword (targets, links, required and fixed pairs, lower
quotas), so each test asks for exactly the side constraints it is about and
the stability tests can reuse the same strategy::

    @given(problems(max_candidates=6, max_hosts=3, targets=True, links=True))

``realistic_problem(n)`` builds a scheme-shaped instance directly as arrays
(7 regions, hosts of 1-6 places, 10 preferences per candidate with a
popularity skew, sex / minority ethnic / career changer attributes and the
three target families of ../shared/spec/model.md), seeded, for tests and timing runs that
must not depend on the CSV generator.

benchmarks/instances.py has the reference-solver checks' builders
(``tiny_problem``, ``synthetic_problem``). They are different generators on
purpose, not copies of these - its docstring says how and why - so each
test's seeds keep the instances they were written against; the pieces all
builders share (preference lists to pair arrays, the region count) are
imported from there.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from benchmarks.instances import N_REGIONS, pairs_from_lists
from placement.domain import ORG_TYPES, REGIONS
from placement.solver.problem import Problem, Target

# --------------------------------------------------------------------------- small random problems


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    max_candidates: int = 6,
    max_hosts: int = 3,
    max_capacity: int = 3,
    max_rank: int = 4,
    targets: bool = False,
    hard_targets: bool | None = None,
    links: bool = False,
    required: bool = False,
    fixed: bool = False,
    min_placements: bool = False,
    host_ties: bool = True,
    min_candidates: int = 1,
    min_hosts: int = 1,
) -> Problem:
    """A small random problem; each keyword switches one family of side constraints on.

    ``hard_targets``: None draws hard or soft per target, True/False forces it.
    Required and fixed pairs are drawn among eligible pairs with distinct
    candidates, so they may still clash on a host's capacity or with a link:
    infeasible draws are part of the point.
    """
    n_c = draw(st.integers(min_candidates, max_candidates))
    n_h = draw(st.integers(min_hosts, max_hosts))
    n_regions = draw(st.integers(1, min(3, n_h)))
    host_region = np.array([draw(st.integers(0, n_regions - 1)) for _ in range(n_h)], np.int32)
    capacity = np.array([draw(st.integers(0, max_capacity)) for _ in range(n_h)], np.int32)

    prefs = [draw(st.lists(st.integers(0, n_h - 1), unique=True, max_size=min(n_h, max_rank))) for _ in range(n_c)]
    pair_cand, pair_host, pair_rank = pairs_from_lists(prefs)
    cand = pair_cand.tolist()
    n_p = len(cand)
    max_host_rank = 3 if host_ties else 10_000
    if host_ties:
        host_rank = [draw(st.integers(1, max_host_rank)) for _ in range(n_p)]
    else:
        # A strict order per host: a permutation of the candidates, shared by all hosts.
        order = draw(st.permutations(range(n_c)))
        host_rank = [order[c] + 1 for c in cand]

    mins = np.zeros(n_h, np.int32)
    if min_placements:
        mins = np.array([draw(st.integers(0, max(0, int(cap)))) for cap in capacity], np.int32)

    pair_ids = list(range(n_p))
    by_cand: dict[int, list[int]] = {}
    for p in pair_ids:
        by_cand.setdefault(cand[p], []).append(p)

    def draw_pairs(enabled: bool, exclude: set[int]) -> np.ndarray:
        if not enabled or not by_cand:
            return np.zeros(0, np.int32)
        chosen_c = (
            draw(st.lists(st.sampled_from(sorted(set(by_cand) - exclude)), unique=True, max_size=2))
            if set(by_cand) - exclude
            else []
        )
        return np.array(sorted(draw(st.sampled_from(by_cand[c])) for c in chosen_c), np.int32)

    req = draw_pairs(required, set())
    fix = draw_pairs(fixed, {cand[p] for p in req.tolist()})

    link_arr = np.zeros((0, 2), np.int32)
    if links and n_c >= 2:
        raw = draw(st.lists(st.tuples(st.integers(0, n_c - 1), st.integers(0, n_c - 1)), max_size=2))
        used: set[int] = set()
        ls = []
        for a, b in raw:
            # A candidate is linked with at most one other (linked_with is one column).
            if a != b and a not in used and b not in used:
                ls.append((a, b))
                used.update((a, b))
        if ls:
            link_arr = np.array(ls, np.int32)

    tgts: list[Target] = []
    if targets:
        member = np.array([draw(st.booleans()) for _ in range(n_c)], bool)
        n_t = draw(st.integers(1, 2))
        for i in range(n_t):
            kind = draw(st.sampled_from(["cohort", "region", "host"]))
            if kind == "cohort":
                scope_hosts, scope = np.arange(n_h, dtype=np.int32), "cohort"
            elif kind == "region":
                r = draw(st.integers(0, n_regions - 1))
                scope_hosts, scope = np.flatnonzero(host_region == r).astype(np.int32), f"region={r}"
            else:
                h = draw(st.integers(0, n_h - 1))
                scope_hosts, scope = np.array([h], np.int32), f"host={h}"
            lo = draw(st.one_of(st.none(), st.sampled_from([0.2, 0.25, 0.35, 0.4, 0.5, Fraction(2, 3)])))
            hi = draw(st.one_of(st.none(), st.sampled_from([0.5, 0.6, 0.75, 1.0])))
            if lo is None and hi is None:
                lo = 0.35
            hard = draw(st.booleans()) if hard_targets is None else hard_targets
            weight = 0.0 if hard else draw(st.sampled_from([1.0, 2.5, 7.0, 30.0]))
            tgts.append(
                Target(
                    name=f"t{i}",
                    scope=scope,
                    scope_hosts=scope_hosts,
                    member=member if i == 0 else ~member,
                    min_share=lo,
                    max_share=hi,
                    hard=hard,
                    weight=weight,
                    attribute="sex",
                    value="female",
                )
            )

    return Problem(
        n_candidates=n_c,
        n_hosts=n_h,
        pair_cand=pair_cand,
        pair_host=pair_host,
        pair_rank=pair_rank,
        pair_host_rank=np.array(host_rank, np.int32),
        capacity=capacity,
        min_placements=mins,
        host_region=host_region,
        required=req,
        fixed=fix,
        links=link_arr,
        targets=tuple(tgts),
    )


# --------------------------------------------------------------------------- realistic instances


def realistic_problem(
    n_candidates: int,
    *,
    seed: int = 0,
    targets: str | None = "three",
    women_hard_min: float | None = None,
    n_links: int = 0,
    n_required: int = 0,
    min_placements: bool = False,
    prefs: int = 10,
) -> Problem:
    """A scheme-shaped problem built directly as arrays.

    Shape (../shared/spec/model.md's reference runs): about 0.4 hosts per candidate with 1-6
    places each, 7 regions of unequal size, 10 preferences per candidate drawn
    with a popularity skew (a lognormal appeal per host, home region favoured),
    eligibility by specialism overlap, relocation and minimum score (about 70 %
    of preferences survive). Attributes are correlated with preferences the way
    that makes targets bite: women and career changers rank some regions and
    organisation types less often.

    ``targets``: ``"three"`` - the three families of the brief (women per region
    soft min 0.40 weight 5; minority ethnic across the cohort soft min 0.25
    weight 5; career changers per organisation type hard min 0.15);
    ``None`` - no targets. ``women_hard_min`` adds a hard "at least this share
    of women in each region" family (../shared/spec/model.md's binding case uses 0.41).
    """
    rng = np.random.default_rng(seed)
    n_c = n_candidates
    n_h = max(N_REGIONS, int(round(0.402 * n_c)))
    region_weight = np.array([0.22, 0.18, 0.12, 0.17, 0.11, 0.12, 0.08])
    host_region = rng.choice(N_REGIONS, size=n_h, p=region_weight).astype(np.int32)
    host_org = rng.choice(len(ORG_TYPES), size=n_h, p=[0.40, 0.15, 0.12, 0.06, 0.15, 0.04, 0.08]).astype(np.int32)
    capacity = rng.integers(1, 7, size=n_h).astype(np.int32)
    appeal = rng.lognormal(0.0, 1.0, size=n_h)
    host_spec = rng.choice(
        [1, 2, 4, 3, 5, 6, 7], size=n_h, p=[0.15, 0.15, 0.1, 0.2, 0.1, 0.15, 0.15]
    )  # bitmask over data/digital/technology
    host_min_score = np.where(rng.random(n_h) < 0.25, rng.uniform(35, 60, size=n_h), 0.0)

    home = rng.choice(N_REGIONS, size=n_c, p=region_weight).astype(np.int32)
    willing = rng.random(n_c) < 0.8
    cand_spec = rng.integers(1, 8, size=n_c)
    score = np.round(rng.normal(65, 12, size=n_c).clip(0, 100), 1)
    female = rng.random(n_c) < 0.48
    minority = rng.random(n_c) < 0.28
    changer = rng.random(n_c) < 0.22

    # Preference skew by group: women rank the two northern regions less,
    # career changers rank ambulance and acute trusts less.
    region_pull_f = np.ones(N_REGIONS)
    region_pull_f[[5, 6]] = 0.45
    org_pull_cc = np.ones(len(ORG_TYPES))
    org_pull_cc[0] = 0.6
    org_pull_cc[3] = 0.3

    ranked: list[list[int]] = []  # each candidate's eligible hosts, best first
    for c in range(n_c):
        w = appeal * np.where(host_region == home[c], 3.0, 1.0)
        if female[c]:
            w = w * region_pull_f[host_region]
        if changer[c]:
            w = w * org_pull_cc[host_org]
        k = min(prefs, n_h)
        # Weighted sampling without replacement (Gumbel top-k), fast and seeded.
        keys = np.log(w) + rng.gumbel(size=n_h)
        hs = np.argpartition(-keys, k - 1)[:k]
        hs = hs[np.argsort(-keys[hs])]
        ok = (
            ((cand_spec[c] & host_spec[hs]) != 0)
            & (score[c] >= host_min_score[hs])
            & (willing[c] | (host_region[hs] == home[c]))
        )
        ranked.append(hs[ok].tolist())
    pair_cand, pair_host, pair_rank = pairs_from_lists(ranked)
    # Hosts rank by assessment score, higher first, equal scores tied (dense rank).
    _, dense = np.unique(-score, return_inverse=True)
    pair_host_rank = (dense[pair_cand] + 1).astype(np.int32)

    mins = np.zeros(n_h, np.int32)
    if min_placements:
        mins = np.where(rng.random(n_h) < 0.2, np.minimum(capacity, 2), 0).astype(np.int32)

    required = np.zeros(0, np.int32)
    if n_required:
        firsts = np.flatnonzero(pair_rank == 1)
        required = np.sort(rng.choice(firsts, size=min(n_required, firsts.size), replace=False)).astype(np.int32)

    links = np.zeros((0, 2), np.int32)
    if n_links:
        free = np.setdiff1d(np.arange(n_c), pair_cand[required])
        pick = rng.choice(free, size=2 * min(n_links, free.size // 2), replace=False)
        links = pick.reshape(-1, 2).astype(np.int32)

    tgts: list[Target] = []
    if targets == "three":
        for r in range(N_REGIONS):
            tgts.append(
                Target(
                    "women-per-region",
                    f"region={r}",
                    np.flatnonzero(host_region == r).astype(np.int32),
                    female,
                    0.40,
                    None,
                    False,
                    5.0,
                    "sex",
                    "female",
                )
            )
        tgts.append(
            Target(
                "minority-ethnic-cohort",
                "cohort",
                np.arange(n_h, dtype=np.int32),
                minority,
                0.25,
                None,
                False,
                5.0,
                "minority_ethnic",
                "yes",
            )
        )
        for o, name in enumerate(ORG_TYPES):
            tgts.append(
                Target(
                    "career-changers-per-org-type",
                    f"org_type={name}",
                    np.flatnonzero(host_org == o).astype(np.int32),
                    changer,
                    0.15,
                    None,
                    True,
                    0.0,
                    "career_changer",
                    "yes",
                )
            )
    elif targets is not None:
        raise ValueError(f"unknown target set {targets!r}")
    if women_hard_min is not None:
        for r in range(N_REGIONS):
            tgts.append(
                Target(
                    "women-per-region-hard",
                    f"region={r}",
                    np.flatnonzero(host_region == r).astype(np.int32),
                    female,
                    women_hard_min,
                    None,
                    True,
                    0.0,
                    "sex",
                    "female",
                )
            )

    return Problem(
        n_candidates=n_c,
        n_hosts=n_h,
        pair_cand=pair_cand,
        pair_host=pair_host,
        pair_rank=pair_rank,
        pair_host_rank=pair_host_rank,
        capacity=capacity,
        min_placements=mins,
        host_region=host_region,
        required=required,
        links=links,
        targets=tuple(tgts),
        region_labels=REGIONS,
    )
