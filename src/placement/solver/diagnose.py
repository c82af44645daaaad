"""Why no placement exists: a minimal set of conflicting hard constraints, in plain words.

Called when the placement model is INFEASIBLE. We rebuild the hard part of
the model (no objective) with one assumption literal per *named group* of
constraints - each hard target scope, each required pair, each accepted
(fixed) pair, each link, each host's hard lower quota, and strict stability as
one group - while capacities and "one host per candidate" stay on, since they
are the scheme's structure and can never be relaxed. Placing nobody satisfies
the structure, so every infeasibility has a core of named groups.

CP-SAT reports a sufficient subset of assumptions (a core); we shrink it by
deletion - drop one group, re-solve, keep it out if the rest is still
infeasible - to a minimal core: every group in it matters, so relaxing any
one removes this conflict. Each group then becomes a sentence a coordinator
can act on, with the numbers that make the conflict concrete where they are
cheap to compute.

Messages name candidates and hosts by label and targets by their own
definition ("40% female"); they never state an individual's special category
data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from placement.solver.problem import Options, Problem, Target
from placement.solver.stability import add_stability, blocking_pairs, deferred_acceptance

DEFAULT_TIME_LIMIT = 30.0  # seconds for the whole diagnosis, first solve and shrinking


@dataclass
class _Group:
    kind: str  # "required", "fixed", "link", "min_placements", "target", "stability"
    index: int  # into problem.required / fixed / links / hosts / targets; 0 for stability
    literal: cp_model.IntVar


def _share(value: float) -> Fraction:
    """A share as an exact fraction (0.35 -> 7/20), so the ratio constraint is integral."""
    return Fraction(str(float(value))).limit_denominator(1_000_000)


class _Index:
    """Per-candidate and per-host views of the eligible pairs, computed once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.pairs_of_cand: list[list[int]] = [[] for _ in range(problem.n_candidates)]
        self.pairs_of_host: list[list[int]] = [[] for _ in range(problem.n_hosts)]
        for p, (c, h) in enumerate(zip(problem.pair_cand.tolist(), problem.pair_host.tolist())):
            self.pairs_of_cand[c].append(p)
            self.pairs_of_host[h].append(p)

    def regions_of(self, c: int) -> set[int]:
        hosts = self.problem.pair_host[self.pairs_of_cand[c]]
        return set(self.problem.host_region[hosts].tolist())

    def eligible_at(self, hosts: np.ndarray | list[int]) -> np.ndarray:
        """Distinct candidates with at least one eligible pair at any of ``hosts``."""
        mask = np.isin(self.problem.pair_host, np.asarray(hosts, dtype=np.int64))
        return np.unique(self.problem.pair_cand[mask])


def _build_model(
    problem: Problem, options: Options, index: _Index
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], list[_Group]]:
    model = cp_model.CpModel()
    # Variables: one Boolean per eligible (candidate, host) pair.
    x = [
        model.new_bool_var(f"x_{c}_{h}")
        for c, h in zip(problem.pair_cand.tolist(), problem.pair_host.tolist())
    ]

    # Structure, always on: a candidate takes at most one place, a host at most its capacity.
    for pairs in index.pairs_of_cand:
        if len(pairs) > 1:
            model.add_at_most_one([x[p] for p in pairs])
    for h, pairs in enumerate(index.pairs_of_host):
        if pairs:
            model.add(cp_model.LinearExpr.sum([x[p] for p in pairs]) <= int(problem.capacity[h]))

    groups: list[_Group] = []

    def group(kind: str, i: int) -> cp_model.IntVar:
        lit = model.new_bool_var(f"use_{kind}_{i}")
        groups.append(_Group(kind, i, lit))
        return lit

    # Pre-agreed placements (pairs.csv `require`) and placements accepted in an earlier round.
    for kind, pairs in (("required", problem.required), ("fixed", problem.fixed)):
        for i, p in enumerate(np.asarray(pairs).tolist()):
            model.add(x[p] == 1).only_enforce_if(group(kind, i))

    # Linked candidates: the same number placed in every region (0 or 1 each,
    # since a candidate takes one place) - same region, or both unplaced.
    for i, (a, b) in enumerate(np.asarray(problem.links).reshape(-1, 2).tolist()):
        lit = group("link", i)
        for r in sorted(index.regions_of(a) | index.regions_of(b)):
            in_r_a = [x[p] for p in index.pairs_of_cand[a] if problem.host_region[problem.pair_host[p]] == r]
            in_r_b = [x[p] for p in index.pairs_of_cand[b] if problem.host_region[problem.pair_host[p]] == r]
            model.add(cp_model.LinearExpr.sum(in_r_a) == cp_model.LinearExpr.sum(in_r_b)).only_enforce_if(lit)

    # Hosts' lower quotas, when the coordinator made them hard.
    if options.hard_min_placements:
        for h, need in enumerate(problem.min_placements.tolist()):
            if need > 0:
                model.add(cp_model.LinearExpr.sum([x[p] for p in index.pairs_of_host[h]]) >= need).only_enforce_if(
                    group("min_placements", h)
                )

    # Hard diversity targets: min_share * placed <= members <= max_share * placed in the scope.
    # With nobody placed in the scope both sides are 0, so "scopes with a placement" needs no case.
    for i, t in enumerate(problem.targets):
        if not t.hard or (t.min_share is None and t.max_share is None):
            continue
        in_scope = np.flatnonzero(np.isin(problem.pair_host, t.scope_hosts))
        if in_scope.size == 0:
            continue  # nobody can be placed in the scope: the target always holds
        lit = group("target", i)
        is_member = np.asarray(t.member, bool)[problem.pair_cand[in_scope]]
        placed = cp_model.LinearExpr.sum([x[p] for p in in_scope.tolist()])
        member_sum = cp_model.LinearExpr.sum([x[p] for p in in_scope[is_member].tolist()])
        if t.min_share is not None:
            f = _share(t.min_share)
            model.add(f.denominator * member_sum >= f.numerator * placed).only_enforce_if(lit)
        if t.max_share is not None:
            f = _share(t.max_share)
            model.add(f.denominator * member_sum <= f.numerator * placed).only_enforce_if(lit)

    # Strict stability, one group: no candidate and host who would both rather have each other.
    if options.stability == "strict":
        add_stability(model, x, problem, "strict", only_enforce_if=group("stability", 0))

    return model, x, groups


def _holds(problem: Problem, g: _Group, chosen: np.ndarray) -> bool:
    """Whether the placement ``chosen`` (pair indices) meets group ``g`` - the model's rule, in numpy."""
    if g.kind in ("required", "fixed"):
        p = (problem.required if g.kind == "required" else problem.fixed)[g.index]
        return bool(np.isin(p, chosen))
    if g.kind == "link":
        region = np.full(problem.n_candidates, -1, np.int64)
        region[problem.pair_cand[chosen]] = problem.host_region[problem.pair_host[chosen]]
        a, b = problem.links[g.index]
        return bool(region[a] == region[b])
    if g.kind == "min_placements":
        return int(np.count_nonzero(problem.pair_host[chosen] == g.index)) >= int(problem.min_placements[g.index])
    if g.kind == "target":
        t = problem.targets[g.index]
        in_scope = chosen[np.isin(problem.pair_host[chosen], t.scope_hosts)]
        placed = int(in_scope.size)
        members = int(np.count_nonzero(t.member[problem.pair_cand[in_scope]]))
        lo = _share(t.min_share) if t.min_share is not None else None
        hi = _share(t.max_share) if t.max_share is not None else None
        return (lo is None or lo.denominator * members >= lo.numerator * placed) and (
            hi is None or hi.denominator * members <= hi.numerator * placed
        )
    return not blocking_pairs(problem, chosen)


def _is_placement(problem: Problem, chosen: np.ndarray) -> bool:
    """One place per candidate, hosts within capacity."""
    cands = problem.pair_cand[chosen]
    load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts)
    return np.unique(cands).size == cands.size and bool(np.all(load <= problem.capacity))


def _solve(
    model: cp_model.CpModel, x: list[cp_model.IntVar], on: list[_Group], off: list[_Group], seconds: float
) -> tuple[int, list[int], np.ndarray | None]:
    """Solves with the ``on`` groups enforced and the ``off`` groups switched off.

    Returns the status; if infeasible, the variable indices of the assumption
    literals CP-SAT found sufficient for the conflict; if feasible, the
    placement found (pair indices).
    """
    model.clear_assumptions()
    model.add_assumptions([g.literal for g in on] + [~g.literal for g in off])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is the caller's (see rounds.interruptible)
    # Cores from assumptions come from the single-thread SAT search.
    solver.parameters.num_workers = 1
    # Probing at the root costs seconds on scheme-sized models and rarely
    # decides these feasibility questions; the search does better without it.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return status, list(solver.sufficient_assumptions_for_infeasibility()), None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, [], np.flatnonzero([solver.boolean_value(v) for v in x])
    return status, [], None


def _minimal_core(
    problem: Problem,
    model: cp_model.CpModel,
    x: list[cp_model.IntVar],
    groups: list[_Group],
    deadline: float,
) -> tuple[list[_Group] | None, bool, str]:
    """(core, proven minimal, status). core is None when the hard constraints hold together or time ran out.

    Deletion-based shrinking, with witness reuse: a placement already known
    to meet every group of a trial set proves it feasible without a solve.
    The witnesses start with "nobody placed" and the candidate-proposing
    stable placement, and grow with each placement the solver finds.
    """
    by_var = {g.literal.index: g for g in groups}
    witnesses = [np.zeros(0, np.int64), deferred_acceptance(problem).astype(np.int64)]

    def run(on: list[_Group]) -> tuple[int, list[_Group]]:
        # Also try placing exactly the trial's required and accepted pairs, nobody else.
        forced = [(problem.required if g.kind == "required" else problem.fixed)[g.index] for g in on if g.kind in ("required", "fixed")]
        just_forced = np.unique(np.asarray(forced, np.int64))
        if _is_placement(problem, just_forced) and all(_holds(problem, g, just_forced) for g in on):
            return cp_model.FEASIBLE, []
        if any(all(_holds(problem, g, w) for g in on) for w in witnesses):
            return cp_model.FEASIBLE, []
        kept = {id(g) for g in on}
        off = [g for g in groups if id(g) not in kept]
        status, core_vars, found = _solve(model, x, on, off, deadline - time.monotonic())
        if found is not None:
            witnesses.append(found)
        return status, [by_var[v] for v in core_vars if v in by_var]

    status, core = run(groups)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, True, "feasible"
    if status != cp_model.INFEASIBLE:
        return None, False, "unknown"
    core = core or list(groups)
    minimal = True
    i = 0
    while i < len(core) and len(core) > 1:
        if time.monotonic() >= deadline:
            minimal = False
            break
        trial = core[:i] + core[i + 1 :]
        status, smaller = run(trial)
        if status == cp_model.INFEASIBLE:
            # Not needed; CP-SAT's own core of the rest may drop more at once.
            core = [g for g in trial if g in smaller] or trial
        else:
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                minimal = False  # undecided in time: keep the group, to be safe
            i += 1
    return core, minimal, "infeasible"


class _Explainer:
    """Turns core groups into sentences; knows the whole core, to cite partners."""

    def __init__(self, problem: Problem, index: _Index, core: list[_Group]):
        self.p = problem
        self.index = index
        self.core = core
        self.kinds = {g.kind for g in core}
        self.explained: set[tuple[str, int]] = set()
        self._da: np.ndarray | None = None

    # --- small helpers -------------------------------------------------------------
    def cand(self, c: int) -> str:
        return self.p.candidate_label(int(c))

    def host(self, h: int) -> str:
        return self.p.host_label(int(h))

    def pair(self, kind: str, i: int) -> tuple[int, int]:
        p = int((self.p.required if kind == "required" else self.p.fixed)[i])
        return int(self.p.pair_cand[p]), int(self.p.pair_host[p])

    def what(self, g: _Group) -> str:
        """A short name for the group, used in sentences and the closing suggestion."""
        if g.kind in ("required", "fixed"):
            c, h = self.pair(g.kind, g.index)
            if g.kind == "required":
                return f"the required placement of {self.cand(c)} at {self.host(h)}"
            return f"the placement of {self.cand(c)} at {self.host(h)} accepted in an earlier round"
        if g.kind == "link":
            a, b = self.p.links[g.index]
            return f"the link between {self.cand(a)} and {self.cand(b)}"
        if g.kind == "min_placements":
            return f"{self.host(g.index)}'s hard lower quota of {int(self.p.min_placements[g.index])}"
        if g.kind == "target":
            t = self.p.targets[g.index]
            return f"target {t.name} in {t.scope}"
        return "strict stability"

    def fix(self, g: _Group) -> str:
        if g.kind == "required":
            c, h = self.pair(g.kind, g.index)
            return f"drop the required placement of {self.cand(c)} at {self.host(h)} from pairs.csv"
        if g.kind == "fixed":
            c, h = self.pair(g.kind, g.index)
            return f"reopen the accepted placement of {self.cand(c)} at {self.host(h)}"
        if g.kind == "link":
            a, b = self.p.links[g.index]
            return f"unlink {self.cand(a)} and {self.cand(b)} (linked_with)"
        if g.kind == "min_placements":
            return f"lower {self.host(g.index)}'s min_placements or make lower quotas soft"
        if g.kind == "target":
            t = self.p.targets[g.index]
            return f"make target {t.name} soft or loosen its shares"
        return "use stability 'prefer' instead of 'strict'"

    def stable_placement(self) -> np.ndarray:
        if self._da is None:
            self._da = deferred_acceptance(self.p)
        return self._da

    def host_orders_strict(self) -> bool:
        """No host ranks two eligible candidates equally: then all stable placements agree on who is placed."""
        key = self.p.pair_host.astype(np.int64) * (1 << 32) + self.p.pair_host_rank.astype(np.int64)
        return np.unique(key).size == key.size

    # --- specific findings (each returns sentences and marks what it explained) ---
    def forced_pairs(self) -> list[tuple[_Group, int, int]]:
        return [(g, *self.pair(g.kind, g.index)) for g in self.core if g.kind in ("required", "fixed")]

    def over_full_hosts(self) -> list[str]:
        out = []
        at: dict[int, list[tuple[_Group, int]]] = {}
        for g, c, h in self.forced_pairs():
            at.setdefault(h, []).append((g, c))
        for h, items in at.items():
            cap = int(self.p.capacity[h])
            if len(items) > cap:
                names = ", ".join(self.cand(c) for _, c in items)
                out.append(
                    f"{self.host(h)} offers {_places(cap)} but {len(items)} placements there are required "
                    f"or already accepted ({names})."
                )
                self.explained.update((g.kind, g.index) for g, _ in items)
        return out

    def candidate_twice(self) -> list[str]:
        out = []
        by_c: dict[int, list[tuple[_Group, int]]] = {}
        for g, c, h in self.forced_pairs():
            by_c.setdefault(c, []).append((g, h))
        for c, items in by_c.items():
            if len({h for _, h in items}) > 1:
                hosts = " and ".join(self.host(h) for _, h in items)
                out.append(f"{self.cand(c)} is required or accepted at both {hosts}, but can take only one place.")
                self.explained.update((g.kind, g.index) for g, _ in items)
        return out

    def links(self) -> list[str]:
        out = []
        forced = self.forced_pairs()
        for g in self.core:
            if g.kind != "link":
                continue
            a, b = (int(v) for v in self.p.links[g.index])
            for fg, c, h in forced:
                if c not in (a, b):
                    continue
                partner = b if c == a else a
                r = int(self.p.host_region[h])
                if r not in self.index.regions_of(partner):
                    verb = "required placement" if fg.kind == "required" else "accepted placement"
                    out.append(
                        f"The {verb} of {self.cand(c)} at {self.host(h)} and the link between "
                        f"{self.cand(a)} and {self.cand(b)} cannot both hold: {self.cand(partner)} has no "
                        f"eligible host in {self.p.region_label(r)}."
                    )
                    self.explained.update({(g.kind, g.index), (fg.kind, fg.index)})
            ra, rb = self.index.regions_of(a), self.index.regions_of(b)
            if not ra & rb:
                out.append(
                    f"{self.cand(a)} and {self.cand(b)} are linked (same region or neither), but have no "
                    f"eligible hosts in a common region ({self.cand(a)}: {self.regions(ra)}; "
                    f"{self.cand(b)}: {self.regions(rb)}), so neither can be placed."
                )
                self.explained.add((g.kind, g.index))
        return out

    def regions(self, rs: set[int]) -> str:
        return ", ".join(sorted(self.p.region_label(r) for r in rs)) or "none"

    def lower_quotas(self) -> list[str]:
        out = []
        quota_groups = [g for g in self.core if g.kind == "min_placements"]
        for g in quota_groups:
            h = g.index
            need, cap = int(self.p.min_placements[h]), int(self.p.capacity[h])
            eligible = len(self.index.pairs_of_host[h])
            if need > cap:
                out.append(
                    f"{self.host(h)} needs at least {_count(need, 'placement')} (hard lower quota) but offers only {_places(cap)}."
                )
                self.explained.add((g.kind, h))
            elif eligible < need:
                supply = "no candidates are" if eligible == 0 else f"only {eligible} candidate{'s are' if eligible != 1 else ' is'}"
                out.append(
                    f"{self.host(h)} needs at least {_count(need, 'placement')} (hard lower quota) but {supply} eligible there."
                )
                self.explained.add((g.kind, h))
        rest = [g for g in quota_groups if (g.kind, g.index) not in self.explained]
        if len(rest) > 1:
            # Hall's condition: the hosts together need more people than could go to any of them.
            hosts = [g.index for g in rest]
            need = int(self.p.min_placements[hosts].sum())
            pool = self.index.eligible_at(hosts).size
            if pool < need:
                names = ", ".join(self.host(h) for h in hosts)
                out.append(
                    f"Hosts {names} together need at least {_count(need, 'placement')} (hard lower quotas) but only "
                    f"{pool} distinct candidates are eligible for any of them."
                )
                self.explained.update((g.kind, g.index) for g in rest)
        return out

    def stability(self) -> list[str]:
        if "stability" not in self.kinds:
            return []
        out = []
        da = self.stable_placement()
        strict = self.host_orders_strict()
        got = {int(self.p.pair_cand[p]): int(p) for p in da}
        for g, c, h in self.forced_pairs():
            what = self.what(g)
            if c not in got:
                if strict:
                    out.append(
                        f"{what[0].upper()}{what[1:]} conflicts with strict stability: {self.cand(c)} is "
                        f"unplaced in every stable placement (with these preferences and hosts' orders, "
                        f"all stable placements place the same candidates)."
                    )
                else:
                    out.append(
                        f"{what[0].upper()}{what[1:]} conflicts with strict stability: the candidate-proposing "
                        f"stable placement leaves {self.cand(c)} unplaced."
                    )
            else:
                p = got[c]
                h_da = int(self.p.pair_host[p])
                if h_da == h:
                    continue
                mine = [q for q in self.index.pairs_of_cand[c] if int(self.p.pair_host[q]) == h]
                better = bool(mine) and int(self.p.pair_rank[mine[0]]) < int(self.p.pair_rank[p])
                if strict and better:
                    out.append(
                        f"{what[0].upper()}{what[1:]} conflicts with strict stability: the best host "
                        f"{self.cand(c)} can get in any stable placement is {self.host(h_da)}, which they "
                        f"rank below {self.host(h)}."
                    )
                else:
                    out.append(
                        f"{what[0].upper()}{what[1:]} conflicts with strict stability: the candidate-proposing "
                        f"stable placement puts {self.cand(c)} at {self.host(h_da)} instead."
                    )
            self.explained.update({(g.kind, g.index), ("stability", 0)})
        for g in self.core:
            if g.kind != "link" or not strict:
                continue
            # With strict orders every stable placement places the same candidates.
            a, b = (int(v) for v in self.p.links[g.index])
            placed = [c for c in (a, b) if c in got]
            if len(placed) == 1:
                other = b if placed[0] == a else a
                out.append(
                    f"The link between {self.cand(a)} and {self.cand(b)} conflicts with strict stability: every "
                    f"stable placement places {self.cand(placed[0])} and leaves {self.cand(other)} unplaced "
                    f"(with no ties in hosts' orders, all stable placements place the same candidates)."
                )
            elif len(placed) == 2 and not self.index.regions_of(a) & self.index.regions_of(b):
                out.append(
                    f"The link between {self.cand(a)} and {self.cand(b)} conflicts with strict stability: every "
                    f"stable placement places both, but they have no eligible hosts in a common region."
                )
            else:
                continue
            self.explained.update({(g.kind, g.index), ("stability", 0)})
        if strict:
            counts = np.bincount(self.p.pair_host[da], minlength=self.p.n_hosts)
            for g in self.core:
                if g.kind != "min_placements" or (g.kind, g.index) in self.explained:
                    continue
                h = g.index
                need = int(self.p.min_placements[h])
                if counts[h] < need:
                    out.append(
                        f"{self.host(h)} needs at least {_count(need, 'placement')} (hard lower quota), but every stable "
                        f"placement gives it exactly {int(counts[h])} (with no ties in hosts' orders, each "
                        f"host gets the same number in all stable placements)."
                    )
                    self.explained.update({(g.kind, h), ("stability", 0)})
        return out

    def targets(self) -> list[str]:
        out = []
        for g in self.core:
            if g.kind != "target":
                continue
            t = self.p.targets[g.index]
            eligible = self.index.eligible_at(t.scope_hosts)
            n_all = int(eligible.size)
            n_mem = int(np.count_nonzero(t.member[eligible])) if n_all else 0
            what = _value_words(t)
            forced = self.forced_in_scope(t)
            parts = []
            if t.min_share is not None and t.min_share > 0:
                most = int(n_mem / float(t.min_share) + 1e-9)
                s = (
                    f"target {t.name} in {t.scope} needs at least {_pct(t.min_share)} {what} among those "
                    f"placed there, but only {n_mem} of the {n_all} candidates eligible for hosts there are {what}"
                )
                if forced > most:
                    s += (
                        f", so at most {most} can be placed there while meeting it and the other constraints "
                        f"here need at least {forced}"
                    )
                parts.append(s)
            if t.max_share is not None and t.max_share < 1:
                others = n_all - n_mem
                most = int(others / (1 - float(t.max_share)) + 1e-9)
                s = (
                    f"target {t.name} in {t.scope} allows at most {_pct(t.max_share)} {what} among those "
                    f"placed there, but only {others} of the {n_all} candidates eligible for hosts there are not {what}"
                )
                if forced > most:
                    s += (
                        f", so at most {most} can be placed there while meeting it and the other constraints "
                        f"here need at least {forced}"
                    )
                parts.append(s)
            if parts:
                text = "; ".join(parts)
                out.append(text[0].upper() + text[1:] + ".")
                self.explained.add((g.kind, g.index))
        return out

    def forced_in_scope(self, t: Target) -> int:
        """A lower bound on placements the core's other groups force into the target's scope."""
        scope = set(np.asarray(t.scope_hosts).tolist())
        per_host: dict[int, set[int]] = {}
        for _, c, h in self.forced_pairs():
            if h in scope:
                per_host.setdefault(h, set()).add(c)
        total = 0
        quota_hosts = {g.index for g in self.core if g.kind == "min_placements"}
        for h in scope:
            total += max(len(per_host.get(h, ())), int(self.p.min_placements[h]) if h in quota_hosts else 0)
        return total

    def generic(self, g: _Group) -> str:
        if g.kind in ("required", "fixed"):
            c, h = self.pair(g.kind, g.index)
            text = self.what(g)
            return f"{text[0].upper()}{text[1:]} ({self.host(h)} offers {_places(int(self.p.capacity[h]))})."
        if g.kind == "link":
            a, b = (int(v) for v in self.p.links[g.index])
            common = self.index.regions_of(a) & self.index.regions_of(b)
            return (
                f"{self.cand(a)} and {self.cand(b)} are linked: both placed in the same region or neither "
                f"(regions where both have eligible hosts: {self.regions(common)})."
            )
        if g.kind == "min_placements":
            h = g.index
            return (
                f"{self.host(h)} needs at least {_count(int(self.p.min_placements[h]), 'placement')} (hard lower quota); "
                f"{_count(len(self.index.pairs_of_host[h]), 'candidate')} eligible there."
            )
        if g.kind == "target":
            t = self.p.targets[g.index]
            bounds = []
            if t.min_share is not None:
                bounds.append(f"at least {_pct(t.min_share)}")
            if t.max_share is not None:
                bounds.append(f"at most {_pct(t.max_share)}")
            return f"Target {t.name} in {t.scope} (hard): {' and '.join(bounds)} {_value_words(t)} among those placed there."
        return "Strict stability: no candidate and host may both prefer each other to what they were given."

    def sentences(self) -> list[str]:
        specific = (
            self.over_full_hosts()
            + self.candidate_twice()
            + self.lower_quotas()
            + self.links()
            + self.stability()
            + self.targets()
        )
        # Groups a specific sentence already covers are not repeated.
        rest = [self.generic(g) for g in self.core if (g.kind, g.index) not in self.explained]
        return list(dict.fromkeys(s[0].upper() + s[1:] for s in specific + rest))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _places(n: int) -> str:
    return "no places" if n == 0 else _count(n, "place")


def _pct(share: float) -> str:
    text = f"{100 * float(share):.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _value_words(t: Target) -> str:
    """How the counted group reads in a sentence: "female", "minority_ethnic = yes"."""
    if not t.value:
        return "members of the target group"
    if t.attribute == "sex" or not t.attribute:
        return t.value
    return f"{t.attribute} = {t.value}"


@dataclass(frozen=True)
class Conflict:
    """The outcome of the search for conflicting hard constraints.

    ``status``: "infeasible" (``groups`` is a conflicting set, minimal when
    ``minimal``), "feasible" (the hard constraints hold together), or
    "unknown" (time ran out before either was proved). ``groups`` are
    (kind, index) with kind one of "required", "fixed", "link",
    "min_placements", "target", "stability" and index into
    ``problem.required`` / ``fixed`` / ``links`` / hosts / ``targets`` (0 for
    stability).
    """

    status: str
    groups: tuple[tuple[str, int], ...] = ()
    minimal: bool = True


def find_conflict(problem: Problem, options: Options, *, time_limit: float = DEFAULT_TIME_LIMIT) -> Conflict:
    """A minimal set of named constraint groups that cannot all hold, if there is one."""
    conflict, _ = _find(problem, options, _Index(problem), time.monotonic() + time_limit)
    return conflict


def _find(problem: Problem, options: Options, index: _Index, deadline: float) -> tuple[Conflict, list[_Group]]:
    model, x, groups = _build_model(problem, options, index)
    if not groups:
        return Conflict("feasible"), []
    core, minimal, status = _minimal_core(problem, model, x, groups, deadline)
    if core is None:
        return Conflict(status, (), minimal), []
    return Conflict(status, tuple((g.kind, g.index) for g in core), minimal), core


def diagnose(problem: Problem, options: Options, *, time_limit: float = DEFAULT_TIME_LIMIT) -> list[str]:
    """Plain-words reasons why no placement meets the hard constraints, most specific first.

    Ends with what to relax. ``time_limit`` bounds the whole diagnosis; if it
    runs out while shrinking, the conflict is reported as found (possibly with
    a constraint more than needed) and says so.
    """
    index = _Index(problem)
    conflict, core = _find(problem, options, index, time.monotonic() + time_limit)
    if conflict.status == "feasible":
        return [
            "The hard constraints (capacities, required and accepted placements, links, hard lower quotas, "
            "hard targets, strict stability) can all be met together, so the model was not infeasible "
            "because of a conflict between them; it may have run out of time. Try a longer time limit."
        ]
    if not core:
        return [
            f"Could not find which hard constraints conflict within {time_limit:g} seconds. "
            "Try a longer time limit, or relax hard targets and lower quotas one at a time."
        ]

    explainer = _Explainer(problem, index, core)
    out = explainer.sentences()
    fixes = [explainer.fix(g) for g in core]
    if len(core) == 1:
        out.append(f"This constraint cannot hold even on its own: to find a placement, {fixes[0]}.")
    else:
        names = "; ".join(explainer.what(g) for g in core)
        out.append(
            f"These {len(core)} constraints cannot all hold together ({names}). "
            f"Relaxing any one of them removes this conflict: {'; or '.join(fixes)}. "
            "Other conflicts may remain, so solve again afterwards."
        )
    if not conflict.minimal:
        out.append(
            "The diagnosis ran out of time before proving this set minimal: "
            "it may include a constraint that is not part of the conflict."
        )
    return out
