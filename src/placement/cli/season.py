"""`placement candidate ...`, `placement host show`, `placement target remove`, `placement pair remove`,
`placement status`: the coordinator's season between rounds."""

from __future__ import annotations

import click

from . import AppContext, cli, cohort_option, handle_errors, pass_app
from .rounds import _said, emit_json


@cli.group("candidate")
def candidate_group() -> None:
    """Show a candidate, or withdraw them from the scheme."""


@candidate_group.command("show")
@click.argument("candidate_id")
@click.option(
    "--include-sensitive",
    is_flag=True,
    help="Also show sex, ethnicity and disability (special category data: restricted use only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the candidate as JSON.")
@cohort_option
@pass_app
@handle_errors
def candidate_show(app: AppContext, candidate_id: str, include_sensitive: bool, as_json: bool) -> None:
    """CANDIDATE_ID's record, every preference (eligible or not, and why), and their offers over the rounds
    with every change (who, when, why)."""
    from ..season import show_candidate
    from .show import print_candidate

    view = show_candidate(app.engine(), candidate_id, include_sensitive=include_sensitive, cohort=app.cohort)
    if as_json:
        emit_json(view.to_json())
        return
    print_candidate(view)


@candidate_group.command("withdraw")
@click.argument("candidate_id")
@click.option(
    "--reason",
    required=True,
    help="Why the candidate leaves the scheme (kept in the audit log; never special category data).",
)
@cohort_option
@pass_app
@handle_errors
def candidate_withdraw(app: AppContext, candidate_id: str, reason: str) -> None:
    """CANDIDATE_ID leaves the scheme: out of every later solve, kept on record for the audit. An offer or
    accepted placement they hold is released."""
    from ..corrections import withdraw_candidate

    _said(withdraw_candidate(app.engine(), candidate_id, reason, cohort=app.cohort))


@cli.group("host")
def host_group() -> None:
    """Show a host organisation."""


@host_group.command("show")
@click.argument("host_id")
@click.option("--json", "as_json", is_flag=True, help="Print the host as JSON.")
@cohort_option
@pass_app
@handle_errors
def host_show(app: AppContext, host_id: str, as_json: bool) -> None:
    """HOST_ID's places and minimum, who is offered, accepted or proposed there, and who ranked it but was
    not eligible, counted by reason."""
    from ..season import show_host
    from .show import print_host

    view = show_host(app.engine(), host_id, cohort=app.cohort)
    if as_json:
        emit_json(view.to_json())
        return
    print_host(view)


@cli.group("target")
def target_group() -> None:
    """Remove a diversity target."""


@target_group.command("remove")
@click.argument("name")
@click.option("--reason", required=True, help="Why the target is removed (kept in the audit log).")
@cohort_option
@pass_app
@handle_errors
def target_remove(app: AppContext, name: str, reason: str) -> None:
    """Remove target NAME from later solves (rounds solved with it keep it in their record)."""
    from ..corrections import remove_target

    _said(remove_target(app.engine(), name, reason, cohort=app.cohort))


@cli.group("pair")
def pair_group() -> None:
    """Remove a required or forbidden pair."""


@pair_group.command("remove")
@click.argument("candidate_id")
@click.argument("host_id")
@click.option("--reason", required=True, help="Why the pair is removed (kept in the audit log).")
@cohort_option
@pass_app
@handle_errors
def pair_remove(app: AppContext, candidate_id: str, host_id: str, reason: str) -> None:
    """Remove the required or forbidden pair CANDIDATE_ID at HOST_ID from later solves."""
    from ..corrections import remove_pair

    _said(remove_pair(app.engine(), candidate_id, host_id, reason, cohort=app.cohort))


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the season's figures as JSON.")
@cohort_option
@pass_app
@handle_errors
def status_cmd(app: AppContext, as_json: bool) -> None:
    """The season at a glance: rounds, offers outstanding/accepted/declined, places left, and the next step."""
    from ..season import season_status
    from .show import print_status

    status = season_status(app.engine(), cohort=app.cohort)
    if as_json:
        emit_json(status.to_json())
        return
    print_status(status)
