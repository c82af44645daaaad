"""Importing outcomes.csv: what became of each graduate, for one cohort or several.

The same machinery as every other import (``reader`` for the file and the
mapping, the row model in ``schemas``, ``Problems`` for every bad cell,
``record_import`` for the batch and the audit log), with what is particular
to outcomes:

- a row names its cohort (``cohort`` column); a blank cell means the cohort
  the command names (``--cohort``), else the only open cohort. When the
  command names a cohort, a row naming another is refused rather than
  imported somewhere the coordinator did not ask for;
- a closed cohort takes outcomes (they are only known after its intake);
- the file is authoritative for each graduate it names: that graduate's
  stored events not in the file are removed, others keep theirs;
- each graduate's events must make one story: one start, at most one
  completion or departure (not both), nothing dated before the start.

All or nothing, as every import: any problem and nothing is written.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..cohorts import CohortRef, resolve
from ..config import ImportLimits, os_user
from ..db.models import Candidate, Cohort, Outcome
from ..db.session import write_transaction
from ..errors import InputError, PlacementError
from ..schemas import OutcomeRow
from .mapping import Mapping
from .reader import Problems, read_table
from .reader import Table as ReadTable
from .store import ImportReport, Plan, record_import
from .validate import validate_rows

log = logging.getLogger(__name__)

OUTCOMES: Table = Outcome.__table__  # type: ignore[assignment]
CANDIDATES: Table = Candidate.__table__  # type: ignore[assignment]
COHORTS: Table = Cohort.__table__  # type: ignore[assignment]
CHUNK = 500

# Events a graduate has at most once.
ONCE = ("started", "completed", "left")


@dataclass(frozen=True)
class _Event:
    row: int
    cohort: CohortRef
    model: OutcomeRow


def import_outcomes(
    engine: Engine,
    path: str | Path,
    mapping: Mapping,
    *,
    dry_run: bool = False,
    max_errors: int = 50,
    cohort: str | None = None,
    limits: ImportLimits | None = None,
) -> Any:
    """Import an outcomes file; returns the ``ImportReport`` (cohort: the cohorts it named, comma-joined)."""

    problems = Problems(max_errors)
    table = read_table("outcomes", Path(path), mapping.for_kind("outcomes"), problems, limits=limits)
    try:
        with write_transaction(engine, write=not dry_run, lock=None if dry_run else "scheme") as conn:
            events = _validate(conn, table, cohort, problems) if table is not None else []
            if len(problems) or table is None:
                raise InputError(problems.items, truncated=problems.truncated)
            plan = _plan(conn, events)
            named = sorted({e.cohort.name for e in events})
            single = events[0].cohort if len(named) == 1 else None
            same_file = _imported_before(conn, table.sha256)
            skipped = same_file and plan.changes == 0
            batch_id = None
            if not dry_run and not skipped:
                batch_id = record_import(
                    conn,
                    kind="outcomes",
                    file_name=table.file,
                    sha256=table.sha256,
                    rows=len(table.rows),
                    plan=plan,
                    at=datetime.now(UTC),
                    user=os_user(),
                    cohort=single,
                )
                plan.write(conn, batch_id)
    except PlacementError:
        raise
    except SQLAlchemyError:
        raise PlacementError(
            "The database refused the outcomes import; nothing was written.",
            "Check that no one else is importing into the same database and try again; "
            "if it happens again, report it (with the command, not the file's contents).",
        ) from None
    report = ImportReport.of(table, plan, skipped=skipped, dry_run=dry_run, batch_id=batch_id, cohort=", ".join(named))
    log.info(
        "import outcomes %s into cohort(s) %s: %d rows, %d added, %d updated, %d unchanged, %d removed%s",
        report.file,
        report.cohort,
        report.rows,
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        " (dry run)" if dry_run else "",
    )
    return report


def _imported_before(conn: Connection, sha256: str) -> bool:
    from .store import BATCHES

    query = select(BATCHES.c.id).where(BATCHES.c.kind == "outcomes", BATCHES.c.sha256 == sha256).limit(1)
    return conn.execute(query).first() is not None


def _validate(conn: Connection, table: ReadTable, named: str | None, problems: Problems) -> list[_Event]:
    """Every row checked on its own, against the database, and against the graduate's other rows."""
    valid = validate_rows(table, problems)
    cohorts = {
        n: CohortRef(id=i, name=n, state=s)
        for i, n, s in conn.execute(select(COHORTS.c.id, COHORTS.c.name, COHORTS.c.state))
    }
    chosen: CohortRef | None = None
    if named is not None:
        chosen = resolve(conn, named, "outcomes")
    default: list[CohortRef | None] = []  # resolved once, when a blank cohort cell needs it

    def cohort_of(row: int, model: OutcomeRow) -> CohortRef | None:
        if model.cohort is None:
            if chosen is not None:
                return chosen
            if not default:
                try:
                    default.append(resolve(conn, None, "outcomes"))
                except PlacementError as exc:
                    table.report(
                        problems,
                        row,
                        "cohort",
                        None,
                        "is blank and the import names no cohort",
                        f"give the cohort in this column, or pass --cohort NAME ({exc.message})",
                    )
                    default.append(None)
            return default[0]
        found = cohorts.get(model.cohort)
        if found is None:
            near = [n for n in cohorts if n.casefold() == model.cohort.casefold()]
            fix = (
                f"write {near[0]!r} exactly"
                if near
                else f"use one of: {', '.join(sorted(cohorts))} (or create it: placement cohort create {model.cohort})"
            )
            table.report(problems, row, "cohort", model.cohort, "is not a cohort in the database", fix)
            return None
        if chosen is not None and found.id != chosen.id:
            table.report(
                problems,
                row,
                "cohort",
                model.cohort,
                f"is not the cohort this import is for ({chosen.name})",
                "leave out --cohort (and PLACEMENT_COHORT) to import every cohort the file names, or remove this row",
            )
            return None
        return found

    events: list[_Event] = []
    for row, model in valid.rows:
        assert isinstance(model, OutcomeRow)
        scope = cohort_of(row, model)
        if scope is not None:
            events.append(_Event(row, scope, model))

    ids_by_cohort = _candidate_ids(conn, {e.cohort.id for e in events})
    known = [e for e in events if e.model.candidate_id in ids_by_cohort.get(e.cohort.id, {})]
    unknown = [e for e in events if e.model.candidate_id not in ids_by_cohort.get(e.cohort.id, {})]
    elsewhere: dict[str, list[str]] = defaultdict(list)  # a candidate id -> the cohorts that do hold it
    wanted = sorted({e.model.candidate_id for e in unknown})
    for start in range(0, len(wanted), CHUNK):
        for cid, name in conn.execute(
            select(CANDIDATES.c.candidate_id, COHORTS.c.name)
            .join(COHORTS, COHORTS.c.id == CANDIDATES.c.cohort_id)
            .where(CANDIDATES.c.candidate_id.in_(wanted[start : start + CHUNK]))
            .order_by(COHORTS.c.name)
        ):
            elsewhere[cid].append(name)
    for e in unknown:
        other = elsewhere.get(e.model.candidate_id, [])
        fix = (
            f"the candidate is in cohort {', '.join(other)}: correct the cohort column"
            if other
            else f"correct the id, or import the candidate into cohort {e.cohort.name} first"
        )
        table.report(
            problems, e.row, "candidate_id", e.model.candidate_id, f"is not a candidate of cohort {e.cohort.name}", fix
        )
    _check_stories(table, known, problems)
    return known


def _candidate_ids(conn: Connection, cohort_ids: set[int]) -> dict[int, dict[str, int]]:
    """cohort id -> candidate_id -> primary key, for the cohorts the file names."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    if cohort_ids:
        c = CANDIDATES.c
        for cohort_id, cid, pk in conn.execute(
            select(c.cohort_id, c.candidate_id, c.id).where(c.cohort_id.in_(sorted(cohort_ids)))
        ):
            out[cohort_id][cid] = pk
    return out


def _check_stories(table: ReadTable, events: list[_Event], problems: Problems) -> None:
    """One graduate's rows make one story: one start first, then at most one completion or departure."""
    by_graduate: dict[tuple[int, str], list[_Event]] = defaultdict(list)
    for e in events:
        by_graduate[(e.cohort.id, e.model.candidate_id)].append(e)
    for (_, cid), mine in by_graduate.items():
        seen: dict[tuple[str, Any], int] = {}
        for e in mine:
            key = (e.model.event, e.model.date)
            if key in seen:
                table.report(
                    problems,
                    e.row,
                    "event",
                    e.model.event,
                    f"repeats {cid}'s {e.model.event} on {e.model.date.isoformat()} (row {seen[key]})",
                    "keep one row per graduate, event and date",
                )
            seen.setdefault(key, e.row)
        for event in ONCE:
            rows = [e for e in mine if e.model.event == event]
            for extra in rows[1:]:
                table.report(
                    problems,
                    extra.row,
                    "event",
                    event,
                    f"is {cid}'s second '{event}' (first on row {rows[0].row})",
                    f"a graduate has one '{event}' event: keep the right one",
                )
        starts = [e for e in mine if e.model.event == "started"]
        if not starts:
            first = min(mine, key=lambda e: e.row)
            table.report(
                problems,
                first.row,
                "event",
                first.model.event,
                f"is one of {cid}'s events, but {cid} has no 'started' row",
                "add the row with the date the graduate started (the file holds each graduate's whole story)",
            )
            continue
        start = starts[0].model.date
        for e in mine:
            if e.model.event != "started" and e.model.date < start:
                table.report(
                    problems,
                    e.row,
                    "date",
                    e.model.date.isoformat(),
                    f"is before {cid} started ({start.isoformat()})",
                    "correct the date, or the start date",
                )
        done = [e for e in mine if e.model.event in ("completed", "left")]
        if len({e.model.event for e in done}) > 1:
            last = max(done, key=lambda e: e.row)
            table.report(
                problems,
                last.row,
                "event",
                last.model.event,
                f"{cid} both completed the scheme and left it before completing",
                "keep one: 'left' means left before completing",
            )


def _plan(conn: Connection, events: list[_Event]) -> Plan:
    """Insert, update (band, reason) and remove outcome rows so each named graduate's events are the file's."""
    plan = Plan()
    pks = _candidate_ids(conn, {e.cohort.id for e in events})
    wanted: dict[tuple[int, str, Any], dict[str, Any]] = {}
    for e in events:
        pk = pks[e.cohort.id][e.model.candidate_id]
        wanted[(pk, e.model.event, e.model.date)] = {"band": e.model.band, "reason": e.model.reason}
    graduates = sorted({key[0] for key in wanted})
    stored: dict[tuple[int, str, Any], tuple[int, str | None, str]] = {}
    o = OUTCOMES.c
    for start in range(0, len(graduates), CHUNK):
        for pk, cand, event, day, band, reason in conn.execute(
            select(o.id, o.candidate_pk, o.event, o.date, o.band, o.reason).where(
                o.candidate_pk.in_(graduates[start : start + CHUNK])
            )
        ):
            stored[(cand, event, day)] = (pk, band, reason)
    inserts, updates = [], []
    for key, values in wanted.items():
        old = stored.get(key)
        if old is None:
            plan.added += 1
            inserts.append({"candidate_pk": key[0], "event": key[1], "date": key[2], **values})
        elif (old[1], old[2]) != (values["band"], values["reason"]):
            plan.updated += 1
            updates.append({"_pk": old[0], **values})
        else:
            plan.unchanged += 1
    removed = [old[0] for key, old in stored.items() if key not in wanted]
    plan.removed = len(removed)

    def write(conn: Connection, batch_id: int) -> None:
        for start in range(0, len(removed), CHUNK):
            conn.execute(delete(OUTCOMES).where(OUTCOMES.c.id.in_(removed[start : start + CHUNK])))
        if updates:
            conn.execute(
                update(OUTCOMES).where(OUTCOMES.c.id == bindparam("_pk")).values(import_batch_id=batch_id), updates
            )
        if inserts:
            conn.execute(insert(OUTCOMES), [{**r, "import_batch_id": batch_id} for r in inserts])

    plan.write = write
    return plan
