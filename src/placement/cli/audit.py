"""`placement audit N`: the fairness report of a round (HTML, JSON, CSV or an Excel workbook), internal or
publication edition."""

from __future__ import annotations

from pathlib import Path

import click

from ..text import visible
from . import AppContext, cli, handle_errors, params, pass_app

EDITION_HELP = (
    "internal (default): exact counts and every flag with its verdict, stamped OFFICIAL-SENSITIVE and written "
    "owner-only, for those entitled to the individual records; publication: disclosure control on every figure "
    "broken down by a characteristic, exact scheme-wide totals, flags named without numbers - for the scheme "
    "board and publishing."
)


@cli.command("audit")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv", "xlsx"]), default="html",
              show_default=True,
              help="html: the report to read and print; json: the machine contract (docs/audit-json.md); "
                   "csv: one tidy table to pivot in Excel; xlsx: a workbook with one sheet per table.")
@click.option("--edition", type=click.Choice(["internal", "publication"]), default=None, help=EDITION_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: round-N-audit-<edition>.<format> next to the SQLite database, "
                   "else in the current directory).")
@click.option("--no-suppression", is_flag=True, hidden=True,
              help="Old name of --edition internal (the default now).")
@pass_app
@handle_errors
def audit_cmd(app: AppContext, number: int, fmt: str, edition: str | None, out: Path | None, no_suppression: bool) -> None:
    """Write the fairness audit of round NUMBER and print where it went.

    It includes a re-solve of the round without its diversity targets (the
    price of fairness), which can take as long as the round's own solve.
    """
    from ..audit import STAMP, Edition, write_report

    if no_suppression and edition == "publication":
        raise click.UsageError("--no-suppression is the internal edition; it cannot be combined with --edition publication.")
    chosen = Edition.parse(edition or "internal")
    path = write_report(app.engine(), number, fmt, out, edition=chosen)
    if chosen.private:
        click.echo(f"Internal edition: {STAMP}. Written readable by you only.", err=True)
    click.echo(visible(path))
