"""Cohorts: one intake each (``2026``, ``2026-north-west``), all in one database.

Candidates, their preferences, host rankings, pairs, targets, each host's
places and every round belong to one cohort; host organisations persist
across cohorts. Every command works on one cohort: the one it names
(``--cohort NAME`` or ``PLACEMENT_COHORT``), else the only open cohort; with
several open and none named it lists them and stops rather than guess.

A closed cohort refuses imports and solves (its intake is over) but can still
be shown, exported, explained and audited, and still takes outcomes (what
became of its graduates is only known after it closed).

``resolve`` is the one place a cohort name becomes a cohort: every query of
cohort data filters by the :class:`CohortRef` it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .config import os_user
from .db.models import AuditLog, Candidate, Cohort, HostPlace, Round
from .db.session import transaction, write_session
from .errors import ConfigError, NotFound, PlacementError

COHORT_ENV = "PLACEMENT_COHORT"
DEFAULT_COHORT = "default"  # the cohort migration 0004 creates (a pre-cohort database moves into it)
# Letters, digits, '-', '_', '.'; starts with a letter or digit (it also names report files).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

Purpose = Literal["read", "write", "outcomes"]


class CohortError(PlacementError):
    """No cohort named, an unknown cohort, or a closed cohort asked to change."""


@dataclass(frozen=True)
class CohortRef:
    """A resolved cohort: what every cohort-scoped query filters by."""

    id: int
    name: str
    state: str  # open, closed

    @property
    def closed(self) -> bool:
        return self.state == "closed"


@dataclass(frozen=True)
class CohortSummary:
    """One line of ``placement cohort list``."""

    name: str
    state: str
    created_at: datetime
    closed_at: datetime | None
    candidates: int
    hosts: int  # hosts with places in the cohort
    places: int  # their capacity, summed
    rounds: int
    approved_round: int | None  # the latest approved round


def _ref(row: Cohort) -> CohortRef:
    return CohortRef(id=row.id, name=row.name, state=row.state)


def _names(rows: list[CohortRef]) -> str:
    return ", ".join(f"{c.name} ({c.state})" for c in rows)


def resolve(session: Session | Connection, name: CohortRef | str | None, purpose: Purpose = "read") -> CohortRef:
    """The cohort a command works on: the one named, else the only open one (else the only one).

    ``name`` may be a name, None (the default cohort, as above) or an
    already resolved ``CohortRef`` (read again, so its state is current).
    ``purpose`` ``"write"`` (imports, solves, approvals, answers) refuses a
    closed cohort; ``"read"`` and ``"outcomes"`` take it.
    """
    rows = [
        CohortRef(id=i, name=n, state=st)
        for i, n, st in session.execute(select(Cohort.id, Cohort.name, Cohort.state).order_by(Cohort.name)).all()
    ]
    if isinstance(name, CohortRef):
        by_id = [c for c in rows if c.id == name.id]
        if not by_id:
            raise NotFound(f"Cohort {name.name!r} no longer exists.", "See `placement cohort list`.")
        chosen = by_id[0]
    elif name is not None:
        wanted = name.strip()
        found = [c for c in rows if c.name == wanted]
        if not found:
            near = [c.name for c in rows if c.name.casefold() == wanted.casefold()]
            hint = (
                f"Did you mean {near[0]!r}? Cohort names are matched exactly."
                if near
                else f"Cohorts in this database: {_names(rows) or 'none'}. "
                f"Create it with `placement cohort create {wanted}`."
            )
            raise NotFound(f"There is no cohort {wanted!r}.", hint)
        chosen = found[0]
    else:
        open_ = [c for c in rows if c.state == "open"]
        if len(open_) == 1:
            chosen = open_[0]
        elif not open_ and len(rows) == 1:
            chosen = rows[0]
        elif not rows:
            raise CohortError("This database has no cohorts.", "Create one with `placement cohort create NAME`.")
        else:
            which = "open cohorts" if open_ else "cohorts, all closed"
            raise CohortError(
                f"This database holds {len(open_) or len(rows)} {which} ({_names(open_ or rows)}) "
                "and the command did not say which to use.",
                f"Pass --cohort NAME (or set {COHORT_ENV}=NAME).",
            )
    ref = chosen
    if purpose == "write" and ref.closed:
        raise CohortError(
            f"Cohort {ref.name!r} is closed: it takes no more imports, solves or answers.",
            f"Name an open cohort with --cohort, or reopen it with `placement cohort reopen {ref.name}`.",
        )
    return ref


def by_id(session: Session | Connection, cohort_id: int) -> CohortRef:
    """The cohort with this primary key (e.g. a round's)."""
    row = session.execute(select(Cohort.id, Cohort.name, Cohort.state).where(Cohort.id == cohort_id)).one()
    return CohortRef(id=row[0], name=row[1], state=row[2])


def scoped(session: Session | Connection, cohort: CohortRef | str | None) -> CohortRef:
    """``cohort`` as a CohortRef: itself when already resolved, else ``resolve`` (for reading)."""
    return cohort if isinstance(cohort, CohortRef) else resolve(session, cohort)


def resolve_in(engine: Engine, name: CohortRef | str | None, purpose: Purpose = "read") -> CohortRef:
    """``resolve`` in a short read transaction of its own."""
    with transaction(engine) as s:
        return resolve(s, name, purpose)


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} is not a usable cohort name.",
            "Use letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. 2026 or 2026-north-west), "
            "at most 100 characters.",
        )
    return name


def _log(session: Session, detail: str, cohort_id: int) -> None:
    session.add(AuditLog(at=datetime.now(UTC), os_user=os_user(), action="cohort", detail=detail, cohort_id=cohort_id))


def create_cohort(engine: Engine, name: str) -> CohortRef:
    """A new, open, empty cohort."""
    name = _check_name(name)
    try:
        with write_session(engine) as s:
            existing = s.scalar(select(Cohort).where(func.lower(Cohort.name) == name.lower()))
            if existing is not None:
                raise CohortError(
                    f"A cohort {existing.name!r} already exists.",
                    "Choose another name, or see `placement cohort list`.",
                )
            row = Cohort(name=name, state="open", created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            _log(s, f"created cohort {name}", row.id)
            return _ref(row)
    except IntegrityError:
        with transaction(engine) as s:  # created by another command at the same moment?
            if s.scalar(select(Cohort.id).where(Cohort.name == name)) is None:
                raise
        raise CohortError(f"A cohort {name!r} already exists.", "See `placement cohort list`.") from None


def _set_state(engine: Engine, name: str, state: str) -> CohortRef:
    with write_session(engine) as s:
        ref = resolve(s, name)
        row = s.get(Cohort, ref.id)
        assert row is not None
        if row.state == state:
            raise CohortError(f"Cohort {name!r} is already {state}.", "See `placement cohort list`.")
        row.state = state
        row.closed_at = datetime.now(UTC) if state == "closed" else None
        _log(s, f"{'closed' if state == 'closed' else 'reopened'} cohort {row.name}", row.id)
        return _ref(row)


def close_cohort(engine: Engine, name: str) -> CohortRef:
    """Close an intake: no more imports or solves; it can still be audited and take outcomes."""
    return _set_state(engine, name, "closed")


def reopen_cohort(engine: Engine, name: str) -> CohortRef:
    """Undo a close."""
    return _set_state(engine, name, "open")


def rename_cohort(engine: Engine, old: str, new: str) -> CohortRef:
    """Rename a cohort (e.g. ``default`` to ``2026`` once a second intake begins)."""
    new = _check_name(new)
    with write_session(engine) as s:
        ref = resolve(s, old)
        clash = s.scalar(select(Cohort).where(func.lower(Cohort.name) == new.lower(), Cohort.id != ref.id))
        if clash is not None:
            raise CohortError(f"A cohort {clash.name!r} already exists.", "Choose another name.")
        s.execute(update(Cohort).where(Cohort.id == ref.id).values(name=new))
        _log(s, f"renamed cohort {ref.name} to {new}", ref.id)
        return CohortRef(id=ref.id, name=new, state=ref.state)


def copy_hosts(engine: Engine, source: str, target: str) -> int:
    """Start an intake from last year's host list: copy every host's places from ``source`` to ``target``.

    The target must be open and have no places yet (a second copy would
    silently overwrite places a coordinator has already adjusted). Returns the
    number of hosts copied. Edit the copy by importing a hosts file into the
    target cohort.
    """
    with write_session(engine) as s:
        src = resolve(s, source)
        dst = resolve(s, target, "write")
        if src.id == dst.id:
            raise CohortError("FROM and TO are the same cohort.", "Name last year's cohort first, then the new one.")
        if s.scalar(select(func.count()).select_from(HostPlace).where(HostPlace.cohort_id == dst.id)):
            raise CohortError(
                f"Cohort {dst.name!r} already has host places.",
                "Import a hosts file into it to change them (`placement import hosts FILE --cohort "
                f"{dst.name}`); copy-hosts only starts an empty cohort.",
            )
        rows = s.execute(
            select(
                HostPlace.host_pk,
                HostPlace.capacity,
                HostPlace.specialisms,
                HostPlace.min_score,
                HostPlace.min_placements,
            ).where(HostPlace.cohort_id == src.id)
        ).all()
        if not rows:
            raise CohortError(
                f"Cohort {src.name!r} has no hosts to copy.", "Import hosts into it, or copy another cohort."
            )
        s.execute(
            insert(HostPlace),
            [
                {
                    "cohort_id": dst.id,
                    "host_pk": pk,
                    "capacity": cap,
                    "specialisms": spec,
                    "min_score": score,
                    "min_placements": minimum,
                }
                for pk, cap, spec, score, minimum in rows
            ],
        )
        _log(s, f"copied the places of {len(rows)} hosts from cohort {src.name} to {dst.name}", dst.id)
    return len(rows)


def list_cohorts(engine: Engine) -> list[CohortSummary]:
    """Every cohort with its headline counts, oldest first."""
    with transaction(engine) as s:

        def counts(query) -> dict[int, int]:
            return {k: int(v or 0) for k, v in s.execute(query).all()}

        candidates = counts(select(Candidate.cohort_id, func.count()).group_by(Candidate.cohort_id))
        hosts = counts(select(HostPlace.cohort_id, func.count()).group_by(HostPlace.cohort_id))
        places = counts(select(HostPlace.cohort_id, func.sum(HostPlace.capacity)).group_by(HostPlace.cohort_id))
        rounds = counts(select(Round.cohort_id, func.count()).group_by(Round.cohort_id))
        approved = counts(
            select(Round.cohort_id, func.max(Round.number))
            .where(Round.approved_at.is_not(None))
            .group_by(Round.cohort_id)
        )
        return [
            CohortSummary(
                name=c.name,
                state=c.state,
                created_at=c.created_at,
                closed_at=c.closed_at,
                candidates=candidates.get(c.id, 0),
                hosts=hosts.get(c.id, 0),
                places=places.get(c.id, 0),
                rounds=rounds.get(c.id, 0),
                approved_round=approved.get(c.id),
            )
            for c in s.scalars(select(Cohort).order_by(Cohort.created_at, Cohort.id)).all()
        ]
