"""``placement outcomes audit``: what became of the graduates, by group, per cohort and pooled.

Data flow: ``outcome_load`` reads each cohort's graduates; ``outcome_report``
builds the figures (from ``outcome_metrics``, with the placement audit's
statistics and disclosure control); ``outcome_render`` formats them as HTML,
JSON or CSV. The internal edition is written owner-only and its writing is
recorded in the audit log, as the placement audit's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..cohorts import CohortRef, resolve
from ..db.session import sqlite_path, transaction
from ..errors import ConfigError, NotFound
from .editions import Edition, edition_words, write_edition
from .outcome_load import load_graduates
from .outcome_report import build_outcome_audit

OUTCOME_FORMATS: tuple[str, ...] = ("html", "json", "csv", "xlsx")


def _cohorts(session, names: Sequence[str]) -> list[CohortRef]:
    if not names:
        return [resolve(session, None)]
    seen: list[CohortRef] = []
    for name in names:
        ref = resolve(session, name)
        if ref.id not in {c.id for c in seen}:
            seen.append(ref)
    return seen


def audit_outcomes(
    engine: Engine,
    cohorts: Sequence[str] = (),
    *,
    as_of: date | None = None,
    edition: Edition | str = Edition.INTERNAL,
) -> dict[str, Any]:
    """The outcome audit of the cohorts named (none: the default cohort), as a JSON-ready structure."""
    edition = Edition.parse(edition)
    as_of = as_of or date.today()
    with transaction(engine) as s:
        refs = _cohorts(s, cohorts)
        graduates = {ref.name: load_graduates(s, ref) for ref in refs}
    empty = [name for name, grads in graduates.items() if not grads]
    if len(empty) == len(graduates):
        raise NotFound(
            f"No outcomes are recorded for cohort {', '.join(empty)}.",
            "Import them first: `placement import outcomes FILE` (see docs/outcomes.md).",
        )
    return build_outcome_audit(graduates, as_of=as_of, edition=edition)


def default_outcome_path(engine: Engine, cohorts: Sequence[str], fmt: str, edition: str) -> Path:
    """``outcomes-<cohorts>-<edition>.<fmt>`` next to a SQLite database file, else in the current directory."""
    folder = Path.cwd()
    db_file = sqlite_path(engine.url.render_as_string(hide_password=False))
    if db_file is not None:
        folder = db_file.resolve().parent
    return folder / f"outcomes-{'+'.join(cohorts)}-{edition}.{fmt}"


def write_outcome_report(
    engine: Engine,
    cohorts: Sequence[str] = (),
    fmt: str = "html",
    out: Path | str | None = None,
    *,
    as_of: date | None = None,
    edition: Edition | str = Edition.INTERNAL,
) -> Path:
    """Write the outcome audit and return where it went (the internal edition owner-only, 0600)."""
    from .outcome_render import render_outcomes

    edition = Edition.parse(edition)

    if fmt not in OUTCOME_FORMATS:
        raise ConfigError(f"Unknown report format {fmt!r}.", f"Use one of: {', '.join(OUTCOME_FORMATS)}.")
    audit = audit_outcomes(engine, cohorts, as_of=as_of, edition=edition)
    data = render_outcomes(audit, fmt)
    path = Path(out) if out is not None else default_outcome_path(engine, audit["cohorts"], fmt, edition.value)
    write_edition(path, data, edition)

    from ..rounds import log_action

    with transaction(engine) as s:
        refs = _cohorts(s, audit["cohorts"])
        log_action(
            s,
            "audit",
            f"outcome audit of cohort(s) {', '.join(audit['cohorts'])}, {fmt}, "
            f"{edition_words(edition)}, written to {path}",
            refs[0] if len(refs) == 1 else None,
        )
    return path
