"""Required pairs (pairs.csv ``require``) and placements held from the latest approved round (offers
awaiting an answer, accepted offers): placed as given.

The network forces them (the candidate's arc goes to that host only), so the
exact engines fix them to 1 rather than carrying rows; the check and the
diagnosis read them as the rows ``1 - x[p] <= 0``.
"""

from __future__ import annotations

import numpy as np

from ..problem import Options, Problem
from .base import Family, Group, Row, Violation

# The two kinds of forced pair: (group kind, Problem field, how a sentence says it).
KINDS = (("required", "required"), ("fixed", "fixed"))


def held_words(problem: Problem, i: int) -> str:
    """How a placement held from the latest approved round reads, by its offer state."""
    state = problem.fixed_state(i)
    if state == "offered":
        return "the offer (offered in an earlier round, not yet answered)"
    if state == "accepted":
        return "the placement accepted in an earlier round"
    return "the placement held from an earlier round"


def forced(problem: Problem, kind: str) -> list[int]:
    return np.asarray(problem.required if kind == "required" else problem.fixed, dtype=np.int64).tolist()


def _row(p: int, kind: str, i: int) -> Row:
    # The pair is placed: 1 - x[p] <= 0.
    return Row(np.array([p], np.int64), -np.ones(1, np.int64), 1, "le", 0, f"{kind}:{i}")


class ForcedPairs(Family):
    name = "pair"
    in_network = True
    noun = "required pairs, offered and accepted placements"
    diagnosis_order = 10

    def check_problem(self, problem: Problem) -> None:
        for kind, _ in KINDS:
            arr = np.asarray(problem.required if kind == "required" else problem.fixed)
            if arr.size and (arr.min() < 0 or arr.max() >= problem.n_pairs):
                raise ValueError(f"Problem.{kind} holds pair indices out of range")

    def constrains(self, problem: Problem, options: Options) -> bool:
        return bool(np.asarray(problem.required).size or np.asarray(problem.fixed).size)

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        out = []
        for kind, _ in KINDS:
            for i, p in enumerate(forced(problem, kind)):
                if not x[p]:
                    c, h = int(problem.pair_cand[p]), int(problem.pair_host[p])
                    state = problem.fixed_state(i)
                    what = (
                        "must be placed at"
                        if kind == "required"
                        else f"holds an offer {state} in an earlier round at"
                        if state in ("offered", "accepted")
                        else "holds a placement from an earlier round at"
                    )
                    out.append(
                        Violation(
                            kind,
                            f"{problem.candidate_label(c)} {what} {problem.host_label(h)} but is not there",
                            candidate=c,
                            host=h,
                        )
                    )
        return out

    def groups(self, problem: Problem, options: Options) -> list[Group]:
        return [
            Group(kind, i, [_row(p, kind, i)], forces=(p,), family=self.name)
            for kind, _ in KINDS
            for i, p in enumerate(forced(problem, kind))
        ]

    def _pair(self, problem: Problem, group: Group) -> tuple[str, str]:
        p = forced(problem, group.kind)[group.index]
        return problem.candidate_label(int(problem.pair_cand[p])), problem.host_label(int(problem.pair_host[p]))

    def what(self, problem: Problem, group: Group) -> str:
        c, h = self._pair(problem, group)
        if group.kind == "required":
            return f"the required placement of {c} at {h}"
        return f"{held_words(problem, group.index)} of {c} at {h}"

    def fix(self, problem: Problem, group: Group) -> str:
        c, h = self._pair(problem, group)
        if group.kind == "required":
            return f"drop the required placement of {c} at {h} from pairs.csv"
        return (
            f"release the {problem.fixed_state(group.index)} offer of {c} at {h} "
            f"(`placement offer release {c} --reason ...`)"
        )

    def generic(self, problem: Problem, group: Group) -> str:
        p = forced(problem, group.kind)[group.index]
        h = int(problem.pair_host[p])
        cap = int(problem.capacity[h])
        places = "no places" if cap == 0 else (f"{cap} place" if cap == 1 else f"{cap} places")
        text = self.what(problem, group)
        return f"{text[0].upper()}{text[1:]} ({problem.host_label(h)} offers {places})."
