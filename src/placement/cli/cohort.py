"""`placement cohort ...`: create, list, close, reopen, rename intakes; start one from another's hosts."""

from __future__ import annotations

import click

from . import AppContext, cli, handle_errors, pass_app


@cli.group("cohort")
def cohort_group() -> None:
    """Cohorts: one intake each (2026, 2026-north-west), all in one database.

    \b
    Candidates, preferences, host rankings, pairs, targets, hosts' places and
    rounds belong to a cohort; host organisations are shared. Every command
    works on the cohort named by --cohort (or PLACEMENT_COHORT), else on the
    only open cohort.
      placement cohort create 2027
      placement cohort copy-hosts 2026 2027   # last year's host list
      placement import dir data-2027/ --cohort 2027
      placement cohort close 2026             # no more imports or solves
    """


@cohort_group.command("create")
@click.argument("name")
@pass_app
@handle_errors
def cohort_create(app: AppContext, name: str) -> None:
    """Create an empty, open cohort NAME (letters, digits, '-', '_', '.')."""
    from ..cohorts import create_cohort, list_cohorts

    ref = create_cohort(app.engine(), name)
    click.echo(f"Created cohort {ref.name}.")
    others = [c.name for c in list_cohorts(app.engine()) if c.state == "open" and c.name != ref.name]
    if others:
        click.echo(
            f"Open cohorts now: {', '.join([*others, ref.name])}; name one on each command with "
            f"--cohort (or PLACEMENT_COHORT)."
        )


@cohort_group.command("list")
@pass_app
@handle_errors
def cohort_list(app: AppContext) -> None:
    """Every cohort: state, candidates, hosts and places, rounds."""
    from rich.console import Console
    from rich.table import Table

    from ..cohorts import list_cohorts

    table = Table(title="Cohorts")
    for col in ("cohort", "state", "candidates", "hosts", "places", "rounds", "approved round", "created", "closed"):
        table.add_column(col, justify="right" if col in ("candidates", "hosts", "places", "rounds") else "left")
    for c in list_cohorts(app.engine()):
        table.add_row(
            c.name,
            c.state,
            str(c.candidates),
            str(c.hosts),
            str(c.places),
            str(c.rounds),
            str(c.approved_round or "-"),
            c.created_at.strftime("%Y-%m-%d"),
            c.closed_at.strftime("%Y-%m-%d") if c.closed_at else "",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    console.print(table)


@cohort_group.command("close")
@click.argument("name")
@pass_app
@handle_errors
def cohort_close(app: AppContext, name: str) -> None:
    """Close cohort NAME: it refuses imports and solves, and can still be audited and take outcomes."""
    from ..cohorts import close_cohort

    ref = close_cohort(app.engine(), name)
    click.echo(f"Closed cohort {ref.name}. Reopen it with `placement cohort reopen {ref.name}`.")


@cohort_group.command("reopen")
@click.argument("name")
@pass_app
@handle_errors
def cohort_reopen(app: AppContext, name: str) -> None:
    """Reopen a closed cohort NAME."""
    from ..cohorts import reopen_cohort

    ref = reopen_cohort(app.engine(), name)
    click.echo(f"Reopened cohort {ref.name}.")


@cohort_group.command("rename")
@click.argument("old")
@click.argument("new")
@pass_app
@handle_errors
def cohort_rename(app: AppContext, old: str, new: str) -> None:
    """Rename cohort OLD to NEW (e.g. `default` to `2026` when a second intake begins)."""
    from ..cohorts import rename_cohort

    ref = rename_cohort(app.engine(), old, new)
    click.echo(f"Renamed cohort {old} to {ref.name}.")


@cohort_group.command("copy-hosts")
@click.argument("source", metavar="FROM")
@click.argument("target", metavar="TO")
@pass_app
@handle_errors
def cohort_copy_hosts(app: AppContext, source: str, target: str) -> None:
    """Start cohort TO from cohort FROM's hosts: every host's places (capacity, specialisms, minimums).

    TO must be open and have no hosts yet. Change the copy by importing a
    hosts file with --cohort TO.
    """
    from ..cohorts import copy_hosts

    n = copy_hosts(app.engine(), source, target)
    click.echo(
        f"Copied the places of {n} hosts from cohort {source} to {target}. "
        f"Adjust them with `placement import hosts FILE --cohort {target}`."
    )
