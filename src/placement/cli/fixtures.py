"""`placement fixtures ...`: synthetic schemes for trials, demos and benchmarks."""

from __future__ import annotations

from pathlib import Path

import click

from ..text import visible
from . import cli, handle_errors, params


@cli.group("fixtures")
def fixtures_group() -> None:
    """Make synthetic scheme data in the canonical CSV format (no database needed)."""


@fixtures_group.command("generate")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--candidates", type=click.IntRange(min=1), required=True, help="Number of candidates.")
@click.option("--seed", type=int, required=True, help="Random seed: the same seed writes the same files.")
@click.option("--hosts", type=click.IntRange(min=1), default=None, help="Number of hosts (default: candidates / 2.5).")
@click.option(
    "--preferences", type=click.IntRange(min=1), default=10, show_default=True, help="Hosts each candidate ranks."
)
@click.option("--no-targets", is_flag=True, help="Leave out targets.csv (the three sample target families).")
@click.option(
    "--host-rankings-share",
    type=params.SHARE,
    default=0.1,
    show_default=True,
    help="Share of hosts that give their own ranking of applicants (0 leaves out host_rankings.csv).",
)
@click.option("--force", is_flag=True, help="Overwrite scheme files already in OUTDIR.")
@handle_errors
def fixtures_generate(
    outdir: Path,
    candidates: int,
    seed: int,
    hosts: int | None,
    preferences: int,
    no_targets: bool,
    host_rankings_share: float,
    force: bool,
) -> None:
    """Write a realistic synthetic scheme (candidates, hosts, preferences, ...) to OUTDIR.

    \b
    Import it with:  placement import dir OUTDIR
    """
    from rich.console import Console
    from rich.table import Table

    from ..generate import FILE_COLUMNS, generate_scheme

    existing = sorted(name for name in FILE_COLUMNS if (outdir / name).exists())
    if existing and not force:
        raise click.ClickException(
            f"{outdir} already holds scheme files ({', '.join(existing)}).\n"
            "Choose another directory, or pass --force to replace them."
        )
    counts = generate_scheme(
        outdir,
        candidates=candidates,
        seed=seed,
        hosts=hosts,
        preferences=preferences,
        targets=not no_targets,
        host_rankings_share=host_rankings_share,
    )
    table = Table(title=f"Synthetic scheme, seed {seed}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    Console(width=100).print(table)
    click.echo(f"Written to {visible(outdir.resolve())}\nImport it with: placement import dir {visible(outdir)}")


@fixtures_group.command("outcomes")
@click.argument("candidates", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cohort", required=True, metavar="NAME", help="The cohort the candidates belong to.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The intake's start date (YYYY-MM-DD); each graduate starts within 10 days of it.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="Events after this date (YYYY-MM-DD) have not happened yet and are left out.",
)
@click.option("--seed", type=int, required=True, help="Random seed: the same seed writes the same rows.")
@click.option(
    "--disparity",
    type=click.FloatRange(min=0.0),
    default=1.0,
    show_default=True,
    help="How many times likelier graduates not recorded as White are to leave early (1: no difference).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="outcomes.csv to write.")
@click.option("--append", is_flag=True, help="Add this cohort's rows to an existing file instead of replacing it.")
@handle_errors
def fixtures_outcomes(
    candidates: Path, cohort: str, start, as_of, seed: int, disparity: float, out: Path, append: bool
) -> None:
    """Write synthetic outcomes (outcomes.csv) for the candidates of CANDIDATES (a canonical candidates.csv).

    \b
    Fictional: every graduate starts at band 5; some leave early, the rest
    complete at two years, most take an NHS post, some reach band 6 and 7.
    Import with: placement import outcomes OUT
    """
    import csv

    from ..generate_outcomes import OUTCOME_COLUMNS, generate_outcomes, read_candidates, write_outcomes

    rows = generate_outcomes(
        read_candidates(candidates),
        cohort=cohort,
        start=start.date(),
        as_of=as_of.date(),
        seed=seed,
        disparity=disparity,
    )
    if append and out.exists():
        with out.open(newline="", encoding="utf-8") as fh:
            earlier = [r for r in csv.DictReader(fh) if r.get("cohort") != cohort]
        rows = [*({k: r.get(k, "") for k in OUTCOME_COLUMNS} for r in earlier), *rows]
    n = write_outcomes(rows, out)
    click.echo(f"Wrote {n} outcome rows to {visible(out)}.")
