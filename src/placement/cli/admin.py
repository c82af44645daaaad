"""`placement log` and `placement purge`: the audit trail and data retention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

import click

from . import AppContext, cli, handle_errors, pass_app


@overload
def _day(value: datetime) -> datetime: ...


@overload
def _day(value: None) -> None: ...


def _day(value: datetime | None) -> datetime | None:
    """click.DateTime gives a naive date at midnight: read it as UTC, as everything placement stores."""
    return None if value is None else value.replace(tzinfo=UTC)


@cli.command("log")
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="ACTION",
    help="Only these actions (import, solve, approve, accept, decline, change, release, revoke, withdraw, export, "
    "audit, purge...); repeatable.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    default=None,
    help="Only entries on or after this date (UTC), e.g. 2025-09-01.",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest entries shown.")
@click.option(
    "--cohort",
    metavar="NAME",
    default=None,
    help="Only entries about this cohort (default: every cohort and the database-wide entries).",
)
@pass_app
@handle_errors
def log_cmd(app: AppContext, actions: tuple[str, ...], since: datetime | None, limit: int, cohort: str | None) -> None:
    """Who imported, solved, approved, exported and purged what, and when (newest first)."""
    from ..auditlog import entries

    found = entries(app.engine(), actions=actions, since=_day(since), limit=limit, cohort=cohort or app.cohort)
    if not found:
        click.echo(
            "No audit log entries match." if actions or since or cohort or app.cohort else "The audit log is empty."
        )
        return
    from .tables import console, row, table

    out = table(
        "Audit log (newest first, times in UTC)",
        ("when", {"min_width": 19}),
        "who",
        "cohort",
        ("action", {"min_width": 8}),
        "what",
    )
    for e in found:
        row(out, e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), e.who, e.cohort or "-", e.action, e.detail)
    console().print(out)


@cli.command("purge")
@click.option(
    "--before",
    "before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Purge candidates whose last involvement was before this date (YYYY-MM-DD, UTC).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@pass_app
@handle_errors
def purge_cmd(app: AppContext, before: datetime, yes: bool, dry_run: bool) -> None:
    """Delete candidates' personal data past its retention date; keep rounds' anonymised figures.

    A retention date applies to the whole database: every cohort is purged.

    \b
    Removed: names, emails, equality-monitoring records, preferences, host
    rankings, pair rules, links and outcome reasons of every candidate last involved before
    the date; stored solver inputs of rounds created before it.
    Kept: rounds with their summary figures, placements, candidate ids.
    See docs/data-protection.md for the full list.
    """
    from ..purge import purge

    engine = app.engine()
    day = _day(before)
    preview = purge(engine, day, dry_run=True)
    for line in preview.lines():
        click.echo(line)
    if dry_run:
        return
    if preview.changes == 0:
        click.echo("Nothing to purge.")
        return
    if not yes:
        click.confirm("Remove this personal data for good? It cannot be undone", abort=True, err=True)
    report = purge(engine, day)
    click.echo(
        f"Purged the personal data of {report.candidates} candidate(s) and the stored inputs of "
        f"{report.rounds_cleared} round(s). The purge is recorded in `placement log --action purge`."
    )
