"""Finding the candidate, host or target a command names, with "did you mean" when it is not there.

Ids are compared exactly (letter case and blanks included), as imports store
them; when an id is not found, the message offers the stored id it most
likely meant: the same id but for case and blanks (as import checks do),
else the closest by spelling.
"""

from __future__ import annotations

import difflib

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cohorts import CohortRef, scoped
from .db.models import Candidate, Host, Target
from .errors import NotFound
from .schemas import id_key


def suggestion(wanted: str, known: list[str]) -> str | None:
    """The known id the user most likely meant, or None."""
    by_key = {id_key(k): k for k in known}
    if id_key(wanted) in by_key:
        return by_key[id_key(wanted)]
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.75)
    return close[0] if close else None


def _not_found(what: str, wanted: str, known: list[str], listing: str) -> NotFound:
    near = suggestion(wanted, known)
    if near is not None:
        return NotFound(
            f"There is no {what} {wanted!r}; did you mean {near!r}?",
            f"Ids must match exactly, letter case and blanks included: use {near!r}.",
        )
    if not known:
        return NotFound(f"There is no {what} {wanted!r}: none are imported yet.", listing)
    return NotFound(f"There is no {what} {wanted!r}.", f"Check the id (ids are case-sensitive); {listing}")


def candidate(session: Session, candidate_id: str, cohort: CohortRef | str | None = None) -> Candidate:
    """The candidate of ``cohort`` (None: the default cohort) with this id."""
    scope = scoped(session, cohort)
    in_cohort = Candidate.cohort_id == scope.id
    found = session.scalar(select(Candidate).where(in_cohort, Candidate.candidate_id == candidate_id))
    if found is None:
        known = list(session.scalars(select(Candidate.candidate_id).where(in_cohort)))
        raise _not_found(
            "candidate",
            candidate_id,
            known,
            f"see `placement round show N` for the ids in a round (cohort {scope.name}).",
        )
    return found


def host(session: Session, host_id: str) -> Host:
    found = session.scalar(select(Host).where(Host.host_id == host_id))
    if found is None:
        known = list(session.scalars(select(Host.host_id)))
        raise _not_found("host", host_id, known, "see `placement round show N --by host` for the host ids.")
    return found


def target(session: Session, name: str, cohort: CohortRef | str | None = None) -> Target:
    """The target of ``cohort`` (None: the default cohort) with this name."""
    in_cohort = Target.cohort_id == scoped(session, cohort).id
    found = session.scalar(select(Target).where(in_cohort, Target.name == name))
    if found is None:
        known = list(session.scalars(select(Target.name).where(in_cohort)))
        raise _not_found("target", name, known, "the targets are listed by `placement status`.")
    return found
