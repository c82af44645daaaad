"""`placement solve`: the next round, as a proposal."""

from __future__ import annotations

import json

import click

from ..masking import WITHHELD, diagnosis_line, is_special, withhold_scope
from . import AppContext, cli, handle_errors, params, pass_app, show
from .show import cell, esc


def _share_rule(t: dict) -> str:
    parts = []
    if t.get("min_share") is not None:
        parts.append(f">= {t['min_share']:.0%}")
    if t.get("max_share") is not None:
        parts.append(f"<= {t['max_share']:.0%}")
    return " and ".join(parts) + (" (hard)" if t["hard"] else " (soft)")


def targets_table(targets: list[dict]):
    """One row per target scope: the rule, how many were placed there and how many of them count."""
    from rich import box
    from rich.table import Table

    table = Table(title="Targets", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("target / scope", overflow="fold")
    table.add_column("rule", no_wrap=True)
    table.add_column("counted / placed", justify="right", no_wrap=True)
    table.add_column("met", no_wrap=True)
    previous = None
    withheld_any = False
    for t in targets:
        if t["name"] != previous:
            if previous is not None:
                table.add_section()
            table.add_row(cell(t["name"], "bold"), _share_rule(t), "", "")
            previous = t["name"]
        placed = t["placed_in_scope"]
        scope = t["scope"].replace("region=", "").replace("org_type=", "").replace("host=", "host ")
        if withhold_scope(t.get("attribute"), t["achieved"], placed):
            # Ethnicity or disability with 1-7 members or non-members here: the figures would single people out.
            withheld_any = True
            table.add_row(cell(f"  {scope}"), "", f"{WITHHELD} / {placed}", WITHHELD)
            continue
        share = f" ({t['achieved'] / placed:.0%})" if placed else ""
        table.add_row(cell(f"  {scope}"), "", f"{t['achieved']} / {placed}{share}",
                      "[green]yes[/green]" if t["met"] else f"[red]no[/red], short {t['shortfall']:.2f}")
    if withheld_any:
        table.caption = ("* withheld: 1-7 people in the scope counted (or not counted) by a target on ethnicity or "
                         "disability; the restricted audit (`placement audit N --no-suppression`) has the figures.")
        table.caption_justify = "left"
    return table


def special_target_names(targets: list[dict]) -> list[str]:
    return [t["name"] for t in targets if is_special(t.get("attribute"))]


def print_round_summary(result, console=None) -> None:
    """The round summary a coordinator reads after a solve (also used by the demo)."""
    console = console or show.console()
    gap = ""
    if result.status == "FEASIBLE":
        gap = "  (not proven optimal: bound " + ", ".join(f"{k} {v:g}" for k, v in result.bound.items()) + ")"
    console.print(f"[bold]Round {result.round}[/bold] proposal: {result.status} by {esc(result.method)} in {result.solve_seconds:.2f} s{gap}")
    if result.status == "INFEASIBLE":
        console.print("[red]No placement can satisfy every hard constraint together:[/red]")
        for line in result.diagnosis or ["(no smaller conflict found)"]:
            console.print(f"  - {esc(diagnosis_line(line, special_target_names(result.targets)))}")
        return
    console.print(
        f"Placed {result.placed}, unplaced {result.unplaced}; total rank {result.rank_sum}; "
        f"{result.dropped} preferences were ineligible (see `placement explain CANDIDATE`)."
    )
    if result.objective:
        console.print("Objective: " + ", ".join(f"{k} = {v:g}" for k, v in result.objective.items()))
    if result.targets:
        console.print(targets_table(result.targets))
    if result.blocking_pairs:
        console.print(f"{len(result.blocking_pairs)} blocking pair(s) (candidate, host): " + ", ".join(f"({esc(c)}, {esc(h)})" for c, h in result.blocking_pairs[:20]))
    if result.tie_break:
        console.print(f"Ties between equally good placements: {tie_words(result.tie_break)}")
    for note in result.notes:
        console.print(f"[dim]note: {esc(note)}[/dim]")


def tie_words(tie_break: str) -> str:
    """The solver's tie-break report ("host_order: optimal") in a coordinator's words."""
    how, _, result = tie_break.partition(": ")
    if how == "none":
        return "left to the solver (--tie-break none)"
    if result == "optimal":
        return "settled by host order: candidates hosts rank higher come first (proven)"
    return f"not settled ({result}); the solver's own choice among them stands"


@cli.command("solve")
@click.option("--objective", type=click.Choice(["rank-sum", "rank-maximal", "generous"]), default="rank-sum", show_default=True,
              help="After placing as many as possible: least total rank, most first choices, or fewest worst choices.")
@click.option("--stability", type=click.Choice(["none", "strict", "prefer"]), default="none", show_default=True,
              help="Stability against hosts' orders: ignore, require (no blocking pairs), or prefer (fewest blocking pairs).")
@click.option("--hard-min-placements/--soft-min-placements", default=False, show_default=True,
              help="Treat hosts' min_placements as hard constraints (default: soft, penalised).")
@click.option("--min-placement-weight", type=params.WEIGHT, default=10.0, show_default=True, help="Penalty per unfilled needed place when soft.")
@click.option("--allow-quota", is_flag=True, help="Acknowledge hard share targets on protected characteristics (Equality Act 2010: see docs).")
@click.option("--decline-policy", type=click.Choice(["host", "scheme"]), default="host", show_default=True,
              help="A declined offer removes the candidate from that host only, or from the scheme.")
@click.option("--tie-break", type=click.Choice(["host-order", "none"]), default="host-order", show_default=True,
              help="Among equally good placements: places go to the candidates hosts rank higher "
                   "(host rankings, else assessment score), or to the solver's own pick.")
@click.option("--time-limit", type=params.SECONDS, default=60.0, show_default=True, help="Seconds the solver may take.")
@click.option("--workers", type=params.WORKERS, default=2, show_default=True, help="Solver threads.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary instead of tables.")
@pass_app
@handle_errors
def solve_cmd(app: AppContext, objective, stability, hard_min_placements, min_placement_weight, allow_quota,
              decline_policy, tie_break, time_limit, workers, as_json) -> None:
    """Solve the scheme as it stands and store the result as the next round (a proposal).

    Nothing is offered until a named person approves the round with
    `placement round approve N --by NAME`.
    """
    from ..rounds import RoundOptions, solve_round

    opts = RoundOptions(
        objective=objective, stability=stability, hard_min_placements=hard_min_placements,
        min_placement_weight=min_placement_weight, time_limit=time_limit, workers=workers,
        allow_quota=allow_quota, decline_policy=decline_policy, tie_break=tie_break,
    )
    engine = app.engine()
    err = show.console(stderr=True)
    if as_json:
        result = solve_round(engine, opts)
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
        return
    with err.status("Solving...") as status:
        result = solve_round(engine, opts, progress=lambda msg: status.update(esc(msg)))
    print_round_summary(result)
    if result.status in ("OPTIMAL", "FEASIBLE"):
        click.echo(f"Review it (`placement round show {result.round}`, `placement audit {result.round}`), then "
                   f"`placement round approve {result.round} --by \"Your Name\"`.")
