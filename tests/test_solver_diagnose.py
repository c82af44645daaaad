"""Infeasibility diagnosis: the right minimal conflict, told in words a coordinator can act on."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from placement.solver import diagnose as diagnose_module
from placement.solver.diagnose import Conflict, diagnose, find_conflict
from placement.solver.problem import Options, Problem, Target
from tests.helpers.oracles import brute_blocking
from tests.helpers.strategies import problems, realistic_problem

REGIONS = ("London", "North West", "South East")


def make_problem(
    prefs: list[list[int]],
    capacity: list[int],
    *,
    regions: list[int] | None = None,
    mins: list[int] | None = None,
    required: list[tuple[int, int]] = (),
    fixed: list[tuple[int, int]] = (),
    fixed_states: tuple[str, ...] = (),
    links: list[tuple[int, int]] = (),
    targets: tuple[Target, ...] = (),
) -> Problem:
    """prefs[c] lists c's eligible hosts best first; hosts rank candidates by index (strict)."""
    cand = [c for c, hs in enumerate(prefs) for _ in hs]
    host = [h for hs in prefs for h in hs]
    rank = [r + 1 for hs in prefs for r in range(len(hs))]
    pair = {(c, h): p for p, (c, h) in enumerate(zip(cand, host))}
    n_h = len(capacity)
    return Problem(
        n_candidates=len(prefs),
        n_hosts=n_h,
        pair_cand=np.array(cand, np.int32),
        pair_host=np.array(host, np.int32),
        pair_rank=np.array(rank, np.int32),
        pair_host_rank=np.array(cand, np.int32),
        capacity=np.array(capacity, np.int32),
        min_placements=np.array(mins or [0] * n_h, np.int32),
        host_region=np.array(regions or [0] * n_h, np.int32),
        required=np.array([pair[cp] for cp in required], np.int32),
        fixed=np.array([pair[cp] for cp in fixed], np.int32),
        fixed_states=fixed_states,
        links=np.array(links, np.int32).reshape(-1, 2),
        targets=targets,
        candidate_labels=tuple(f"C{c:04d}" for c in range(len(prefs))),
        host_labels=tuple(f"RX{h}" for h in range(n_h)),
        region_labels=REGIONS,
    )


def women_target(
    n_candidates: int, women: list[int], hosts: list[int], *, min_share=0.4, max_share=None, scope="region=London"
) -> Target:
    member = np.zeros(n_candidates, bool)
    member[women] = True
    return Target(
        name="women-per-region",
        scope=scope,
        scope_hosts=np.array(hosts, np.int32),
        member=member,
        min_share=min_share,
        max_share=max_share,
        hard=True,
        attribute="sex",
        value="female",
    )


def no_personal_sex_data(sentences: list[str], problem: Problem) -> bool:
    """No sentence puts a named candidate next to the counted value."""
    return not any(label in s and "female" in s for s in sentences for label in problem.candidate_labels)


# --------------------------------------------------------------------------- crafted conflicts


def test_two_required_placements_at_a_one_place_host():
    problem = make_problem(
        [[0, 1], [0], [1], [2]],
        [1, 2, 1],
        required=[(0, 0), (1, 0), (2, 1), (3, 2)],  # the last two are fine
    )
    assert find_conflict(problem, Options()) == Conflict("infeasible", (("required", 0), ("required", 1)), True)
    sentences = diagnose(problem, Options())
    assert sentences[0] == (
        "RX0 now has 1 place but 2 candidates are required there by pairs.csv: C0000, C0001. To resolve it, "
        "remove a required pair with `placement pair remove CANDIDATE HOST --reason ...`, or give RX0 more "
        "places (capacity in hosts.csv) and import it again."
    )
    assert "drop the required placement of C0000 at RX0" in sentences[-1]
    assert "drop the required placement of C0001 at RX0" in sentences[-1]
    assert "C0002" not in " ".join(sentences) and "C0003" not in " ".join(sentences)


def test_hard_target_that_the_eligible_members_cannot_meet():
    # RX0 (London) must take 3 (hard lower quota); only 1 of the 3 candidates eligible there is a woman,
    # so at most 2 can be placed in London while keeping 40% women. RX1 elsewhere is irrelevant.
    target = women_target(6, women=[0, 5], hosts=[0])
    problem = make_problem([[0], [0], [0], [1], [1], [1]], [4, 4], regions=[0, 1], mins=[3, 1], targets=(target,))
    options = Options(hard_min_placements=True)
    assert find_conflict(problem, options).groups == (("min_placements", 0), ("target", 0))
    sentences = diagnose(problem, options)
    assert sentences[0] == (
        "Target women-per-region in region=London needs at least 40% female among those placed there, "
        "but only 1 of the 3 candidates eligible for hosts there are female, so at most 2 can be placed "
        "there while meeting it and the other constraints here need at least 3."
    )
    assert "RX0 needs at least 3 placements (hard lower quota)" in sentences[1]
    assert "make target women-per-region soft" in sentences[-1]
    assert "lower RX0's min_placements" in sentences[-1]
    assert no_personal_sex_data(sentences, problem)


def test_hard_maximum_share_with_a_required_placement():
    # At most 50% women at RX0 (capacity 1): placing a woman there alone is 100%.
    target = women_target(2, women=[0], hosts=[0], min_share=None, max_share=0.5, scope="host=RX0")
    problem = make_problem([[0], [0]], [1], required=[(0, 0)], targets=(target,))
    assert find_conflict(problem, Options()).groups == (("required", 0), ("target", 0))
    sentences = diagnose(problem, Options())
    assert any("allows at most 50% female" in s and "only 1 of the 2 candidates eligible" in s for s in sentences)
    # The conflict implies who the woman is, but no sentence says it.
    assert no_personal_sex_data(sentences, problem)


def test_link_whose_partner_has_no_host_in_the_required_region():
    problem = make_problem(
        [[0], [1, 2], [2]],
        [1, 1, 1],
        regions=[0, 1, 1],
        required=[(0, 0)],
        links=[(0, 1)],
    )
    assert find_conflict(problem, Options()).groups == (("required", 0), ("link", 0))
    sentences = diagnose(problem, Options())
    assert sentences[0] == (
        "The required placement of C0000 at RX0 and the link between C0000 and C0001 cannot both hold: "
        "C0001 has no eligible host in London."
    )
    assert "unlink C0000 and C0001" in sentences[-1]


def test_hard_lower_quota_above_eligible_supply():
    problem = make_problem([[0], [0, 1], [1]], [3, 3], mins=[3, 1])
    options = Options(hard_min_placements=True)
    assert find_conflict(problem, options).groups == (("min_placements", 0),)
    sentences = diagnose(problem, options)
    assert (
        sentences[0] == "RX0 needs at least 3 placements (hard lower quota) but only 2 candidates are eligible there."
    )
    assert sentences[-1].startswith("This constraint cannot hold even on its own")
    # Soft lower quotas are not constraints at all.
    assert find_conflict(problem, Options()).status == "feasible"


def test_hard_lower_quota_above_capacity():
    problem = make_problem([[0], [0]], [1], mins=[2])
    sentences = diagnose(problem, Options(hard_min_placements=True))
    assert sentences[0] == "RX0 needs at least 2 placements (hard lower quota) but offers only 1 place."


def test_lower_quotas_that_compete_for_the_same_candidates():
    # RX0 and RX1 need 2 each; only candidates 0-2 are eligible for either.
    problem = make_problem([[0, 1], [0, 1], [1, 0], [2]], [2, 2, 2], mins=[2, 2, 0])
    options = Options(hard_min_placements=True)
    assert find_conflict(problem, options).groups == (("min_placements", 0), ("min_placements", 1))
    sentences = diagnose(problem, options)
    assert sentences[0] == (
        "Hosts RX0, RX1 together need at least 4 placements (hard lower quotas) but only 3 distinct "
        "candidates are eligible for any of them."
    )


def test_candidate_required_at_one_host_and_accepted_at_another():
    problem = make_problem([[0, 1]], [1, 1], required=[(0, 1)], fixed=[(0, 0)], fixed_states=("accepted",))
    assert set(find_conflict(problem, Options()).groups) == {("required", 0), ("fixed", 0)}
    sentences = diagnose(problem, Options())
    assert sentences[0] == (
        "C0000 is held at both RX1 (required by pairs.csv) and RX0 (accepted), but can take only one place."
    )
    assert "release the accepted offer of C0000 at RX0 (`placement offer release C0000 --reason ...`)" in sentences[-1]


def test_a_capacity_cut_below_held_offers_names_each_by_its_state_and_the_command_that_resolves_it():
    # RX0 now has 2 places; C0000 and C0001 accepted there, C0002 holds an offer not yet answered.
    problem = make_problem(
        [[0], [0], [0], [1]], [2, 1], fixed=[(0, 0), (1, 0), (2, 0)], fixed_states=("accepted", "accepted", "offered")
    )
    sentences = diagnose(problem, Options())
    assert sentences[0] == (
        "RX0 now has 2 places but 3 candidates hold placements there: C0000 (accepted), C0001 (accepted), "
        "C0002 (offered). To resolve it, release 1 of them with `placement offer release CANDIDATE --reason ...`, "
        "or give RX0 more places (capacity in hosts.csv) and import it again."
    )
    problem = make_problem([[0], [0], [0]], [2], fixed=[(0, 0), (1, 0), (2, 0)], fixed_states=("accepted",) * 3)
    assert diagnose(problem, Options())[0].startswith(
        "RX0 now has 2 places but 3 candidates accepted there: C0000, C0001, C0002."
    )
    # Nowhere is an offered placement called accepted.
    problem = make_problem([[0], [0]], [1], fixed=[(0, 0), (1, 0)], fixed_states=("offered", "offered"))
    words = " ".join(diagnose(problem, Options()))
    assert "accepted" not in words and "hold offers there not yet answered" in words


def test_required_placement_against_strict_stability():
    # RX0 has one place and prefers C0000, who wants it: every stable placement gives it to C0000.
    problem = make_problem([[0], [0]], [1], required=[(1, 0)])
    options = Options(stability="strict")
    assert find_conflict(problem, options).groups == (("required", 0), ("stability", 0))
    sentences = diagnose(problem, options)
    assert sentences[0].startswith(
        "The required placement of C0001 at RX0 conflicts with strict stability: C0001 is unplaced in every "
        "stable placement"
    )
    assert "use stability 'prefer' instead of 'strict'" in sentences[-1]
    # Without stability it is fine.
    assert find_conflict(problem, Options()).status == "feasible"


def test_required_placement_below_the_best_stable_host():
    # C0000 is wanted by both hosts; the stable placement gives it RX0, its first choice.
    # Requiring it at RX1 is fine (lower) - but requiring C0001 at RX0 is not.
    problem = make_problem([[0, 1], [0, 1]], [1, 1], required=[(1, 0)])
    sentences = diagnose(problem, Options(stability="strict"))
    assert "the best host C0001 can get in any stable placement is RX1, which they rank below RX0" in sentences[0]


def test_lower_quota_against_strict_stability():
    # Both candidates want RX0 first; RX1 gets nobody in any stable placement.
    problem = make_problem([[0], [0, 1]], [2, 1], mins=[0, 1])
    options = Options(stability="strict", hard_min_placements=True)
    assert find_conflict(problem, options).groups == (("min_placements", 1), ("stability", 0))
    assert diagnose(problem, options)[0] == (
        "RX1 needs at least 1 placement (hard lower quota), but every stable placement gives it exactly 0 "
        "(with no ties in hosts' orders, each host gets the same number in all stable placements)."
    )


def test_link_against_strict_stability():
    # C0000 only wants RX0 (London) and gets it in every stable placement; its partner C0001 only
    # wants RX1 (North West) and gets that: same region or neither cannot hold.
    problem = make_problem([[0], [1]], [1, 1], regions=[0, 1], links=[(0, 1)])
    options = Options(stability="strict")
    assert find_conflict(problem, options).groups == (("link", 0), ("stability", 0))
    sentences = diagnose(problem, options)
    assert any("every stable placement places both" in s for s in sentences)
    assert find_conflict(problem, Options()).status == "feasible"


def test_a_feasible_problem_is_reported_as_such():
    problem = make_problem([[0], [1]], [1, 1], required=[(0, 0)])
    assert find_conflict(problem, Options()).status == "feasible"
    sentences = diagnose(problem, Options())
    assert len(sentences) == 1 and "can all be met together" in sentences[0]


def test_running_out_of_time_while_shrinking_is_said(monkeypatch):
    problem = make_problem([[0], [0], [0], [1]], [1, 1], required=[(0, 0), (1, 0), (2, 0)])
    real = diagnose_module._solve
    calls = []

    def first_only(model, x, on, off, seconds):
        calls.append(len(on))
        if len(calls) == 1:
            return real(model, x, on, off, seconds)
        return diagnose_module.cp_model.UNKNOWN, [], None

    monkeypatch.setattr(diagnose_module, "_solve", first_only)
    # No shortcut through known placements: every trial goes to the (now undecided) solver.
    monkeypatch.setattr(diagnose_module, "_holds", lambda problem, g, chosen: False)
    conflict = find_conflict(problem, Options())
    assert conflict.status == "infeasible" and not conflict.minimal
    assert len(conflict.groups) >= 2
    calls.clear()
    assert "ran out of time before proving this set minimal" in diagnose(problem, Options())[-1]


def test_a_conflict_among_hundreds_of_groups_on_a_scheme_sized_problem():
    """200 required pairs, 50 links, hard targets; two extra required pairs clash at a one-place host."""
    base = realistic_problem(1000, n_required=100, n_links=50, women_hard_min=0.41, seed=4)
    taken_c = set(base.pair_cand[base.required].tolist())
    taken_h = set(base.pair_host[base.required].tolist())
    for h in np.flatnonzero(base.capacity == 1).tolist():
        free = [p for p in np.flatnonzero(base.pair_host == h).tolist() if base.pair_cand[p] not in taken_c]
        if h not in taken_h and len(free) >= 2:
            break
    clash = sorted(free[:2])
    problem = Problem(**{**base.__dict__, "required": np.array(sorted([*base.required.tolist(), *clash]), np.int32)})
    conflict = find_conflict(problem, Options())
    assert conflict.status == "infeasible"
    positions = {int(p): i for i, p in enumerate(problem.required.tolist())}
    assert conflict.groups == tuple(("required", positions[p]) for p in clash)
    # Proven minimal within the diagnosis's own time limit (its speed is benchmarked, not timed here).
    assert conflict.minimal


# --------------------------------------------------------------------------- against brute force


def brute_holds(problem: Problem, options: Options, chosen: list[int], group: tuple[str, int]) -> bool:
    """The hard constraints of ../shared/spec/model.md, read directly (weak stability via the brute-force definition)."""
    kind, i = group
    hosts = problem.pair_host[chosen]
    if kind in ("required", "fixed"):
        return int((problem.required if kind == "required" else problem.fixed)[i]) in chosen
    if kind == "link":
        where = {int(problem.pair_cand[p]): int(problem.host_region[problem.pair_host[p]]) for p in chosen}
        a, b = problem.links[i]
        return where.get(int(a), -1) == where.get(int(b), -1)
    if kind == "min_placements":
        return int(np.count_nonzero(hosts == i)) >= int(problem.min_placements[i])
    if kind == "target":
        t = problem.targets[i]
        in_scope = [p for p in chosen if problem.pair_host[p] in t.scope_hosts]
        n, m = len(in_scope), sum(bool(t.member[problem.pair_cand[p]]) for p in in_scope)
        lo = t.min_share is None or t.min_share * n <= m + 1e-9
        hi = t.max_share is None or m <= t.max_share * n + 1e-9
        return lo and hi
    return not brute_blocking(problem, chosen)


def all_groups(problem: Problem, options: Options) -> list[tuple[str, int]]:
    groups = [("required", i) for i in range(len(problem.required))]
    groups += [("fixed", i) for i in range(len(problem.fixed))]
    groups += [("link", i) for i in range(len(problem.links))]
    if options.hard_min_placements:
        groups += [("min_placements", h) for h in np.flatnonzero(problem.min_placements > 0).tolist()]
    groups += [("target", i) for i, t in enumerate(problem.targets) if t.hard]
    if options.stability == "strict":
        groups.append(("stability", 0))
    return groups


def brute_feasible(problem: Problem, options: Options, groups: list[tuple[str, int]]) -> bool:
    choices = [[None, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    for combo in itertools.product(*choices):
        chosen = [p for p in combo if p is not None]
        if chosen and np.any(np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) > problem.capacity):
            continue
        if all(brute_holds(problem, options, chosen, g) for g in groups):
            return True
    return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    problem=problems(
        max_candidates=5,
        max_hosts=3,
        max_rank=3,
        required=True,
        fixed=True,
        links=True,
        min_placements=True,
        targets=True,
        hard_targets=True,
    ),
    hard_min=st.booleans(),
    stability=st.sampled_from(["none", "strict"]),
)
def test_conflict_is_minimal_and_infeasible_by_brute_force(problem, hard_min, stability):
    options = Options(hard_min_placements=hard_min, stability=stability)
    every = all_groups(problem, options)
    conflict = find_conflict(problem, options)
    if brute_feasible(problem, options, every):
        event("feasible")
        assert conflict.status == "feasible"
        return
    event(f"infeasible, core of {len(conflict.groups)}")
    assert conflict.status == "infeasible" and conflict.minimal
    core = list(conflict.groups)
    assert set(core) <= set(every)
    assert not brute_feasible(problem, options, core)
    for g in core:
        assert brute_feasible(problem, options, [h for h in core if h != g]), f"{g} is not needed"
    sentences = diagnose(problem, options)
    assert sentences and sentences[-1].startswith(("These", "This constraint"))
