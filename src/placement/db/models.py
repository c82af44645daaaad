"""SQLAlchemy 2 typed ORM models.

The schema is created only by Alembic migrations (``migrations/``), never by
``create_all``. Protected characteristics live in a table of their own keyed
by candidate, so that special category data can be kept out of exports,
access-controlled and purged separately.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Cohort(Base):
    """One intake (``2026``, ``2026-north-west``): its candidates, lists, targets, places and rounds.

    Host organisations persist across cohorts; what a host offers one intake
    (its places) belongs to that cohort (``HostPlace``). A closed cohort
    refuses imports and solves but can still be read and audited.
    """

    __tablename__ = "cohorts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(10))  # open, closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportBatch(Base):
    """One imported file: what, from where, by whom, and what it changed."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The cohort imported into (None only for batches that belong to no cohort).
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # candidates, hosts, preferences, ...
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    os_user: Mapped[str] = mapped_column(String(200))


class Candidate(Base):
    __tablename__ = "candidates"
    # The same candidate id in two cohorts is two records (a re-applicant).
    __table_args__ = (UniqueConstraint("cohort_id", "candidate_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(200))  # None once purged
    family_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    assessment_score: Mapped[float] = mapped_column(Float)
    specialisms: Mapped[str] = mapped_column(String(100))  # canonical ';'-joined, sorted
    home_region: Mapped[str] = mapped_column(String(40))
    willing_to_relocate: Mapped[bool] = mapped_column(Boolean)
    career_changer: Mapped[str] = mapped_column(String(20), default="not_known")
    linked_with: Mapped[str | None] = mapped_column(String(100))
    # A candidate who declined and left the scheme entirely stays on record but out of the pool.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))

    protected: Mapped[ProtectedCharacteristics | None] = relationship(
        back_populates="candidate", uselist=False, cascade="all, delete-orphan"
    )


class ProtectedCharacteristics(Base):
    """Equality-monitoring data, kept as given (raw codes) with derived groups beside them.

    Ethnicity and disability are special category data (UK GDPR Art. 9).
    """

    __tablename__ = "protected_characteristics"
    # Stated gender (NHS GENDER IDENTITY CODE, formats.md): the six values and nothing else.
    __table_args__ = (
        CheckConstraint(
            "sex IN ('female', 'male', 'non_binary', 'other', 'not_stated', 'not_known')", name="sex_values"
        ),
    )
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    sex: Mapped[str] = mapped_column(String(20))
    ethnic_category: Mapped[str] = mapped_column(String(4))  # raw NHS code, never overwritten
    ethnic_group: Mapped[str] = mapped_column(String(20))  # derived
    minority_ethnic: Mapped[str] = mapped_column(String(20))  # derived
    disability: Mapped[str] = mapped_column(String(20))

    candidate: Mapped[Candidate] = relationship(back_populates="protected")


class Host(Base):
    """A host organisation: it persists across cohorts (what it offers one intake is a ``HostPlace``)."""

    __tablename__ = "hosts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    org_type: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(40))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class HostPlace(Base):
    """A host's places for one cohort: capacity, lower quota, specialisms and minimum score for that intake."""

    __tablename__ = "host_places"
    __table_args__ = (UniqueConstraint("cohort_id", "host_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    host_pk: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    specialisms: Mapped[str] = mapped_column(String(100))
    min_score: Mapped[float] = mapped_column(Float, default=0.0)
    min_placements: Mapped[int] = mapped_column(Integer, default=0)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class Preference(Base):
    """A candidate's rank of a host (1 = most preferred)."""

    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("candidate_pk", "host_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    host_pk: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)


class HostRanking(Base):
    """A host's own order of candidates (1 = most wanted; equal ranks tie)."""

    __tablename__ = "host_rankings"
    __table_args__ = (UniqueConstraint("host_pk", "candidate_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_pk: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("cohort_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(200))
    attribute: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(100))
    min_share: Mapped[float | None] = mapped_column(Float)
    max_share: Mapped[float | None] = mapped_column(Float)
    strength: Mapped[str] = mapped_column(String(10))
    weight: Mapped[float] = mapped_column(Float, default=0.0)


class PairRule(Base):
    """A pre-agreed (``require``) or barred (``forbid``) candidate-host pair."""

    __tablename__ = "pair_rules"
    __table_args__ = (UniqueConstraint("candidate_pk", "host_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    host_pk: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")


class Round(Base):
    """One solve: a proposal until a named person approves it (UK GDPR Art. 22)."""

    __tablename__ = "rounds"
    # Rounds are numbered 1, 2, ... within their cohort.
    __table_args__ = (UniqueConstraint("cohort_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))  # proposal, approved, superseded (placement.states.RoundState)
    parent_number: Mapped[int | None] = mapped_column(Integer)  # the approved round it continues
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict] = mapped_column(JSON)
    input_hash: Mapped[str] = mapped_column(String(64))
    solver_version: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN
    objective: Mapped[dict] = mapped_column(JSON)
    bound: Mapped[dict] = mapped_column(JSON)
    solve_seconds: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict] = mapped_column(JSON)  # targets, blocking pairs, diagnosis, dropped pairs
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The encoded inputs exactly as solved (compressed), so the round can be re-derived and
    # re-solved without its targets for the audit. Purged with personal data.
    inputs: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    placements: Mapped[list[Placement]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="Placement.id"
    )


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (UniqueConstraint("round_id", "candidate_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    host_pk: Mapped[int] = mapped_column(ForeignKey("hosts.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)  # the candidate's rank of the host as given
    # proposed -> offered (on approval) -> accepted | declined | released (placement.states.OfferState)
    offer_status: Mapped[str] = mapped_column(String(20))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[Round] = relationship(back_populates="placements")


class Outcome(Base):
    """One event after placement (outcomes.csv): started, completed, left, promoted, employed.

    Keyed by the candidate record, so by cohort. ``reason`` is free text and
    personal data: never shown in the publication edition, removed by a purge.
    """

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("candidate_pk", "event", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_pk: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    band: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(Text, default="")
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class SeasonEvent(Base):
    """One change of state in the season, kept for ever beside the audit log: who, when, from what, to what, why.

    Offers (approve, accept, decline, change, release, revoke) name their round, candidate and host;
    a candidate's withdrawal names the candidate only; a removed target or pair names what it was.
    ``reason`` is the coordinator's words; a purge blanks it with the candidate's personal data.
    """

    __tablename__ = "season_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    os_user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    candidate_pk: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    host_pk: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300), default="")  # a removed target's name, a removed pair
    before: Mapped[str | None] = mapped_column(String(20))
    after: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class AuditLog(Base):
    """Who did what and when: imports, solves, approvals, exports, purges."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    os_user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)  # never special category values
    # The cohort the action concerned (None: the whole database, e.g. a purge or a schema change).
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"), index=True)


# ----------------------------------------------------------------------------- the web console's accounts


class WebUser(Base):
    """An account of the web console (``placement user add``): a coordinator, an equality lead or a viewer."""

    __tablename__ = "web_users"
    __table_args__ = (CheckConstraint("role IN ('coordinator', 'equality-lead', 'viewer')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in session, kept server-side so it can be revoked; the cookie holds a signed random token whose
    SHA-256 is ``id`` (the token itself is never stored)."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    csrf_token: Mapped[str] = mapped_column(String(64))
    cohort: Mapped[str | None] = mapped_column(String(100))  # the cohort chosen in the console, if any


class WebLoginAttempt(Base):
    """One sign-in attempt, for rate limiting across every worker process (never the password tried)."""

    __tablename__ = "web_login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool] = mapped_column(Boolean)


class WebJob(Base):
    """A background job of the console (a solve): its progress and result, readable by any worker process."""

    __tablename__ = "web_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # running, done, failed, cancelled
    cohort: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    progress: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict | None] = mapped_column(JSON)


class WebSetting(Base):
    """The console's shared settings, e.g. the cookie-signing key every worker process must agree on."""

    __tablename__ = "web_settings"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
