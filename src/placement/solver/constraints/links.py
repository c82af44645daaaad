"""Linked candidates (couples, friends applying together): placed in one region, or both unplaced.

For each region either of them could go to, the number of a placed there
equals the number of b placed there; with "each candidate at most once" these
equalities say "both in the same region, or neither placed".
"""

from __future__ import annotations

import numpy as np

from ..problem import Options, Problem
from .base import Family, Group, Row, Violation


def _pairs_of(problem: Problem) -> np.ndarray:
    return np.asarray(problem.links, dtype=np.int64).reshape(-1, 2)


class Links(Family):
    name = "link"
    noun = "links"
    diagnosis_order = 20

    def constrains(self, problem: Problem, options: Options) -> bool:
        return bool(len(problem.links))

    def rows(self, problem: Problem, options: Options, K: int) -> list[Row]:
        rows: list[Row] = []
        region_of_pair = problem.host_region[problem.pair_host]
        for li, (a, b) in enumerate(_pairs_of(problem).tolist()):
            pa = np.flatnonzero(problem.pair_cand == a)
            pb = np.flatnonzero(problem.pair_cand == b)
            regions = sorted(set(region_of_pair[pa].tolist()) | set(region_of_pair[pb].tolist()))
            for r in regions:
                # As many of a as of b placed in region r (0 or 1 each).
                qa = pa[region_of_pair[pa] == r]
                qb = pb[region_of_pair[pb] == r]
                pairs = np.concatenate([qa, qb]).astype(np.int64)
                coef = np.concatenate([np.ones(qa.size, np.int64), -np.ones(qb.size, np.int64)])
                rows.append(Row(pairs, coef, 0, "eq", 0, f"{self.name}:{li}:{r}"))
        return rows

    def _regions(self, problem: Problem, chosen: np.ndarray) -> np.ndarray:
        region = np.full(problem.n_candidates, -1, np.int64)
        region[problem.pair_cand[chosen]] = problem.host_region[problem.pair_host[chosen]]
        return region

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        region = self._regions(problem, chosen)
        return [
            Violation(
                "link",
                f"linked candidates {problem.candidate_label(a)} and {problem.candidate_label(b)} "
                "are not both placed in one region, nor both unplaced",
                candidate=a,
            )
            for a, b in _pairs_of(problem).tolist()
            if region[a] != region[b]
        ]

    def groups(self, problem: Problem, options: Options) -> list[Group]:
        # One group per link, even one whose rows are empty (neither has an eligible host): it always holds.
        by_link: dict[int, list[Row]] = {i: [] for i in range(len(_pairs_of(problem)))}
        for r in self.rows(problem, options, 1):
            by_link[r.index].append(r)
        return [Group(self.name, i, rows) for i, rows in by_link.items()]

    def what(self, problem: Problem, group: Group) -> str:
        a, b = _pairs_of(problem)[group.index].tolist()
        return f"the link between {problem.candidate_label(a)} and {problem.candidate_label(b)}"

    def fix(self, problem: Problem, group: Group) -> str:
        a, b = _pairs_of(problem)[group.index].tolist()
        return f"unlink {problem.candidate_label(a)} and {problem.candidate_label(b)} (linked_with)"

    def generic(self, problem: Problem, group: Group) -> str:
        a, b = _pairs_of(problem)[group.index].tolist()
        region_of_pair = problem.host_region[problem.pair_host]
        common = set(region_of_pair[problem.pair_cand == a].tolist()) & set(
            region_of_pair[problem.pair_cand == b].tolist()
        )
        names = ", ".join(sorted(problem.region_label(r) for r in common)) or "none"
        return (
            f"{problem.candidate_label(a)} and {problem.candidate_label(b)} are linked: both placed in the same "
            f"region or neither (regions where both have eligible hosts: {names})."
        )
