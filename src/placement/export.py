"""Exports of a round's placements: CSV, or a formatted Excel workbook (by the file's suffix).

Default exports carry no special category data (UK GDPR Art. 9); the
``include_sensitive`` switch adds the equality-monitoring columns for the
scheme's own restricted use. Every text cell is escaped against spreadsheet
formula injection as OWASP recommends (CSV: a leading apostrophe; a workbook:
stored as text, see ``placement.spreadsheet``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, select

from .db.models import Candidate, Host, Placement, ProtectedCharacteristics
from .db.session import transaction
from .errors import ConfigError
from .rounds import load_round, log_action
from .spreadsheet import FORMULA_PREFIXES, SheetData, write_workbook

RESTRICTED_NOTICE = ("Contains special category data (sex, ethnicity, disability): restricted use only - "
                     "do not share or publish.")

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


EXPORT_SUFFIXES = (".csv", ".xlsx")


def export_round(engine: Engine, number: int, out: Path, *, include_sensitive: bool = False) -> int:
    """Write round N's placements to ``out`` (.csv, or .xlsx for a workbook). Returns the number of rows written."""
    suffix = out.suffix.casefold()
    if suffix not in EXPORT_SUFFIXES:
        raise ConfigError(f"Cannot export to {out.name}: the format is chosen by the suffix.",
                          "Name the file .csv or .xlsx (e.g. --out placements.xlsx).")
    with transaction(engine) as s:
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
        columns = BASE_COLUMNS + (SENSITIVE_COLUMNS if include_sensitive else [])
        records = []
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
            records.append(rec)
        if suffix == ".xlsx":
            notes = [RESTRICTED_NOTICE] if include_sensitive else []
            write_workbook(out, [SheetData(f"Round {number} placements", columns, records, notes=notes)])
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(columns)
                w.writerows([csv_safe(v) for v in rec] for rec in records)
            tmp.replace(out)  # a half-written export never takes the real file's name
        log_action(
            s,
            "export",
            f"round {number} placements to {out.name} ({len(rows)} rows{', with special category data' if include_sensitive else ''})",
        )
    return len(rows)
