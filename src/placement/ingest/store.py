"""What the database holds, what an import would change, and the bulk writes that change it.

Portable upserts (SQLite and PostgreSQL alike): read the existing rows of a
table once into a dict keyed by natural key (``candidate_id``, ``host_id``,
``(candidate_id, host_id)``, target ``name``), compare each validated row
with it, then write with one executemany per statement kind. No per-row
queries, no ORM flushes: 100,000 preference rows are a handful of
statements.

Preferences and host rankings (millions of rows in a large scheme) are
planned on the integer codes of the file's compact row store
(``rows.RowStore``): the stored rows of the owners the file names are read
as a stream into numpy arrays keyed the same way, compared with the file's,
and written in batches of ``BATCH`` rows, so neither side is ever a dict or
a list of dicts a row.

Plans work on natural keys only, so the plan for ``preferences.csv`` can be
made (and a dry run reported) before the candidates it names are inserted;
primary keys are looked up when the plan is applied.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
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
from .rows import RowStore

if TYPE_CHECKING:
    from .reader import Table as ReadTable

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

CANDIDATE_FIELDS = (
    "given_name",
    "family_name",
    "email",
    "assessment_score",
    "specialisms",
    "home_region",
    "willing_to_relocate",
    "career_changer",
    "linked_with",
)
PROTECTED_FIELDS = ("sex", "ethnic_category", "disability")
HOST_ORG_FIELDS = ("name", "org_type", "region")  # the organisation: shared by every cohort
PLACE_FIELDS = ("capacity", "specialisms", "min_score", "min_placements")  # its places in one cohort
TARGET_FIELDS = ("scope", "attribute", "value", "min_share", "max_share", "strength", "weight")
PAIR_FIELDS = ("rule", "reason")
CHUNK = 500  # ids per DELETE ... IN (...): well under every backend's parameter limit
BATCH = 20_000  # rows per executemany of a list file: the parameter dicts of one batch at a time in memory

Rows = RowStore  # (row number, the file kind's pydantic model) of each valid row


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
        query = (
            select(
                c.id.label("pk"),
                c.candidate_id,
                *(c[f] for f in CANDIDATE_FIELDS),
                c.purged_at,
                *(p[f] for f in PROTECTED_FIELDS),
            )
            .outerjoin_from(CANDIDATES, PROTECTED, p.candidate_pk == c.id)
            .where(self.in_cohort)
        )
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
            h.id.label("pk"),
            h.host_id,
            *(h[f] for f in HOST_ORG_FIELDS),
            p.id.label("place_pk"),
            *(p[f] for f in PLACE_FIELDS),
        ).outerjoin_from(HOSTS, PLACES, (p.host_pk == h.id) & (p.cohort_id == self.cohort.id))
        return {row["host_id"]: dict(row) for row in self.conn.execute(query).mappings()}

    def ranked(self, table: Table) -> Iterator[tuple[str, str, int, int]]:
        """(owner id, other id, pk, rank) of each stored preference (owner: candidate) or host ranking
        (owner: host) of this cohort, streamed: never all in memory at once."""
        owner, other = (
            (CANDIDATES.c.candidate_id, HOSTS.c.host_id)
            if table is PREFERENCES
            else (HOSTS.c.host_id, CANDIDATES.c.candidate_id)
        )
        query = (
            select(owner, other, table.c.id, table.c.rank)
            .join(CANDIDATES, CANDIDATES.c.id == table.c.candidate_pk)
            .join(HOSTS, HOSTS.c.id == table.c.host_pk)
            .where(self.in_cohort)
            .execution_options(yield_per=BATCH)  # a server-side cursor on PostgreSQL
        )
        for partition in self.conn.execute(query).partitions():
            yield from partition

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
        query = (
            select(BATCHES.c.id)
            .where(BATCHES.c.kind == kind, BATCHES.c.sha256 == sha256, BATCHES.c.cohort_id == self.cohort.id)
            .limit(1)
        )
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


@dataclass(frozen=True)
class ImportReport:
    """What importing one file did (or, in a dry run, would do)."""

    kind: str
    file: str
    sha256: str
    rows: int
    added: int
    updated: int
    unchanged: int
    removed: int
    skipped_same_file: bool  # imported before, byte for byte, and nothing in it differs from the database
    dry_run: bool = False
    batch_id: int | None = None  # the import_batches row written; None in a dry run or a no-op
    source: str = ""  # how the file was read: "sheet 'Prefs': the first of 3 sheets ...", "separated by semicolons"
    cohort: str = ""  # the cohort imported into

    @classmethod
    def of(
        cls, table: ReadTable, plan: Plan, *, skipped: bool, dry_run: bool, batch_id: int | None, cohort: str
    ) -> ImportReport:
        """The report of importing ``table`` by ``plan``: the one place a file's report is put together."""
        return cls(
            kind=table.kind,
            file=table.file,
            sha256=table.sha256,
            rows=len(table.rows),
            added=plan.added,
            updated=plan.updated,
            unchanged=plan.unchanged,
            removed=plan.removed,
            skipped_same_file=skipped,
            dry_run=dry_run,
            batch_id=batch_id,
            source=table.source,
            cohort=cohort,
        )


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
        conn.execute(delete(table).where(table.c.id.in_(pks[start : start + CHUNK])))


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
            conn.execute(
                insert(CANDIDATES),
                [
                    {**r, "cohort_id": snapshot.cohort.id, "withdrawn": False, "import_batch_id": batch_id}
                    for r in inserts
                ],
            )
            pks = snapshot.candidate_pks(conn)
            missing_protected.extend({"candidate_pk": pks[cid], **p} for cid, p in new_protected.items())
        _update_by_pk(conn, CANDIDATES, updates, import_batch_id=batch_id)
        if missing_protected:
            conn.execute(insert(PROTECTED), missing_protected)
        if protected_updates:
            conn.execute(update(PROTECTED).where(PROTECTED.c.candidate_pk == bindparam("_pk")), protected_updates)

    plan.write = write
    return plan


def _plan_by_key(
    rows: Rows,
    existing: dict[str, dict[str, Any]],
    key: str,
    fields: tuple[str, ...],
    table: Table,
    *,
    batch: bool,
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
            conn.execute(
                insert(PLACES),
                [
                    {"cohort_id": snapshot.cohort.id, "host_pk": pks[hid], "import_batch_id": batch_id, **p}
                    for hid, p in new_places
                ],
            )
        _update_by_pk(conn, PLACES, place_updates, import_batch_id=batch_id)

    plan.write = write
    return plan


def _plan_ranked(rows: Rows, snapshot: Snapshot, table: Table, owner: str, other: str) -> Plan:
    """Preferences (owner = candidate) or host rankings (owner = host).

    The file is authoritative for each owner it names: that owner's stored
    rows not in the file are removed. Owners the file does not name keep theirs.
    Everything is keyed by the store's codes: owner code * (distinct others) + other code.
    """
    plan = Plan()
    owners, others = rows.column(owner), rows.column(other)
    width = len(others.values)
    keys = owners.array().astype(np.int64) * width + others.array()
    ranks = np.array([0, *rows.column("rank").values[1:]], dtype=np.int64)[rows.column("rank").array()]
    # The stored rows of the owners this file names, on the same keys.
    stored_keys, stored_pks, stored_ranks, removed = array("q"), array("q"), array("q"), array("q")
    for owner_id, other_id, pk, rank in snapshot.ranked(table):
        o = owners.code_of(owner_id)
        if o is None:
            continue  # an owner the file does not name keeps their rows
        x = others.code_of(other_id)
        if x is None:
            removed.append(pk)  # named by no row of the file: not in this owner's new list
            continue
        stored_keys.append(o * width + x)
        stored_pks.append(pk)
        stored_ranks.append(rank)
    s_keys, s_pks, s_ranks = (
        np.frombuffer(a, dtype=np.int64) if len(a) else np.zeros(0, dtype=np.int64)
        for a in (stored_keys, stored_pks, stored_ranks)
    )
    order = np.argsort(s_keys)
    s_keys, s_pks, s_ranks = s_keys[order], s_pks[order], s_ranks[order]
    at = np.minimum(np.searchsorted(s_keys, keys), max(len(s_keys) - 1, 0))
    found = s_keys[at] == keys if len(s_keys) else np.zeros(len(keys), dtype=bool)
    changed = found & (s_ranks[at] != ranks) if len(s_keys) else found
    added = np.flatnonzero(~found)
    updated = np.flatnonzero(changed)
    gone = s_pks[~np.isin(s_keys, keys)]
    plan.added, plan.updated = len(added), len(updated)
    plan.unchanged = int(found.sum()) - plan.updated
    plan.removed = len(removed) + len(gone)
    update_pks, update_ranks = s_pks[at[updated]], ranks[updated]
    removed_pks = [*removed, *gone.tolist()]
    owner_is_candidate = owner == "candidate_id"

    def write(conn: Connection, batch_id: int) -> None:
        _delete_by_pk(conn, table, removed_pks)
        for start in range(0, len(update_pks), BATCH):
            _update_by_pk(
                conn,
                table,
                [
                    {"_pk": int(pk), "rank": int(r)}
                    for pk, r in zip(
                        update_pks[start : start + BATCH], update_ranks[start : start + BATCH], strict=True
                    )
                ],
            )
        if not len(added):
            return
        # Primary keys by code, as the database holds them after this import's inserts.
        candidate_pk, host_pk = snapshot.candidate_pks(conn), _host_pks(conn)
        owner_pk, other_pk = (candidate_pk, host_pk) if owner_is_candidate else (host_pk, candidate_pk)
        owner_codes, other_codes = owners.array(), others.array()
        owner_pks = _pks_by_code(owners.values, owner_pk, owner_codes[added])
        other_pks = _pks_by_code(others.values, other_pk, other_codes[added])
        for start in range(0, len(added), BATCH):
            chunk = added[start : start + BATCH]
            o, x = owner_pks[owner_codes[chunk]], other_pks[other_codes[chunk]]
            c_pks, h_pks = (o, x) if owner_is_candidate else (x, o)
            conn.execute(
                insert(table),
                [
                    {"candidate_pk": int(c), "host_pk": int(h), "rank": int(r)}
                    for c, h, r in zip(c_pks, h_pks, ranks[chunk], strict=True)
                ],
            )

    plan.write = write
    return plan


def _pks_by_code(values: list[Any], pks: dict[str, int], used: np.ndarray) -> np.ndarray:
    """The primary key of each code's id, for the codes in ``used`` (-1 for the others)."""
    wanted = np.zeros(len(values), dtype=bool)
    wanted[used] = True
    return np.array([pks[v] if wanted[i] else -1 for i, v in enumerate(values)], dtype=np.int64)


def plan_preferences(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_ranked(rows, snapshot, PREFERENCES, "candidate_id", "host_id")


def plan_host_rankings(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_ranked(rows, snapshot, HOST_RANKINGS, "host_id", "candidate_id")


def plan_targets(rows: Rows, snapshot: Snapshot) -> Plan:
    return _plan_by_key(
        rows, snapshot.targets, "name", TARGET_FIELDS, TARGETS, batch=False, cohort_id=snapshot.cohort.id
    )


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
            conn.execute(
                insert(PAIRS), [{"candidate_pk": candidate_pk[c], "host_pk": host_pk[h], **v} for c, h, v in inserts]
            )
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
    conn: Connection,
    *,
    kind: str,
    file_name: str,
    sha256: str,
    rows: int,
    plan: Plan,
    at: datetime,
    user: str,
    cohort: CohortRef | None,
) -> int:
    """The import_batches row and the audit_log entry of one file; returns the batch id.

    The audit detail names the file and the counts only: no personal data.
    """
    counts = {"added": plan.added, "updated": plan.updated, "unchanged": plan.unchanged, "removed": plan.removed}
    result = conn.execute(
        insert(BATCHES).values(
            kind=kind,
            file_name=file_name,
            sha256=sha256,
            rows=rows,
            imported_at=at,
            os_user=user,
            cohort_id=cohort.id if cohort else None,
            **counts,
        )
    )
    assert result.inserted_primary_key is not None  # an INSERT of one row
    batch_id = result.inserted_primary_key[0]
    detail = f"{kind} from {file_name} (sha256 {sha256[:12]}, batch {batch_id}): {rows} rows, " + ", ".join(
        f"{n} {k}" for k, n in counts.items()
    )
    conn.execute(
        insert(AUDIT).values(
            at=at, os_user=user, action="import", detail=detail, cohort_id=cohort.id if cohort else None
        )
    )
    return batch_id
