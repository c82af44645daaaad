"""Scenario comparison: a round's stored inputs solved under variants, side by side, nothing stored.

For the scheme board: what would dropping the targets, raising a share or
changing the objective do to the number placed, first choices, target
attainment, stability and the relative likelihoods? Each variant of round N's
stored inputs is solved (``solving``: in this process and, where the machine
has the cores, in worker processes that are sent the round's problem once) and
its answer measured here by the very code of the round's own audit
(``audit.report.build_audit``) on the round's records with the variant's
placements put in — arrays and records in memory, the database is read once.
The base column *is* the round's own audit: the round is not solved again.
No round is stored; the comparison's writing is logged like an audit.

Result: a JSON-ready dict, schema ``placement-scenario/1`` (``docs/scenario.md``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from .. import __version__
from ..audit.editions import Edition
from ..audit.load import CHARACTERISTICS, CandidateFacts, RoundFacts, facts_from_record
from ..audit.metrics import choice_bin, choice_bins, price_of_fairness
from ..audit.price import not_applicable
from ..audit.report import build_audit
from ..cohorts import CohortRef
from ..errors import RoundError
from ..rounds import RoundOptions
from ..solver.problem import Problem, Solution
from ..totals import SOLVED, RoundRecord, chosen_pairs, read_round, target_status, totals_of, unassessed_target
from .solving import Answer, Job, Solvers, processes
from .variants import Applied, Variant, apply_variant, parse_variant

SCHEMA = "placement-scenario/1"
BASE_LABEL = "as solved (round {n})"


def compare_scenarios(
    engine: Engine,
    base: int,
    variants: Sequence[str],
    *,
    edition: Edition | str = Edition.INTERNAL,
    allow_quota: bool = False,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    cohort: CohortRef | str | None = None,
) -> dict[str, Any]:
    """Round ``base`` of ``cohort`` as solved and under each variant, as the JSON-ready comparison.

    ``workers``: processes to solve in, this one included (default: one per
    core, at most one per variant; 1 solves one after another in this process).
    """
    edition = Edition.parse(edition)
    say = progress or (lambda _msg: None)
    parsed = [parse_variant(v) for v in variants]  # every variant checked before anything is solved
    if not parsed:
        raise RoundError("No --variant was given.", 'Give one or more, e.g. --variant "no targets".')
    to_solve = [v for v in parsed if not v.is_base]
    n_proc = processes(len(to_solve), workers)
    # The workers start now: their start-up (the solver's libraries) overlaps reading the round.
    with Solvers(n_proc - 1) as solvers:
        record, facts, applied = _read(engine, base, cohort, parsed, allow_quota)
        encoded = record.inputs
        kept = np.asarray(chosen_pairs(encoded, record.placed), np.int64)
        jobs, labels = [], {}
        for i, (v, a) in enumerate(zip(parsed, applied)):
            if a is None:  # "as solved": the base column is the round itself
                continue
            own_tie_break = any(c.option == "tie_break" for c in v.changes)
            jobs.append(
                Job(
                    i,
                    a.problem.targets,
                    RoundOptions.stored(a.options).solver_options(),
                    None if own_tie_break else kept,
                )
            )
            labels[i] = (v, a)
        time_limit = float(record.options.get("time_limit", 60.0))
        say(
            f"Solving {len(jobs)} variant(s) of round {base}'s stored inputs"
            + (f" in {n_proc} processes" if n_proc > 1 else "")
            + f" (time limit {time_limit:g} s each)"
        )
        started = time.perf_counter()
        # The likely slowest first (``Variant.effort``), so that none is left running alone at the end; each
        # variant in a worker gets the solver's own limit and a grace past it, as a round does.
        jobs.sort(key=lambda job: -parsed[job.index].effort)
        solvers.submit(encoded.problem, jobs, limit=time_limit * 1.5 + 30)
        # While the workers solve: the round's own audit (its figures are the base column's) and the page's
        # charts' library; then this process takes variants too.
        base_audit = build_audit(facts, not_applicable(facts, "—"), edition=edition)
        if n_proc > 1:
            import matplotlib.figure  # noqa: F401

        def measure(answer: Answer) -> dict[str, Any]:
            v, a = labels[answer.index]
            col = _variant_column(v.label, [c.words() for c in v.changes], record, facts, a, answer.solution, edition)
            col["solve_seconds"] = round(answer.seconds, 3)
            say(f"  “{v.label}”: {col['status']}, {col['summary']['placed']} placed, {answer.seconds:.1f} s")
            return col

        variant_columns = solvers.finish(measure)
        solve_seconds = time.perf_counter() - started

    base_column = _column(BASE_LABEL.format(n=base), [], facts, base_audit, record, None, record, edition)
    base_column["base"] = True
    columns = [base_column, *variant_columns]  # in the order given
    _add_prices(columns, edition)
    return {
        "schema": SCHEMA,
        "generator": f"placement {__version__}",
        "edition": edition.value,
        "stamp": edition.stamp,
        "base_round": base,
        "round_status": record.status,
        "options": record.options,
        "input_hash": record.input_hash,
        "solve_seconds": round(solve_seconds, 3),
        "variants": columns,
        "notes": _notes(edition),
    }


def _read(
    engine: Engine, base: int, cohort: CohortRef | str | None, parsed: Sequence[Variant], allow_quota: bool
) -> tuple[RoundRecord, RoundFacts, list[Applied | None]]:
    """Round ``base`` read once (its record, the audit's facts, its stored inputs decoded), and each variant
    applied to its inputs (None: the round as solved). Errors say why a round cannot be compared."""
    from ..db.models import Host
    from ..db.session import transaction

    with transaction(engine) as session:
        record = read_round(session, base, cohort)
        facts = facts_from_record(session, record)
        org_type = dict(session.execute(select(Host.host_id, Host.org_type)).all())
    encoded = record.inputs
    if encoded is None:
        raise RoundError(
            f"Round {base}'s inputs were purged, so it cannot be re-solved under variants.",
            "Compare scenarios of a round whose inputs are kept (see `placement round list`).",
        )
    if record.status not in SOLVED:
        raise RoundError(
            f"Round {base} has no placements (solver status {record.status}) to compare against.",
            "Fix the inputs, solve again and compare scenarios of that round.",
        )
    attrs = {c.candidate_id: c.attributes for c in facts.candidates}
    unknown = dict.fromkeys(CHARACTERISTICS, "not_known")
    attributes = [attrs.get(cid, unknown) for cid in encoded.candidate_ids]
    org_types = [org_type.get(hid, "") for hid in encoded.host_ids]
    applied = [
        None
        if v.is_base
        else apply_variant(
            v,
            encoded.problem,
            record.options,
            attributes=attributes,
            host_org_types=org_types,
            acknowledged=facts.hard_protected_targets,
            allow_quota=allow_quota,
        )
        for v in parsed
    ]
    return record, facts, applied


def _variant_column(
    label: str,
    changes: list[str],
    record: RoundRecord,
    facts: RoundFacts,
    a: Applied,
    solution: Solution,
    edition: Edition,
) -> dict[str, Any]:
    """A variant's column: its answer put into the round's records and measured by the audit's code."""
    v_record, v_facts = _variant_records(record, facts, a, solution)
    audit = build_audit(v_facts, not_applicable(v_facts, "—"), edition=edition)
    col = _column(label, changes, v_facts, audit, v_record, solution, record, edition)
    col["base_targets"] = _base_targets(record.inputs.problem, solution)
    return col


def _variant_records(
    record: RoundRecord, facts: RoundFacts, a: Applied, solution: Solution
) -> tuple[RoundRecord, RoundFacts]:
    """The round's records as they would be with the variant's answer (nothing stored)."""
    from ..rounds import _target_summaries

    encoded = record.inputs
    placed = encoded.decode(solution) if solution.status in SOLVED else {}
    targets = (
        _target_summaries(solution, a.problem)
        if solution.status in SOLVED
        else [unassessed_target(t) for t in a.problem.targets]
    )
    if a.options.get("stability", "none") != "none" or solution.status not in SOLVED:
        blocking = [(encoded.candidate_ids[c], encoded.host_ids[h]) for c, h in solution.blocking_pairs]
    else:
        from ..solver.stability import blocking_pairs

        pairs = blocking_pairs(a.problem, np.asarray(solution.chosen, np.int64))
        blocking = [(encoded.candidate_ids[c], encoded.host_ids[h]) for c, h in pairs]
    v_record = replace(
        record,
        status=solution.status,
        objective=dict(solution.objective),
        bound=dict(solution.bound),
        options=dict(a.options),
        placed=placed,
        targets=targets,
        targets_assessed=solution.status in SOLVED,
        blocking_pairs=blocking,
    )
    candidates = [
        CandidateFacts(
            candidate_id=c.candidate_id,
            attributes=c.attributes,
            eligible=c.eligible,
            host_id=placed[c.candidate_id][0] if c.candidate_id in placed else None,
            choice=v_record.choice(c.candidate_id),
        )
        for c in facts.candidates
    ]
    v_facts = replace(
        facts,
        record=v_record,
        method=solution.method,
        candidates=candidates,
        soft_violations=list(solution.soft_violations),
        diagnosis=list(solution.diagnosis),
        hard_protected_targets=list(a.quotas),
        totals=totals_of(v_record),
    )
    return v_record, v_facts


def _column(
    label: str,
    changes: list[str],
    facts: RoundFacts,
    audit: dict[str, Any],
    record: RoundRecord,
    solution: Solution | None,
    base: RoundRecord,
    edition: Edition,
) -> dict[str, Any]:
    """One variant's figures, taken from its audit."""
    rls = []
    for ch in audit["characteristics"]:
        for rl in ch["relative_likelihoods"]:
            rls.append(
                {
                    "characteristic": ch["name"],
                    "label": ch["label"],
                    "outcome": rl["outcome"],
                    "reference_label": rl["reference_label"],
                    "comparison_label": rl["comparison_label"],
                    "value": rl["value"],
                    "infinite": rl["infinite"],
                    "verdict": rl["verdict"],
                }
            )
    if not edition.exact:  # the publication edition names flagged comparisons per characteristic instead
        named = {(f["characteristic"], f["metric"]): f["verdict"] for f in audit["flags"]}
        for r in rls:
            r["verdict"] = named.get((r["characteristic"], f"relative_likelihood_{r['outcome']}"))
    choices = [c.choice for c in facts.candidates if c.choice is not None]
    col: dict[str, Any] = {
        "label": label,
        "base": False,
        "changes": changes,
        "status": record.status,
        "solved": record.status in SOLVED,  # False: the solver found no placements (the figures are not shown)
        "method": facts.method,
        "options": {k: record.options.get(k) for k in ("objective", "stability", "tie_break")},
        "objective": record.objective,
        "summary": audit["summary"],
        "headline": audit["headline"],
        "choices": dict(sorted(Counter(choices).items())),  # n-th choice -> how many, for the rank profile
        "rank_cost": sum(choices),
        "mean_choice": sum(choices) / len(choices) if choices else None,
        "targets": [
            {
                **{k: t[k] for k in ("name", "scope", "status", "hard")},
                **{k: _json_share(t[k]) for k in ("min_share", "max_share")},
            }
            for t in audit["targets"]
        ],
        "base_targets": None,
        "relative_likelihoods": rls,
        "flags": audit["flags"],
        "moved": None,
        "moved_summary": None,
        "price_against_base": None,
        "solve_seconds": None,
    }
    if solution is not None and record.status in SOLVED:
        moved = _moved(base, record)
        col["moved_summary"] = {
            "moved": len(moved),
            "better": sum(1 for m in moved if m["change"] is not None and m["change"] < 0),
            "worse": sum(1 for m in moved if m["change"] is not None and m["change"] > 0),
            "same_choice_other_host": sum(1 for m in moved if m["change"] == 0),
            "placed_only_in_variant": sum(1 for m in moved if m["choice_in_base"] is None),
            "placed_only_in_base": sum(1 for m in moved if m["choice_in_variant"] is None),
        }
        col["moved"] = moved if edition.exact else None
    return col


def _json_share(share: Any) -> float | None:
    """A share for JSON: a number (a variant's shares are exact fractions, ``shares.exact_share``)."""
    return None if share is None else float(share)


def _moved(base: RoundRecord, variant: RoundRecord) -> list[dict[str, Any]]:
    """Candidates the variant places differently: ids and n-th choices only (change = variant − base)."""
    out = []
    for cid in sorted(set(base.placed) | set(variant.placed)):
        h1 = base.placed.get(cid, (None, 0))[0]
        h2 = variant.placed.get(cid, (None, 0))[0]
        if h1 == h2:
            continue
        c1, c2 = base.choice(cid), variant.choice(cid)
        out.append(
            {
                "candidate_id": cid,
                "choice_in_base": c1,
                "choice_in_variant": c2,
                "change": c2 - c1 if c1 is not None and c2 is not None else None,
            }
        )
    return out


def _base_targets(problem: Problem, solution: Solution) -> dict[str, int]:
    """The round's own targets, met or missed by the variant's placements (the yardstick of the trade-off)."""
    from ..solver.checks import target_results

    if solution.status not in SOLVED:
        return {"scopes": len(problem.targets), "met": 0, "missed": 0, "not_applicable": 0}
    results = target_results(problem, np.asarray(solution.chosen, np.int64))
    statuses = [target_status({"placed_in_scope": r.placed_in_scope, "met": r.met}) for r in results]
    return {
        "scopes": len(results),
        "met": statuses.count("met"),
        "missed": statuses.count("missed"),
        "not_applicable": statuses.count("empty_scope"),
    }


def _add_prices(columns: list[dict[str, Any]], edition: Edition) -> None:
    """Each variant against the base, as the price of fairness is: 0 = no worse, 0.05 = 5% worse, < 0 better."""
    base = columns[0]
    base["base_targets"] = {
        "scopes": base["summary"]["target_scopes"],
        "met": base["summary"]["targets_met"],
        "missed": base["summary"]["targets_missed"],
        "not_applicable": base["summary"]["targets_not_applicable"],
    }
    for col in columns[1:]:
        if col["status"] not in SOLVED:
            continue
        same_count = col["summary"]["placed"] == base["summary"]["placed"]
        col["price_against_base"] = {
            "placed": price_of_fairness(base["summary"]["placed"], col["summary"]["placed"], maximise=True),
            "rank_cost": price_of_fairness(base["rank_cost"], col["rank_cost"], maximise=False) if same_count else None,
            "rank_costs_comparable": same_count,
        }


def rank_profile(columns: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[int]]]:
    """Common rank-profile bins across the variants, and each variant's counts in them (unplaced last)."""
    top = max((max(c["choices"], default=1) for c in columns), default=1)
    bins = choice_bins(int(top))
    rows = []
    for c in columns:
        counts: Counter[str] = Counter()
        for choice, n in c["choices"].items():
            counts[choice_bin(int(choice), bins)] += n
        unplaced = c["summary"]["eligible"] - c["summary"]["placed"]
        rows.append([counts[b] for b in bins] + [unplaced])
    return bins, rows


def _notes(edition: Edition) -> list[str]:
    notes = [
        "Each variant is the round's stored inputs solved again with the changes listed; nothing is stored and no "
        "offer changes. The first column is the round as solved, with the figures of its own audit.",
        "Target attainment is measured against the round's own targets in every column, so variants that drop "
        "or change targets can be compared on the same yardstick; each variant's own targets are listed too.",
        "Price against the base: (placed in the base − placed in the variant) ÷ placed in the base, and for the "
        "rank cost (sum of choices obtained) the relative increase; 0 means no worse, 0.05 means 5% worse, "
        "negative means better.",
    ]
    if edition.exact:
        notes.append(
            "Internal edition: it lists the candidates who would move, by id. For the people entitled to "
            "the individual records only."
        )
    else:
        notes.append(
            "Publication edition: relative likelihoods are worked out from disclosure-controlled counts and "
            "flags are named without numbers; which candidates would move is in the internal edition."
        )
    return notes
