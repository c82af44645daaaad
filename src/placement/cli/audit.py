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
@click.argument("number", type=params.ROUND_NUMBER, required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "csv", "xlsx"]),
    default="html",
    show_default=True,
    help="html: the report to read and print; json: the machine contract (docs/audit-json.md); "
    "csv: one tidy table to pivot in Excel; xlsx: a workbook with one sheet per table.",
)
@click.option("--edition", type=click.Choice(["internal", "publication"]), default=None, help=EDITION_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: round-N-audit-<edition>.<format> next to the SQLite database, "
    "else in the current directory).",
)
@click.option("--no-suppression", is_flag=True, hidden=True, help="Old name of --edition internal (the default now).")
@click.option(
    "--cohort",
    "cohorts",
    multiple=True,
    metavar="NAME",
    help="The cohort (default: $PLACEMENT_COHORT, else the only open one). Repeat it for placement "
    "trends: each cohort's final round alone and all of them pooled.",
)
@pass_app
@handle_errors
def audit_cmd(
    app: AppContext,
    number: int | None,
    fmt: str,
    edition: str | None,
    out: Path | None,
    no_suppression: bool,
    cohorts: tuple[str, ...],
) -> None:
    """Write the fairness audit of round NUMBER and print where it went.

    \b
    Without NUMBER: the cohort's final round (its latest approved round,
    else its latest). With several --cohort: placement trends over them
    (each cohort's final round, and all of them pooled), so a comparison too
    few to tell in one intake can be told over several.

    A round's audit includes a re-solve of the round without its diversity
    targets (the price of fairness), which can take as long as the round's
    own solve.
    """
    from ..audit import STAMP, Edition, write_report

    if no_suppression and edition == "publication":
        raise click.UsageError(
            "--no-suppression is the internal edition; it cannot be combined with --edition publication."
        )
    chosen = Edition.parse(edition or "internal")
    names = list(dict.fromkeys(cohorts)) or ([app.cohort] if app.cohort else [])
    if len(names) > 1:
        if number is not None:
            raise click.UsageError(
                "Round numbers belong to one cohort: leave out NUMBER to compare several cohorts "
                "(each cohort's final round is used)."
            )
        from ..audit.trends import write_trends

        path = write_trends(app.engine(), names, fmt, out, edition=chosen)
    else:
        cohort = names[0] if names else None
        if number is None:
            from ..audit.trends import final_round
            from ..cohorts import resolve
            from ..db.session import transaction

            with transaction(app.engine()) as s:
                number = final_round(s, resolve(s, cohort))
        path = write_report(app.engine(), number, fmt, out, edition=chosen, cohort=cohort)
    if chosen.private:
        click.echo(f"Internal edition: {STAMP}. Written readable by you only.", err=True)
    click.echo(visible(path))
