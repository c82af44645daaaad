"""`placement audit N`: the fairness report of a round (HTML, JSON or CSV)."""

from __future__ import annotations

from pathlib import Path

import click

from . import AppContext, cli, handle_errors, pass_app


@cli.command("audit")
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv"]), default="html", show_default=True,
              help="html: the report to read and print; json: the machine contract (docs/audit-json.md); "
                   "csv: one tidy table to pivot in Excel.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: round-N-audit.<format> next to the SQLite database, "
                   "else in the current directory).")
@click.option("--no-suppression", is_flag=True,
              help="Restricted use only: show exact small numbers. Every page is stamped "
                   "\"contains unsuppressed small numbers — do not publish\".")
@pass_app
@handle_errors
def audit_cmd(app: AppContext, number: int, fmt: str, out: Path | None, no_suppression: bool) -> None:
    """Write the fairness audit of round NUMBER and print where it went.

    It includes a re-solve of the round without its diversity targets (the
    price of fairness), which can take as long as the round's own solve.
    """
    from ..audit import write_report

    path = write_report(app.engine(), number, fmt, out, suppression=not no_suppression)
    if no_suppression:
        click.echo("Warning: this report contains unsuppressed small numbers - do not publish it.", err=True)
    click.echo(str(path))
