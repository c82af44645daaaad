"""Fewer blocking pairs by local search: the first incumbent of ``--stability prefer`` with side rules.

Under ``prefer`` with targets or links, deferred acceptance's placement breaks
the side rows and the repair (``repair.py``) that makes it meet them moves
candidates with no regard for stability: on the 1,000-candidate binding-target
scheme it leaves 672 blocking pairs, and CP-SAT, handed that placement as a
hint, spent the minute in presolve and its first solutions (issue 18). This
step works on the blocking pairs themselves, the way deferred acceptance
would: for a blocking pair (c, h), c moves to h (leaving their place, if
any), and if h is full its least wanted occupant leaves - to their best
other host with a free place that does not block, or unplaced. The move is
made when every hard row still holds and the number of blocking pairs falls.
Required and accepted pairs never move. It stops when no blocking pair gives
such a move, or at its deadline; the result is checked like any answer.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .checks import Row
from .network import Network
from .stability import blocking_mask

# Occupants of a full host tried for one blocking pair (least wanted first): the first one often cannot
# leave without breaking a share target, the next one can.
OCCUPANTS_TRIED = 4


def fewer_blocking(net: Network, rows: list[Row], x0: np.ndarray, *, deadline: float) -> np.ndarray:
    """A placement meeting the hard ``rows`` with no more blocking pairs than ``x0`` (which must meet them)."""
    p = net.problem
    hard = [r for r in rows if r.kind in ("le", "eq")]
    x = x0.astype(np.int64).copy()
    if hard:
        r_idx = np.concatenate([np.full(r.pairs.size, i) for i, r in enumerate(hard)])
        A = sp.csr_matrix(
            (np.concatenate([r.coef for r in hard]).astype(np.int64), (r_idx, np.concatenate([r.pairs for r in hard]))),
            shape=(len(hard), p.n_pairs),
        ).tocsc()
        g = A @ x + np.array([r.const for r in hard], np.int64)
        is_eq = np.array([r.kind == "eq" for r in hard])
    movable = np.zeros(p.n_pairs, bool)
    movable[net.free_pairs] = True
    cand_pairs = np.argsort(p.pair_cand, kind="stable")
    cand_start = np.searchsorted(p.pair_cand[cand_pairs], np.arange(p.n_candidates + 1))
    host_pairs = np.argsort(p.pair_host, kind="stable")
    host_start = np.searchsorted(p.pair_host[host_pairs], np.arange(p.n_hosts + 1))
    pair_of = np.full(p.n_candidates, -1, np.int64)
    used = np.flatnonzero(x)
    pair_of[p.pair_cand[used]] = used
    load = np.bincount(p.pair_host[used], minlength=p.n_hosts)

    def rows_hold(changes: list[tuple[int, int]]) -> bool:
        if not hard:
            return True
        qs = np.array([q for q, _ in changes])
        d = A[:, qs] @ np.array([s for _, s in changes], np.int64)
        touched = np.flatnonzero(d)
        nv = g[touched] + d[touched]
        return not np.any(np.where(is_eq[touched], nv != 0, nv > 0))

    def apply(changes: list[tuple[int, int]]) -> None:
        nonlocal g
        for q, s in changes:
            x[q] += s
            c, h = int(p.pair_cand[q]), int(p.pair_host[q])
            load[h] += s
            pair_of[c] = q if s > 0 else -1
            if hard:
                lo, hi = A.indptr[q], A.indptr[q + 1]
                g[A.indices[lo:hi]] += s * A.data[lo:hi]

    def count(changes: list[tuple[int, int]]) -> int:
        for q, s in changes:
            x[q] += s
        n = int(blocking_mask(p, np.flatnonzero(x)).sum())
        for q, s in changes:
            x[q] -= s
        return n

    def moves(base: list[tuple[int, int]], q: int, h: int, old: int):
        """c onto h; if h is full, each occupant h ranks below c in turn (least wanted first) leaves, to their
        best other host with room where the hard rows hold, or unplaced."""
        if load[h] < p.capacity[h] or (old >= 0 and int(p.pair_host[old]) == h):
            yield base
            return
        here = host_pairs[host_start[h] : host_start[h + 1]]
        occ = here[(x[here] == 1) & movable[here] & (p.pair_host_rank[here] > p.pair_host_rank[q])]
        occ = occ[np.lexsort((-p.pair_rank[occ], -p.pair_host_rank[occ]))]
        for o in occ[:OCCUPANTS_TRIED].tolist():
            changes = base + [(o, -1)]
            d = int(p.pair_cand[o])
            mine = cand_pairs[cand_start[d] : cand_start[d + 1]]
            for q2 in mine[np.argsort(p.pair_rank[mine], kind="stable")].tolist():
                h2 = int(p.pair_host[q2])
                room = p.capacity[h2] - load[h2] + (1 if old >= 0 and int(p.pair_host[old]) == h2 else 0)
                if q2 != o and movable[q2] and h2 != h and room > 0 and rows_hold(changes + [(q2, 1)]):
                    yield changes + [(q2, 1)]
                    break
            yield changes

    current = int(blocking_mask(p, np.flatnonzero(x)).sum())
    while current and time.perf_counter() < deadline:
        block = np.flatnonzero(blocking_mask(p, np.flatnonzero(x)) & movable)
        # Candidates' best choices first: the moves deferred acceptance would make first.
        block = block[np.argsort(p.pair_rank[block], kind="stable")]
        improved = False
        for q in block.tolist():
            if time.perf_counter() >= deadline:
                break
            c, h = int(p.pair_cand[q]), int(p.pair_host[q])
            old = int(pair_of[c])
            if x[q] == 1 or (old >= 0 and not movable[old]):
                continue
            base = [(old, -1)] if old >= 0 else []
            base.append((q, 1))
            for changes in moves(base, q, h, old):
                if not rows_hold(changes):
                    continue
                n = count(changes)
                if n < current:
                    apply(changes)
                    current = n
                    improved = True
                    break
        # One pass over the blocking pairs as they stood; the next pass starts from the ones left.
        if not improved:
            break
    return x
