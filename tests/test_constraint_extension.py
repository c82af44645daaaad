"""A constraint family added from outside ``src/``: the registry is the only place a family is named.

The toy family "at most one career changer per host" lives in this file. Once
registered, the solver solves with it, ``check_validity`` checks it, the
diagnosis finds and words a conflict with it, and a brute force over every
placement agrees on the optimum - with no change to ``solve.py`` or ``run.py``.
(``docs/solver.md`` walks through this example.)
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import numpy as np
import pytest

from placement.solver import Options, check_validity, solve
from placement.solver.constraints import Family, Group, Row, Violation, register, unregister
from placement.solver.diagnose import find_conflict
from placement.solver.problem import Problem


class OneCareerChangerPerHost(Family):
    """At most one career changer placed at each host."""

    name = "one_changer"
    noun = "at most one career changer per host"

    def __init__(self, changer: np.ndarray):
        self.changer = np.asarray(changer, dtype=bool)  # per candidate

    def _pairs_at(self, problem: Problem, h: int) -> np.ndarray:
        return np.flatnonzero((problem.pair_host == h) & self.changer[problem.pair_cand]).astype(np.int64)

    def constrains(self, problem: Problem, options: Options) -> bool:
        return any(self._pairs_at(problem, h).size > 1 for h in range(problem.n_hosts))

    def rows(self, problem: Problem, options: Options, K: int) -> list[Row]:
        out = []
        for h in range(problem.n_hosts):
            pairs = self._pairs_at(problem, h)
            if pairs.size > 1:
                # Career changers placed at h, minus one, is not positive.
                out.append(Row(pairs, np.ones(pairs.size, np.int64), -1, "le", 0, f"{self.name}:{h}"))
        return out

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        out = []
        for h in range(problem.n_hosts):
            n = int(x[self._pairs_at(problem, h)].sum())
            if n > 1:
                out.append(Violation(self.name, f"{problem.host_label(h)} has {n} career changers", host=h))
        return out

    def what(self, problem: Problem, group: Group) -> str:
        return f"at most one career changer at {problem.host_label(group.index)}"

    def fix(self, problem: Problem, group: Group) -> str:
        return f"allow more than one career changer at {problem.host_label(group.index)}"


def _problem(rng: random.Random, n_c: int = 6, n_h: int = 3) -> Problem:
    pc, ph, pr = [], [], []
    for c in range(n_c):
        for r, h in enumerate(rng.sample(range(n_h), rng.randint(1, 3)), start=1):
            pc.append(c)
            ph.append(h)
            pr.append(r)
    n = len(pc)
    return Problem(
        n_candidates=n_c,
        n_hosts=n_h,
        pair_cand=np.array(pc, np.int32),
        pair_host=np.array(ph, np.int32),
        pair_rank=np.array(pr, np.int32),
        pair_host_rank=np.ones(n, np.int32),
        capacity=np.array([rng.randint(1, 3) for _ in range(n_h)], np.int32),
        min_placements=np.zeros(n_h, np.int32),
        host_region=np.zeros(n_h, np.int32),
        host_labels=tuple(f"H{h}" for h in range(n_h)),
        candidate_labels=tuple(f"C{c}" for c in range(n_c)),
    )


@pytest.fixture
def toy() -> Iterator[OneCareerChangerPerHost]:
    fam = OneCareerChangerPerHost(np.zeros(0, bool))
    register(fam)
    try:
        yield fam
    finally:
        unregister(fam.name)


def _brute_force(problem: Problem, changer: np.ndarray) -> tuple[int, int] | None:
    """(most placed, least rank sum among those) over every placement meeting capacities and the toy rule."""
    options = [[None, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    best: tuple[int, int] | None = None
    for combo in itertools.product(*options):
        chosen = [p for p in combo if p is not None]
        hosts = problem.pair_host[chosen]
        if np.any(np.bincount(hosts, minlength=problem.n_hosts) > problem.capacity):
            continue
        ch = np.bincount(hosts[changer[problem.pair_cand[chosen]]], minlength=problem.n_hosts) if chosen else [0]
        if np.any(np.asarray(ch) > 1):
            continue
        key = (-len(chosen), int(problem.pair_rank[chosen].sum()))
        if best is None or key < best:
            best = key
    return None if best is None else (-best[0], best[1])


def test_the_solver_meets_a_registered_family_and_the_brute_force_agrees(toy) -> None:
    rng = random.Random(10)
    binding = 0
    for _ in range(25):
        problem = _problem(rng)
        toy.changer = np.array([rng.random() < 0.6 for _ in range(problem.n_candidates)])
        sol = solve(problem, Options(time_limit=20))
        placed, rank_sum = _brute_force(problem, toy.changer)
        assert sol.status == "OPTIMAL"
        assert (sol.placed, sol.rank_sum) == (placed, rank_sum)
        assert check_validity(problem, sol.chosen) == []
        unregister(toy.name)  # without the family the optimum may place more or at better ranks
        free = solve(problem, Options(time_limit=20))
        register(toy)
        binding += (free.placed, -free.rank_sum) != (placed, -rank_sum)
    assert binding >= 3  # the family changed the answer on some instances: the test can fail


def _two_at_one_host(**kw) -> Problem:
    return Problem(
        n_candidates=2,
        n_hosts=1,
        pair_cand=np.array([0, 1], np.int32),
        pair_host=np.array([0, 0], np.int32),
        pair_rank=np.ones(2, np.int32),
        pair_host_rank=np.ones(2, np.int32),
        capacity=np.array([2], np.int32),
        min_placements=np.zeros(1, np.int32),
        host_region=np.zeros(1, np.int32),
        host_labels=("H0",),
        candidate_labels=("C0", "C1"),
        **kw,
    )


def test_check_validity_reports_the_family(toy) -> None:
    problem = _two_at_one_host()
    toy.changer = np.array([True, True])
    assert [v.kind for v in check_validity(problem, [0, 1])] == ["one_changer"]
    assert check_validity(problem, [0]) == []
    toy.changer = np.array([True, False])
    assert check_validity(problem, [0, 1]) == []


def test_the_diagnosis_finds_and_words_a_conflict_with_the_family(toy) -> None:
    # Two career changers required at H0: the requirement and the toy rule cannot both hold.
    problem = _two_at_one_host(required=np.array([0, 1], np.int32))
    toy.changer = np.array([True, True])
    sol = solve(problem, Options(time_limit=20))
    assert sol.status == "INFEASIBLE"
    conflict = find_conflict(problem, Options())
    assert conflict.status == "infeasible" and conflict.minimal
    assert set(conflict.groups) == {("required", 0), ("required", 1), ("one_changer", 0)}
    text = " ".join(sol.diagnosis)
    assert "at most one career changer at H0" in text
    assert "allow more than one career changer at H0" in text
    # Without the family the same problem is solved: the conflict was the family's.
    unregister(toy.name)
    assert solve(problem, Options(time_limit=20)).status == "OPTIMAL"
    register(toy)
