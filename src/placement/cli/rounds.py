"""`placement round ...`, `placement offer ...`, `placement export`, `placement explain`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..text import visible
from . import AppContext, cli, cohort_option, handle_errors, params, pass_app


@cli.group("round")
def round_group() -> None:
    """List, show, compare, approve and revoke rounds."""


def emit_json(data) -> None:
    """Machine-readable output: JSON on stdout, dates as ISO text."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@round_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rounds as JSON.")
@cohort_option
@pass_app
@handle_errors
def round_list(app: AppContext, as_json: bool) -> None:
    """Every round of the cohort with its state (proposal, approved, superseded), status and headline figures."""
    from dataclasses import asdict

    from ..cohorts import resolve_in
    from ..views import list_rounds
    from .tables import console, row, table

    scope = resolve_in(app.engine(), app.cohort)
    rows = list_rounds(app.engine(), cohort=scope)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo(f"No rounds yet in cohort {scope.name}: solve the first with `placement solve`.")
        return
    from rich.markup import escape

    t = table(
        f"Rounds of cohort {escape(scope.name)}",
        "round",
        ("state", {"min_width": 10}),
        ("status", {"min_width": 10}),
        "placed",
        "unplaced",
        "rank sum",
        ("created", {"min_width": 16}),
        "approved by",
    )
    for r in rows:
        row(
            t,
            r.round,
            r.state,
            r.status,
            r.placed,
            r.unplaced,
            "" if r.rank_sum is None else r.rank_sum,
            r.created_at[:16].replace("T", " "),
            r.approved_by,
        )
    console().print(t)


@round_group.command("show")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option(
    "--by",
    "by",
    type=click.Choice(["candidate", "host"]),
    default="candidate",
    show_default=True,
    help="List the placements candidate by candidate (with the unplaced and why), or host by host.",
)
@click.option("--placements/--no-placements", default=True, show_default=True, help="List the placements (or hosts).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole round as JSON (placements, hosts and unplaced).")
@cohort_option
@pass_app
@handle_errors
def round_show(app: AppContext, number: int, by: str, placements: bool, as_json: bool) -> None:
    """One round: state, options, objective and bound, targets, placements with names and offers, hosts' places
    (empty places flagged where an eligible candidate was left unplaced), and the unplaced with their main reason."""
    from ..views import show_round
    from .show import print_round

    view = show_round(app.engine(), number, cohort=app.cohort)
    if as_json:
        emit_json(view.to_json())
        return
    print_round(view, by=by, placements=placements)


@round_group.command("approve")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option(
    "--by", "by", required=True, help="The full name of the person approving (no solely automated decisions)."
)
@cohort_option
@pass_app
@handle_errors
def round_approve(app: AppContext, number: int, by: str) -> None:
    """Approve a proposal: its placements become offers."""
    from ..approval import approve_round

    offers = approve_round(app.engine(), number, by, cohort=app.cohort)
    click.echo(
        f"Round {number} approved by {visible(by.strip())}: {offers} offers made. Record answers with `placement offer accept|decline CANDIDATE`."
    )


@round_group.command("revoke")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option("--reason", required=True, help="Why the approval is withdrawn (kept in the audit log).")
@cohort_option
@pass_app
@handle_errors
def round_revoke(app: AppContext, number: int, reason: str) -> None:
    """Withdraw the latest approval while none of its offers has an answer: its offers go back to proposed
    and the round is a proposal again (approve it again, or solve again)."""
    from ..corrections import revoke_approval

    _said(revoke_approval(app.engine(), number, reason, cohort=app.cohort))


@round_group.command("diff")
@click.argument("a", type=params.ROUND_NUMBER)
@click.argument("b", type=params.ROUND_NUMBER)
@click.option("--json", "as_json", is_flag=True, help="Print the moves as JSON.")
@cohort_option
@pass_app
@handle_errors
def round_diff(app: AppContext, a: int, b: int, as_json: bool) -> None:
    """Who is placed differently in round B than in round A, and why where the solver knows."""
    from ..views import diff_rounds
    from .show import print_diff

    diff = diff_rounds(app.engine(), a, b, cohort=app.cohort)
    if as_json:
        emit_json(diff.to_json())
        return
    print_diff(diff)


def _said(correction) -> None:
    """A correction's one-sentence summary, and any proposal it superseded."""
    click.echo(correction.summary)
    if correction.superseded:
        click.echo(
            f"Proposal {', '.join(map(str, correction.superseded))} no longer starts from the offers as they "
            "stand and is superseded: solve again with `placement solve`."
        )


@cli.group("offer")
def offer_group() -> None:
    """Record candidates' answers to their offers."""


def _answer(app: AppContext, candidate_id: str, response: str) -> None:
    from ..rounds import record_response

    number, host = record_response(app.engine(), candidate_id, response, cohort=app.cohort)
    verb = "accepted" if response == "accept" else "declined"
    click.echo(f"{candidate_id}'s offer at {host} (round {number}) is {verb}.")


@offer_group.command("accept")
@click.argument("candidate_id")
@cohort_option
@pass_app
@handle_errors
def offer_accept(app: AppContext, candidate_id: str) -> None:
    """Record that CANDIDATE_ID accepted their offer."""
    _answer(app, candidate_id, "accept")


@offer_group.command("decline")
@click.argument("candidate_id")
@cohort_option
@pass_app
@handle_errors
def offer_decline(app: AppContext, candidate_id: str) -> None:
    """Record that CANDIDATE_ID declined their offer (their place is offered again next round)."""
    _answer(app, candidate_id, "decline")


@offer_group.command("change")
@click.argument("candidate_id")
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--reason", required=True, help="Why the recorded answer is changed (kept in the audit log).")
@cohort_option
@pass_app
@handle_errors
def offer_change(app: AppContext, candidate_id: str, answer: str, reason: str) -> None:
    """Change CANDIDATE_ID's recorded answer (accepted <-> declined) in the latest approved round."""
    from ..corrections import change_answer

    _said(change_answer(app.engine(), candidate_id, answer, reason, cohort=app.cohort))


@offer_group.command("release")
@click.argument("candidate_id")
@click.option("--reason", required=True, help="Why the scheme withdraws the offer (kept in the audit log).")
@cohort_option
@pass_app
@handle_errors
def offer_release(app: AppContext, candidate_id: str, reason: str) -> None:
    """The scheme withdraws CANDIDATE_ID's offer or accepted placement: the place is freed for the next
    round, and the candidate goes back to the pool (not to that host)."""
    from ..corrections import release_offer

    _said(release_offer(app.engine(), candidate_id, reason, cohort=app.cohort))


@offer_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="MAP.toml",
    help="Mapping file with an [answers] section: the export's column names and "
    "spellings of accept/decline (see docs/import.md).",
)
@click.option(
    "--max-errors", type=click.IntRange(min=1), default=50, show_default=True, help="Report at most this many problems."
)
@cohort_option
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
    changes = import_answers(app.engine(), file, mapping, max_errors=max_errors, cohort=app.cohort)
    accepted = sum(1 for c in changes if c.after == "accepted")
    click.echo(
        f"Recorded {len(changes)} answers from {visible(file.name)} (round {changes[0].round}): "
        f"{accepted} accepted, {len(changes) - accepted} declined."
    )


@cli.command("export")
@click.argument("number", type=params.ROUND_NUMBER)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file to write: .csv, or .xlsx for a formatted workbook (default: placements-round-N.csv).",
)
@click.option(
    "--include-sensitive",
    is_flag=True,
    help="Add sex, ethnicity and disability columns (special category data: restricted use only).",
)
@cohort_option
@pass_app
@handle_errors
def export_cmd(app: AppContext, number: int, out: Path | None, include_sensitive: bool) -> None:
    """Write round NUMBER's placements as CSV or an Excel workbook (no special category data unless asked).

    The format follows the file's suffix: --out placements.xlsx writes a
    workbook with a frozen header and filters, written readable by you only.
    """
    from ..export import export_round

    out = out or Path(f"placements-round-{number}.csv")
    n = export_round(app.engine(), number, out, include_sensitive=include_sensitive, cohort=app.cohort)
    click.echo(f"Wrote {n} placements to {visible(out)}.")


@cli.command("explain")
@click.argument("candidate_id")
@click.option(
    "--round",
    "number",
    type=params.ROUND_NUMBER,
    default=None,
    help="Round number (default: the round of the candidate's own offer; else the latest approved, else the latest).",
)
@click.option(
    "--time-limit", type=params.SECONDS, default=20.0, show_default=True, help="Seconds per what-if re-solve."
)
@cohort_option
@pass_app
@handle_errors
def explain_cmd(app: AppContext, candidate_id: str, number: int | None, time_limit: float) -> None:
    """Why CANDIDATE_ID was placed where they were, host by host."""
    from ..explain import explain

    click.echo(
        visible(
            explain(app.engine(), candidate_id, number, time_limit=time_limit, cohort=app.cohort).render(),
            multiline=True,
        )
    )
