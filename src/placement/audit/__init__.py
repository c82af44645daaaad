"""Fairness audit of a placement round (``shared/spec/fairness.md``).

Data flow: ``load`` reads the round from the database into plain records;
``price`` compares it with a re-solve without its targets; ``report`` counts,
applies disclosure control (``disclosure``) and computes every metric
(``metrics``, pure functions) into one JSON-ready structure; the renderers
(``render_html``, ``render_data``) only format that structure.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from ..cohorts import DEFAULT_COHORT, CohortRef
from ..errors import ConfigError, RoundError
from .editions import EDITIONS, STAMP, Edition, edition_words
from .load import RoundFacts, load_round_facts
from .price import Price, compute_price, not_applicable
from .report import SCHEMA, build_audit

Format = Literal["html", "json", "csv", "xlsx"]
FORMATS: tuple[str, ...] = ("html", "json", "csv", "xlsx")

__all__ = [
    "EDITIONS",
    "FORMATS",
    "SCHEMA",
    "STAMP",
    "Edition",
    "audit_round",
    "default_report_path",
    "render",
    "write_report",
]

NO_TARGETS = "This round had no diversity targets, so there is no price of fairness to measure."


def price_for(engine: Engine, facts: RoundFacts, resolve: Callable[[Engine, int], Any] | None = None) -> Price:
    """Re-solve the round without its targets (``resolves.resolve_without_targets``) and compare."""
    if not facts.record.targets:
        return not_applicable(facts, NO_TARGETS)
    if facts.record.status not in ("OPTIMAL", "FEASIBLE"):
        return not_applicable(
            facts,
            f"The round has no placements (solver status {facts.record.status}), so there is no price of its "
            f"{len(facts.record.targets)} target scope(s) to measure.",
        )
    if resolve is None:
        from functools import partial

        from ..resolves import resolve_without_targets

        resolve = partial(resolve_without_targets, cohort=facts.record.cohort)
    try:
        free = resolve(engine, facts.record.number)
    except RoundError as exc:  # e.g. the round's inputs were purged
        return not_applicable(facts, f"The round could not be re-solved without its targets: {exc.message}")
    return compute_price(
        facts, free.status, free.objective, free.placements, fewest_changes=getattr(free, "fewest_changes", False)
    )


def audit_round(
    engine: Engine,
    number: int,
    *,
    edition: Edition | str = Edition.INTERNAL,
    resolve: Callable[[Engine, int], Any] | None = None,
    cohort: CohortRef | str | None = None,
) -> dict[str, Any]:
    """The audit of the cohort's round ``number`` in ``edition`` as the JSON-ready structure (``docs/audit-json.md``)."""
    from ..db.session import transaction

    edition = Edition.parse(edition)
    with transaction(engine) as session:
        facts = load_round_facts(session, number, cohort)
    return build_audit(facts, price_for(engine, facts, resolve), edition=edition)


def render(audit: dict[str, Any], fmt: str) -> bytes:
    if fmt == "html":
        from .render_html import to_html

        return to_html(audit).encode("utf-8")
    from .render_data import to_csv, to_json

    if fmt == "json":
        return to_json(audit).encode("utf-8")
    if fmt == "csv":
        return to_csv(audit).encode("utf-8")
    if fmt == "xlsx":  # a workbook, one sheet per table
        from ..spreadsheet import workbook_bytes
        from .render_xlsx import sheets

        return workbook_bytes(sheets(audit))
    raise ConfigError(f"Unknown report format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")


def default_report_path(
    engine: Engine,
    number: int,
    fmt: str,
    *,
    edition: Edition | str = Edition.INTERNAL,
    kind: str = "audit",
    cohort: str = DEFAULT_COHORT,
) -> Path:
    """``round-N-<kind>-<edition>.<fmt>`` next to a SQLite database file, else in the current directory.

    Each edition has its own name, so the restricted internal edition never
    overwrites (or is mistaken for) the publication one; a round of a cohort
    other than ``default`` is ``cohort-NAME-round-N-...``, so two cohorts'
    round 1 never share a file.
    """
    from ..db.session import sqlite_path

    folder = Path.cwd()
    db_file = sqlite_path(engine.url.render_as_string(hide_password=False))
    if db_file is not None:
        folder = db_file.resolve().parent
    prefix = "" if cohort == DEFAULT_COHORT else f"cohort-{cohort}-"
    return folder / f"{prefix}round-{number}-{kind}-{Edition.parse(edition).value}.{fmt}"


def write_report(
    engine: Engine,
    number: int,
    fmt: str = "html",
    out: Path | str | None = None,
    *,
    edition: Edition | str = Edition.INTERNAL,
    resolve: Callable[[Engine, int], Any] | None = None,
    cohort: CohortRef | str | None = None,
) -> Path:
    """Write round ``number``'s audit as html, json, csv or xlsx in ``edition`` and return the file's path.

    The internal edition (the default) is exact, stamped OFFICIAL-SENSITIVE
    and written readable by its owner only; the publication edition applies
    disclosure control. Either way the writing is recorded in the audit log.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown report format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    from ..cohorts import resolve_in

    edition = Edition.parse(edition)
    scope = resolve_in(engine, cohort)
    audit = audit_round(engine, number, edition=edition, resolve=resolve, cohort=scope)
    data = render(audit, fmt)
    path = (
        Path(out) if out is not None else default_report_path(engine, number, fmt, edition=edition, cohort=scope.name)
    )

    from ..db.session import write_session
    from ..files import atomic_write, sync
    from ..rounds import log_action

    # Logged first (on SQLite under the write lock, with a clear message if another command holds it too
    # long); the report takes its name only once the log entry is committed (files.atomic_write: owner-only
    # for the internal edition whatever the umask, never through a link, no temporary file left behind).
    with atomic_write(path, private=edition.private) as fh, write_session(engine) as session:
        log_action(
            session, "audit", f"round {number} audit report, {fmt}, {edition_words(edition)}, written to {path}", scope
        )
        session.flush()
        fh.write(data)
        sync(fh)  # on the disk before the log entry commits
    return path


def log_delivery(
    engine: Engine, number: int, fmt: str, *, edition: Edition | str, cohort: CohortRef | str | None, to: str
) -> None:
    """Record in the audit log that round ``number``'s report left other than as a file (``to``: e.g. "shown in
    the web console"), as ``write_report`` records each file it writes."""
    from ..cohorts import resolve_in
    from ..db.session import write_session
    from ..rounds import log_action

    edition = Edition.parse(edition)
    scope = resolve_in(engine, cohort)
    with write_session(engine) as session:
        log_action(session, "audit", f"round {number} audit report, {fmt}, {edition_words(edition)}, {to}", scope)
