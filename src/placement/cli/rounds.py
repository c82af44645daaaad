"""`placement round ...`, `placement offer ...`, `placement export`, `placement explain`."""

from __future__ import annotations

from pathlib import Path

import click

from ..text import visible
from . import AppContext, cli, handle_errors, params, pass_app, show
from .show import cell, esc


@cli.group("round")
def round_group() -> None:
    """List, show and approve rounds."""


@round_group.command("list")
@pass_app
@handle_errors
def round_list(app: AppContext) -> None:
    """Every round with its state, status and headline figures."""
    from rich.table import Table
    from sqlalchemy import select

    from ..db.models import Round
    from ..db.session import transaction

    table = Table(title="Rounds")
    for col in ("round", "state", "status", "placed", "unplaced", "rank sum", "created", "approved by"):
        table.add_column(col, overflow="fold")
    with transaction(app.engine()) as s:
        for r in s.scalars(select(Round).order_by(Round.number)).all():
            table.add_row(
                str(r.number), r.state, r.status, str(r.summary.get("placed", "")), str(r.summary.get("unplaced", "")),
                str(r.summary.get("rank_sum", "")), r.created_at.strftime("%Y-%m-%d %H:%M"), cell(r.approved_by),
            )
    show.console().print(table)


@round_group.command("show")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option("--placements/--no-placements", default=True, show_default=True, help="List each placement.")
@pass_app
@handle_errors
def round_show(app: AppContext, number: int, placements: bool) -> None:
    """One round: options, status, objective and bound, targets, placements."""
    from rich.table import Table
    from sqlalchemy import select

    from ..db.models import Candidate, Host, Placement
    from ..db.session import transaction
    from ..rounds import load_round

    console = show.console()
    with transaction(app.engine()) as s:
        r = load_round(s, number)
        console.print(f"[bold]Round {r.number}[/bold]: {r.state}; solver status {r.status} ({esc(r.summary.get('method', ''))}) in {r.solve_seconds:.2f} s")
        console.print(f"Created {r.created_at:%Y-%m-%d %H:%M} by {esc(r.created_by)}; continues round {r.parent_number or '-'}")
        if r.approved_by:
            console.print(f"Approved by {esc(r.approved_by)} at {r.approved_at:%Y-%m-%d %H:%M}")
        console.print("Options: " + ", ".join(f"{esc(k)}={esc(v)}" for k, v in r.options.items()))
        console.print("Objective: " + ", ".join(f"{k}={v:g}" for k, v in r.objective.items()) + "; bound: " + ", ".join(f"{k}={v:g}" for k, v in r.bound.items()))
        console.print(f"Input hash {r.input_hash}; {r.solver_version}")
        console.print(f"Placed {r.summary.get('placed')}, unplaced {r.summary.get('unplaced')}, rank sum {r.summary.get('rank_sum')}")
        if r.summary.get("tie_break"):
            from .solve import tie_words

            console.print(f"Ties between equally good placements: {tie_words(r.summary['tie_break'])}")
        from ..masking import diagnosis_line
        from .solve import special_target_names

        for line in r.summary.get("diagnosis", []):
            console.print(f"[red]- {esc(diagnosis_line(line, special_target_names(r.summary.get('targets', []))))}[/red]")
        if r.summary.get("targets"):
            from .solve import targets_table

            console.print(targets_table(r.summary["targets"]))
        if placements:
            t = Table(title="Placements")
            for col in ("candidate", "host", "region", "rank", "offer"):
                t.add_column(col)
            rows = s.execute(
                select(Candidate.candidate_id, Host.host_id, Host.region, Placement.rank, Placement.offer_status)
                .join(Placement, Placement.candidate_pk == Candidate.id)
                .join(Host, Host.id == Placement.host_pk)
                .where(Placement.round_id == r.id)
                .order_by(Candidate.candidate_id)
            ).all()
            for row in rows:
                t.add_row(*(cell(v) for v in row))
            console.print(t)


@round_group.command("approve")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option("--by", "by", required=True, help="The full name of the person approving (no solely automated decisions).")
@pass_app
@handle_errors
def round_approve(app: AppContext, number: int, by: str) -> None:
    """Approve a proposal: its placements become offers."""
    from ..rounds import approve_round

    offers = approve_round(app.engine(), number, by)
    click.echo(f"Round {number} approved by {visible(by.strip())}: {offers} offers made. Record answers with `placement offer accept|decline CANDIDATE`.")


@cli.group("offer")
def offer_group() -> None:
    """Record candidates' answers to their offers."""


def _answer(app: AppContext, candidate_id: str, response: str) -> None:
    from ..rounds import record_response

    number, host = record_response(app.engine(), candidate_id, response)
    verb = "accepted" if response == "accept" else "declined"
    click.echo(f"{visible(candidate_id)} {verb} the offer at {visible(host)} (round {number}).")


@offer_group.command("accept")
@click.argument("candidate_id")
@pass_app
@handle_errors
def offer_accept(app: AppContext, candidate_id: str) -> None:
    """Record that CANDIDATE_ID accepted their offer."""
    _answer(app, candidate_id, "accept")


@offer_group.command("decline")
@click.argument("candidate_id")
@pass_app
@handle_errors
def offer_decline(app: AppContext, candidate_id: str) -> None:
    """Record that CANDIDATE_ID declined their offer (their place is offered again next round)."""
    _answer(app, candidate_id, "decline")


@offer_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="MAP.toml", help="Mapping file with an [answers] section: the export's column names and "
                                       "spellings of accept/decline (see docs/import.md).")
@click.option("--max-errors", type=click.IntRange(min=1), default=50, show_default=True, help="Report at most this many problems.")
@pass_app
@handle_errors
def offer_import(app: AppContext, file: Path, mapping_path: Path | None, max_errors: int) -> None:
    """Record many answers from a CSV with columns candidate_id, response; all or none.

    A response must be accept or decline (any letter case). Other spellings
    ("Yes", "accepted") are refused unless a mapping file maps them:

    \b
        [answers.columns]
        "Ref" = "candidate_id"
        "Outcome" = "response"
        [answers.values.response]
        "Yes" = "accept"
        "No" = "decline"

    Every bad row is listed with its row number, and then nothing is recorded.
    """
    from ..ingest import load_mapping
    from ..offers import import_answers

    mapping = load_mapping(mapping_path) if mapping_path else None
    changes = import_answers(app.engine(), file, mapping, max_errors=max_errors)
    accepted = sum(1 for c in changes if c.after == "accepted")
    click.echo(f"Recorded {len(changes)} answers from {visible(file.name)} (round {changes[0].round}): "
               f"{accepted} accepted, {len(changes) - accepted} declined.")


@cli.command("export")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write: .csv, or .xlsx for a formatted workbook (default: placements-round-N.csv).")
@click.option("--include-sensitive", is_flag=True, help="Add sex, ethnicity and disability columns (special category data: restricted use only).")
@pass_app
@handle_errors
def export_cmd(app: AppContext, number: int, out: Path | None, include_sensitive: bool) -> None:
    """Write round NUMBER's placements as CSV or an Excel workbook (no special category data unless asked).

    The format follows the file's suffix: --out placements.xlsx writes a
    workbook with a frozen header and filters, written readable by you only.
    """
    from ..export import export_round

    out = out or Path(f"placements-round-{number}.csv")
    n = export_round(app.engine(), number, out, include_sensitive=include_sensitive)
    click.echo(f"Wrote {n} placements to {visible(out)}.")


@cli.command("explain")
@click.argument("candidate_id")
@click.option("--round", "number", type=params.ROUND_NUMBER, default=None, help="Round number (default: latest approved, else latest).")
@click.option("--time-limit", type=params.SECONDS, default=20.0, show_default=True, help="Seconds per what-if re-solve.")
@pass_app
@handle_errors
def explain_cmd(app: AppContext, candidate_id: str, number: int | None, time_limit: float) -> None:
    """Why CANDIDATE_ID was placed where they were, host by host."""
    from ..explain import explain

    click.echo(visible(explain(app.engine(), candidate_id, number, time_limit=time_limit).render(), multiline=True))
