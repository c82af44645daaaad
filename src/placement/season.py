"""The season at a glance, one candidate, one host: what a coordinator asks between rounds.

Eligibility is the encoder's: the scheme as it stands now, with what the
approved rounds settled (declines, releases), is encoded once and its record
of dropped preferences gives each "eligible: no" its reason. Special category
data (sex, ethnicity, disability) appears only when asked for with
``include_sensitive``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .cohorts import CohortRef, resolve
from .db.models import (
    Candidate,
    Host,
    HostPlace,
    PairRule,
    Placement,
    Preference,
    ProtectedCharacteristics,
    Round,
    SeasonEvent,
)
from .db.queries import load_scheme
from .db.session import transaction
from .lookup import candidate as find_candidate
from .lookup import host as find_host
from .rounds import RoundRef, history, latest_approved, latest_approved_ref
from .solver import encode as enc_mod
from .states import CandidateState, OfferState, RoundState
from .views import full_name, person_name


def current_encoding(session: Session, cohort: CohortRef) -> enc_mod.Encoded:
    """The cohort as it stands, encoded as the next solve would see it (with the approved rounds' history)."""
    latest = session.scalar(select(Round).where(Round.cohort_id == cohort.id).order_by(Round.number.desc()).limit(1))
    policy = (latest.options or {}).get("decline_policy", "host") if latest else "host"
    hist, _ = history(session, policy, cohort)
    return enc_mod.encode(load_scheme(session, cohort), hist)


def encoding_now(engine: Engine, *, cohort: CohortRef | str | None = None) -> enc_mod.Encoded:
    """``current_encoding`` in a transaction of its own: what a caller showing many candidates keeps and passes
    to ``show_candidate`` (the web console, once per change of the data), instead of encoding the whole cohort
    for each candidate."""
    with transaction(engine) as s:
        return current_encoding(s, resolve(s, cohort))


def reason_kind(reason: str) -> str:
    """A dropped preference's reason without the particulars (scores, lists), for counting by reason."""
    for key, words in (
        ("the host offers no places", "the host offers no places"),
        ("assessment score", "score below the host's minimum"),
        ("no specialism in common", "no specialism in common"),
        ("not willing to relocate", "outside their home region, not relocating"),
        ("did not list this candidate", "not on the host's own ranking"),
        ("the pair is forbidden", "a forbidden pair"),
        ("declined this host's offer", "declined this host's offer"),
        ("released the candidate's offer", "the scheme released their offer here"),
    ):
        if key in reason:
            return words
    return reason


# ----------------------------------------------------------------------------- candidate show


@dataclass
class PreferenceView:
    host_id: str
    host_name: str
    rank: int
    eligible: bool
    reason: str  # why not eligible ("" when eligible)


@dataclass
class OfferView:
    round: int
    round_state: str
    host_id: str
    host_name: str
    choice: int
    offer: str


@dataclass
class EventView:
    at: str
    by: str
    action: str
    round: int | None
    host_id: str | None
    before: str | None
    after: str | None
    reason: str


@dataclass
class CandidateView:
    candidate_id: str
    name: str | None
    state: str  # active | withdrawn
    email: str | None
    assessment_score: float
    home_region: str
    willing_to_relocate: bool
    specialisms: list[str]
    career_changer: str
    linked_with: str | None
    pairs: list[dict]
    preferences: list[PreferenceView]
    offers: list[OfferView]
    events: list[EventView]
    sensitive: dict[str, str] | None = None  # only with include_sensitive
    purged: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        if self.sensitive is None:
            d.pop("sensitive")
        return d


def show_candidate(
    engine: Engine,
    candidate_id: str,
    *,
    include_sensitive: bool = False,
    cohort: CohortRef | str | None = None,
    encoded: enc_mod.Encoded | None = None,
) -> CandidateView:
    """The candidate's view; ``encoded`` is the cohort's current encoding if the caller has it (``encoding_now``
    at the same data), else it is made here."""
    with transaction(engine) as s:
        scope = resolve(s, cohort)
        cand = find_candidate(s, candidate_id, scope)
        dropped: dict[str, str] = {}
        in_pool = False
        if not cand.withdrawn and cand.purged_at is None:
            encoded = encoded if encoded is not None else current_encoding(s, scope)
            in_pool = candidate_id in encoded.candidate_ids
            dropped = {d.host_id: d.reason for d in encoded.dropped if d.candidate_id == candidate_id}
        ranked = s.execute(
            select(Preference.host_pk, Preference.rank)
            .where(Preference.candidate_pk == cand.id)
            .order_by(Preference.rank)
        ).all()
        placed = s.execute(
            select(Round.number, Round.state, Placement.host_pk, Placement.rank, Placement.offer_status)
            .join(Placement, Placement.round_id == Round.id)
            .where(Placement.candidate_pk == cand.id)
            .order_by(Round.number)
        ).all()
        changes = list(
            s.scalars(select(SeasonEvent).where(SeasonEvent.candidate_pk == cand.id).order_by(SeasonEvent.id))
        )
        rules = list(s.scalars(select(PairRule).where(PairRule.candidate_pk == cand.id)))
        # Id and name of the hosts this candidate's rows name, as plain rows by key: reading every host (8,000 at
        # 20,000 candidates) was most of this view's time, which the web console's candidate page pays per request.
        wanted = {r.host_pk for r in ranked} | {r.host_pk for r in placed} | {r.host_pk for r in rules}
        wanted |= {e.host_pk for e in changes if e.host_pk is not None}
        hosts = {r.id: r for r in s.execute(select(Host.id, Host.host_id, Host.name).where(Host.id.in_(wanted)))}
        prefs = []
        for host_pk, rank in ranked:
            h = hosts[host_pk]
            if cand.withdrawn:
                eligible, reason = False, "the candidate is withdrawn"
            elif not in_pool:
                eligible, reason = False, "the candidate is not in the pool"
            else:
                reason = dropped.get(h.host_id, "")
                eligible = not reason
            prefs.append(PreferenceView(h.host_id, h.name, rank, eligible, reason))
        offers = [
            OfferView(n, st, hosts[hpk].host_id, hosts[hpk].name, rank, offer) for n, st, hpk, rank, offer in placed
        ]
        rounds = dict(s.execute(select(Round.id, Round.number).where(Round.cohort_id == scope.id)).all())
        events = [
            EventView(
                e.at.isoformat(),
                e.os_user,
                e.action,
                rounds.get(e.round_id) if e.round_id else None,
                hosts[e.host_pk].host_id if e.host_pk in hosts else None,
                e.before,
                e.after,
                e.reason,
            )
            for e in changes
        ]
        pairs = [{"host_id": hosts[r.host_pk].host_id, "rule": r.rule, "reason": r.reason} for r in rules]
        sensitive = None
        if include_sensitive:
            prot = s.get(ProtectedCharacteristics, cand.id)
            sensitive = (
                {
                    "sex": prot.sex,
                    "ethnic_category": prot.ethnic_category,
                    "ethnic_group": prot.ethnic_group,
                    "disability": prot.disability,
                }
                if prot
                else {}
            )
        return CandidateView(
            candidate_id=cand.candidate_id,
            name=full_name(cand),
            state=CandidateState.WITHDRAWN.value if cand.withdrawn else CandidateState.ACTIVE.value,
            email=cand.email,
            assessment_score=cand.assessment_score,
            home_region=cand.home_region,
            willing_to_relocate=cand.willing_to_relocate,
            specialisms=[x for x in cand.specialisms.split(";") if x],
            career_changer=cand.career_changer,
            linked_with=cand.linked_with,
            pairs=pairs,
            preferences=prefs,
            offers=offers,
            events=events,
            sensitive=sensitive,
            purged=cand.purged_at is not None,
        )


# ----------------------------------------------------------------------------- host show


@dataclass
class HostDetail:
    host_id: str
    name: str
    org_type: str
    region: str
    capacity: int
    minimum: int
    min_score: float
    specialisms: list[str]
    round: int | None  # the latest approved round (offers), if any
    proposal: int | None  # the standing proposal, if any
    offered: list[dict] = field(default_factory=list)  # {"candidate_id", "candidate_name", "offer", "round"}
    proposed: list[dict] = field(default_factory=list)
    places_left: int = 0  # capacity minus places held (offered or accepted) in the latest approved round
    ineligible: dict[str, int] = field(default_factory=dict)  # reason -> candidates who ranked it
    ranked_by: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def show_host(
    engine: Engine, host_id: str, *, cohort: CohortRef | str | None = None, encoded: enc_mod.Encoded | None = None
) -> HostDetail:
    """The host's view; ``encoded`` is the cohort's current encoding if the caller has it (``encoding_now`` at
    the same data, as for ``show_candidate``), else it is made here."""
    with transaction(engine) as s:
        scope = resolve(s, cohort)
        host = find_host(s, host_id)
        place = s.scalar(select(HostPlace).where(HostPlace.cohort_id == scope.id, HostPlace.host_pk == host.id))
        capacity = place.capacity if place else 0
        # Rounds by id and number only: loading a round's row decodes its summary (megabytes at 20,000).
        latest = latest_approved_ref(s, scope)
        standing = s.execute(
            select(Round.id, Round.number)
            .where(Round.cohort_id == scope.id, Round.state == RoundState.PROPOSAL)
            .order_by(Round.number.desc())
            .limit(1)
        ).first()
        proposal = RoundRef(standing.id, standing.number) if standing else None

        # Everyone placed at this host in any round, read by the host's index (a filter on the round as well
        # made SQLite walk the round's 17,000 placements), then split by round here.
        placed_here = s.execute(
            select(Candidate.candidate_id, Candidate.given_name, Candidate.family_name, Placement)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .where(Placement.host_pk == host.id)
            .order_by(Candidate.candidate_id)
        ).all()

        def people(rnd: RoundRef | None) -> list[dict]:
            if rnd is None:
                return []
            return [
                {
                    "candidate_id": cid,
                    "candidate_name": person_name(given, family),
                    "offer": pl.offer_status,
                    "choice": pl.rank,
                    "round": rnd.number,
                }
                for cid, given, family, pl in placed_here
                if pl.round_id == rnd.id
            ]

        offered = people(latest)
        held = sum(1 for o in offered if o["offer"] in (OfferState.OFFERED, OfferState.ACCEPTED))
        encoded = encoded if encoded is not None else current_encoding(s, scope)
        reasons = Counter(reason_kind(d.reason) for d in encoded.dropped if d.host_id == host_id)
        # Counted from the host's preferences, each one's candidate checked by key: as a join, SQLite walked all
        # 20,000 candidates of the cohort and looked for their preference for this host (18 ms against 0.4 ms).
        in_cohort = select(Candidate.id).where(Candidate.id == Preference.candidate_pk, Candidate.cohort_id == scope.id)
        ranked_by = (
            s.scalar(
                select(func.count()).select_from(Preference).where(Preference.host_pk == host.id, in_cohort.exists())
            )
            or 0
        )
        return HostDetail(
            host_id=host.host_id,
            name=host.name,
            org_type=host.org_type,
            region=host.region,
            capacity=capacity,
            minimum=(place.min_placements or 0) if place else 0,
            min_score=(place.min_score or 0.0) if place else 0.0,
            specialisms=[x for x in place.specialisms.split(";") if x] if place else [],
            round=latest.number if latest else None,
            proposal=proposal.number if proposal else None,
            offered=offered,
            proposed=people(proposal),
            places_left=max(capacity - held, 0),
            ineligible=dict(reasons.most_common()),
            ranked_by=ranked_by,
        )


# ----------------------------------------------------------------------------- status


@dataclass
class Status:
    cohort: str
    rounds: dict[str, int]  # state -> count
    latest_approved: int | None
    approved_by: str | None
    proposal: int | None
    offers: dict[str, int]  # offer state -> count, in the latest approved round
    candidates: dict[str, int]  # active, withdrawn, placed (holding an offer), unplaced (active, holding none)
    places: dict[str, int]  # total, held, left
    next_step: str

    def to_json(self) -> dict:
        return asdict(self)


def season_status(engine: Engine, *, cohort: CohortRef | str | None = None) -> Status:
    with transaction(engine) as s:
        scope = resolve(s, cohort)
        states = Counter(s.scalars(select(Round.state).where(Round.cohort_id == scope.id)))
        latest = latest_approved(s, scope)
        proposal = s.scalar(
            select(Round)
            .where(Round.cohort_id == scope.id, Round.state == RoundState.PROPOSAL)
            .order_by(Round.number.desc())
            .limit(1)
        )
        offers: Counter[str] = Counter()
        holders: set[int] = set()
        if latest is not None:
            for pk, st in s.execute(
                select(Placement.candidate_pk, Placement.offer_status).where(Placement.round_id == latest.id)
            ):
                offers[st] += 1
                if st in (OfferState.OFFERED, OfferState.ACCEPTED):
                    holders.add(pk)
        in_cohort = Candidate.cohort_id == scope.id
        active = set(
            s.scalars(
                select(Candidate.id).where(in_cohort, Candidate.withdrawn.is_(False), Candidate.purged_at.is_(None))
            )
        )
        withdrawn = (
            s.scalar(select(func.count()).select_from(Candidate).where(in_cohort, Candidate.withdrawn.is_(True))) or 0
        )
        total = (
            s.scalar(select(func.coalesce(func.sum(HostPlace.capacity), 0)).where(HostPlace.cohort_id == scope.id)) or 0
        )
    held = offers[OfferState.OFFERED] + offers[OfferState.ACCEPTED]
    unplaced = len(active - holders)
    return Status(
        cohort=scope.name,
        rounds={st.value: states.get(st.value, 0) for st in RoundState},
        latest_approved=latest.number if latest else None,
        approved_by=latest.approved_by if latest else None,
        proposal=proposal.number if proposal else None,
        offers={st.value: offers.get(st.value, 0) for st in OfferState if st != OfferState.PROPOSED},
        candidates={
            "active": len(active),
            "withdrawn": int(withdrawn),
            "holding an offer": len(holders & active),
            "unplaced": unplaced,
        },
        places={"total": int(total), "held": held, "left": max(int(total) - held, 0)},
        next_step=_next_step(latest, proposal, offers, unplaced, int(total) - held, sum(states.values())),
    )


def _next_step(latest, proposal, offers, unplaced: int, left: int, n_rounds: int) -> str:
    if proposal is not None:
        return (
            f"Review round {proposal.number} (`placement round show {proposal.number}`, "
            f"`placement audit {proposal.number}`), then `placement round approve {proposal.number} --by NAME`."
        )
    if latest is None:
        return "Solve the first round: `placement solve`." if n_rounds == 0 else "Solve again: `placement solve`."
    if offers.get(OfferState.OFFERED, 0):
        return (
            f"{offers[OfferState.OFFERED]} offers await an answer: record them with "
            "`placement offer accept|decline CANDIDATE` or `placement offer import answers.csv`."
        )
    if unplaced and left > 0:
        return (
            f"Every offer is answered; {unplaced} active candidates hold no offer and {left} places are left: "
            "solve the next round with `placement solve`."
        )
    return "Every offer is answered and nothing is left to place: the season is complete (`placement audit N`)."
