"""Diversity share targets: in each scope with a placement, min_share <= members / placed <= max_share.

As integer rows, with the share ``q/D`` (see ``shares``): ``q*placed - D*members
<= 0`` for the minimum, ``D*members - q*placed <= 0`` for the maximum, so with
nobody placed in the scope both sides are 0 and the target holds. A soft
target's row costs ``weight / D`` per unit: ``D * shortfall`` is the row's value
(``0.35 x 7 - 2 = 0.45`` is ``(7*7 - 20*2)/20 = 9/20``).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ...masking import SPECIAL_TARGET_WORDS, is_special
from ...shares import ShareError, exact_share, exact_weight
from ..problem import Options, Problem, Target, TargetResult
from .base import Family, Group, Row, SoftShortfall, Violation


def parts(t: Target) -> tuple[Fraction | None, Fraction | None, int]:
    """The target's shares as exact fractions and their common denominator D."""
    lo = None if t.min_share is None else exact_share(t.min_share)
    hi = None if t.max_share is None else exact_share(t.max_share)
    dens = [f.denominator for f in (lo, hi) if f is not None]
    D = 1
    for d in dens:
        D = D * d // math.gcd(D, d)
    return lo, hi, D


def results(problem: Problem, chosen: np.ndarray) -> list[TargetResult]:
    """Placed in scope, members placed and shortfall of each target (exact fractions, reported as floats)."""
    idx = np.asarray(chosen, dtype=np.int64).reshape(-1)
    hosts = problem.pair_host[idx]
    cands = problem.pair_cand[idx]
    out = []
    for t in problem.targets:
        in_scope = np.isin(hosts, np.asarray(t.scope_hosts, dtype=np.int64))
        S = int(in_scope.sum())
        M = int(np.asarray(t.member, dtype=bool)[cands[in_scope]].sum())
        lo, hi, _ = parts(t)
        short = Fraction(0)
        if lo is not None:
            short += max(Fraction(0), lo * S - M)
        if hi is not None:
            short += max(Fraction(0), M - hi * S)
        out.append(
            TargetResult(
                name=t.name,
                scope=t.scope,
                hard=t.hard,
                placed_in_scope=S,
                members_placed=M,
                required_min=None if lo is None else float(lo * S),
                required_max=None if hi is None else float(hi * S),
                shortfall=float(short),
            )
        )
    return out


class Targets(Family):
    name = "target"
    noun = "hard targets"
    diagnosis_order = 40

    def check_problem(self, problem: Problem) -> None:
        for t in problem.targets:
            if np.asarray(t.member).shape != (problem.n_candidates,):
                raise ValueError(f"target {t.name}: member must have one entry per candidate")
            for share in (t.min_share, t.max_share):
                if share is not None:
                    try:
                        exact_share(share)
                    except ShareError as exc:
                        raise ValueError(f"target {t.name}: shares must lie in [0, 1] ({exc})") from None
            if not t.hard and not t.weight >= 0:
                raise ValueError(f"target {t.name}: a soft target's weight must be 0 or more")

    def constrains(self, problem: Problem, options: Options) -> bool:
        return bool(problem.targets)

    def denominators(self, problem: Problem, options: Options) -> list[int]:
        out = []
        for t in problem.targets:
            if t.hard:
                continue
            _, _, D = parts(t)
            w = exact_weight(t.weight)
            # weight/D per unit of a row must be a whole number of 1/K units.
            out.append((D * w.denominator) // math.gcd(w.numerator, D * w.denominator) if w.numerator else 1)
        return out

    def rows(self, problem: Problem, options: Options, K: int) -> list[Row]:
        out: list[Row] = []
        for i, t in enumerate(problem.targets):
            lo, hi, D = parts(t)
            w = exact_weight(t.weight)
            in_scope = np.isin(problem.pair_host, np.asarray(t.scope_hosts, dtype=np.int64))
            pairs = np.flatnonzero(in_scope).astype(np.int64)
            member = np.asarray(t.member, dtype=bool)[problem.pair_cand[pairs]].astype(np.int64)
            weight = 0 if t.hard else int(Fraction(K) * w / D)
            kind = "le" if t.hard else "soft"
            if lo is not None:
                # At least the share: each pair in scope adds q, each member also takes D away.
                coef = lo.numerator * (D // lo.denominator) - D * member
                out.append(Row(pairs, coef.astype(np.int64), 0, kind, weight, f"target:{i}:min"))
            if hi is not None:
                # At most the share: each member adds D, each pair in scope takes q away.
                coef = D * member - hi.numerator * (D // hi.denominator)
                out.append(Row(pairs, coef.astype(np.int64), 0, kind, weight, f"target:{i}:max"))
        return out

    def violations(self, problem: Problem, x: np.ndarray, chosen: np.ndarray, options: Options) -> list[Violation]:
        out = []
        for i, res in enumerate(results(problem, chosen)):
            if problem.targets[i].hard and not res.met:
                out.append(
                    Violation(
                        "target",
                        f"hard target {res.name} ({res.scope}) is not met: {res.members_placed} "
                        f"of {res.placed_in_scope} placed, short by {res.shortfall:.2f}",
                        target=i,
                        amount=res.shortfall,
                    )
                )
        return out

    def soft_shortfall(self, problem: Problem, row: Row, value: int, K: int, x: np.ndarray) -> SoftShortfall:
        i = row.index
        t = problem.targets[i]
        side = row.source.split(":")[2]
        # The row runs over the scope's pairs: who is placed there, and how many of them count.
        placed = int(x[row.pairs].sum())
        member = np.asarray(t.member, dtype=bool)[problem.pair_cand[row.pairs]]
        members = int(x[row.pairs][member].sum())
        _, _, D = parts(t)
        share = t.min_share if side == "min" else t.max_share
        short = value / D
        penalty = row.weight * value / K
        words = "at least" if side == "min" else "at most"
        text = (
            f"soft target {t.name} ({t.scope}): {members} of {placed} placed, "
            f"{words} {float(share or 0):.0%} asked, short by {short:.2f}, penalty {penalty:.2f}"
        )
        return SoftShortfall(self.name, i, side, short, penalty, text)

    def missed(self, problem: Problem, index: int, host: int | None = None) -> str:
        t = problem.targets[index]
        if is_special(t.attribute):
            # Naming it would tell the candidate (and anyone reading over the coordinator's shoulder) how
            # the candidate was counted.
            return SPECIAL_TARGET_WORDS
        words = f"the {'hard' if t.hard else 'soft'} target {t.name} ({t.scope})"
        if host is not None and host not in set(np.asarray(t.scope_hosts).tolist()):
            words += ", a target elsewhere that the other candidates it would have moved would then have missed"
        return words

    def what(self, problem: Problem, group: Group) -> str:
        t = problem.targets[group.index]
        return f"target {t.name} in {t.scope}"

    def fix(self, problem: Problem, group: Group) -> str:
        t = problem.targets[group.index]
        return f"make target {t.name} soft or loosen its shares"

    def generic(self, problem: Problem, group: Group) -> str:
        t = problem.targets[group.index]
        bounds = []
        if t.min_share is not None:
            bounds.append(f"at least {pct(t.min_share)}")
        if t.max_share is not None:
            bounds.append(f"at most {pct(t.max_share)}")
        return f"Target {t.name} in {t.scope} (hard): {' and '.join(bounds)} {value_words(t)} among those placed there."


def pct(share: object) -> str:
    text = f"{100 * float(exact_share(share)):.1f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]
    return f"{text}%"


def value_words(t: Target) -> str:
    """How the counted group reads in a sentence: "female", "minority_ethnic = yes"."""
    if not t.value:
        return "members of the target group"
    if t.attribute == "sex" or not t.attribute:
        return t.value
    return f"{t.attribute} = {t.value}"
