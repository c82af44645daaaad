"""A scheme as plain records: what the encoder needs, with no database types.

``db.queries.load_scheme`` fills these from the tables; tests and benchmarks
can build them directly. Attributes used by targets (including special
category ones) sit in ``Candidate.attributes``; nothing here is ever logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CandidateRec:
    candidate_id: str
    assessment_score: float
    specialisms: frozenset[str]
    home_region: str
    willing_to_relocate: bool
    linked_with: str | None = None
    # Target attributes: sex, ethnic_group, minority_ethnic, disability, career_changer, home_region.
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class HostRec:
    host_id: str
    name: str
    org_type: str
    region: str
    capacity: int
    specialisms: frozenset[str]
    min_score: float = 0.0
    min_placements: int = 0


@dataclass(frozen=True)
class TargetRec:
    name: str
    scope: str
    attribute: str
    value: str
    min_share: float | None
    max_share: float | None
    strength: str  # hard | soft
    weight: float = 0.0


@dataclass(frozen=True)
class PairRuleRec:
    candidate_id: str
    host_id: str
    rule: str  # require | forbid
    reason: str = ""


@dataclass
class Scheme:
    candidates: list[CandidateRec]
    hosts: list[HostRec]
    preferences: list[tuple[str, str, int]]  # (candidate_id, host_id, rank as given)
    host_rankings: dict[str, dict[str, int]] = field(default_factory=dict)  # host_id -> {candidate_id: rank}
    targets: list[TargetRec] = field(default_factory=list)
    pair_rules: list[PairRuleRec] = field(default_factory=list)


@dataclass
class History:
    """What earlier approved rounds settled, for the next round's encoding."""

    fixed: dict[str, str] = field(default_factory=dict)  # candidate_id -> host_id (accepted or awaiting answer)
    fixed_state: dict[str, str] = field(default_factory=dict)  # candidate_id -> "offered" | "accepted"
    declined: dict[str, set[str]] = field(default_factory=dict)  # candidate_id -> hosts they declined
    withdrawn: set[str] = field(default_factory=set)  # left the pool entirely
    declined_round: dict[tuple[str, str], int] = field(default_factory=dict)  # (cand, host) -> round number
    released: dict[str, set[str]] = field(default_factory=dict)  # candidate_id -> hosts whose offer the scheme released
    released_round: dict[tuple[str, str], int] = field(default_factory=dict)  # (cand, host) -> round number
