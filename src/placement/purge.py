"""Retention: delete candidates' personal data once it is past its retention date.

UK GDPR Art. 5(1)(e) (storage limitation): personal data is kept no longer than
the scheme needs it. A scheme year's rounds stay on record as anonymised
aggregates (how many were placed, the rank sum, whether each diversity target
was met), but the people behind them are reduced to an opaque reference.

What a purge keeps and deletes is documented, row by row, in
``docs/data-protection.md``; keep the two in step.

A candidate is purged when their *last involvement* with the scheme is before
the cut-off date: the latest of

- the import batch that last added or changed their candidate row,
- the creation and approval of every round whose pool included them,
- the time they answered an offer.

A candidate with no dated involvement at all (a row written without an import
batch and never in a round) is never purged automatically: the report names
how many there are so a person can decide.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from .db.models import (
    Candidate,
    HostRanking,
    ImportBatch,
    Outcome,
    PairRule,
    Placement,
    Preference,
    ProtectedCharacteristics,
    Round,
    SeasonEvent,
)
from .db.session import read_session, write_session
from .errors import PlacementError
from .rounds import log_action

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...): well under every backend's parameter limit


class PurgeRefused(PlacementError):
    """A purge that would remove data still in use (a cut-off in the future)."""


@dataclass
class PurgeReport:
    """What a purge removed (or, for a dry run, would remove)."""

    before: datetime
    candidates: int = 0  # candidates whose personal data was removed
    protected_rows: int = 0  # rows of protected characteristics deleted
    preferences: int = 0
    host_rankings: int = 0
    pair_rules: int = 0
    links_cleared: int = 0  # linked_with cells cleared (on purged candidates and on partners naming them)
    rounds_cleared: int = 0  # rounds before the date whose stored inputs were removed
    already_purged: int = 0  # candidates purged by an earlier run
    undated: int = 0  # candidates with no dated involvement: left alone
    kept: int = 0  # candidates involved on or after the date: left alone
    dry_run: bool = False

    @property
    def changes(self) -> int:
        return self.candidates + self.rounds_cleared

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        day = self.before.date().isoformat()
        out = [
            f"{self.candidates} candidate(s) last involved before {day}: personal data {verb} removed "
            f"({self.protected_rows} equality-monitoring records, {self.preferences} preferences, "
            f"{self.host_rankings} host ranking entries, {self.pair_rules} pair rules, "
            f"{self.links_cleared} links).",
            f"{self.rounds_cleared} round(s) created before {day}: stored solver inputs {verb} removed; "
            "their summary figures and placements stay.",
            f"{self.kept} candidate(s) involved on or after {day} {'would be' if self.dry_run else 'were'} kept; "
            f"{self.already_purged} had been purged already.",
        ]
        if self.undated:
            out.append(
                f"{self.undated} candidate(s) have no dated involvement (no import batch, no round) and were "
                "left alone: re-import them to date them, or review them by hand."
            )
        return out


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything placement writes is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cutoff(day: date | datetime) -> datetime:
    """The start (00:00 UTC) of ``day``: "before 2025-09-01" means up to the end of 31 August."""
    if isinstance(day, datetime):
        return _utc(day)  # type: ignore[return-value]
    return datetime.combine(day, time.min, tzinfo=UTC)


def _latest(mapping: dict[int, datetime], key: int, moment: datetime | None) -> None:
    moment = _utc(moment)
    if moment is not None and (key not in mapping or moment > mapping[key]):
        mapping[key] = moment


def last_involvement(session: Session) -> dict[int, datetime]:
    """Candidate primary key -> the latest dated moment the scheme dealt with them."""
    latest: dict[int, datetime] = {}
    for pk, imported_at in session.execute(
        select(Candidate.id, ImportBatch.imported_at).join(ImportBatch, ImportBatch.id == Candidate.import_batch_id)
    ):
        _latest(latest, pk, imported_at)
    # Recording what became of a graduate (an outcomes import) is dealing with them too.
    for pk, imported_at in session.execute(
        select(Outcome.candidate_pk, ImportBatch.imported_at).join(
            ImportBatch, ImportBatch.id == Outcome.import_batch_id
        )
    ):
        _latest(latest, pk, imported_at)
    # A round's pool names candidates of its own cohort (the same id in another cohort is another person).
    pk_of_id = {
        (cohort, cid): pk
        for cohort, cid, pk in session.execute(select(Candidate.cohort_id, Candidate.candidate_id, Candidate.id))
    }
    for cohort_id, created_at, approved_at, summary in session.execute(
        select(Round.cohort_id, Round.created_at, Round.approved_at, Round.summary)
    ):
        moment = max(m for m in (_utc(created_at), _utc(approved_at)) if m is not None)
        for cid in (summary or {}).get("pool", []):
            key = pk_of_id.get((cohort_id, cid))
            if key is not None:
                _latest(latest, key, moment)
    # Placements name candidates by key even when a summary does not (older rounds, fixed offers).
    for pk, created_at, approved_at, responded_at in session.execute(
        select(Placement.candidate_pk, Round.created_at, Round.approved_at, Placement.responded_at).join(
            Round, Round.id == Placement.round_id
        )
    ):
        for when in (created_at, approved_at, responded_at):
            _latest(latest, pk, when)
    return latest


def _chunks(keys: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


def _count(session: Session, column, keys: list[int]) -> int:
    return sum(session.scalar(select(func.count()).where(column.in_(chunk))) or 0 for chunk in _chunks(keys))


def purge(
    engine: Engine, before: date | datetime, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeReport:
    """Remove the personal data of candidates last involved before ``before``; keep round aggregates.

    Everything happens in one transaction: a purge interrupted half-way
    removes nothing. The audit log records the purge (counts only).
    """
    moment = cutoff(before)
    now = _utc(now) or datetime.now(UTC)
    if moment > now:
        raise PurgeRefused(
            f"The cut-off {moment.date().isoformat()} is in the future, so this would remove the data of "
            "candidates the scheme is still dealing with.",
            "Give a date in the past: the end of the retention period in your privacy notice.",
        )
    report = PurgeReport(before=moment, dry_run=dry_run)
    # Lock first, then read whom to purge: an import (or a round) committing between the reads and the
    # writes would otherwise have its rows erased, or be left half purged.
    session = read_session(engine) if dry_run else write_session(engine, lock=("scheme", "rounds"))
    with session as s:
        latest = last_involvement(s)
        rows = s.execute(select(Candidate.id, Candidate.cohort_id, Candidate.candidate_id, Candidate.purged_at)).all()
        doomed: list[int] = []
        doomed_ids: set[tuple[int, str]] = set()
        for pk, cohort, cid, purged_at in rows:
            if purged_at is not None:
                report.already_purged += 1
            elif pk not in latest:
                report.undated += 1
            elif latest[pk] < moment:
                doomed.append(pk)
                doomed_ids.add((cohort, cid))
            else:
                report.kept += 1
        report.candidates = len(doomed)
        report.protected_rows = _count(s, ProtectedCharacteristics.candidate_pk, doomed)
        report.preferences = _count(s, Preference.candidate_pk, doomed)
        report.host_rankings = _count(s, HostRanking.candidate_pk, doomed)
        report.pair_rules = _count(s, PairRule.candidate_pk, doomed)
        linked = s.execute(
            select(Candidate.id, Candidate.cohort_id, Candidate.linked_with).where(Candidate.linked_with.is_not(None))
        ).all()
        doomed_set = set(doomed)
        # A partner still on record (in the same cohort) who names a purged candidate: the link can no longer be honoured.
        unlink = [pk for pk, cohort, other in linked if pk in doomed_set or (cohort, other) in doomed_ids]
        report.links_cleared = len(unlink)
        old_rounds = list(s.scalars(select(Round.id).where(Round.created_at < moment, Round.inputs.is_not(None))).all())
        report.rounds_cleared = len(old_rounds)
        if dry_run:
            return report

        if engine.dialect.name == "sqlite":
            # Overwrite deleted content with zeros instead of leaving it in free pages and page slack, whatever
            # the SQLite build's default (Debian enables it; a standard build does not).
            s.execute(text("PRAGMA secure_delete = ON"))
        stamp = datetime.now(UTC)
        for chunk in _chunks(doomed):
            for table in (ProtectedCharacteristics, Preference, HostRanking, PairRule):
                s.execute(delete(table).where(table.candidate_pk.in_(chunk)))
            # The coordinator's reasons for corrections about them are free text about a person.
            s.execute(update(SeasonEvent).where(SeasonEvent.candidate_pk.in_(chunk)).values(reason="", subject=""))
            # Outcome events stay (dates and bands, for the cohort's figures); their free-text reasons go.
            s.execute(update(Outcome).where(Outcome.candidate_pk.in_(chunk)).values(reason=""))
            s.execute(
                update(Candidate)
                .where(Candidate.id.in_(chunk))
                .values(
                    given_name=None,
                    family_name=None,
                    email=None,
                    linked_with=None,
                    career_changer="not_known",
                    purged_at=stamp,
                )
            )
        for chunk in _chunks(unlink):
            s.execute(update(Candidate).where(Candidate.id.in_(chunk)).values(linked_with=None))
        for chunk in _chunks(old_rounds):
            s.execute(update(Round).where(Round.id.in_(chunk)).values(inputs=None))
        log_action(
            s,
            "purge",
            f"before {moment.date().isoformat()}: personal data of {report.candidates} candidates removed "
            f"({report.protected_rows} equality records, {report.preferences} preferences, "
            f"{report.host_rankings} host ranking entries, {report.pair_rules} pair rules, "
            f"{report.links_cleared} links); inputs of {report.rounds_cleared} rounds removed",
        )
    if engine.dialect.name == "sqlite":
        _compact(engine)
    return report


def _compact(engine: Engine) -> None:
    """VACUUM after a purge: rebuild the file so no page keeps what was removed (after the commit)."""
    from sqlalchemy.exc import OperationalError

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
            conn.exec_driver_sql("VACUUM")
    except OperationalError:
        # Another command has the file open (VACUUM needs it alone). The purge itself is committed and its
        # deletions were already overwritten (secure_delete); the rebuild is only the belt to those braces.
        log.warning("purge: could not VACUUM the SQLite file (busy); deleted data was overwritten in place")
