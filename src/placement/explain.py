"""Why a candidate was placed where they were, in words a coordinator can read to them.

For each host the candidate ranked above the one they got, the answer is
either a rule (ineligible, and which rule - the encoder's own reason) or a
counterfactual: the round is re-solved with that placement forced, and the
change in the objective says which level the model was protecting: "placing
the candidate there would have left one more candidate unplaced", "would have
moved other candidates 3 places down their lists in all, for the candidate's
gain of 1", or "would have missed the target women-per-region in North West"
(targets on ethnicity or disability are not named, nor are other candidates: every line
goes through ``masking.for_candidate`` at the end of :func:`explain`).
The candidate is always "the candidate" (the coordinator reads this, and may
read it to them). When the alternative
is equally good on every level, the tie-break decided, and with the default
host-order tie-break that has a merit answer: the hosts would have had
candidates they rank lower. Other candidates are never named to the
candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import Engine, select

from .cohorts import CohortRef, resolve
from .db.models import Candidate, Host, Placement, Preference, Round
from .db.session import transaction
from .errors import NotFound
from .lookup import candidate as find_candidate
from .masking import SPECIAL_TARGET_WORDS, for_candidate, is_special
from .resolves import stored_inputs
from .rounds import RoundOptions, latest_approved
from .solver.constraints import family
from .solver.problem import TieBreak, TieOutcome


@dataclass
class HostExplanation:
    host_id: str
    host_name: str
    rank: int
    verdict: str  # "ineligible" | "full" | "placed" | "not better"
    reason: str  # one sentence, ending with a full stop


@dataclass
class Explanation:
    candidate_id: str
    round: int
    placed_at: str | None
    placed_rank: int | None
    offer: str | None = None  # the placement's offer state in that round (proposed, offered, accepted, ...)
    lines: list[HostExplanation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        out = []
        if self.placed_at:
            out.append(
                f"In round {self.round}, {self.candidate_id} was placed at {self.placed_at} (their choice "
                f"ranked {self.placed_rank}); the offer is {self.offer}."
            )
        else:
            out.append(f"In round {self.round}, {self.candidate_id} was not placed.")
        for ln in self.lines:
            out.append(f"- Choice {ln.rank}, {ln.host_name} ({ln.host_id}): {ln.reason}")
        out.extend(self.notes)
        return "\n".join(out)


def sentence(text: str) -> str:
    """One sentence: a capital letter is left as it is, and exactly one full stop at the end."""
    text = text.strip().rstrip(".")
    return text + "."


def _held_words(problem, host: int, candidate: int) -> str | None:
    """Why a host had no place to give: all its places held by offers and agreed pairs, counted by state."""
    held: dict[str, int] = {}
    for i, pair in enumerate(np.asarray(problem.fixed).tolist()):
        if int(problem.pair_host[pair]) == host and int(problem.pair_cand[pair]) != candidate:
            state = problem.fixed_state(i)
            held[state] = held.get(state, 0) + 1
    for pair in np.asarray(problem.required).tolist()[:-1]:  # the last one is the what-if itself
        if int(problem.pair_host[pair]) == host and int(problem.pair_cand[pair]) != candidate:
            held["required"] = held.get("required", 0) + 1
    capacity = int(problem.capacity[host])
    if sum(held.values()) < capacity:
        return None
    words = {
        "accepted": "accepted in an earlier round",
        "offered": "offered in an earlier round and not yet answered",
        "required": "agreed in advance (required pairs)",
        "held": "held from an earlier round",
    }
    parts = [f"{n} {words.get(state, state)}" for state, n in sorted(held.items())]
    return (
        f"all {capacity} of its place{'s' if capacity != 1 else ''} are already taken by other candidates' "
        f"placements ({', '.join(parts)})"
    )


def _own_hold(problem, candidate: int) -> str | None:
    """The candidate's own placement that cannot move: an offer held from an earlier round, or a required pair."""
    for i, pair in enumerate(np.asarray(problem.fixed).tolist()):
        if int(problem.pair_cand[pair]) == candidate:
            state = problem.fixed_state(i)
            return (
                f"the candidate's own offer at {problem.host_label(int(problem.pair_host[pair]))} is {state} "
                f"from an earlier round, and a held offer does not move"
            )
    for pair in np.asarray(problem.required).tolist()[:-1]:
        if int(problem.pair_cand[pair]) == candidate:
            return (
                f"the candidate is required at {problem.host_label(int(problem.pair_host[pair]))} "
                f"(pairs.csv), and a required pair does not move"
            )
    return None


_KIND_WORDS = {
    "link": "the candidate's link with another candidate (both placed in one region, or neither)",
    "min_placements": "a host's hard minimum number of graduates",
    "stability": "strict stability (no candidate and host who would both rather be together)",
    "fixed": "the places already offered or accepted in an earlier round",
    "required": "the pairs agreed in advance (pairs.csv)",
}


def _impossible(problem, forced_problem, options, host: int, candidate: int) -> str:
    """Why forcing the placement breaks a hard rule, in words that name no other candidate."""
    from .domain import SPECIAL_CATEGORY_ATTRIBUTES
    from .solver.diagnose import find_conflict

    why = _own_hold(problem, candidate) or _held_words(forced_problem, host, candidate)
    if why:
        return f"placing the candidate there is impossible: {why}"
    conflict = find_conflict(forced_problem, options, time_limit=min(10.0, options.time_limit))
    rules: list[str] = []
    for kind, index in conflict.groups:
        if kind == "target":
            t = forced_problem.targets[index]
            words = (
                "a hard diversity target the scheme set"
                if t.attribute in SPECIAL_CATEGORY_ATTRIBUTES
                else f"the hard target {t.name} ({t.scope})"
            )
        elif kind == "required" and index == len(forced_problem.required) - 1:
            continue  # the what-if placement itself
        else:
            words = _KIND_WORDS.get(kind, "a hard rule of the scheme")
        if words not in rules:
            rules.append(words)
    if not rules:
        return "placing the candidate there is impossible without breaking a hard rule of the scheme"
    return "placing the candidate there is impossible without breaking " + " and ".join(rules)


def _describe_change(problem, base, forced, *, host: int | None = None, gain: int | None = None) -> str:
    """Plain words for how forcing a placement changes the lexicographic objective.

    Targets are named only when their attribute is not special category data:
    "placing the candidate there would miss the minority-ethnic target" would
    tell the coordinator (and anyone reading over their shoulder) how the
    candidate was counted. Such targets are described as "a diversity target
    the scheme set". ``gain`` is how many places up their own list the
    candidate would have moved (None when they were not placed).
    """
    if forced.status not in ("OPTIMAL", "FEASIBLE"):
        return "the solver could not evaluate this alternative within its time limit"
    lost = base.objective.get("placed", 0) - forced.objective.get("placed", 0)
    if lost > 0:
        return (
            f"its places went to other candidates; placing the candidate there would have left {int(lost)} more "
            f"candidate{'s' if lost != 1 else ''} without any placement (the first priority is to place as many people as possible)"
        )
    missed = _newly_missed(problem, base, forced, host)
    if missed:
        return "placing the candidate there would have missed " + " and ".join(missed[:2])
    extra = forced.rank_sum - base.rank_sum
    cost = forced.objective.get("rank_cost", 0) - base.objective.get("rank_cost", 0)
    if extra <= 0 and cost <= 1e-9 and forced.objective != base.objective:
        # rank-maximal / generous: the rank profile, not the rank sum, decided.
        return (
            "its places went to other candidates; placing the candidate there would have given others a worse "
            "spread of choices by the scheme's rule (most first choices, or fewest low choices), so the overall "
            "result was better this way"
        )
    if extra > 0 or cost > 1e-9:
        if gain is not None and extra > 0:
            others = extra + gain
            return (
                f"its places went to other candidates; placing the candidate there would have moved others "
                f"{_places(others)} down their lists in all, for the candidate's gain of {_places(gain)}, so the "
                f"overall result was better this way"
            )
        if extra > 0:
            return (
                f"its places went to other candidates; placing the candidate there would have made the total of "
                f"everyone's choice ranks {extra} higher (worse), so the overall result was better this way"
            )
        return (
            "its places went to other candidates; placing the candidate there would have cost more in soft "
            "targets or hosts' minimum numbers than it gained, so the overall result was better this way"
        )
    # Equally good on every level: the tie-break decided.
    if base.tie_break == forced.tie_break == TieBreak("host_order", TieOutcome.OPTIMAL):
        from .solver.levels import host_order_cost

        cost = host_order_cost(problem)
        if int(cost[forced.chosen].sum()) > int(cost[base.chosen].sum()):
            return (
                "placing the candidate there would have been equally good by the scheme's measures; where "
                "placements are equally good, candidates the hosts rank higher (the host's own ranking, else the "
                "assessment score) come first, for places and for their better choices, and that put someone "
                "the host ranks higher there"
            )
    return "an equally good alternative existed; the solver's fixed tie-break chose this placement"


def _places(n: int) -> str:
    return f"{n} place" if n == 1 else f"{n} places"


def _newly_missed(problem, base, forced, host: int | None = None) -> list[str]:
    """The soft rules (targets, hosts' lower quotas, ...) the forced placement misses by more than the round did.

    Each is named by its constraint family (``Family.missed``), which also
    decides what may not be named to a candidate; a rule away from ``host`` is
    missed through the other candidates the placement would have moved.
    """

    def short(sol) -> dict[tuple[str, int], float]:
        out: dict[tuple[str, int], float] = {}
        for s in sol.shortfalls:
            out[(s.family, s.index)] = out.get((s.family, s.index), 0.0) + s.short
        return out

    before, after = short(base), short(forced)
    out: list[str] = []
    for (name, index), amount in after.items():
        if amount > before.get((name, index), 0.0) + 1e-9:
            words = family(name).missed(problem, index, host)
            if words not in out:
                out.append(words)
    return out


def default_round(session, cand: Candidate, cohort: CohortRef) -> int:
    """The round of the candidate's own offer: where their current offer was made (carried offers go back to
    the round that first made them); else the latest approved round; else the latest round."""
    rows = session.execute(
        select(Round.number, Placement.host_pk)
        .join(Placement, Placement.round_id == Round.id)
        .where(Round.approved_at.is_not(None), Placement.candidate_pk == cand.id)
        .order_by(Round.number.desc())
    ).all()
    approved = [
        n
        for (n,) in session.execute(
            select(Round.number)
            .where(Round.cohort_id == cohort.id, Round.approved_at.is_not(None))
            .order_by(Round.number.desc())
        ).all()
    ]
    if rows:
        number, host = rows[0]
        held = dict(rows)
        # Walk back through consecutive approved rounds that carried the same offer.
        for n in approved[approved.index(number) + 1 :]:
            if held.get(n) != host:
                break
            number = n
        return number
    latest = latest_approved(session, cohort) or session.scalar(
        select(Round).where(Round.cohort_id == cohort.id).order_by(Round.number.desc()).limit(1)
    )
    if latest is None:
        raise NotFound(f"Cohort {cohort.name} has no rounds yet.", "Run `placement solve` first.")
    return latest.number


def explain(
    engine: Engine,
    candidate_id: str,
    number: int | None = None,
    *,
    time_limit: float = 20.0,
    cohort: CohortRef | str | None = None,
) -> Explanation:
    from .solver import solve

    with transaction(engine) as s:
        scope = resolve(s, cohort)
        cand = find_candidate(s, candidate_id, scope)
        if number is None:
            number = default_round(s, cand, scope)
        rnd, encoded = stored_inputs(s, number, scope)
        opts = RoundOptions.stored(rnd.options)
        prefs = s.execute(
            select(Host.host_id, Host.name, Preference.rank)
            .join(Preference, Preference.host_pk == Host.id)
            .where(Preference.candidate_pk == cand.id)
            .order_by(Preference.rank)
        ).all()
        mine = s.execute(
            select(Host.host_id, Placement.rank, Placement.offer_status)
            .join(Placement, Placement.host_pk == Host.id)
            .where(Placement.round_id == rnd.id, Placement.candidate_pk == cand.id)
        ).first()
    placed_at, placed_rank, offer = (mine[0], mine[1], mine[2]) if mine else (None, None, None)
    result = Explanation(candidate_id, number, placed_at, placed_rank, offer)
    if candidate_id not in encoded.candidate_ids:
        result.notes.append("They were not in this round's pool (withdrawn, or added after the round).")
        return result

    dropped = {d.host_id: d.reason for d in encoded.dropped if d.candidate_id == candidate_id}
    pair_of = encoded.pair_index()
    host_index = {h: i for i, h in enumerate(encoded.host_ids)}
    c_index = encoded.candidate_ids.index(candidate_id)
    solver_opts = replace(opts.solver_options(), time_limit=time_limit)
    base = None
    for host_id, host_name, rank in prefs:
        if placed_rank is not None and rank >= placed_rank:
            break
        if host_id in dropped:
            result.lines.append(
                HostExplanation(host_id, host_name, rank, "ineligible", sentence(f"not eligible: {dropped[host_id]}"))
            )
            continue
        p = pair_of.get((candidate_id, host_id))
        if p is None:
            result.lines.append(
                HostExplanation(
                    host_id, host_name, rank, "ineligible", "not part of this round (the host was added later)."
                )
            )
            continue
        if base is None:
            base = solve(encoded.problem, solver_opts)
        forced_problem = replace(
            encoded.problem, required=np.append(encoded.problem.required, np.int32(p)).astype(np.int32)
        )
        forced = solve(forced_problem, solver_opts)
        h = host_index[host_id]
        if forced.status == "INFEASIBLE":
            reason = _impossible(encoded.problem, forced_problem, solver_opts, h, c_index)
        else:
            # In the solver's ranks (gaps in the candidate's list removed), the same ranks as the total above.
            mine_pair = pair_of.get((candidate_id, placed_at)) if placed_at else None
            pr = encoded.problem.pair_rank
            gain = None if mine_pair is None else int(pr[mine_pair]) - int(pr[p])
            reason = _describe_change(encoded.problem, base, forced, host=h, gain=gain)
        result.lines.append(HostExplanation(host_id, host_name, rank, "full", sentence(reason)))
    if placed_at is None and not prefs:
        result.notes.append("They gave no preferences, so there was no host to place them with.")
    # Every line, whichever path made it, through the same masking.
    others = frozenset(encoded.candidate_ids) - {candidate_id}
    special = [t.name for t in encoded.problem.targets if is_special(t.attribute)]
    for ln in result.lines:
        instead = "a rule the scheme set for this placement" if ln.verdict == "ineligible" else SPECIAL_TARGET_WORDS
        ln.reason = for_candidate(ln.reason, special, others, instead=instead)
    result.notes = [for_candidate(note, special, others) for note in result.notes]
    return result
