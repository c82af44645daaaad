"""Encoder and decoder: a scheme's records <-> the solver's index arrays.

The one place that decides eligibility (``shared/spec/formats.md``): a
(candidate, host) pair enters the model only if the candidate ranked the host,
meets its minimum score, shares a specialism, can work in its region, is on
the host's list where the host gave one, is not forbidden there and has not
declined it before. Every preference left out keeps its reason, so the round
report, ``placement explain`` and the audit all say the same thing.

This module sees plain records (``placement.scheme``), never the database.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..scheme import CandidateRec, History, HostRec, Scheme
from .problem import Problem, Solution, Target


@dataclass(frozen=True)
class Dropped:
    candidate_id: str
    host_id: str
    reason: str


@dataclass
class Encoded:
    """A problem plus what is needed to decode its answer and explain it."""

    problem: Problem
    candidate_ids: list[str]
    host_ids: list[str]
    # The candidate's own rank of each pair's host, as given in preferences.csv (for reports).
    pair_given_rank: np.ndarray
    dropped: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def eligible_candidates(self) -> list[str]:
        has = np.zeros(self.problem.n_candidates, bool)
        has[self.problem.pair_cand] = True
        return [c for c, ok in zip(self.candidate_ids, has) if ok]

    def decode(self, solution: Solution) -> dict[str, tuple[str, int]]:
        """candidate_id -> (host_id, rank as given) for every placed candidate."""
        p = self.problem
        return {
            self.candidate_ids[int(p.pair_cand[i])]: (self.host_ids[int(p.pair_host[i])], int(self.pair_given_rank[i]))
            for i in solution.chosen
        }

    def pair_index(self) -> dict[tuple[str, str], int]:
        p = self.problem
        return {
            (self.candidate_ids[int(c)], self.host_ids[int(h)]): i
            for i, (c, h) in enumerate(zip(p.pair_cand, p.pair_host))
        }


def ineligibility_reason(cand: CandidateRec, host: HostRec, host_list: dict[str, int] | None) -> str | None:
    """Why ``cand`` may not be placed at ``host`` by the scheme's rules, or None if eligible.

    Rules only: forbidden pairs and earlier declines are the encoder's business.
    """
    if host.capacity <= 0:
        return "the host offers no places this year"
    if cand.assessment_score < host.min_score:
        return f"assessment score {cand.assessment_score:g} is below the host's minimum of {host.min_score:g}"
    if not (cand.specialisms & host.specialisms):
        return (
            f"no specialism in common (candidate: {', '.join(sorted(cand.specialisms))}; "
            f"host: {', '.join(sorted(host.specialisms))})"
        )
    if host.region != cand.home_region and not cand.willing_to_relocate:
        return f"the host is in {host.region}, outside the candidate's home region ({cand.home_region}), and they are not willing to relocate"
    if host_list is not None and cand.candidate_id not in host_list:
        return "the host gave its own ranking and did not list this candidate"
    return None


def scopes_of(host_id: str, region: str, org_type: str) -> tuple[str, ...]:
    """The expanded target scopes (as ``_expand_scope`` names them) that hold this host, the cohort aside."""
    return (f"region={region}", f"org_type={org_type}", f"host={host_id}")


def _expand_scope(scope: str, hosts: list[HostRec]) -> list[tuple[str, np.ndarray]]:
    """``region=*`` -> one scope per region that has hosts; ``cohort`` -> all hosts; etc."""
    all_idx = np.arange(len(hosts), dtype=np.int32)
    if scope == "cohort":
        return [("cohort", all_idx)]
    key, _, value = scope.partition("=")
    attr = {"region": "region", "org_type": "org_type", "host": "host_id"}[key]
    values = sorted({getattr(h, attr) for h in hosts}) if value == "*" else [value]
    out = []
    for v in values:
        idx = np.array([i for i, h in enumerate(hosts) if getattr(h, attr) == v], dtype=np.int32)
        out.append((f"{key}={v}", idx))
    return out


def encode(scheme: Scheme, history: History | None = None) -> Encoded:
    """Turn a scheme (and what earlier rounds settled) into the solver's arrays."""
    history = history or History()
    # Data: candidates and hosts in a stable order, so the same inputs give the same arrays.
    cands = sorted(
        (c for c in scheme.candidates if c.candidate_id not in history.withdrawn), key=lambda c: c.candidate_id
    )
    hosts = sorted(scheme.hosts, key=lambda h: h.host_id)
    ci = {c.candidate_id: i for i, c in enumerate(cands)}
    hi = {h.host_id: i for i, h in enumerate(hosts)}
    regions = sorted({h.region for h in hosts})
    ri = {r: i for i, r in enumerate(regions)}
    rules = {(r.candidate_id, r.host_id): r for r in scheme.pair_rules}
    notes: list[str] = []

    # Host orders for stability: the host's own list, else assessment score (higher first, equal tied).
    scores = sorted({c.assessment_score for c in cands}, reverse=True)
    score_rank = {s: i + 1 for i, s in enumerate(scores)}

    def host_rank(c: CandidateRec, h: HostRec) -> int:
        hl = scheme.host_rankings.get(h.host_id)
        if hl is not None and c.candidate_id in hl:
            return int(hl[c.candidate_id])
        if hl is not None:  # a required/fixed pair the host did not list: after everyone it listed
            return max(hl.values(), default=0) + 1
        return score_rank[c.assessment_score]

    prefs_of: dict[str, list[tuple[int, str]]] = {}
    for cid, hid, rank in scheme.preferences:
        if cid in ci and hid in hi:
            prefs_of.setdefault(cid, []).append((rank, hid))

    pc: list[int] = []
    ph: list[int] = []
    pr: list[int] = []
    phr: list[int] = []
    pgiven: list[int] = []
    dropped: list[Dropped] = []
    required: list[int] = []
    fixed: list[int] = []
    fixed_states: list[str] = []
    for c in cands:
        seen: set[str] = set()
        entries = _entries(c, prefs_of, rules, history, hi, notes)
        for pos, given, hid in entries:
            if hid in seen:
                continue
            seen.add(hid)
            host = hosts[hi[hid]]
            rule = rules.get((c.candidate_id, hid))
            is_fixed = history.fixed.get(c.candidate_id) == hid
            is_required = rule is not None and rule.rule == "require"
            reason = None if (is_fixed or is_required) else _drop_reason(scheme, history, c, host, rule)
            if reason is not None:
                dropped.append(Dropped(c.candidate_id, hid, reason))
                continue
            idx = len(pc)
            pc.append(ci[c.candidate_id])
            ph.append(hi[hid])
            pr.append(pos)
            phr.append(host_rank(c, host))
            pgiven.append(given)
            if is_fixed:
                fixed.append(idx)
                fixed_states.append(history.fixed_state.get(c.candidate_id, "accepted"))
            elif is_required:
                required.append(idx)

    links = _links(cands, ci, notes)
    targets = _targets(scheme, cands, hosts)

    i32 = lambda xs: np.asarray(xs, dtype=np.int32)  # noqa: E731
    problem = Problem(
        n_candidates=len(cands),
        n_hosts=len(hosts),
        pair_cand=i32(pc),
        pair_host=i32(ph),
        pair_rank=i32(pr),
        pair_host_rank=i32(phr),
        capacity=i32([h.capacity for h in hosts]),
        min_placements=i32([h.min_placements for h in hosts]),
        host_region=i32([ri[h.region] for h in hosts]),
        required=i32(required),
        fixed=i32(fixed),
        links=i32(links).reshape(-1, 2),
        targets=tuple(targets),
        candidate_labels=tuple(c.candidate_id for c in cands),
        host_labels=tuple(h.host_id for h in hosts),
        region_labels=tuple(regions),
        fixed_states=tuple(fixed_states),
    )
    return Encoded(
        problem=problem,
        candidate_ids=[c.candidate_id for c in cands],
        host_ids=[h.host_id for h in hosts],
        pair_given_rank=i32(pgiven),
        dropped=dropped,
        notes=notes,
    )


def _entries(
    c: CandidateRec,
    prefs_of: dict[str, list[tuple[int, str]]],
    rules: dict,
    history: History,
    hi: dict[str, int],
    notes: list[str],
) -> list[tuple[int, int, str]]:
    """(position, rank given, host id) of each host the candidate is considered for, in order."""
    ranked = sorted(prefs_of.get(c.candidate_id, []))
    entries = [(pos + 1, given, hid) for pos, (given, hid) in enumerate(ranked)]
    # Pre-agreed and already-accepted placements are in the model even if the candidate did not rank the host.
    extra = [r.host_id for (cid, _), r in rules.items() if cid == c.candidate_id and r.rule == "require"]
    if c.candidate_id in history.fixed:
        extra.append(history.fixed[c.candidate_id])
    listed = {hid for _, _, hid in entries}
    for hid in extra:
        if hid in hi and hid not in listed:
            entries.append((len(entries) + 1, len(entries) + 1, hid))
            listed.add(hid)
            notes.append(
                f"{c.candidate_id} did not rank {hid} but is placed there by agreement; counted as their last choice."
            )
    return entries


def _drop_reason(scheme: Scheme, history: History, c: CandidateRec, host: HostRec, rule) -> str | None:
    """Why the candidate cannot be placed at the host (the encoder's own words), or None when they can."""
    hid = host.host_id
    if rule is not None and rule.rule == "forbid":
        return "the pair is forbidden" + (f" ({rule.reason})" if rule.reason else "")
    if hid in history.declined.get(c.candidate_id, set()):
        rnd = history.declined_round.get((c.candidate_id, hid))
        return "the candidate declined this host's offer" + (f" in round {rnd}" if rnd else "")
    if hid in history.released.get(c.candidate_id, set()):
        rnd = history.released_round.get((c.candidate_id, hid))
        return "the scheme released the candidate's offer at this host" + (f" in round {rnd}" if rnd else "")
    return ineligibility_reason(c, host, scheme.host_rankings.get(hid))


def _links(cands: list[CandidateRec], ci: dict[str, int], notes: list[str]) -> list[tuple[int, int]]:
    # Linked candidates: each mutual pair once; a link whose partner has left the pool no longer binds.
    links: list[tuple[int, int]] = []
    for c in cands:
        other = c.linked_with
        if not other or other <= c.candidate_id:
            continue
        if other in ci:
            links.append((ci[c.candidate_id], ci[other]))
        else:
            notes.append(f"{c.candidate_id} is linked with {other}, who is no longer in the pool; the link is ignored.")
    return links


def _targets(scheme: Scheme, cands: list[CandidateRec], hosts: list[HostRec]) -> list[Target]:
    # Targets: each scope expanded to concrete host sets; members by the target's attribute value.
    targets: list[Target] = []
    for t in scheme.targets:
        member = np.array([c.attributes.get(t.attribute) == t.value for c in cands], dtype=bool)
        for scope, scope_idx in _expand_scope(t.scope, hosts):
            targets.append(
                Target(
                    name=t.name,
                    scope=scope,
                    scope_hosts=scope_idx,
                    member=member,
                    min_share=t.min_share,
                    max_share=t.max_share,
                    hard=t.strength == "hard",
                    weight=float(t.weight or 0.0),
                    attribute=t.attribute,
                    value=t.value,
                )
            )
    return targets


# --- Storing an encoded problem with its round -------------------------------------------

_ARRAYS = (
    "pair_cand",
    "pair_host",
    "pair_rank",
    "pair_host_rank",
    "capacity",
    "min_placements",
    "host_region",
    "required",
    "fixed",
    "links",
)


def dumps(enc: Encoded) -> bytes:
    """A compact, deterministic serialisation (zlib-compressed JSON) of an encoded problem."""
    p = enc.problem
    doc = {
        "n_candidates": p.n_candidates,
        "n_hosts": p.n_hosts,
        **{k: getattr(p, k).tolist() for k in _ARRAYS},
        "targets": [
            {
                "name": t.name,
                "scope": t.scope,
                "scope_hosts": t.scope_hosts.tolist(),
                # Members as indices: no attribute values, only who counts for this target.
                "members": np.flatnonzero(t.member).tolist(),
                "min_share": t.min_share,
                "max_share": t.max_share,
                "hard": t.hard,
                "weight": t.weight,
                "attribute": t.attribute,
                "value": t.value,
            }
            for t in p.targets
        ],
        "candidate_ids": enc.candidate_ids,
        "host_ids": enc.host_ids,
        "region_labels": list(p.region_labels),
        "fixed_states": list(p.fixed_states),
        "pair_given_rank": enc.pair_given_rank.tolist(),
        "dropped": [[d.candidate_id, d.host_id, d.reason] for d in enc.dropped],
        "notes": enc.notes,
    }
    return zlib.compress(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), 6)


def loads(blob: bytes) -> Encoded:
    doc = json.loads(zlib.decompress(blob))
    n = doc["n_candidates"]
    targets = []
    for t in doc["targets"]:
        member = np.zeros(n, bool)
        member[t["members"]] = True
        targets.append(
            Target(
                name=t["name"],
                scope=t["scope"],
                scope_hosts=np.asarray(t["scope_hosts"], np.int32),
                member=member,
                min_share=t["min_share"],
                max_share=t["max_share"],
                hard=t["hard"],
                weight=t["weight"],
                attribute=t["attribute"],
                value=t["value"],
            )
        )
    arrays = {k: np.asarray(doc[k], np.int32) for k in _ARRAYS}
    arrays["links"] = arrays["links"].reshape(-1, 2)
    problem = Problem(
        n_candidates=n,
        n_hosts=doc["n_hosts"],
        targets=tuple(targets),
        candidate_labels=tuple(doc["candidate_ids"]),
        host_labels=tuple(doc["host_ids"]),
        region_labels=tuple(doc["region_labels"]),
        fixed_states=tuple(doc.get("fixed_states", ())),
        **arrays,
    )
    return Encoded(
        problem=problem,
        candidate_ids=doc["candidate_ids"],
        host_ids=doc["host_ids"],
        pair_given_rank=np.asarray(doc["pair_given_rank"], np.int32),
        dropped=[Dropped(*d) for d in doc["dropped"]],
        notes=doc["notes"],
    )


def input_hash(blob: bytes) -> str:
    """SHA-256 of the encoded inputs (decompressed, so zlib versions cannot change it)."""
    return hashlib.sha256(zlib.decompress(blob)).hexdigest()
