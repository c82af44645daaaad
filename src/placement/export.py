"""Exports of a round's placements: CSV a coordinator opens in Excel.

Default exports carry no special category data (UK GDPR Art. 9); the
``include_sensitive`` switch adds the equality-monitoring columns for the
scheme's own restricted use. Every text cell is escaped against spreadsheet
formula injection as OWASP recommends.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import Engine, select

from .db.models import Candidate, Host, Placement, ProtectedCharacteristics
from .db.session import write_session
from .files import atomic_write, sync
from .rounds import load_round, log_action

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
    "round", "candidate_id", "given_name", "family_name", "email",
    "host_id", "host_name", "host_region", "org_type", "rank", "offer_status",
]
SENSITIVE_COLUMNS = ["sex", "ethnic_category", "ethnic_group", "disability"]


def export_round(engine: Engine, number: int, out: Path, *, include_sensitive: bool = False) -> int:
    """Write round N's placements to ``out`` (CSV, owner-only). Returns the number of rows written.

    The export is logged first, in the transaction that reads the rows (on
    SQLite it takes the write lock before reading, and says so clearly when
    another command holds it too long), and the file takes its name only
    after that transaction committed: there is never an export on disk that
    the audit log does not record.
    """
    out = Path(out)
    with atomic_write(out, private=True) as raw, write_session(engine) as s:
        rnd = load_round(s, number)
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
        )
        s.flush()
        columns = BASE_COLUMNS + (SENSITIVE_COLUMNS if include_sensitive else [])
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        w = csv.writer(fh)
        w.writerow(columns)
        for cand, host, pl, prot in rows:
            rec = [
                number, cand.candidate_id, cand.given_name, cand.family_name, cand.email,
                host.host_id, host.name, host.region, host.org_type, pl.rank, pl.offer_status,
            ]
            if include_sensitive:
                rec += [
                    prot.sex if prot else "not_known",
                    prot.ethnic_category if prot else "99",
                    prot.ethnic_group if prot else "not_known",
                    prot.disability if prot else "not_known",
                ]
            w.writerow([csv_safe(v) for v in rec])
        fh.flush()
        fh.detach()  # the raw file stays open for atomic_write to rename
        sync(raw)  # on the disk before the log entry commits
    return len(rows)
