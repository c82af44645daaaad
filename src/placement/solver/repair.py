"""Repair: from a placement that breaks a few hard rows to one that breaks none.

The priced flows of ``lagrange.py`` are placements of the network (each
candidate at most once, each host within its places, required and accepted
pairs in) that may break hard side rows: a share target short by a person or
two in a region, a linked pair split across regions. When pricing ends with no
flow meeting every row, the exact engine used to be the only source of a
placement, and on a binding target at 5,000 candidates it found none in a
minute: the coordinator got nothing. The repair turns the best priced flow
into a placement that meets every hard row (measured at load 11: 0.05-0.3 s
at 1,000 candidates, 1.5 s at 5,000, 2.4 s at 20,000), so a solve has an
answer to return and the exact model a cut-off to prune with.

How: greedy local search on the total violation (each row's excess in units
of its largest coefficient, so "one person short" counts about 1 whatever
the row). While a row is broken, the moves that push it the right way are
scored:

* place a candidate on a pair that helps the row (unplaced, or moved from
  their current host), taking a free place or bumping the occupant who helps
  the row least - unplaced, or moved to another of their hosts with room;
* unplace a candidate whose pair hurts the row (the last resort: it costs a
  placement).

The move that lowers the total violation most is made (ties: fewer placements
lost, then the lower level cost); above 1,000 candidates a few more from the
same scoring too, on other candidates and hosts, each re-checked. A row no
move helps passes to the next broken one; when none can be helped the repair
ends without an answer. Afterwards the candidates left unplaced are put back, cheapest pair
first, wherever that breaks nothing. Required and accepted pairs never move.
The result is checked by the caller like any engine's answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from .checks import Row
from .network import Network

# Moves scored per step for one broken row: the cheapest by level cost. Keeps a step at a few
# milliseconds at 20,000 candidates; the repair only needs some good move, not the best of thousands.
MOVES_PER_STEP = 200
# Moves made from one scoring of a row (disjoint candidates and hosts, each re-checked before it is made):
# one per this many candidates. One at a time keeps the most placements (1,000 binding candidates: 841 of
# 842 against 840 with 25 a time); batches keep 20,000 within seconds (2.4 s against 18 s, load 11).
CANDIDATES_PER_BATCH_MOVE = 1000


def repair(
    net: Network, rows: list[Row], x0: np.ndarray, cost: np.ndarray, *, deadline: float, max_steps: int | None = None
) -> np.ndarray | None:
    """A placement meeting every hard row in ``rows`` ("le" and "eq"), near ``x0``; None if the search sticks.

    ``x0`` must be a placement of the network (a flow). ``cost`` (per pair) only orders equally good moves.
    """
    hard = [r for r in rows if r.kind in ("le", "eq")]
    if not hard:
        return x0.astype(np.int64).copy()
    state = _Search(net, hard, x0, cost)
    p = net.problem
    batch = max(1, p.n_candidates // CANDIDATES_PER_BATCH_MOVE)
    limit = max_steps if max_steps is not None else 20 * len(hard) + 4 * p.n_candidates
    while True:
        broken = state.broken()
        if broken.size == 0:
            break
        if state.steps >= limit or time.perf_counter() > deadline:
            return None
        if not state.step(broken, batch):
            return None
    state.refill(deadline)
    return state.x


class _Search:
    """The repair's state: the placement, each row's value, who is where and the room left at each host."""

    def __init__(self, net: Network, hard: list[Row], x0: np.ndarray, cost: np.ndarray) -> None:
        p = self.p = net.problem
        self.cost = cost
        self.x = x0.astype(np.int64).copy()
        n_rows = len(hard)
        r_idx = np.concatenate([np.full(r.pairs.size, i) for i, r in enumerate(hard)])
        p_idx = np.concatenate([r.pairs for r in hard])
        vals = np.concatenate([r.coef for r in hard]).astype(np.int64)
        self.A = sp.csr_matrix((vals, (r_idx, p_idx)), shape=(n_rows, p.n_pairs), dtype=np.int64)
        self.Ac = self.A.tocsc()
        self.AT = self.A.T.tocsr()
        b = np.array([r.const for r in hard], np.int64)
        self.is_eq = np.array([r.kind == "eq" for r in hard])
        self.unit = np.maximum(np.array([int(np.abs(r.coef).max(initial=1)) for r in hard], np.int64), 1).astype(float)
        self.g = self.A @ self.x + b  # each row's value: le rows hold at <= 0, eq rows at 0

        self.cand_pairs = np.argsort(p.pair_cand, kind="stable")
        self.cand_start = np.searchsorted(p.pair_cand[self.cand_pairs], np.arange(p.n_candidates + 1))
        self.movable = np.zeros(p.n_pairs, bool)
        self.movable[net.free_pairs] = True  # pairs of candidates without a forced pair, at hosts with a place left
        self.pair_of = np.full(p.n_candidates, -1, np.int64)
        used = np.flatnonzero(self.x)
        self.pair_of[p.pair_cand[used]] = used
        self.room = p.capacity.astype(np.int64) - np.bincount(p.pair_host[used], minlength=p.n_hosts)
        if np.any(self.room < 0):
            raise ValueError("repair needs a placement within the hosts' places")
        # Occupants of each host (pairs), kept as sets for bumping.
        self.occupants: list[set[int]] = [set() for _ in range(p.n_hosts)]
        for q in used.tolist():
            self.occupants[int(p.pair_host[q])].add(q)
        self.steps = 0

    def broken(self) -> np.ndarray:
        return np.flatnonzero(np.where(self.is_eq, self.g != 0, self.g > 0))

    def excess(self, vals_: np.ndarray, rows_: np.ndarray) -> np.ndarray:
        """How far rows ``rows_`` at values ``vals_`` are from holding, in units of their largest coefficient."""
        e = np.where(self.is_eq[rows_], np.abs(vals_), np.maximum(vals_, 0))
        return e / self.unit[rows_]

    def score(self, moves: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per move (pairs changing by +1/-1), all at once: the change of total violation, the placements
        lost and the change of level cost."""
        mi = np.fromiter((k for k, mv in enumerate(moves) for _ in mv), np.int64)
        qi = np.fromiter((q for mv in moves for q, _ in mv), np.int64)
        si = np.fromiter((s for mv in moves for _, s in mv), np.int64)
        M = sp.csr_matrix((si, (mi, qi)), shape=(len(moves), self.p.n_pairs), dtype=np.int64)
        D = (M @ self.AT).tocoo()
        keep = D.data != 0
        rr, cc, dv = D.row[keep], D.col[keep], D.data[keep]
        change = self.excess(self.g[cc] + dv, cc) - self.excess(self.g[cc], cc)
        d = np.bincount(rr, weights=change, minlength=len(moves))
        lost = -np.bincount(mi, weights=si, minlength=len(moves))
        dc = np.bincount(mi, weights=si * self.cost[qi], minlength=len(moves))
        return d, lost, dc

    def apply(self, changes: list[tuple[int, int]]) -> None:
        p, Ac = self.p, self.Ac
        for q, s in sorted(changes, key=lambda qs: qs[1]):  # removals first
            c, h = int(p.pair_cand[q]), int(p.pair_host[q])
            self.x[q] += s
            lo, hi = Ac.indptr[q], Ac.indptr[q + 1]
            self.g[Ac.indices[lo:hi]] += s * Ac.data[lo:hi]
            if s > 0:
                self.pair_of[c] = q
                self.room[h] -= 1
                self.occupants[h].add(q)
            else:
                self.pair_of[c] = -1
                self.room[h] += 1
                self.occupants[h].discard(q)

    def moves_for(self, i: int) -> list[list[tuple[int, int]]]:
        """Moves that push row i towards its bound (down for le rows and eq rows above 0, up otherwise)."""
        A, x, g, cost, movable = self.A, self.x, self.g, self.cost, self.movable
        lo, hi = A.indptr[i], A.indptr[i + 1]
        qs, cs = A.indices[lo:hi], A.data[lo:hi]
        down = g[i] > 0
        helps_on = (cs < 0) if down else (cs > 0)  # placing such a pair helps
        out: list[list[tuple[int, int]]] = []
        add = qs[helps_on & (x[qs] == 0) & movable[qs]]
        if add.size > MOVES_PER_STEP:
            add = add[np.argsort(cost[add], kind="stable")[:MOVES_PER_STEP]]
        coef_i = dict(zip(qs.tolist(), cs.tolist())) if add.size else {}
        for q in add.tolist():
            out += self._placing(q, coef_i, 1 if down else -1)
        drop = qs[~helps_on & (cs != 0) & (x[qs] == 1) & movable[qs]]
        if drop.size > MOVES_PER_STEP:
            # The dearest pairs first: dropping one of them costs the level least.
            drop = drop[np.argsort(-cost[drop], kind="stable")[:MOVES_PER_STEP]]
        for q in drop.tolist():
            out.append([(q, -1)])
        return out

    def _placing(self, q: int, coef_i: dict[int, int], sign: int) -> list[list[tuple[int, int]]]:
        """Moves that place pair q's candidate there: into a free place, or bumping an occupant."""
        p, cost, movable, room = self.p, self.cost, self.movable, self.room
        c, h = int(p.pair_cand[q]), int(p.pair_host[q])
        base = [(q, 1)]
        old = int(self.pair_of[c])
        if old >= 0:
            if not movable[old]:
                return []
            base.append((old, -1))
        if room[h] > 0 or (old >= 0 and int(p.pair_host[old]) == h):
            return [base]
        # Bump the occupant whose pair helps this row least (most against it).
        occ = [o for o in self.occupants[h] if movable[o]]
        if not occ:
            return []
        worst = max(occ, key=lambda o: (sign * coef_i.get(o, 0), -int(cost[o]), o))
        out = [base + [(worst, -1)]]
        # ... or bump them to another of their hosts with a place free (the one c leaves included).
        d = int(p.pair_cand[worst])
        freed = int(p.pair_host[old]) if old >= 0 else -1
        for q2 in self.cand_pairs[self.cand_start[d] : self.cand_start[d + 1]].tolist():
            h2 = int(p.pair_host[q2])
            if q2 != worst and movable[q2] and h2 != h and (room[h2] > 0 or h2 == freed):
                out.append(base + [(worst, -1), (q2, 1)])
        return out

    def still_legal(self, mv: list[tuple[int, int]]) -> bool:
        """The move's pairs are as it assumed: removals placed, additions not, a place free for each."""
        p, x = self.p, self.x
        freed: dict[int, int] = {}
        for q, s_ in mv:
            if (x[q] == 1) != (s_ < 0):
                return False
            if s_ < 0:
                h = int(p.pair_host[q])
                freed[h] = freed.get(h, 0) + 1
        for q, s_ in mv:
            if s_ > 0:
                h = int(p.pair_host[q])
                if self.room[h] + freed.get(h, 0) <= 0:
                    return False
                freed[h] = freed.get(h, 0) - 1
        cands = [int(p.pair_cand[q]) for q, s_ in mv if s_ > 0]
        return all(self.pair_of[c] < 0 or any(q == self.pair_of[c] and s_ < 0 for q, s_ in mv) for c in cands)

    def step(self, broken: np.ndarray, batch: int) -> bool:
        """Moves from one scoring; False when no move helps any broken row.

        The worst-broken row first; if no move helps it without hurting more elsewhere, the next one.
        From one scoring, the best few moves on disjoint candidates and hosts are made (each re-checked
        against the rows as they stand): a row short by ten people needs ten moves, not ten scorings.
        """
        p, g, is_eq = self.p, self.g, self.is_eq
        made = 0
        for i in broken[np.argsort(-self.excess(g[broken], broken), kind="stable")].tolist():
            moves = self.moves_for(i)
            if not moves:
                continue
            d, lost, dc = self.score(moves)
            d = np.round(d, 9)
            touched: set[tuple[str, int]] = set()
            first_lost = 0.0
            for k in np.lexsort((dc, lost, d)).tolist():
                if d[k] >= 0 or made >= batch:
                    break
                if made and lost[k] > first_lost:
                    continue  # in a batch only moves as good for the count as the best one
                mv = moves[k]
                keys = {("c", int(p.pair_cand[q])) for q, _ in mv} | {("h", int(p.pair_host[q])) for q, _ in mv}
                if keys & touched:
                    continue
                if made and (np.round(self.score([mv])[0][0], 9) >= 0 or not self.still_legal(mv)):
                    continue
                self.apply(mv)
                if not made:
                    first_lost = lost[k]
                touched |= keys
                made += 1
                self.steps += 1
                if not (g[i] != 0 if is_eq[i] else g[i] > 0):
                    break
            if made:
                return True
        return False

    def refill(self, deadline: float) -> None:
        """Put unplaced candidates back where that breaks nothing, cheapest pair first."""
        p, Ac = self.p, self.Ac
        for q in np.argsort(self.cost, kind="stable").tolist():
            if time.perf_counter() > deadline:
                break
            c, h = int(p.pair_cand[q]), int(p.pair_host[q])
            if not self.movable[q] or self.pair_of[c] >= 0 or self.room[h] <= 0:
                continue
            lo, hi = Ac.indptr[q], Ac.indptr[q + 1]
            ri = Ac.indices[lo:hi]
            nv = self.g[ri] + Ac.data[lo:hi]
            if np.any(np.where(self.is_eq[ri], nv != 0, nv > 0)):
                continue
            self.apply([(q, 1)])


def repair_best(
    net: Network,
    rows: list[Row],
    starts: list,
    cost: np.ndarray,
    *,
    placed: int | None,
    deadline: float,
    ok: Callable[[np.ndarray], bool],
) -> np.ndarray | None:
    """:func:`repair` from each start in turn (flows: 0/1 arrays, or callables giving one or None) until one
    keeps ``placed`` (None: any number) or the deadline passes; of the placements ``ok`` accepts, the one
    with the most placed (the first of those), or None."""
    x: np.ndarray | None = None
    for start in starts:
        if (x is not None and (placed is None or int(x.sum()) >= placed)) or time.perf_counter() > deadline:
            break
        s = start() if callable(start) else start
        if s is None:
            continue
        y = repair(net, rows, np.asarray(s, np.int64), cost, deadline=deadline)
        if y is not None and ok(y) and (x is None or int(y.sum()) > int(x.sum())):
            x = y
    return x
