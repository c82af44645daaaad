"""What the database holds, what an import would change, and the bulk writes that change it.

Portable upserts (SQLite and PostgreSQL alike): read the existing rows of a
table once into a dict keyed by natural key (``candidate_id``, ``host_id``,
``(candidate_id, host_id)``, target ``name``), compare each validated row
with it, then write with one executemany per statement kind. No per-row
queries, no ORM flushes: 100,000 preference rows are a handful of
statements.

Plans work on natural keys only, so the plan for ``preferences.csv`` can be
made (and a dry run reported) before the candidates it names are inserted;
primary keys are looked up when the plan is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from ..cohorts import CohortRef
from ..db.models import (
    AuditLog,
    Candidate,
    Host,
    HostPlace,
    HostRanking,
    ImportBatch,
    PairRule,
    Preference,
    ProtectedCharacteristics,
    Target,
)
from ..domain import ethnic_group, minority_ethnic

CANDIDATES: Table = Candidate.__table__  # type: ignore[assignment]
PROTECTED: Table = ProtectedCharacteristics.__table__  # type: ignore[assignment]
HOSTS: Table = Host.__table__  # type: ignore[assignment]
PLACES: Table = HostPlace.__table__  # type: ignore[assignment]
PREFERENCES: Table = Preference.__table__  # type: ignore[assignment]
HOST_RANKINGS: Table = HostRanking.__table__  # type: ignore[assignment]
TARGETS: Table = Target.__table__  # type: ignore[assignment]
PAIRS: Table = PairRule.__table__  # type: ignore[assignment]
BATCHES: Table = ImportBatch.__table__  # type: ignore[assignment]
AUDIT: Table = AuditLog.__table__  # type: ignore[assignment]

CANDIDATE_FIELDS = ("given_name", "family_name", "email", "assessment_score", "specialisms", "home_region",
                    "willing_to_relocate", "career_changer", "linked_with")
PROTECTED_FIELDS = ("sex", "ethnic_category", "disability")
HOST_ORG_FIELDS = ("name", "org_type", "region")  # the organisation: shared by every cohort
PLACE_FIELDS = ("capacity", "specialisms", "min_score", "min_placements")  # its places in one cohort
TARGET_FIELDS = ("scope", "attribute", "value", "min_share", "max_share", "strength", "weight")
PAIR_FIELDS = ("rule", "reason")
CHUNK = 500  # ids per DELETE ... IN (...): well under every backend's parameter limit

Rows = Sequence[tuple[int, Any]]  # (row number, the file kind's pydantic model)


class Snapshot:
    """The stored rows of one cohort an import compares against, each table read once, when first needed.

    Candidates and everything hanging off them, targets and host places are
    the cohort's; host organisations are shared by every cohort.
    """

    def __init__(self, conn: Connection, cohort: CohortRef):
        self.conn = conn
        self.cohort = cohort

    @property
    def in_cohort(self):
        """The condition that keeps a query of candidates to this cohort."""
        return CANDIDATES.c.cohort_id == self.cohort.id

    @cached_property
    def candidates(self) -> dict[str, dict[str, Any]]:
        c, p = CANDIDATES.c, PROTECTED.c
        query = select(
            c.id.label("pk"), c.candidate_id, *(c[f] for f in CANDIDATE_FIELDS), c.purged_at,
            *(p[f] for f in PROTECTED_FIELDS),
        ).outerjoin_from(CANDIDATES, PROTECTED, p.candidate_pk == c.id).where(self.in_cohort)
        out = {}
        for row in self.conn.execute(query).mappings():
            record = dict(row)
            record["purged"] = record.pop("purged_at") is not None
            out[record["candidate_id"]] = record
        return out

    @cached_property
    def candidate_ids(self) -> set[str]:
        if "candidates" in self.__dict__:
            return set(self.candidates)
        return set(self.conn.execute(select(CANDIDATES.c.candidate_id).where(self.in_cohort)).scalars())

    @cached_property
    def host_ids(self) -> set[str]:
        """Hosts with places in this cohort (the ones its lists may name)."""
        return {hid for hid, row in self.hosts.items() if row["place_pk"] is not None}

    @cached_property
    def hosts(self) -> dict[str, dict[str, Any]]:
        """Every host organisation, with its places in this cohort (``place_pk`` None: none yet)."""
        h, p = HOSTS.c, PLACES.c
        query = select(
            h.id.label("pk"), h.host_id, *(h[f] for f in HOST_ORG_FIELDS), p.id.label("place_pk"),
            *(p[f] for f in PLACE_FIELDS),
        ).outerjoin_from(HOSTS, PLACES, (p.host_pk == h.id) & (p.cohort_id == self.cohort.id))
        return {row["host_id"]: dict(row) for row in self.conn.execute(query).mappings()}

    @cached_property
    def preferences(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(candidate_id, host_id) -> (pk, rank)."""
        return self._ranked(PREFERENCES, owner=CANDIDATES.c.candidate_id, other=HOSTS.c.host_id)

    @cached_property
    def host_rankings(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(host_id, candidate_id) -> (pk, rank)."""
        return self._ranked(HOST_RANKINGS, owner=HOSTS.c.host_id, other=CANDIDATES.c.candidate_id)

    def _ranked(self, table: Table, owner, other) -> dict[tuple[str, str], tuple[int, int]]:
        query = (
            select(owner, other, table.c.id, table.c.rank)
            .join(CANDIDATES, CANDIDATES.c.id == table.c.candidate_pk)
            .join(HOSTS, HOSTS.c.id == table.c.host_pk)
            .where(self.in_cohort)
        )
        return {(o, h): (pk, rank) for o, h, pk, rank in self.conn.execute(query)}

    @cached_property
    def targets(self) -> dict[str, dict[str, Any]]:
        t = TARGETS.c
        query = select(t.id.label("pk"), t.name, *(t[f] for f in TARGET_FIELDS)).where(t.cohort_id == self.cohort.id)
        return {row["name"]: dict(row) for row in self.conn.execute(query).mappings()}

    @cached_property
    def pairs(self) -> dict[tuple[str, str], dict[str, Any]]:
        query = (
            select(CANDIDATES.c.candidate_id, HOSTS.c.host_id, PAIRS.c.id.label("pk"), PAIRS.c.rule, PAIRS.c.reason)
            .join(CANDIDATES, CANDIDATES.c.id == PAIRS.c.candidate_pk)
            .join(HOSTS, HOSTS.c.id == PAIRS.c.host_pk)
            .where(self.in_cohort)
        )
        return {(r["candidate_id"], r["host_id"]): dict(r) for r in self.conn.execute(query).mappings()}

    def imported_before(self, kind: str, sha256: str) -> bool:
        query = select(BATCHES.c.id).where(
            BATCHES.c.kind == kind, BATCHES.c.sha256 == sha256, BATCHES.c.cohort_id == self.cohort.id
        ).limit(1)
        return self.conn.execute(query).first() is not None

    def candidate_pks(self, conn: Connection) -> dict[str, int]:
        """candidate_id -> primary key in this cohort, as the database holds them now (after inserts)."""
        return dict(conn.execute(select(CANDIDATES.c.candidate_id, CANDIDATES.c.id).where(self.in_cohort)).all())


@dataclass
class Plan:
    """What importing one file would change, and how to write it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    write: Callable[[Connection, int], None] = lambda conn, batch_id: None

    @property
    def changes(self) -> int:
        return self.added + self.updated + self.removed


def _fields(model: BaseModel, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(model, name) for name in names}


def _differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(old[k] != v for k, v in new.items())


def _update_by_pk(conn: Connection, table: Table, rows: list[dict[str, Any]], **constant: Any) -> None:
    """UPDATE ... WHERE id = :_pk for many rows at once (rows hold ``_pk`` and the new values)."""
    if rows:
        conn.execute(update(table).where(table.c.id == bindparam("_pk")).values(**constant), rows)


def _delete_by_pk(conn: Connection, table: Table, pks: list[int]) -> None:
    for start in range(0, len(pks), CHUNK):
        conn.execute(delete(table).where(table.c.id.in_(pks[start:start + CHUNK])))


def _host_pks(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(HOSTS.c.host_id, HOSTS.c.id)).all())


def _protected_row(values: dict[str, str]) -> dict[str, str]:
    # The raw code stays as given; the groups are derived beside it, never over it.
    group = ethnic_group(values["ethnic_category"])
    return {**values, "ethnic_group": group, "minority_ethnic": minority_ethnic(group)}


def plan_candidates(rows: Rows, snapshot: Snapshot) -> Plan:
    plan = Plan()
    inserts: list[dict[str, Any]] = []
    new_protected: dict[str, dict[str, str]] = {}
    updates: list[dict[str, Any]] = []
    protected_updates: list[dict[str, Any]] = []
    missing_protected: list[dict[str, Any]] = []
    for _, m in rows:
        values = _fields(m, CANDIDATE_FIELDS)
        protected = _protected_row(_fields(m, PROTECTED_FIELDS))
        old = snapshot.candidates.get(m.candidate_id)
        if old is None:
            plan.added += 1
            inserts.append({"candidate_id": m.candidate_id, **values})
            new_protected[m.candidate_id] = protected
            continue
        main_changed = _differs(old, values)
        protected_changed = old["sex"] is None or _differs(old, _fields(m, PROTECTED_FIELDS))
        if not (main_changed or protected_changed):
            plan.unchanged += 1
            continue
        plan.updated += 1
        if main_changed:
            updates.append({"_pk": old["pk"], **values})
        if old["sex"] is None:  # a candidate stored without monitoring data (never by this importer)
            missing_protected.append({"candidate_pk": old["pk"], **protected})
        elif protected_changed:
            protected_updates.append({"_pk": old["pk"], **protected})

    def write(conn: Connection, batch_id: int) -> None:
        if inserts:
            conn.execute(insert(CANDIDATES), [
                {**r, "cohort_id": snapshot.cohort.id, "withdrawn": False, "import_batch_id": batch_id} for r in inserts
            ])
            pks = snapshot.candidate_pks(conn)
            missing_protected.extend({"candidate_pk": pks[cid], **p} for cid, p in new_protected.items())
        _update_by_pk(conn, CANDIDATES, updates, import_batch_id=batch_id)
        if missing_protected:
            conn.execute(insert(PROTECTED), missing_protected)
        if protected_updates:
            conn.execute(
                update(PROTECTED).where(PROTECTED.c.candidate_pk == bindparam("_pk")), protected_updates
            )

    plan.write = write
    return plan


def _plan_by_key(
    rows: Rows, existing: dict[str, dict[str, Any]], key: str, fields: tuple[str, ...], table: Table, *, batch: bool,
    cohort_id: int,
) -> Plan:
    """Upsert plan for a cohort's table keyed by one natural id (targets by name)."""
    plan = Plan()
    inserts, updates = [], []
    for _, m in rows:
        values = _fields(m, fields)
        old = existing.get(getattr(m, key))
        if old is None:
            plan.added += 1
            inserts.append({key: getattr(m, key), **values})
        elif _differs(old, values):
            plan.updated += 1
            updates.append({"_pk": old["pk"], **values})
        else:
            plan.unchanged += 1

    def write(conn: Connection, batch_id: int) -> None:
        # Rows that carry their import batch (hosts) are stamped with this one.
        stamp = {"import_batch_id": batch_id} if batch else {}
        if inserts:
            conn.execute(insert(table), [{**r, **stamp, "cohort_id": cohort_id} for r in inserts])
        _update_by_pk(conn, table, updates, **stamp)

    plan.write = write
    return plan


def plan_hosts(rows: Rows, snapshot: Snapshot) -> Plan:
    """Host organisations (shared by every cohort) and their places in this cohort.

    A row is *added* when the host has no places in this cohort yet (even if
    the organisation is known from another cohort), *updated* when its
    organisation or its places changed.
    """
    plan = Plan()
    new_orgs: list[dict[str, Any]] = []
    org_updates: list[dict[str, Any]] = []
    new_places: list[tuple[str, dict[str, Any]]] = []
    place_updates: list[dict[str, Any]] = []
    for _, m in rows:
        org, places = _fields(m, HOST_ORG_FIELDS), _fields(m, PLACE_FIELDS)
        old = snapshot.hosts.get(m.host_id)
        if old is None:
            new_orgs.append({"host_id": m.host_id, **org})
        elif _differs(old, org):
            org_updates.append({"_pk": old["pk"], **org})
        if old is None or old["place_pk"] is None:
            plan.added += 1
            new_places.append((m.host_id, places))
        elif _differs(old, places):
            plan.updated += 1
            place_updates.append({"_pk": old["place_pk"], **places})
        elif old is not None and _differs(old, org):
            plan.updated += 1
        else:
            plan.unchanged += 1

    def write(conn: Connection, batch_id: int) -> None:
        if new_orgs:
            conn.execute(insert(HOSTS), [{**r, "import_batch_id": batch_id} for r in new_orgs])
        _update_by_pk(conn, HOSTS, org_updates, import_batch_id=batch_id)
        if new_places:
            pks = _host_pks(conn)
            conn.execute(insert(PLACES), [
                {"cohort_id": snapshot.cohort.id, "host_pk": pks[hid], "import_batch_id": batch_id, **p}
                for hid, p in new_places
            ])
        _update_by_pk(conn, PLACES, place_updates, import_batch_id=batch_id)

    plan.write = write
    return plan


def _plan_ranked(
    rows: Rows, snapshot: Snapshot, existing: dict[tuple[str, str], tuple[int, int]], table: Table, owner: str,
    other: str,
) -> Plan:
    """Preferences (owner = candidate) or host rankings (owner = host).

    The file is authoritative for each owner it names: that owner's stored
    rows not in the file are removed. Owners the file does not name keep theirs.
    """
    plan = Plan()
    in_file: dict[tuple[str, str], int] = {(getattr(m, owner), getattr(m, other)): m.rank for _, m in rows}
    named = {key[0] for key in in_file}
    inserts, updates = [], []
    for key, rank in in_file.items():
        old = existing.get(key)
        if old is None:
            plan.added += 1
            inserts.append(key + (rank,))
        elif old[1] != rank:
            plan.updated += 1
            updates.append({"_pk": old[0], "rank": rank})
        else:
            plan.unchanged += 1
    removed = [pk for key, (pk, _) in existing.items() if key[0] in named and key not in in_file]
    plan.removed = len(removed)
    owner_is_candidate = owner == "candidate_id"

    def write(conn: Connection, batch_id: int) -> None:
        _delete_by_pk(conn, table, removed)
        _update_by_pk(conn, table, updates)
        if inserts:
            candidate_pk = snapshot.candidate_pks(conn)
            host_pk = _host_pks(conn)
            if owner_is_candidate:
                values = [{"candidate_pk": candidate_pk[o], "host_pk": host_pk[x], "rank": r} for o, x, r in inserts]
            else:
                values = [{"candidate_pk": candidate_pk[x], "host_pk": host_pk[o], "rank": r} for o, x, r in inserts]
            conn.execute(insert(table), values)

    plan.write = write
    return plan


def plan_preferences(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_ranked(rows, snapshot, snapshot.preferences, PREFERENCES, "candidate_id", "host_id")


def plan_host_rankings(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_ranked(rows, snapshot, snapshot.host_rankings, HOST_RANKINGS, "host_id", "candidate_id")


def plan_targets(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_by_key(rows, snapshot.targets, "name", TARGET_FIELDS, TARGETS, batch=False,
                        cohort_id=snapshot.cohort.id)


def plan_pairs(rows: Rows, snapshot: Snapshot) -> Plan:
    plan = Plan()
    inserts, updates = [], []
    for _, m in rows:
        values = _fields(m, PAIR_FIELDS)
        old = snapshot.pairs.get((m.candidate_id, m.host_id))
        if old is None:
            plan.added += 1
            inserts.append((m.candidate_id, m.host_id, values))
        elif _differs(old, values):
            plan.updated += 1
            updates.append({"_pk": old["pk"], **values})
        else:
            plan.unchanged += 1

    def write(conn: Connection, batch_id: int) -> None:
        if inserts:
            candidate_pk = snapshot.candidate_pks(conn)
            host_pk = _host_pks(conn)
            conn.execute(insert(PAIRS), [
                {"candidate_pk": candidate_pk[c], "host_pk": host_pk[h], **v} for c, h, v in inserts
            ])
        _update_by_pk(conn, PAIRS, updates)

    plan.write = write
    return plan


PLANNERS: dict[str, Callable[[Rows, Snapshot], Plan]] = {
    "candidates": plan_candidates,
    "hosts": plan_hosts,
    "preferences": plan_preferences,
    "host_rankings": plan_host_rankings,
    "targets": plan_targets,
    "pairs": plan_pairs,
}


def record_import(
    conn: Connection, *, kind: str, file_name: str, sha256: str, rows: int, plan: Plan, at: datetime, user: str,
    cohort: CohortRef | None,
) -> int:
    """The import_batches row and the audit_log entry of one file; returns the batch id.

    The audit detail names the file and the counts only: no personal data.
    """
    counts = {"added": plan.added, "updated": plan.updated, "unchanged": plan.unchanged, "removed": plan.removed}
    result = conn.execute(insert(BATCHES).values(
        kind=kind, file_name=file_name, sha256=sha256, rows=rows, imported_at=at, os_user=user,
        cohort_id=cohort.id if cohort else None, **counts
    ))
    assert result.inserted_primary_key is not None  # an INSERT of one row
    batch_id = result.inserted_primary_key[0]
    detail = (f"{kind} from {file_name} (sha256 {sha256[:12]}, batch {batch_id}): {rows} rows, "
              + ", ".join(f"{n} {k}" for k, n in counts.items()))
    conn.execute(insert(AUDIT).values(at=at, os_user=user, action="import", detail=detail,
                                      cohort_id=cohort.id if cohort else None))
    return batch_id
