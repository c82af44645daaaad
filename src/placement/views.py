"""What a coordinator (or the web console) reads about rounds: lists, one round by candidate and by host,
the unplaced and why, and the difference between two rounds. Results are data (dataclasses with
``to_json``); the CLI only lays them out.

Names sit beside ids. A round's places per host are the capacities it was
solved with (its stored inputs), so a later change to hosts.csv does not
rewrite what a round offered. Reasons come from the encoder's own record of
why each preference was left out (``Dropped``), never re-derived here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .cohorts import CohortRef, scoped
from .db.models import Candidate, Host, HostPlace, Placement, Round
from .db.session import transaction
from .masking import diagnosis_line, is_special, withhold_scope
from .rounds import load_round
from .solver import encode as enc_mod

# The main reason a candidate in a round's pool was not placed.
NO_ELIGIBLE_HOST = "no eligible host"
OUTRANKED = "outranked"
TARGET = "a target"
LINK = "a link"
STABILITY = "stability"


def full_name(cand: Candidate) -> str | None:
    """The candidate's name as imported; None once purged."""
    return person_name(cand.given_name, cand.family_name)


def person_name(given: str | None, family: str | None) -> str | None:
    """A name from its parts as imported; None once purged (both parts gone)."""
    parts = [p for p in (given, family) if p]
    return " ".join(parts) or None


@dataclass
class RoundRow:
    round: int
    state: str
    status: str
    placed: int
    unplaced: int
    created_at: str
    rank_sum: int | None = None
    approved_by: str | None = None
    approved_at: str | None = None
    parent: int | None = None


@dataclass
class PlacementView:
    candidate_id: str
    candidate_name: str | None
    host_id: str
    host_name: str
    choice: int  # the candidate's own rank of the host, as given
    offer: str  # proposed | offered | accepted | declined | released


@dataclass
class HostView:
    host_id: str
    host_name: str
    region: str
    capacity: int  # places in this round
    placed: int
    empty: int
    minimum: int = 0
    # Empty places while a candidate eligible here was left unplaced (a target, a link or stability kept them out).
    eligible_unplaced: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.empty > 0 and bool(self.eligible_unplaced)


@dataclass
class UnplacedView:
    candidate_id: str
    candidate_name: str | None
    reason: str  # NO_ELIGIBLE_HOST | OUTRANKED | TARGET | LINK | STABILITY
    detail: str


@dataclass
class RoundView:
    round: int
    state: str
    status: str
    method: str
    created_at: datetime
    created_by: str
    parent: int | None
    approved_by: str | None
    approved_at: datetime | None
    options: dict
    objective: dict
    bound: dict
    placed: int
    unplaced_count: int
    rank_sum: int
    solve_seconds: float
    input_hash: str
    solver_version: str
    tie_break: str
    targets: list[dict]
    diagnosis: list[str]
    blocking_pairs: list[list[str]]
    notes: list[str]
    placements: list[PlacementView]
    hosts: list[HostView]
    unplaced: list[UnplacedView]
    # The scheme-wide totals every report takes from ``placement.totals`` (the audit's editions agree with them).
    totals: dict[str, int] = field(default_factory=dict)
    inputs_kept: bool = True
    engines: dict[str, str] = field(default_factory=dict)  # which exact engine solved which level (provenance)

    def offers(self) -> Counter[str]:
        return Counter(p.offer for p in self.placements)

    def to_json(self) -> dict:
        return {
            "round": self.round,
            "state": self.state,
            "status": self.status,
            "method": self.method,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "continues_round": self.parent,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "options": self.options,
            "objective": self.objective,
            "bound": self.bound,
            "placed": self.placed,
            "unplaced_count": self.unplaced_count,
            "rank_sum": self.rank_sum,
            "offers": dict(sorted(self.offers().items())),
            "totals": self.totals,
            "tie_break": self.tie_break,
            "engines": self.engines,
            "targets": [_target_json(t) for t in self.targets],
            "diagnosis": [
                diagnosis_line(line, [t["name"] for t in self.targets if is_special(t.get("attribute"))])
                for line in self.diagnosis
            ],
            "blocking_pairs": self.blocking_pairs,
            "placements": [asdict(p) for p in self.placements],
            "hosts": [{**asdict(h), "flagged": h.flagged} for h in self.hosts],
            "unplaced": [asdict(u) for u in self.unplaced],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def round_rows(session: Session, cohort: CohortRef | str | None = None) -> list[RoundRow]:
    """Every round of the cohort, oldest first."""
    scope = scoped(session, cohort)
    return [
        RoundRow(
            round=r.number,
            state=r.state,
            status=r.status,
            placed=int(r.summary.get("placed", 0)),
            unplaced=int(r.summary.get("unplaced", 0)),
            created_at=r.created_at.isoformat(),
            rank_sum=r.summary.get("rank_sum"),
            approved_by=r.approved_by,
            approved_at=_iso(r.approved_at),
            parent=r.parent_number,
        )
        for r in session.scalars(select(Round).where(Round.cohort_id == scope.id).order_by(Round.number))
    ]


def list_rounds(engine: Engine, *, cohort: CohortRef | str | None = None) -> list[RoundRow]:
    with transaction(engine) as s:
        return round_rows(s, cohort)


def _inputs(session: Session, rnd: Round) -> enc_mod.Encoded | None:
    blob = session.scalar(select(Round.inputs).where(Round.id == rnd.id))
    return None if blob is None else enc_mod.loads(blob)


def round_view(session: Session, number: int, cohort: CohortRef | str | None = None) -> RoundView:
    """Round N as a coordinator reads it: placements with names and offers, hosts' places, the unplaced and why."""
    from .totals import read_round, totals_of

    scope = scoped(session, cohort)
    rnd = load_round(session, number, scope)
    # The round read once (its placements, its decoded inputs): the totals below and this view share it. Rows are
    # read as plain columns, not ORM objects: at 20,000 candidates that was most of the time of a round's page.
    record = read_round(session, number, scope)
    placements = [
        PlacementView(cid, person_name(given, family), hid, hname, rank, offer)
        for cid, given, family, hid, hname, rank, offer in session.execute(
            select(
                Candidate.candidate_id,
                Candidate.given_name,
                Candidate.family_name,
                Host.host_id,
                Host.name,
                Placement.rank,
                Placement.offer_status,
            )
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == rnd.id)
            .order_by(Candidate.candidate_id)
        )
    ]
    encoded = record.inputs
    names = {
        cid: person_name(given, family)
        for cid, given, family in session.execute(
            select(Candidate.candidate_id, Candidate.given_name, Candidate.family_name).where(
                Candidate.cohort_id == scope.id
            )
        )
    }
    hosts_db = {r.host_id: r for r in session.execute(select(Host.host_id, Host.name, Host.region))}
    placed_at = Counter(p.host_id for p in placements)
    placed_ids = {p.candidate_id for p in placements}
    hosts: list[HostView] = []
    unplaced: list[UnplacedView] = []
    if encoded is not None:
        p = encoded.problem
        for h, hid in enumerate(encoded.host_ids):
            known = hosts_db.get(hid)
            cap = int(p.capacity[h])
            hosts.append(
                HostView(
                    hid,
                    known.name if known else hid,
                    known.region if known else "",
                    cap,
                    placed_at[hid],
                    max(cap - placed_at[hid], 0),
                    int(p.min_placements[h]),
                )
            )
        hosts_of = _hosts_by_candidate(encoded)
        unplaced = _unplaced(encoded, hosts_of, placed_ids, placed_at, names, rnd)
        position = {cid: c for c, cid in enumerate(encoded.candidate_ids)}
        by_id = {hv.host_id: hv for hv in hosts}
        for u in unplaced:
            for h in hosts_of[position[u.candidate_id]]:
                hv = by_id[encoded.host_ids[h]]
                if hv.empty > 0:
                    hv.eligible_unplaced.append(u.candidate_id)
    else:  # inputs purged: the cohort's places as they are now
        for host, place in session.execute(
            select(Host, HostPlace)
            .join(HostPlace, HostPlace.host_pk == Host.id)
            .where(HostPlace.cohort_id == scope.id)
            .order_by(Host.host_id)
        ).all():
            hid = host.host_id
            hosts.append(
                HostView(
                    hid,
                    host.name,
                    host.region,
                    place.capacity,
                    placed_at[hid],
                    max(place.capacity - placed_at[hid], 0),
                    place.min_placements or 0,
                )
            )
    totals = totals_of(record).as_dict()
    summary = rnd.summary
    return RoundView(
        round=rnd.number,
        state=rnd.state,
        status=rnd.status,
        method=summary.get("method", ""),
        created_at=rnd.created_at,
        created_by=rnd.created_by,
        parent=rnd.parent_number,
        approved_by=rnd.approved_by,
        approved_at=rnd.approved_at,
        options=rnd.options,
        objective=rnd.objective,
        bound=rnd.bound,
        placed=len(placements),
        unplaced_count=totals["unplaced"],
        rank_sum=int(summary.get("rank_sum", sum(pl.choice for pl in placements))),
        solve_seconds=rnd.solve_seconds,
        input_hash=rnd.input_hash,
        solver_version=rnd.solver_version,
        tie_break=summary.get("tie_break", ""),
        engines=summary.get("engines", {}),
        targets=summary.get("targets", []),
        diagnosis=summary.get("diagnosis", []),
        blocking_pairs=summary.get("blocking_pairs", []),
        notes=summary.get("notes", []),
        placements=placements,
        hosts=hosts,
        unplaced=unplaced,
        totals=totals,
        inputs_kept=encoded is not None,
    )


def show_round(engine: Engine, number: int, *, cohort: CohortRef | str | None = None) -> RoundView:
    with transaction(engine) as s:
        return round_view(s, number, cohort)


def _hosts_by_candidate(encoded: enc_mod.Encoded) -> list[list[int]]:
    """Each candidate's eligible hosts (by index, in the inputs' pair order), grouped once: picking them out of
    every pair for each candidate in turn took seconds at 20,000 candidates."""
    p = encoded.problem
    order = np.argsort(p.pair_cand, kind="stable")
    bounds = np.searchsorted(p.pair_cand[order], np.arange(len(encoded.candidate_ids) + 1)).tolist()
    hosts = p.pair_host[order].tolist()
    return [hosts[bounds[c] : bounds[c + 1]] for c in range(len(encoded.candidate_ids))]


def _unplaced(
    encoded: enc_mod.Encoded,
    hosts_of: list[list[int]],
    placed_ids: set[str],
    placed_at: Counter[str],
    names: dict[str, str | None],
    rnd: Round,
) -> list[UnplacedView]:
    """Each candidate of the round's pool left unplaced, with the main reason, most specific first."""
    p = encoded.problem
    dropped: dict[str, list[str]] = {}
    for d in encoded.dropped:
        dropped.setdefault(d.candidate_id, []).append(d.reason)
    linked = {int(c) for c in np.asarray(p.links).reshape(-1)}
    stability = rnd.options.get("stability", "none") != "none"
    out = []
    for c, cid in enumerate(encoded.candidate_ids):
        if cid in placed_ids:
            continue
        hosts = hosts_of[c]
        if not hosts:
            reasons = dropped.get(cid, [])
            detail = (
                "gave no preferences"
                if not reasons
                else f"none of their {len(reasons)} choices is eligible: "
                + "; ".join(f"{n} × {r}" if n > 1 else r for r, n in Counter(reasons).most_common(3))
                + ("; ..." if len(set(reasons)) > 3 else "")
            )
            out.append(UnplacedView(cid, names.get(cid), NO_ELIGIBLE_HOST, detail))
            continue
        free = [h for h in hosts if placed_at[encoded.host_ids[h]] < int(p.capacity[h])]
        if not free:
            out.append(
                UnplacedView(
                    cid, names.get(cid), OUTRANKED, f"all {len(hosts)} eligible host(s) filled their places with others"
                )
            )
        elif c in linked:
            out.append(
                UnplacedView(
                    cid, names.get(cid), LINK, "linked with another candidate: both placed in one region, or neither"
                )
            )
        elif stability:
            out.append(
                UnplacedView(
                    cid,
                    names.get(cid),
                    STABILITY,
                    "a place was free, but placing them there would have made the placement unstable",
                )
            )
        else:
            out.append(
                UnplacedView(
                    cid,
                    names.get(cid),
                    TARGET,
                    "a place was free at an eligible host, but a hard target or a host's hard minimum kept them out",
                )
            )
    return out


# ----------------------------------------------------------------------------- round diff


MOVED, NEWLY_PLACED, NO_LONGER_PLACED = "moved", "newly placed", "no longer placed"
MOVE_KINDS = (MOVED, NEWLY_PLACED, NO_LONGER_PLACED)


@dataclass
class Move:
    candidate_id: str
    candidate_name: str | None
    before: str | None  # host id in round A, None if unplaced
    after: str | None
    before_choice: int | None
    after_choice: int | None
    why: str

    @property
    def kind(self) -> str:
        """``newly placed`` (unplaced in A), ``no longer placed`` (unplaced in B), else ``moved`` (another host)."""
        if self.before is None:
            return NEWLY_PLACED
        return NO_LONGER_PLACED if self.after is None else MOVED


@dataclass
class RoundDiff:
    a: int
    b: int
    moves: list[Move]
    same: int  # candidates at the same host in both

    def to_json(self) -> dict:
        return {
            "from_round": self.a,
            "to_round": self.b,
            "unchanged": self.same,
            "moved": [asdict(m) for m in self.moves],
        }


def diff_rounds(engine: Engine, a: int, b: int, *, cohort: CohortRef | str | None = None) -> RoundDiff:
    """Who is placed differently in round B than in round A, and why where the solver's inputs say."""
    with transaction(engine) as s:
        scope = scoped(s, cohort)
        ra, rb = load_round(s, a, scope), load_round(s, b, scope)
        pa = _placed(s, ra)
        pb = _placed(s, rb)
        enc_b = _inputs(s, rb)
        in_cohort = Candidate.cohort_id == scope.id
        names = {c.candidate_id: full_name(c) for c in s.scalars(select(Candidate).where(in_cohort))}
        withdrawn = set(s.scalars(select(Candidate.candidate_id).where(in_cohort, Candidate.withdrawn.is_(True))))
    dropped = {(d.candidate_id, d.host_id): d.reason for d in enc_b.dropped} if enc_b else {}
    pool_b = set(enc_b.candidate_ids) if enc_b else None
    moves = []
    same = 0
    for cid in sorted(set(pa) | set(pb)):
        before, after = pa.get(cid), pb.get(cid)
        if before and after and before[0] == after[0]:
            same += 1
            continue
        if before and (cid, before[0]) in dropped:
            why = f"left {before[0]}: {dropped[(cid, before[0])]}"
        elif pool_b is not None and cid not in pool_b:
            why = "not in round {}'s pool ({})".format(
                b, "withdrawn" if cid in withdrawn else "added later or withdrawn"
            )
        elif before and before[2] in ("declined", "released"):
            why = f"their offer at {before[0]} was {before[2]}"
        elif before is None:
            why = "newly placed: places freed or the inputs changed"
        elif after is None:
            why = "no longer placed: others took the places or the inputs changed"
        elif after[1] < before[1]:
            why = f"moved up their list (choice {before[1]} -> {after[1]}) as places freed"
        else:
            why = f"moved down their list (choice {before[1]} -> {after[1]}) as the scheme re-balanced"
        moves.append(
            Move(
                cid,
                names.get(cid),
                before[0] if before else None,
                after[0] if after else None,
                before[1] if before else None,
                after[1] if after else None,
                why,
            )
        )
    return RoundDiff(a, b, moves, same)


def _placed(s: Session, rnd: Round) -> dict[str, tuple[str, int, str]]:
    return {
        cid: (hid, rank, st)
        for cid, hid, rank, st in s.execute(
            select(Candidate.candidate_id, Host.host_id, Placement.rank, Placement.offer_status)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == rnd.id)
        ).all()
    }


def _target_json(t: dict) -> dict:
    """A target scope as JSON; ethnicity/disability scopes with 1-7 (non-)members withheld (``masking``)."""
    row = {k: t.get(k) for k in ("name", "scope", "required", "achieved", "placed_in_scope", "met", "shortfall")}
    if withhold_scope(t.get("attribute"), t.get("achieved") or 0, t.get("placed_in_scope") or 0):
        row.update(achieved=None, met=None, shortfall=None, withheld=True)
    return row
