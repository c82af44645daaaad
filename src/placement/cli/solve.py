"""`placement solve`: the next round, as a proposal."""

from __future__ import annotations

import json

import click

from ..masking import WITHHELD, diagnosis_line, is_special, withhold_scope
from ..solver.problem import OBJECTIVES, STABILITIES, TIE_BREAKS
from . import AppContext, cli, cohort_option, handle_errors, params, pass_app, tables
from .tables import esc


def _share_rule(t: dict) -> str:
    parts = []
    if t.get("min_share") is not None:
        parts.append(f">= {t['min_share']:.0%}")
    if t.get("max_share") is not None:
        parts.append(f"<= {t['max_share']:.0%}")
    return " and ".join(parts) + (" (hard)" if t["hard"] else " (soft)")


def targets_table(targets: list[dict]):
    """One row per target scope: the rule, how many were placed there and how many of them count."""
    from .tables import table, text

    t = table(
        "Targets",
        ("target / scope", {}),
        ("rule", {"no_wrap": True}),
        ("counted / placed", {"justify": "right", "no_wrap": True}),
        ("met", {"min_width": 3}),
    )
    previous = None
    withheld_any = False
    for tg in targets:
        if tg["name"] != previous:
            if previous is not None:
                t.add_section()
            t.add_row(f"[bold]{text(tg['name'])}[/bold]", _share_rule(tg), "", "")
            previous = tg["name"]
        placed = tg["placed_in_scope"]
        scope = tg["scope"].replace("region=", "").replace("org_type=", "").replace("host=", "host ")
        if withhold_scope(tg.get("attribute"), tg["achieved"], placed):
            # Ethnicity or disability with 1-7 members or non-members here: the figures would single people out.
            withheld_any = True
            t.add_row(f"  {text(scope)}", "", f"{WITHHELD} / {placed}", WITHHELD)
            continue
        share = f" ({tg['achieved'] / placed:.0%})" if placed else ""
        t.add_row(
            f"  {text(scope)}",
            "",
            f"{tg['achieved']} / {placed}{share}",
            "[green]yes[/green]" if tg["met"] else f"[red]no[/red], short by {_candidates(tg['shortfall'])}",
        )
    if withheld_any:
        t.caption = (
            "* withheld: 1-7 people in the scope counted (or not counted) by a target on ethnicity or "
            "disability; the internal audit edition (`placement audit N`) has the figures."
        )
        t.caption_justify = "left"
    return t


def _candidates(shortfall: float) -> str:
    """A target's shortfall in its unit: further candidates of the value the scope would have needed."""
    return f"{shortfall:.2f} of a candidate" if shortfall < 1 else f"{shortfall:.2f} candidates"


def objective_words(result) -> str:
    """The objective's levels named: places first, then the rank cost and what it is made of."""
    obj = result.objective
    parts = []
    if "placed" in obj:
        parts.append(f"placed {obj['placed']:g}")
    if "rank_cost" in obj:
        penalty = obj["rank_cost"] - result.rank_sum
        if abs(penalty) > 1e-9:
            parts.append(
                f"rank cost {obj['rank_cost']:g} (total rank {result.rank_sum} + soft-target and "
                f"lower-quota penalties {penalty:g})"
            )
        else:
            parts.append(f"rank cost {obj['rank_cost']:g} (the total rank; no penalties)")
    parts += [f"{k.replace('_', ' ')} {v:g}" for k, v in obj.items() if k not in ("placed", "rank_cost")]
    return "; ".join(parts)


SHOWN_BLOCKING_PAIRS = 20


def special_target_names(targets: list[dict]) -> list[str]:
    return [t["name"] for t in targets if is_special(t.get("attribute"))]


def print_round_summary(result, console=None) -> None:
    """The round summary a coordinator reads after a solve (also used by the demo)."""
    from .tables import console as make_console
    from .tables import text

    console = console or make_console()
    gap = ""
    if result.status == "FEASIBLE":
        gap = "  (not proven optimal: bound " + ", ".join(f"{k} {v:g}" for k, v in result.bound.items()) + ")"
    if not result.stored:
        console.print(
            f"[bold]No round stored[/bold]: {result.status} by {result.method} in {result.solve_seconds:.2f} s"
        )
        if result.status == "INFEASIBLE":
            console.print("[red]No placement can satisfy every hard constraint together:[/red]")
            for line in result.diagnosis or ["(no smaller conflict found)"]:
                console.print(f"  - {text(diagnosis_line(line, special_target_names(result.targets)))}")
        else:
            console.print(
                "[red]The solver found no placement within the time limit.[/red] "
                "Run `placement solve` again with a larger --time-limit, or relax hard targets."
            )
        console.print("`placement round list` is unchanged; the attempt is in `placement log --action solve`.")
        return
    of = f" of cohort {esc(result.cohort)}" if getattr(result, "cohort", "") not in ("", "default") else ""
    console.print(
        f"[bold]Round {result.round}[/bold]{of} proposal: {result.status} by {result.method} in {result.solve_seconds:.2f} s{gap}"
    )
    if result.engines:
        console.print("Exact engine: " + ", ".join(f"{step} by {eng}" for step, eng in result.engines.items()))
    if result.superseded:
        console.print(f"It supersedes the unapproved proposal {', '.join(map(str, result.superseded))}.")
    console.print(
        f"Placed {result.placed}, unplaced {result.unplaced}; total rank {result.rank_sum}; "
        f"{result.dropped} preferences were ineligible (see `placement round show {result.round}` "
        f"and `placement candidate show CANDIDATE`)."
    )
    if result.objective:
        console.print("Objective: " + objective_words(result))
    if result.targets:
        console.print(targets_table(result.targets))
    if result.blocking_pairs:
        shown = result.blocking_pairs[:SHOWN_BLOCKING_PAIRS]
        more = len(result.blocking_pairs) - len(shown)
        console.print(
            f"{len(result.blocking_pairs)} blocking pair(s) (candidate, host): "
            + ", ".join(f"({text(c)}, {text(h)})" for c, h in shown)
            + (f", and {more} more (all in `placement round show {result.round} --json`)" if more else "")
        )
    if result.tie_break:
        console.print(f"Ties between equally good placements: {tie_words(result.tie_break)}")
    for note in result.notes:
        console.print(f"[dim]note: {text(note)}[/dim]")


def tie_words(tie_break: str) -> str:
    """The solver's tie-break report ("host_order: optimal") in a coordinator's words."""
    from ..solver import TieBreak

    tie = TieBreak.parse(tie_break)
    if tie.outcome is None:
        return "left to the solver (--tie-break none)"
    if tie.settled:
        return "settled by host order: candidates hosts rank higher come first (proven)"
    return f"not settled ({tie.outcome.value}); the solver's own choice among them stands"


@cli.command("solve")
@click.option(
    "--objective",
    type=click.Choice(OBJECTIVES),
    default="rank-sum",
    show_default=True,
    help="After placing as many as possible: least total rank, most first choices, or fewest worst choices.",
)
@click.option(
    "--stability",
    type=click.Choice(STABILITIES),
    default="none",
    show_default=True,
    help="Stability against hosts' orders: ignore, require (no blocking pairs), or prefer (fewest blocking pairs).",
)
@click.option(
    "--hard-min-placements/--soft-min-placements",
    default=False,
    show_default=True,
    help="Treat hosts' min_placements as hard constraints (default: soft, penalised).",
)
@click.option(
    "--min-placement-weight",
    type=params.WEIGHT,
    default=10.0,
    show_default=True,
    help="Penalty per unfilled needed place when soft.",
)
@click.option(
    "--allow-quota",
    is_flag=True,
    help="Acknowledge hard share targets on protected characteristics (Equality Act 2010: see docs).",
)
@click.option(
    "--decline-policy",
    type=click.Choice(["host", "scheme"]),
    default="host",
    show_default=True,
    help="A declined offer removes the candidate from that host only, or from the scheme.",
)
@click.option(
    "--tie-break",
    type=click.Choice(TIE_BREAKS),
    default="host-order",
    show_default=True,
    help="Among equally good placements: places go to the candidates hosts rank higher "
    "(host rankings, else assessment score), or to the solver's own pick.",
)
@click.option("--time-limit", type=params.SECONDS, default=60.0, show_default=True, help="Seconds the solver may take.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "cp-sat", "highs"]),
    default="auto",
    show_default=True,
    help="Branch-and-bound for the exact steps: auto picks the faster per step (HiGHS for the reduced "
    "models, CP-SAT for stability and large weights); the round records which one solved what.",
)
@click.option("--workers", type=params.WORKERS, default=2, show_default=True, help="Solver threads.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a machine-readable summary instead of tables (the same summary, also when no round is stored).",
)
@cohort_option
@pass_app
@handle_errors
def solve_cmd(
    app: AppContext,
    objective,
    stability,
    hard_min_placements,
    min_placement_weight,
    allow_quota,
    decline_policy,
    tie_break,
    time_limit,
    engine,
    workers,
    as_json,
) -> None:
    """Solve the scheme as it stands and store the result as the next round (a proposal).

    Nothing is offered until a named person approves the round with
    `placement round approve N --by NAME`. A solve with no placement to
    propose stores no round: it prints the diagnosis and exits 3 when no
    placement meets every hard constraint, 4 when the solver found none
    within the time limit. Each solve is a new proposal (replacing an
    unapproved one); to see a stored round again use `placement round show N`.
    """
    from ..errors import EXIT_INFEASIBLE, EXIT_NO_ANSWER
    from ..rounds import RoundOptions, solve_round

    opts = RoundOptions(
        objective=objective,
        stability=stability,
        hard_min_placements=hard_min_placements,
        min_placement_weight=min_placement_weight,
        time_limit=time_limit,
        workers=workers,
        allow_quota=allow_quota,
        decline_policy=decline_policy,
        tie_break=tie_break,
        engine=engine,
    )
    db = app.engine()
    err = tables.console(stderr=True)
    if as_json:
        result = solve_round(db, opts, cohort=app.cohort)
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        with err.status("Solving...") as status:
            result = solve_round(db, opts, progress=lambda msg: status.update(esc(msg)), cohort=app.cohort)
        print_round_summary(result)
        if result.stored:
            named = f" --cohort {result.cohort}" if app.cohort else ""
            click.echo(
                f"Review it (`placement round show {result.round}{named}`, `placement audit {result.round}{named}`),"
                f' then `placement round approve {result.round}{named} --by "Your Name"`.'
            )
    if not result.stored:
        click.get_current_context().exit(EXIT_INFEASIBLE if result.status == "INFEASIBLE" else EXIT_NO_ANSWER)
