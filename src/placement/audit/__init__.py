"""Fairness audit of a placement round (``shared/spec/fairness.md``).

Data flow: ``load`` reads the round from the database into plain records;
``price`` compares it with a re-solve without its targets; ``report`` counts,
applies disclosure control (``disclosure``) and computes every metric
(``metrics``, pure functions) into one JSON-ready structure; the renderers
(``render_html``, ``render_data``) only format that structure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from ..errors import ConfigError, RoundError
from .load import RoundFacts, load_round_facts
from .price import Price, compute_price, not_applicable
from .report import NOTICE, SCHEMA, build_audit

Format = Literal["html", "json", "csv"]
FORMATS: tuple[str, ...] = ("html", "json", "csv")

__all__ = ["FORMATS", "NOTICE", "SCHEMA", "audit_round", "default_report_path", "render", "write_report"]

NO_TARGETS = "This round had no diversity targets, so there is no price of fairness to measure."


def price_for(engine: Engine, facts: RoundFacts, resolve: Callable[[Engine, int], Any] | None = None) -> Price:
    """Re-solve the round without its targets (``rounds.resolve_without_targets``) and compare."""
    if not facts.targets:
        return not_applicable(facts, NO_TARGETS)
    if resolve is None:
        from ..rounds import resolve_without_targets

        resolve = resolve_without_targets
    try:
        free = resolve(engine, facts.number)
    except RoundError as exc:  # e.g. the round's inputs were purged
        return not_applicable(facts, f"The round could not be re-solved without its targets: {exc.message}")
    return compute_price(facts, free.status, free.objective, free.placements,
                         fewest_changes=getattr(free, "fewest_changes", False))


def audit_round(
    engine: Engine,
    number: int,
    *,
    suppression: bool = True,
    resolve: Callable[[Engine, int], Any] | None = None,
) -> dict[str, Any]:
    """The audit of round ``number`` as the JSON-ready structure (``docs/audit-json.md``)."""
    from ..db.session import transaction

    with transaction(engine) as session:
        facts = load_round_facts(session, number)
    return build_audit(facts, price_for(engine, facts, resolve), suppression=suppression)


def render(audit: dict[str, Any], fmt: str) -> bytes:
    if fmt == "html":
        from .render_html import to_html

        return to_html(audit).encode("utf-8")
    from .render_data import to_csv, to_json

    if fmt == "json":
        return to_json(audit).encode("utf-8")
    if fmt == "csv":
        return to_csv(audit).encode("utf-8")
    raise ConfigError(f"Unknown report format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")


def default_report_path(engine: Engine, number: int, fmt: str, *, suppression: bool = True) -> Path:
    """``round-N-audit.<fmt>`` next to a SQLite database file, else in the current directory.

    A restricted (unsuppressed) report gets its own name, so it never
    overwrites the publishable one by accident.
    """
    from ..db.session import sqlite_path

    folder = Path.cwd()
    db_file = sqlite_path(engine.url.render_as_string(hide_password=False))
    if db_file is not None:
        folder = db_file.resolve().parent
    suffix = "" if suppression else "-unsuppressed"
    return folder / f"round-{number}-audit{suffix}.{fmt}"


def write_report(
    engine: Engine,
    number: int,
    fmt: str = "html",
    out: Path | str | None = None,
    *,
    suppression: bool = True,
    resolve: Callable[[Engine, int], Any] | None = None,
) -> Path:
    """Write round ``number``'s audit as html, json or csv and return the file's path.

    Disclosure control is on unless ``suppression=False`` (the scheme's
    restricted use): that report is stamped "contains unsuppressed small
    numbers — do not publish" and written readable by its owner only. The
    export is recorded in the audit log.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown report format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    audit = audit_round(engine, number, suppression=suppression, resolve=resolve)
    data = render(audit, fmt)
    path = Path(out) if out is not None else default_report_path(engine, number, fmt, suppression=suppression)
    _write_atomically(path, data, private=not suppression)

    from ..db.session import transaction
    from ..rounds import log_action

    with transaction(engine) as session:
        kind = "unsuppressed (restricted)" if not suppression else "with disclosure control"
        log_action(session, "audit", f"round {number} audit report, {fmt}, {kind}, written to {path}")
    return path


def _write_atomically(path: Path, data: bytes, *, private: bool) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if private:
            os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"Cannot write the report to {path}: {exc.strerror}.", "Choose another place with --out.") from exc
