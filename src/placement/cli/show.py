"""Laying out the views for the terminal: rounds, the difference between rounds, a candidate, a host, the season.

Only layout lives here; every figure comes from ``placement.views`` and
``placement.season``. Every user-supplied string is escaped (``tables.text``).
"""

from __future__ import annotations

from .tables import console as make_console
from .tables import row, table, text


def print_round(view, *, by: str = "candidate", placements: bool = True) -> None:
    out = make_console()
    out.print(
        f"[bold]Round {view.round}[/bold]: {view.state}; solver status {view.status} ({text(view.method)}) "
        f"in {view.solve_seconds:.2f} s"
    )
    out.print(
        f"Created {view.created_at:%Y-%m-%d %H:%M} by {text(view.created_by)}; continues round {view.parent or '-'}"
    )
    if view.approved_by:
        out.print(f"Approved by {text(view.approved_by)} at {view.approved_at:%Y-%m-%d %H:%M}")
    from ..rounds import options_words

    out.print("Options: " + text(options_words(view.options)))
    out.print(
        "Objective: "
        + ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in view.objective.items())
        + "; bound: "
        + ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in view.bound.items())
    )
    out.print(f"Input hash {view.input_hash}; {text(view.solver_version)}")
    if view.engines:
        out.print("Exact engine: " + ", ".join(f"{k} by {v}" for k, v in view.engines.items()))
    offers = view.offers()
    out.print(
        f"Placed {view.placed}, unplaced {view.unplaced_count}, rank sum {view.rank_sum}; offers: "
        + (", ".join(f"{n} {st}" for st, n in sorted(offers.items())) or "none")
    )
    if view.tie_break:
        from .solve import tie_words

        out.print(f"Ties between equally good placements: {tie_words(view.tie_break)}")
    from ..masking import diagnosis_line
    from .solve import special_target_names

    for line in view.diagnosis:  # counts about ethnicity/disability targets withheld (masking)
        out.print(f"[red]- {text(diagnosis_line(line, special_target_names(view.targets or [])))}[/red]")
    if view.targets:
        from .solve import targets_table

        out.print(targets_table(view.targets))
    if view.blocking_pairs:
        out.print(
            f"{len(view.blocking_pairs)} blocking pair(s) (candidate, host): "
            + ", ".join(f"({text(c)}, {text(h)})" for c, h in view.blocking_pairs)
        )
    if not placements:
        return
    if by == "host":
        t = table(
            "Hosts",
            "host",
            "name",
            "region",
            ("places", {"justify": "right"}),
            ("placed", {"justify": "right"}),
            ("empty", {"justify": "right"}),
            "note",
        )
        for h in view.hosts:
            note = ""
            if h.flagged:
                note = f"empty place(s) while {len(h.eligible_unplaced)} eligible candidate(s) went unplaced"
            elif h.placed < h.minimum:
                note = f"below its minimum of {h.minimum}"
            row(t, h.host_id, h.host_name, h.region, h.capacity, h.placed, h.empty, note)
        out.print(t)
        if not view.inputs_kept:
            out.print("[dim]This round's stored inputs were purged: places are the hosts' capacities now.[/dim]")
        return
    t = table(
        "Placements",
        "candidate",
        "name",
        "host",
        "host name",
        ("choice", {"justify": "right"}),
        ("offer", {"min_width": 8}),
    )
    for p in view.placements:
        row(t, p.candidate_id, p.candidate_name, p.host_id, p.host_name, p.choice, p.offer)
    out.print(t)
    if view.unplaced:
        u = table(f"Unplaced ({len(view.unplaced)})", "candidate", "name", ("reason", {"min_width": 15}), "detail")
        for x in view.unplaced:
            row(u, x.candidate_id, x.candidate_name, x.reason, x.detail)
        out.print(u)


def print_diff(diff) -> None:
    out = make_console()
    out.print(
        f"[bold]Round {diff.a} -> round {diff.b}[/bold]: {len(diff.moves)} placed differently, "
        f"{diff.same} at the same host."
    )
    if diff.moves:
        t = table(None, "candidate", "name", f"round {diff.a}", f"round {diff.b}", "why")
        for m in diff.moves:
            before = f"{m.before} (choice {m.before_choice})" if m.before else "unplaced"
            after = f"{m.after} (choice {m.after_choice})" if m.after else "unplaced"
            row(t, m.candidate_id, m.candidate_name, before, after, m.why)
        out.print(t)


def print_candidate(view) -> None:
    out = make_console()
    out.print(f"[bold]{text(view.candidate_id)}[/bold] {text(view.name or '(name purged)')}: {view.state}")
    out.print(
        f"Email {text(view.email)}; assessment score {view.assessment_score:g}; home region {text(view.home_region)}"
        f" ({'willing' if view.willing_to_relocate else 'not willing'} to relocate); specialisms "
        f"{text(', '.join(view.specialisms))}; career changer {text(view.career_changer)}"
        + (f"; linked with {text(view.linked_with)}" if view.linked_with else "")
    )
    if view.sensitive is not None:
        out.print(
            "Equality monitoring (special category data): "
            + ", ".join(f"{k} {text(v)}" for k, v in view.sensitive.items())
        )
    for pair in view.pairs:
        out.print(
            f"Pair rule: {pair['rule']} at {text(pair['host_id'])}"
            + (f" ({text(pair['reason'])})" if pair["reason"] else "")
        )
    t = table("Preferences", ("rank", {"justify": "right"}), "host", "name", ("eligible", {"min_width": 8}), "why not")
    for p in view.preferences:
        row(t, p.rank, p.host_id, p.host_name, "yes" if p.eligible else "no", p.reason)
    out.print(t)
    if view.offers:
        t = table(
            "Offers over the rounds",
            "round",
            ("round state", {"min_width": 10}),
            "host",
            "name",
            ("choice", {"justify": "right"}),
            ("offer", {"min_width": 8}),
        )
        for o in view.offers:
            row(t, o.round, o.round_state, o.host_id, o.host_name, o.choice, o.offer)
        out.print(t)
    else:
        out.print("No offers or proposals in any round yet.")
    if view.events:
        t = table("History", ("when", {"min_width": 16}), "who", "what", "round", "host", "change", "reason")
        for e in view.events:
            change = f"{e.before} -> {e.after}" if e.before else (e.after or "")
            row(t, e.at[:16].replace("T", " "), e.by, e.action, e.round, e.host_id, change, e.reason)
        out.print(t)


def print_host(view) -> None:
    out = make_console()
    out.print(f"[bold]{text(view.host_id)}[/bold] {text(view.name)} ({text(view.org_type)}, {text(view.region)})")
    out.print(
        f"Places {view.capacity}, minimum {view.minimum}, minimum score {view.min_score:g}; specialisms "
        f"{text(', '.join(view.specialisms))}; ranked by {view.ranked_by} candidate(s)"
    )
    if view.round is not None:
        out.print(
            f"In round {view.round} (latest approved): {view.capacity - view.places_left} place(s) held, "
            f"{view.places_left} left"
        )
    for title, people in (
        (f"Offers (round {view.round})", view.offered),
        (f"Proposed (round {view.proposal})", view.proposed),
    ):
        if people:
            t = table(title, "candidate", "name", ("choice", {"justify": "right"}), ("offer", {"min_width": 8}))
            for p in people:
                row(t, p["candidate_id"], p["candidate_name"], p["choice"], p["offer"])
            out.print(t)
    if view.ineligible:
        t = table("Ranked it but not eligible", "reason", ("candidates", {"justify": "right"}))
        for reason, n in view.ineligible.items():
            row(t, reason, n)
        out.print(t)


def print_status(status) -> None:
    out = make_console()
    r = status.rounds
    out.print(f"[bold]Cohort[/bold] {text(status.cohort)}")
    out.print(
        "[bold]Rounds[/bold]: "
        + ", ".join(f"{n} {st}" for st, n in r.items())
        + (
            f"; latest approved: round {status.latest_approved} (by {text(status.approved_by)})"
            if status.latest_approved
            else "; none approved yet"
        )
        + (f"; awaiting approval: round {status.proposal}" if status.proposal else "")
    )
    if status.latest_approved:
        out.print(
            f"[bold]Offers[/bold] in round {status.latest_approved}: "
            + ", ".join(f"{n} {st}" for st, n in status.offers.items())
        )
    c = status.candidates
    out.print(
        f"[bold]Candidates[/bold]: {c['active']} active ({c['holding an offer']} holding an offer, "
        f"{c['unplaced']} not), {c['withdrawn']} withdrawn"
    )
    p = status.places
    out.print(f"[bold]Places[/bold]: {p['total']} in all, {p['held']} held (offered or accepted), {p['left']} left")
    out.print(f"[bold]Next[/bold]: {status.next_step}")
