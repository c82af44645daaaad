"""`placement outcomes audit`: what became of the graduates, by group, per cohort and pooled."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from . import AppContext, cli, handle_errors, pass_app


@cli.group("outcomes")
def outcomes_group() -> None:
    """Outcomes after placement: retention, completion and progression by group.

    \b
    Import them first: placement import outcomes outcomes.csv
    Then: placement outcomes audit --cohort 2024 --cohort 2025 --cohort 2026
    """


@outcomes_group.command("audit")
@click.option(
    "--cohort",
    "cohorts",
    multiple=True,
    metavar="NAME",
    help="A cohort to audit; repeat for several (each alone, then pooled, with a trend over them). "
    "Default: $PLACEMENT_COHORT, else the only open cohort.",
)
@click.option(
    "--edition",
    type=click.Choice(["internal", "publication"]),
    default="internal",
    show_default=True,
    help="internal: exact figures for those entitled to the records (OFFICIAL-SENSITIVE, written 0600); "
    "publication: disclosure control on every figure broken down by group.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "csv", "xlsx"]),
    default="html",
    show_default=True,
    help="html: the report to read; json: every figure (placement-outcomes/1); csv: one tidy table; "
    "xlsx: that table as a workbook, a sheet per cohort and one pooled.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: outcomes-<cohorts>-<edition>.<format> next to the SQLite database).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Count what was known on this date (YYYY-MM-DD; default: today). Retention at 12 (24) months "
    "counts graduates who started at least 12 (24) months before it.",
)
@pass_app
@handle_errors
def outcomes_audit_cmd(
    app: AppContext, cohorts: tuple[str, ...], edition: str, fmt: str, out: Path | None, as_of: datetime | None
) -> None:
    """Write the outcome audit of one or more cohorts and print where it went."""
    from ..audit.outcome_audit import write_outcome_report

    names = list(cohorts) or ([app.cohort] if app.cohort else [])
    path = write_outcome_report(app.engine(), names, fmt, out, as_of=as_of.date() if as_of else None, edition=edition)
    if edition == "internal":
        from ..audit.editions import STAMP

        click.echo(f"Internal edition: {STAMP}. Written readable by you only.", err=True)
    click.echo(str(path))
