"""`placement scenario compare`: a round under what-if variants, side by side, for the scheme board."""

from __future__ import annotations

from pathlib import Path

import click

from ..text import visible
from . import AppContext, cli, cohort_option, handle_errors, params, pass_app
from .audit import EDITION_HELP


@cli.group("scenario")
def scenario_group() -> None:
    """What-if comparisons of a round (nothing is stored)."""


@scenario_group.command("compare")
@click.option(
    "--base", "base", type=params.ROUND_NUMBER, required=True, help="The round whose stored inputs the variants change."
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    required=True,
    metavar="CHANGES",
    help='One variant: changes separated by \';\', e.g. "no targets", "women-per-region min 0.45", '
    '"objective=generous", "drop minority-share; stability=strict", '
    '"add career-changers: career_changer=yes min 0.2 per region". Repeat for each variant.',
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="html: one page for the board, with charts of the trade-off; json: the figures (docs/scenario.md).",
)
@click.option(
    "--edition",
    type=click.Choice(["internal", "publication"]),
    default="internal",
    show_default=True,
    help=EDITION_HELP,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: round-N-scenarios-<edition>.<format> next to the SQLite database).",
)
@click.option(
    "--allow-quota",
    is_flag=True,
    help="Acknowledge a variant that makes a hard share target on a protected characteristic (a quota).",
)
@click.option(
    "--workers",
    type=params.WORKERS,
    default=None,
    help="Processes to solve the variants in (default: one per core, at most one per variant).",
)
@cohort_option
@pass_app
@handle_errors
def scenario_compare(
    app: AppContext,
    base: int,
    variants: tuple[str, ...],
    fmt: str,
    edition: str,
    out: Path | None,
    allow_quota: bool,
    workers: int | None,
) -> None:
    """Solve round BASE's stored inputs under each --variant and write them side by side; print where it went.

    Each variant is solved again from the round's stored inputs, so this takes
    about as long as the round's own solve per variant (variants run in
    parallel where the machine has the cores). No round is stored.
    """
    from ..audit import STAMP, Edition
    from ..scenario import write_scenarios

    chosen = Edition.parse(edition)
    path = write_scenarios(
        app.engine(),
        base,
        variants,
        fmt,
        out,
        edition=chosen,
        allow_quota=allow_quota,
        workers=workers,
        progress=lambda msg: click.echo(visible(msg), err=True),
        cohort=app.cohort,
    )
    if chosen.private:
        click.echo(f"Internal edition: {STAMP}. Written readable by you only.", err=True)
    click.echo(visible(path))
