"""Scenario comparison for the scheme board: a round's stored inputs solved under variants, side by side.

``variants`` parses and applies the coordinator's changes; ``compare`` solves
them (in parallel processes where the machine has the cores) and measures
each with the audit's own code; ``render`` writes the comparison as one HTML
page with charts of the trade-off, or as JSON (``docs/scenario.md``). Nothing
is stored but the audit-log entry for the file written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..audit.editions import Edition
    from ..cohorts import CohortRef
    from .compare import SCHEMA, compare_scenarios

__all__ = ["FORMATS", "SCHEMA", "compare_scenarios", "log_scenarios", "render", "write_scenarios"]

FORMATS: tuple[str, ...] = ("html", "json")


def __getattr__(name: str) -> Any:
    # The variants' worker processes (``scenario.solving``) import this package too: the comparison's
    # imports (database, audit) wait until something here is used, so a worker loads the solver alone.
    if name in ("SCHEMA", "compare_scenarios"):
        from . import compare

        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render(comparison: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        import json

        return (json.dumps(comparison, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    if fmt == "html":
        from .page import to_html

        return to_html(comparison).encode("utf-8")
    raise ConfigError(f"Unknown scenario format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")


def write_scenarios(
    engine: Engine,
    base: int,
    variants: Sequence[str],
    fmt: str = "html",
    out: Path | str | None = None,
    *,
    edition: Edition | str = "internal",
    allow_quota: bool = False,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    cohort: CohortRef | str | None = None,
) -> Path:
    """Compare round ``base`` under ``variants`` and write the page (or JSON); returns the file's path.

    The internal edition (default) is written owner-only and stamped, as the
    audit's is; the writing is recorded in the audit log (variants in words,
    no figures).
    """
    from ..audit.editions import Edition, write_edition
    from .compare import compare_scenarios

    if fmt not in FORMATS:
        raise ConfigError(f"Unknown scenario format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    edition = Edition.parse(edition)
    from ..cohorts import resolve_in

    scope = resolve_in(engine, cohort)
    comparison = compare_scenarios(
        engine,
        base,
        variants,
        edition=edition,
        allow_quota=allow_quota,
        workers=workers,
        progress=progress,
        cohort=scope,
    )
    data = render(comparison, fmt)
    if out is None:
        from ..audit import default_report_path

        path = default_report_path(engine, base, fmt, edition=edition, kind="scenarios", cohort=scope.name)
    else:
        path = Path(out)
    write_edition(path, data, edition)

    log_scenarios(engine, comparison, fmt, f"written to {path}", cohort=scope)
    return path


def log_scenarios(
    engine: Engine, comparison: dict[str, Any], fmt: str, to: str, *, cohort: CohortRef | str | None = None
) -> None:
    """Record in the audit log that ``comparison`` was delivered (``to``: where it went): the round, the
    variants in words and the edition, never a figure. The account is whoever acts (``config.acting_as``)."""
    from ..audit.editions import Edition, edition_words
    from ..cohorts import resolve
    from ..db.session import transaction
    from ..rounds import log_action

    labels = "; ".join(f"“{c['label']}”" for c in comparison["variants"][1:])
    edition = Edition.parse(comparison["edition"])
    with transaction(engine) as session:
        log_action(
            session,
            "scenario",
            f"round {comparison['base_round']} scenario comparison ({labels}), {fmt}, {edition_words(edition)}, {to}",
            resolve(session, cohort),
        )
