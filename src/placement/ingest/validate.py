"""Validation of the files of one import, before anything is written.

Three layers, all reporting into one :class:`Problems` so the coordinator sees
every problem at once:

1. each row through its pydantic model (``placement.schemas``): codes, numbers, ids;
2. checks across the rows of a file: duplicate ids (also ids differing only
   in letter case or blanks, refused as likely typos), duplicate emails,
   duplicate ranks, mutual ``linked_with``;
3. checks against the other files of the import and the database: every id a
   file refers to must exist in one of them, and the state after the import
   must be consistent (links mutual, one ``require`` per candidate).

The rows that pass their model are kept compactly (``rows.RowStore``), and the
checks that run over every row of a list file (preferences, host rankings,
pairs: millions of rows) work on the store's integer codes with numpy, so a
large import needs tens of bytes a row, not a dict and a model a row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from ..schemas import DOCS, ROW_MODELS, CellError, email_key, id_key
from .reader import Problems, Table
from .rows import RowStore
from .store import Snapshot


@dataclass
class Valid:
    """The rows of one file that passed their model, with their spreadsheet row numbers (iterated as models)."""

    table: Table
    rows: RowStore


class KnownIds:
    """The ids of candidates (or hosts) that will exist after the import: database + this import's file.

    A reference to an id that is not known is reported once per file and id,
    however many rows name it (one typo in an id is one problem, not one per
    preference), and a reference to an id whose own row was refused in this
    import says so ("fix that row first") rather than asking for a second fix.
    """

    def __init__(
        self,
        what: str,
        db_ids: Iterable[str],
        batch: Table | None,
        batch_failed: bool,
        batch_valid: Valid | None = None,
        *,
        elsewhere: Iterable[str] = (),
        cohort: str = "",
    ):
        self.what = what
        self.ids = set(db_ids)
        # Hosts stored for other cohorts only: named with their own fix (give them places in this one).
        self.elsewhere = set(elsewhere) - self.ids
        self.cohort = cohort
        self.refused: dict[str, int] = {}  # id -> its row, for rows of this import's file refused on their own
        self.batch_file = batch.file if batch is not None else ""
        if batch is not None:
            column = f"{what}_id"
            good = batch_valid.rows.distinct(column) if batch_valid is not None else None
            for row, cells in chain(batch.rows, batch.broken):
                identifier = cells.get(column)
                if not identifier:
                    continue
                if good is None or identifier in good:
                    self.ids.add(identifier)
                else:
                    self.refused.setdefault(identifier, row)
            self.refused = {i: r for i, r in self.refused.items() if i not in self.ids}
        self.source = f"{batch.file} or the database" if batch is not None else "the database"
        # When this import's candidates (hosts) file could not be read at all, every
        # reference to it would look unknown: its own problem is reported instead.
        self.check = not batch_failed
        self._by_key: dict[str, str] | None = None
        self._by_digits: dict[str, str] | None = None
        # (table, row label, column, id) of each reference reported, and how many more rows repeat it.
        self._reported: dict[tuple[str, str, str], list] = {}

    def near(self, identifier: str) -> str | None:
        if self._by_key is None:
            self._by_key = {id_key(i): i for i in [*self.refused, *self.ids]}
        return self._by_key.get(id_key(identifier))

    def zeros_lost(self, identifier: str) -> str | None:
        """A known id that differs from this one only in leading zeros (``62`` for ``062``, or back)."""
        if not identifier.isdigit():
            return None
        if self._by_digits is None:
            self._by_digits = {i.lstrip("0"): i for i in self.ids if i.isdigit()}
        found = self._by_digits.get(identifier.lstrip("0"))
        return found if found != identifier else None

    def verify(self, table: Table, problems: Problems, row: int, column: str, identifier: str) -> bool:
        if identifier in self.ids or not self.check:
            return True
        if identifier in self.elsewhere:
            table.report(
                problems,
                row,
                column,
                identifier,
                f"has no places in cohort {self.cohort}",
                f"add the host to this cohort's hosts.csv, or start the cohort from last year's hosts "
                f"with `placement cohort copy-hosts FROM {self.cohort}`",
            )
            return False
        key = (table.file, column, identifier)
        if key in self._reported:
            self._reported[key][-1] += 1
            return False
        plural = "candidates" if self.what == "candidate" else "hosts"
        near = identifier if identifier in self.refused else self.near(identifier)
        if near is not None and near in self.refused:
            where = f"{self.batch_file} row {self.refused[near]}"
            if near == identifier:
                problem = f"refers to {self.what} {near!r}, whose own row ({where}) was refused"
                fix = "fix that row first; this one needs no change of its own"
            else:
                problem = (
                    f"is not a known {self.what} id; {near!r} ({where}) differs only in letter case or blanks, "
                    "and its own row was refused"
                )
                fix = f"fix that row first, then write {near!r} here exactly"
        elif near is not None:
            problem = f"is not a known {self.what} id; did you mean {near!r}?"
            fix = f"ids must match exactly, letter case and blanks included: write {near!r}"
        elif (zeros := self.zeros_lost(identifier)) is not None:
            problem = (
                f"is not a known {self.what} id; {zeros!r} is, which looks like the same id with its leading zeros lost"
            )
            fix = (
                "a spreadsheet drops leading zeros from numbers: format the id column as Text (in the file that "
                f"has {zeros!r}) and type the ids again, then import both files"
            )
        else:
            problem = f"is not a {self.what} in {self.source}"
            fix = (
                f"correct the id, or add the {self.what} to {plural}.csv and import it first "
                f"(or import all files together with `placement import dir`)"
            )
        self._reported[key] = [table, row, column, identifier, problem, fix, 0]
        return False

    def report(self, problems: Problems) -> None:
        """Add the references found wrong, each once, saying how many more rows name the same id."""
        for table, row, column, identifier, problem, fix, more in self._reported.values():
            if more:
                problem += f" (and on {more} more row{'s' if more > 1 else ''} of this file)"
            table.report(problems, row, column, identifier, problem, fix)
        self._reported.clear()


# The list files: many rows, few distinct values a column (ids, ranks, rules). Elsewhere (candidates' names
# and emails) nearly every value is new, and one call of the model beats a call per field.
BY_VALUE = ("preferences", "host_rankings", "pairs")


class _Cells:
    """A row model's fields validated one distinct cell value at a time, each value once.

    A preferences file of 2,000,000 rows holds perhaps 140,000 distinct ids and
    20 ranks: validating each field of each row through the model repeats the
    same checks millions of times. For a model whose rules are all on single
    fields (no model or field validator methods), validating a row field by
    field is the model's own validation, so each field's outcome is kept per
    distinct cell text (up to ``LIMIT`` texts a field: unique names gain nothing).
    A row the shortcut cannot take (a required column absent, a column the
    model does not have) goes through the model itself.
    """

    LIMIT = 200_000

    def __init__(self, model: type[BaseModel]):
        decorators = model.__pydantic_decorators__
        self.usable = not (
            decorators.model_validators
            or decorators.field_validators
            or decorators.validators
            or decorators.root_validators
        )
        self.fields = (
            {
                name: (TypeAdapter(Annotated.__class_getitem__((f.annotation, *f.metadata))), f)  # type: ignore[attr-defined]
                for name, f in model.model_fields.items()
            }
            if self.usable
            else {}
        )
        self.required = {name for name, f in model.model_fields.items() if f.is_required()}
        self.seen: dict[str, dict[str, tuple[bool, Any]]] = {name: {} for name in self.fields}  # text -> outcome

    def fits(self, cells: dict[str, str]) -> bool:
        return self.usable and cells.keys() <= self.fields.keys() and self.required <= cells.keys()

    def validate(self, cells: dict[str, str]) -> tuple[dict[str, Any], list[tuple[Any, ErrorDetails]]]:
        """(the row's values, [(field, pydantic error)]) for a row that ``fits``."""
        values: dict[str, Any] = {}
        errors: list[tuple[Any, ErrorDetails]] = []
        for name, (adapter, info) in self.fields.items():
            raw = cells.get(name)
            if raw is None:
                values[name] = info.get_default(call_default_factory=True)
                continue
            seen = self.seen[name]
            outcome = seen.get(raw)
            if outcome is None:
                try:
                    outcome = (True, adapter.validate_python(raw))
                except ValidationError as exc:
                    outcome = (False, exc.errors(include_url=False, include_input=False))
                if len(seen) < self.LIMIT:
                    seen[raw] = outcome
            if outcome[0]:
                values[name] = outcome[1]
            else:
                errors.extend((name, err) for err in outcome[1])
        return values, errors


def validate_rows(table: Table, problems: Problems) -> Valid:
    """Every row through its pydantic model's rules; every failing cell becomes a problem."""
    model = ROW_MODELS[table.kind]
    valid = RowStore(lambda values: model.model_construct(**values))
    fields = _Cells(model) if table.kind in BY_VALUE else None
    for row, cells in table.rows:
        if fields is not None and fields.fits(cells):
            values, errors = fields.validate(cells)
        else:
            try:
                values, errors = model.model_validate(cells).__dict__, []
            except ValidationError as exc:
                errors = [
                    (err["loc"][0] if err["loc"] else None, err)
                    for err in exc.errors(include_url=False, include_input=False)
                ]
        if not errors:
            valid.append((row, values))
        for field, err in errors:
            cause = (err.get("ctx") or {}).get("error")
            column = field
            if isinstance(cause, CellError):
                column = cause.column or column
                problem, fix = cause.problem, cause.fix
            else:  # pragma: no cover - every field has a validator raising CellError
                problem, fix = err["msg"], f"see {DOCS}"
            table.report(problems, row, str(column) if column else None, cells.get(str(column)), problem, fix)
    return Valid(table, valid)


def check_unique_ids(valid: Valid, column: str, what: str, db_ids: Iterable[str], problems: Problems) -> None:
    """Ids unique in the file, and none a near-twin (case, blanks) of another id or of one in the database."""
    table = valid.table
    db_ids = db_ids if isinstance(db_ids, set | dict) else set(db_ids)
    db_by_key = {id_key(i): i for i in db_ids}
    seen: dict[str, tuple[int, str]] = {}
    for row, model in valid.rows:
        identifier = getattr(model, column)
        key = id_key(identifier)
        if key in seen:
            first_row, first = seen[key]
            if first == identifier:
                table.report(
                    problems,
                    row,
                    column,
                    identifier,
                    f"repeats the {what} on row {first_row}",
                    f"keep one row per {what}: {column} must be unique",
                )
            else:
                table.report(
                    problems,
                    row,
                    column,
                    identifier,
                    f"differs from {first!r} on row {first_row} only in letter case or blanks "
                    "(or look-alike characters: full-width letters, accents typed in two parts)",
                    f"if it is the same {what}, keep one row; otherwise choose a clearly different id",
                )
            continue
        seen[key] = (row, identifier)
        twin = db_by_key.get(key)
        if identifier not in db_ids and twin is not None:
            table.report(
                problems,
                row,
                column,
                identifier,
                f"differs from {twin!r}, already in the database, only in letter case or blanks "
                "(or look-alike characters: full-width letters, accents typed in two parts)",
                f"write {twin!r} exactly to update that {what}, or choose a clearly different id",
            )


def check_candidates(valid: Valid, snapshot: Snapshot, problems: Problems) -> None:
    table = valid.table
    existing = snapshot.candidates
    check_unique_ids(valid, "candidate_id", "candidate", existing, problems)
    in_file = {m.candidate_id: (row, m) for row, m in valid.rows}

    for row, m in valid.rows:
        old = existing.get(m.candidate_id)
        if old is not None and old["purged"]:
            table.report(
                problems,
                row,
                "candidate_id",
                m.candidate_id,
                "belongs to a candidate whose personal data was purged",
                "remove this row: a purged candidate is not imported again",
            )

    # Emails unique (ignoring case) among this file and the candidates it leaves as they are.
    owner: dict[str, tuple[str, int | None]] = {
        email_key(email): (cid, None) for cid, old in existing.items() if (email := old["email"]) and cid not in in_file
    }
    for row, m in valid.rows:
        key = email_key(m.email)
        if key in owner and owner[key][0] != m.candidate_id:
            other, other_row = owner[key]
            where = f"row {other_row} ({other})" if other_row else f"candidate {other} in the database"
            table.report(
                problems,
                row,
                "email",
                m.email,
                f"is also the email of {where}",
                "give each candidate their own email address (compared ignoring letter case and look-alike characters)",
            )
        else:
            owner[key] = (m.candidate_id, row)

    # Links are mutual in the state after the import: this file's rows over the database's.
    links = {cid: old["linked_with"] for cid, old in existing.items()}
    links.update((cid, m.linked_with) for cid, (_, m) in in_file.items())
    # Rows of this file that failed their own checks: present, but their links unknown.
    failed = {cells["candidate_id"] for _, cells in chain(table.rows, table.broken)} - set(in_file)
    known = set(existing) | set(in_file) | failed
    fix_pair = "both candidates must name each other (A's linked_with is B and B's is A), or clear the cell"
    for row, m in valid.rows:
        other = m.linked_with
        if other is None:
            continue
        if id_key(other) == id_key(m.candidate_id):
            table.report(problems, row, "linked_with", other, "names the candidate themself", fix_pair)
        elif other not in known:
            table.report(
                problems,
                row,
                "linked_with",
                other,
                f"names no candidate in {table.file} or the database",
                "write the candidate_id of the linked candidate exactly, or clear the cell",
            )
        elif other not in failed and links.get(other) != m.candidate_id:
            back = links.get(other)
            said = f"names {back!r}" if back else "is blank"
            table.report(problems, row, "linked_with", other, f"is one-sided: {other}'s linked_with {said}", fix_pair)
    # A candidate left as stored who names one of this file's candidates must still be named back.
    for cid, old in existing.items():
        other = old["linked_with"]
        if cid not in in_file and other in in_file and in_file[other][1].linked_with != cid:
            row = in_file[other][0]
            table.report(
                problems,
                row,
                "linked_with",
                in_file[other][1].linked_with,
                f"does not name {cid!r}, who is linked with this candidate in the database",
                f"write {cid!r} here, or import {cid!r} again with a blank linked_with",
            )


def check_references(valid: Valid, candidates: KnownIds, hosts: KnownIds, problems: Problems) -> np.ndarray:
    """The positions (in ``valid.rows``) of rows whose candidate and host ids both exist; others are reported.

    Each distinct id is looked up once; only rows naming an unknown id are looked at one by one.
    """
    table, store = valid.table, valid.rows
    if not len(store):
        return np.zeros(0, dtype=np.int64)
    known = np.ones(len(store), dtype=bool)
    for column, ids in (("candidate_id", candidates.ids), ("host_id", hosts.ids)):
        codes, values = store.codes(column)
        found = np.fromiter((v in ids for v in values), dtype=bool, count=len(values))
        known &= found[codes]
    ok = known.copy()
    for i in np.flatnonzero(~known).tolist():
        row = store.row(i)
        good = candidates.verify(table, problems, row, "candidate_id", store.value(i, "candidate_id"))
        ok[i] = hosts.verify(table, problems, row, "host_id", store.value(i, "host_id")) and good
    return np.flatnonzero(ok)


def repeats(keys: np.ndarray) -> Iterator[tuple[int, int]]:
    """(position, position of its first occurrence) of each key that occurred before, in position order."""
    if len(keys) < 2:
        return
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    first = order[np.maximum.accumulate(np.where(new, np.arange(len(keys)), 0))]
    again = np.flatnonzero(~new)
    for j in np.argsort(order[again], kind="stable"):
        yield int(order[again[j]]), int(first[again[j]])


def _pair_keys(store: RowStore, positions: np.ndarray, first: str, second: str) -> np.ndarray:
    """One integer per row at ``positions`` that is equal for two rows exactly when both columns are."""
    a, _ = store.codes(first)
    b, b_values = store.codes(second)
    return a[positions].astype(np.int64) * len(b_values) + b[positions]


def check_pairs_unique(valid: Valid, positions: np.ndarray, owner: str, problems: Problems) -> None:
    """One row per (candidate, host) among the rows at ``positions``; ``owner`` is the column the file lists by."""
    other = "host_id" if owner == "candidate_id" else "candidate_id"
    store = valid.rows
    for at, first in repeats(_pair_keys(store, positions, owner, other)):
        i, j = int(positions[at]), int(positions[first])
        valid.table.report(
            problems,
            store.row(i),
            other,
            store.value(i, other),
            f"is listed for {store.value(i, owner)!r} already on row {store.row(j)}",
            f"keep one row per {owner} and {other}",
        )


def check_preference_ranks(valid: Valid, positions: np.ndarray, problems: Problems) -> None:
    """A candidate's ranks are distinct (gaps are fine: only the order counts)."""
    store = valid.rows
    for at, first in repeats(_pair_keys(store, positions, "candidate_id", "rank")):
        i, j = int(positions[at]), int(positions[first])
        candidate = store.value(i, "candidate_id")
        valid.table.report(
            problems,
            store.row(i),
            "rank",
            str(store.value(i, "rank")),
            f"is {candidate}'s rank on row {store.row(j)} too",
            "give each of a candidate's preferences a different rank (1 = most preferred)",
        )


def check_targets(valid: Valid, hosts: KnownIds, snapshot: Snapshot, problems: Problems) -> None:
    check_unique_ids(valid, "name", "target", snapshot.targets, problems)
    for row, m in valid.rows:
        if m.scope.startswith("host="):
            hosts.verify(valid.table, problems, row, "scope", m.scope.removeprefix("host="))


def check_requires(valid: Valid, positions: np.ndarray, snapshot: Snapshot, problems: Problems) -> None:
    """After the import a candidate has at most one pre-agreed (``require``) host."""
    rows = list(valid.rows.at(positions))
    final = {key: old["rule"] for key, old in snapshot.pairs.items()}
    final.update(((m.candidate_id, m.host_id), m.rule) for _, m in rows)
    required: dict[str, list[str]] = defaultdict(list)
    for (cid, hid), rule in final.items():
        if rule == "require":
            required[cid].append(hid)
    for row, m in rows:
        hosts = required[m.candidate_id]
        if m.rule == "require" and len(hosts) > 1:
            valid.table.report(
                problems,
                row,
                "rule",
                m.rule,
                f"makes {m.candidate_id} required at {len(hosts)} hosts ({', '.join(sorted(hosts))})",
                "keep one require rule per candidate (a candidate takes one place)",
            )


def validate(tables: dict[str, Table | None], snapshot: Snapshot, problems: Problems) -> dict[str, Valid]:
    """Validate the files of one import (kind -> table; None = could not be read) together."""
    valid = {kind: validate_rows(table, problems) for kind, table in tables.items() if table is not None}
    candidates = KnownIds(
        "candidate",
        snapshot.candidate_ids,
        tables.get("candidates"),
        "candidates" in tables and tables["candidates"] is None,
        valid.get("candidates"),
    )
    hosts = KnownIds(
        "host",
        snapshot.host_ids,
        tables.get("hosts"),
        "hosts" in tables and tables["hosts"] is None,
        valid.get("hosts"),
        elsewhere=snapshot.hosts,
        cohort=snapshot.cohort.name,
    )

    if "candidates" in valid:
        check_candidates(valid["candidates"], snapshot, problems)
    if "hosts" in valid:
        check_unique_ids(valid["hosts"], "host_id", "host", snapshot.hosts, problems)
    if "preferences" in valid:
        v = valid["preferences"]
        rows = check_references(v, candidates, hosts, problems)
        check_pairs_unique(v, rows, "candidate_id", problems)
        check_preference_ranks(v, rows, problems)
    if "host_rankings" in valid:
        v = valid["host_rankings"]
        check_pairs_unique(v, check_references(v, candidates, hosts, problems), "host_id", problems)
    if "targets" in valid:
        check_targets(valid["targets"], hosts, snapshot, problems)
    if "pairs" in valid:
        v = valid["pairs"]
        rows = check_references(v, candidates, hosts, problems)
        check_pairs_unique(v, rows, "candidate_id", problems)
        check_requires(v, rows, snapshot, problems)
    candidates.report(problems)
    hosts.report(problems)
    return valid
