"""Why no placement exists, in words: a minimal conflict told as sentences a coordinator can act on.

diagnose.py finds the conflict - a minimal set of named constraint groups
that cannot all hold. This module words it: the most specific finding
first, with the numbers that make the conflict concrete where they are cheap
to compute (a host offering fewer places than the placements required there,
a target whose eligible members are too few), and a generic sentence for any
group no finding covers. Each group also has a short name and a fix, for the
closing suggestion of what to relax.

Messages name candidates and hosts by label and targets by their own
definition ("40% female"); they never state an individual's special category
data.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from placement.solver.constraints import family
from placement.solver.constraints.pairs import held_words
from placement.solver.problem import Problem, Target
from placement.solver.stability import deferred_acceptance

if TYPE_CHECKING:
    from placement.solver.constraints import Group as _Group
    from placement.solver.diagnose import _Index


class Explainer:
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
        """A short name for the group, used in sentences and the closing suggestion (its family's words)."""
        return family(g.family).what(self.p, g)

    def fix(self, g: _Group) -> str:
        return family(g.family).fix(self.p, g)

    def held_words(self, i: int) -> str:
        """How a placement held from the latest approved round reads, by its offer state."""
        return held_words(self.p, i)

    def holder_words(self, g: _Group, c: int) -> str:
        """One holder of a place, with why they hold it: "C1 (accepted)", "C2 (required by pairs.csv)"."""
        if g.kind == "required":
            return f"{self.cand(c)} (required by pairs.csv)"
        return f"{self.cand(c)} ({self.p.fixed_state(g.index)})"

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
                states = {self.p.fixed_state(g.index) if g.kind == "fixed" else "required" for g, _ in items}
                if len(states) == 1:
                    state = states.pop()
                    held = {
                        "required": "are required there by pairs.csv",
                        "offered": "hold offers there not yet answered",
                        "accepted": "accepted there",
                    }.get(state, "hold placements there")
                    names = ", ".join(self.cand(c) for _, c in items)
                else:
                    held = "hold placements there"
                    names = ", ".join(self.holder_words(g, c) for g, c in items)
                fix = []
                if any(g.kind == "fixed" for g, _ in items):
                    fix.append(
                        f"release {len(items) - cap} of them with `placement offer release CANDIDATE --reason ...`"
                    )
                if any(g.kind == "required" for g, _ in items):
                    fix.append("remove a required pair with `placement pair remove CANDIDATE HOST --reason ...`")
                fix.append(f"give {self.host(h)} more places (capacity in hosts.csv) and import it again")
                out.append(
                    f"{self.host(h)} now has {_places(cap)} but {len(items)} candidates {held}: {names}. "
                    f"To resolve it, {', or '.join(fix)}."
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
                hosts = " and ".join(
                    f"{self.host(h)} ({'required by pairs.csv' if g.kind == 'required' else self.p.fixed_state(g.index)})"
                    for g, h in items
                )
                out.append(f"{self.cand(c)} is held at both {hosts}, but can take only one place.")
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
                    what = self.what(fg)
                    out.append(
                        f"{what[0].upper()}{what[1:]} and the link between "
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
                supply = (
                    "no candidates are"
                    if eligible == 0
                    else f"only {eligible} candidate{'s are' if eligible != 1 else ' is'}"
                )
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
        return family(g.family).generic(self.p, g)

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


def _pct(share: float | Fraction) -> str:
    text = f"{100 * float(share):.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _value_words(t: Target) -> str:
    """How the counted group reads in a sentence: "female", "minority_ethnic = yes"."""
    if not t.value:
        return "members of the target group"
    if t.attribute == "sex" or not t.attribute:
        return t.value
    return f"{t.attribute} = {t.value}"
