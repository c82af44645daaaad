"""Exports of a round's placements: CSV, or a formatted Excel workbook (by the file's suffix).

Default exports carry no special category data (UK GDPR Art. 9); the
``include_sensitive`` switch adds the equality-monitoring columns for the
scheme's own restricted use. Every text cell is escaped against spreadsheet
formula injection as OWASP recommends (CSV: a leading apostrophe; a workbook:
stored as text, see ``placement.spreadsheet``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import Engine, select

from .cohorts import CohortRef, resolve
from .db.models import Candidate, Host, Placement, ProtectedCharacteristics
from .db.session import write_session
from .errors import ConfigError
from .files import atomic_write, sync
from .rounds import load_round, log_action
from .spreadsheet import FORMULA_PREFIXES, SheetData, workbook_bytes

RESTRICTED_NOTICE = (
    "Contains special category data (sex, ethnicity, disability): restricted use only - do not share or publish."
)


def csv_safe(value: object) -> object:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP CSV injection).

    Numbers are left alone (a negative number is data, not a formula); text
    starting with = + - @ tab or CR gets a leading apostrophe, which Excel and
    LibreOffice show as text.
    """
    if value is None or isinstance(value, (int, float)):
        return value
    s = str(value)
    if s.startswith(FORMULA_PREFIXES):
        try:
            float(s)
            return s
        except ValueError:
            return "'" + s
    return s


BASE_COLUMNS = [
    "round",
    "candidate_id",
    "given_name",
    "family_name",
    "email",
    "host_id",
    "host_name",
    "host_region",
    "org_type",
    "rank",
    "offer_status",
]
SENSITIVE_COLUMNS = ["sex", "ethnic_category", "ethnic_group", "disability"]


EXPORT_SUFFIXES = (".csv", ".xlsx")


def export_round(
    engine: Engine, number: int, out: Path, *, include_sensitive: bool = False, cohort: CohortRef | str | None = None
) -> int:
    """Write round N of the cohort's placements to ``out`` (.csv, or .xlsx for a workbook; owner-only).
    Returns the rows written.

    The export is logged first, in the transaction that reads the rows (on
    SQLite it takes the write lock before reading, and says so clearly when
    another command holds it too long), and the file takes its name only
    after that transaction committed (``files.atomic_write``): there is never
    an export on disk that the audit log does not record.
    """
    out = Path(out)
    suffix = out.suffix.casefold()
    if suffix not in EXPORT_SUFFIXES:
        raise ConfigError(
            f"Cannot export to {out.name}: the format is chosen by the suffix.",
            "Name the file .csv or .xlsx (e.g. --out placements.xlsx).",
        )
    with atomic_write(out, private=True) as raw, write_session(engine) as s:
        scope = resolve(s, cohort)
        rnd = load_round(s, number, scope)
        query = (
            select(Candidate, Host, Placement, ProtectedCharacteristics)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Host.id == Placement.host_pk)
            .outerjoin(ProtectedCharacteristics, ProtectedCharacteristics.candidate_pk == Candidate.id)
            .where(Placement.round_id == rnd.id)
            .order_by(Candidate.candidate_id)
        )
        rows = s.execute(query).all()
        log_action(
            s,
            "export",
            f"round {number} placements to {out.name} ({len(rows)} rows"
            f"{', with special category data' if include_sensitive else ''})",
            scope,
        )
        s.flush()
        columns = BASE_COLUMNS + (SENSITIVE_COLUMNS if include_sensitive else [])
        records = []
        for cand, host, pl, prot in rows:
            rec = [
                number,
                cand.candidate_id,
                cand.given_name,
                cand.family_name,
                cand.email,
                host.host_id,
                host.name,
                host.region,
                host.org_type,
                pl.rank,
                pl.offer_status,
            ]
            if include_sensitive:
                rec += [
                    prot.sex if prot else "not_known",
                    prot.ethnic_category if prot else "99",
                    prot.ethnic_group if prot else "not_known",
                    prot.disability if prot else "not_known",
                ]
            records.append(rec)
        if suffix == ".xlsx":
            notes = [RESTRICTED_NOTICE] if include_sensitive else []
            raw.write(workbook_bytes([SheetData(f"Round {number} placements", columns, records, notes=notes)]))
        else:
            fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            w = csv.writer(fh)
            w.writerow(columns)
            w.writerows([csv_safe(v) for v in rec] for rec in records)
            fh.flush()
            fh.detach()  # the raw file stays open for atomic_write to rename
        sync(raw)  # on the disk before the log entry commits
    return len(rows)
