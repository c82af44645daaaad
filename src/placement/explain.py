"""Why a candidate was placed where they were, in words a coordinator can read to them.

For each host the candidate ranked above the one they got, the answer is
either a rule (ineligible, and which rule - the encoder's own reason) or a
counterfactual: the round is re-solved with that placement forced, and the
change in the objective says which level the model was protecting: "placing
you there would have left one more candidate unplaced", "would have moved
other candidates to choices they ranked lower, 3 rank places in total", or
"would miss the target women-per-region in North West" (targets on ethnicity
or disability are not named, nor are other candidates: every line goes through ``masking.for_candidate``). When the alternative
is equally good on every level, the tie-break decided, and with the default
host-order tie-break that has a merit answer: the hosts would have had
candidates they rank lower. Other candidates are never named to the
candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import Engine, select

from .db.models import Candidate, Host, Placement, Preference, Round
from .db.session import transaction
from .errors import NotFound
from .masking import SPECIAL_TARGET_WORDS, for_candidate, is_special
from .rounds import RoundOptions, latest_approved, stored_inputs


@dataclass
class HostExplanation:
    host_id: str
    host_name: str
    rank: int
    verdict: str  # "ineligible" | "full" | "placed" | "not better"
    reason: str


@dataclass
class Explanation:
    candidate_id: str
    round: int
    placed_at: str | None
    placed_rank: int | None
    lines: list[HostExplanation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        out = []
        if self.placed_at:
            out.append(f"In round {self.round}, {self.candidate_id} was placed at {self.placed_at} (their choice ranked {self.placed_rank}).")
        else:
            out.append(f"In round {self.round}, {self.candidate_id} was not placed.")
        for ln in self.lines:
            out.append(f"- Choice {ln.rank}, {ln.host_name} ({ln.host_id}): {ln.reason}")
        out.extend(self.notes)
        return "\n".join(out)


def _describe_change(problem, base, forced) -> str:
    """Plain words for how forcing a placement changes the lexicographic objective.

    Targets are named only when their attribute is not special category data:
    "placing you there would miss the minority-ethnic target" would tell the
    coordinator (and anyone reading over their shoulder) how the candidate was
    counted. Such targets are described as "a diversity target the scheme set".
    """
    if forced.status == "INFEASIBLE":
        why = forced.diagnosis[0] if forced.diagnosis else "a hard rule of the scheme"
        return f"placing you there is impossible without breaking a hard rule: {why}"  # masked by explain()
    if forced.status not in ("OPTIMAL", "FEASIBLE"):
        return "the solver could not evaluate this alternative within its time limit"
    lost = base.objective.get("placed", 0) - forced.objective.get("placed", 0)
    if lost > 0:
        return (
            f"its places went to other candidates; placing you there would have left {int(lost)} more "
            f"candidate{'s' if lost != 1 else ''} without any placement (the first priority is to place as many people as possible)"
        )
    missed = _newly_missed(problem, base, forced)
    if missed:
        return "placing you there would have missed " + " and ".join(missed[:2])
    extra = forced.rank_sum - base.rank_sum
    cost = forced.objective.get("rank_cost", 0) - base.objective.get("rank_cost", 0)
    if extra <= 0 and cost <= 1e-9 and forced.objective != base.objective:
        # rank-maximal / generous: the rank profile, not the rank sum, decided.
        return ("its places went to other candidates; placing you there would have given others a worse spread of "
                "choices by the scheme's rule (most first choices, or fewest low choices), so the overall result was better this way")
    if extra > 0 or cost > 1e-9:
        return (
            f"its places went to other candidates; placing you there would have moved others to choices they ranked "
            f"lower ({extra} rank place{'s' if extra != 1 else ''} in total against your gain), so the overall result was better this way"
        )
    # Equally good on every level: the tie-break decided.
    if base.tie_break == forced.tie_break == "host_order: optimal":
        from .solver.levels import host_order_cost

        cost = host_order_cost(problem)
        if int(cost[forced.chosen].sum()) > int(cost[base.chosen].sum()):
            return ("placing you there would have been equally good by the scheme's measures; where placements are "
                    "equally good, candidates the hosts rank higher (the host's own ranking, else the assessment "
                    "score) come first, for places and for their better choices, and that put someone the host "
                    "ranks higher there")
    return "an equally good alternative existed; the solver's fixed tie-break chose this placement"


def _newly_missed(problem, base, forced) -> list[str]:
    """Targets (and hosts' lower quotas) the forced placement misses by more than the round did."""
    out: list[str] = []
    for t, b, f in zip(problem.targets, base.targets, forced.targets):
        if f.shortfall > b.shortfall + 1e-9:
            if is_special(t.attribute):
                words = SPECIAL_TARGET_WORDS
            else:
                words = f"the {'hard' if t.hard else 'soft'} target {t.name} ({t.scope})"
            if words not in out:
                out.append(words)
    base_quota = {v for v in base.soft_violations if v.startswith("lower quota")}
    if any(v.startswith("lower quota") and v not in base_quota for v in forced.soft_violations):
        out.append("a host's minimum number of graduates")
    return out


def explain(engine: Engine, candidate_id: str, number: int | None = None, *, time_limit: float = 20.0) -> Explanation:
    from .solver import solve

    with transaction(engine) as s:
        if number is None:
            latest = latest_approved(s) or s.scalar(select(Round).order_by(Round.number.desc()).limit(1))
            if latest is None:
                raise NotFound("There are no rounds yet.", "Run `placement solve` first.")
            number = latest.number
        rnd, encoded = stored_inputs(s, number)
        opts = RoundOptions.stored(rnd.options)
        cand = s.scalar(select(Candidate).where(Candidate.candidate_id == candidate_id))
        if cand is None:
            raise NotFound(f"No candidate {candidate_id!r}.", "Check the id (ids are case-sensitive).")
        prefs = s.execute(
            select(Host.host_id, Host.name, Preference.rank)
            .join(Preference, Preference.host_pk == Host.id)
            .where(Preference.candidate_pk == cand.id)
            .order_by(Preference.rank)
        ).all()
        mine = s.execute(
            select(Host.host_id, Placement.rank).join(Placement, Placement.host_pk == Host.id).where(
                Placement.round_id == rnd.id, Placement.candidate_pk == cand.id
            )
        ).first()
    placed_at, placed_rank = (mine[0], mine[1]) if mine else (None, None)
    result = Explanation(candidate_id, number, placed_at, placed_rank)
    if candidate_id not in encoded.candidate_ids:
        result.notes.append("They were not in this round's pool (withdrawn, or added after the round).")
        return result

    dropped = {d.host_id: d.reason for d in encoded.dropped if d.candidate_id == candidate_id}
    pair_of = encoded.pair_index()
    solver_opts = replace(opts.solver_options(), time_limit=time_limit)
    base = None
    for host_id, host_name, rank in prefs:
        if placed_rank is not None and rank >= placed_rank:
            break
        if host_id in dropped:
            result.lines.append(HostExplanation(host_id, host_name, rank, "ineligible", f"not eligible: {dropped[host_id]}."))
            continue
        p = pair_of.get((candidate_id, host_id))
        if p is None:
            result.lines.append(HostExplanation(host_id, host_name, rank, "ineligible", "not part of this round (the host was added later)."))
            continue
        if base is None:
            base = solve(encoded.problem, solver_opts)
        forced_problem = replace(encoded.problem, required=np.append(encoded.problem.required, np.int32(p)).astype(np.int32))
        forced = solve(forced_problem, solver_opts)
        result.lines.append(HostExplanation(host_id, host_name, rank, "full", _describe_change(encoded.problem, base, forced) + "."))
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
