"""Rounds: solve -> proposal -> approval -> offers -> answers -> next round.

A round is a *proposal* until a named person approves it (UK GDPR Art. 22: no
solely automated decision). Approval turns its placements into offers;
candidates accept or decline; the next solve starts from the latest approved
round: accepted (and still-pending) offers are fixed, declined pairs leave the
pool (or the candidate leaves the scheme, by option), and freed places are
offered again. Nothing ever overwrites an earlier round.

A round and its placements are written in one transaction after the solve
has finished, so an interrupted solve leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import __version__
from .cohorts import CohortRef, resolve, scoped
from .config import os_user
from .db.models import AuditLog, Candidate, Host, Placement, Round
from .db.queries import load_scheme
from .db.session import read_session, transaction, write_session
from .domain import PROTECTED_ATTRIBUTES
from .errors import ConcurrencyError, Interrupted, NotFound, QuotaRefused, RoundError, SolveTimeout
from .scheme import History, Scheme
from .solver import encode as enc_mod
from .solver.problem import Objective, Options, Solution, Stability, TieBreakRule

T = TypeVar("T")

QUOTA_EXPLANATION = (
    "Under the Equality Act 2010 positive discrimination - a quota that overrides merit - is unlawful; "
    "s.159 allows preferring a candidate of an under-represented group only between candidates who are "
    "'as qualified as' each other. A hard share target on a protected characteristic is such a quota. "
    "Make the target soft (strength=soft with a weight), which is the lawful default, or, if your legal "
    "advice supports it, acknowledge it explicitly with --allow-quota (the audit report will name it)."
)


@dataclass(frozen=True)
class RoundOptions:
    objective: Objective = "rank-sum"
    stability: Stability = "none"
    hard_min_placements: bool = False
    min_placement_weight: float = 10.0
    time_limit: float = 60.0
    workers: int = 2
    allow_quota: bool = False
    # A decline removes the candidate from that host only ("host") or from the scheme ("scheme").
    decline_policy: Literal["host", "scheme"] = "host"
    use_targets: bool = True
    # Among equally good placements: to the candidates hosts rank higher, or the engine's own choice.
    tie_break: TieBreakRule = "host-order"
    # Branch-and-bound for the exact steps: "auto" (HiGHS on reduced models, CP-SAT for stability and
    # large integer weights: the faster on the benchmark suite, see benchmarks/results), or one of them.
    engine: Literal["auto", "cp-sat", "highs"] = "auto"

    def __post_init__(self) -> None:
        # The library's own check (the CLI checks as the value is typed): a NaN or infinite limit would be
        # stored in the round's options as non-JSON, and a negative one means nothing.
        import math

        from .errors import ConfigError

        if not (math.isfinite(self.time_limit) and 0 < self.time_limit <= 86_400):
            raise ConfigError(
                f"time_limit {self.time_limit!r} is not a number of seconds between 0 and 86400.",
                "Use e.g. --time-limit 60.",
            )
        if not (math.isfinite(self.min_placement_weight) and 0 <= self.min_placement_weight <= 1_000_000):
            raise ConfigError(
                f"min_placement_weight {self.min_placement_weight!r} is not a finite number between 0 and 1000000.",
                "Use e.g. --min-placement-weight 10.",
            )
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or not 1 <= self.workers <= 64:
            raise ConfigError(f"workers {self.workers!r} is not a whole number from 1 to 64.", "Use e.g. --workers 2.")

    @classmethod
    def stored(cls, options: dict) -> RoundOptions:
        """A round's stored options; rounds stored before the tie-break existed were solved without one."""
        return cls(**{"tie_break": "none", **options})

    def solver_options(self) -> Options:
        return Options(
            objective=self.objective,
            stability=self.stability,
            hard_min_placements=self.hard_min_placements,
            min_placement_weight=self.min_placement_weight,
            time_limit=self.time_limit,
            workers=self.workers,
            tie_break=self.tie_break,
        )


@dataclass
class RoundResult:
    """What a solve found. ``round`` is None when there was no placement to propose (nothing stored)."""

    round: int | None
    status: str
    placed: int
    unplaced: int
    rank_sum: int
    objective: dict[str, float]
    bound: dict[str, float]
    solve_seconds: float
    blocking_pairs: list[list[str]]
    targets: list[dict]
    method: str = ""
    diagnosis: list[str] = field(default_factory=list)
    soft_violations: list[str] = field(default_factory=list)
    dropped: int = 0
    notes: list[str] = field(default_factory=list)
    tie_break: str = ""  # how equally good placements were settled, e.g. "host_order: optimal"
    engines: dict[str, str] = field(default_factory=dict)  # which exact engine worked on which level
    stored: bool = True  # False for an infeasible solve or one with no answer in time: no round was stored
    superseded: list[int] = field(default_factory=list)  # earlier proposals nobody approved, replaced by this one
    cohort: str = ""  # the cohort the round belongs to (rounds are numbered within it)

    @property
    def has_placement(self) -> bool:
        return self.status in ("OPTIMAL", "FEASIBLE")

    def to_json(self) -> dict:
        """The summary as JSON; a scope of an ethnicity or disability target with 1-7 (non-)members has its
        ``achieved`` and ``met`` withheld (null, ``"withheld": true``), as on the terminal (``masking``)."""
        from .masking import diagnosis_line, is_special, withhold_scope

        d = asdict(self)
        d["targets"] = []
        for t in self.targets:
            row = {k: t[k] for k in ("name", "scope", "required", "achieved", "met")}
            if withhold_scope(t.get("attribute"), t["achieved"], t["placed_in_scope"]):
                row.update(achieved=None, met=None, withheld=True)
            d["targets"].append(row)
        special = [t["name"] for t in self.targets if is_special(t.get("attribute"))]
        d["diagnosis"] = [diagnosis_line(line, special) for line in self.diagnosis]
        return d


def solver_version() -> str:
    from importlib.metadata import version

    return f"placement {__version__} / ortools {version('ortools')}"


def _now() -> datetime:
    return datetime.now(UTC)


def log_action(session: Session, action: str, detail: str, cohort: CohortRef | None = None) -> None:
    """Append to the audit log (never special category values in ``detail``), naming the cohort concerned."""
    session.add(
        AuditLog(
            at=_now(),
            os_user=os_user(),
            action=action,
            detail=detail,
            cohort_id=cohort.id if cohort is not None else None,
        )
    )


def basis(session: Session, parent: Round | None, cohort: CohortRef) -> str:
    """A fingerprint of what a solve starting from ``parent`` takes as settled: the places held (offered or
    accepted), the pairs that left (declined, released) and the candidates withdrawn. Answers that do not
    change these (an offered placement accepted) leave it as it is."""
    import hashlib
    import json

    held: list[list[str]] = []
    if parent is not None:
        for cid, hid, status in session.execute(
            select(Candidate.candidate_id, Host.host_id, Placement.offer_status)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Host.id == Placement.host_pk)
            .where(Placement.round_id == parent.id)
        ).all():
            held.append([cid, hid, "held" if status in ("offered", "accepted") else status])
    withdrawn = list(
        session.scalars(
            select(Candidate.candidate_id).where(Candidate.cohort_id == cohort.id, Candidate.withdrawn.is_(True))
        )
    )
    doc = {"parent": parent.number if parent else None, "held": sorted(held), "withdrawn": sorted(withdrawn)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def check_quotas(scheme: Scheme, allow_quota: bool) -> list[str]:
    """Names of hard share targets on protected characteristics; refused without acknowledgement.

    A hard lower share forces people of a group in; a hard upper share keeps
    them out once the share is reached: both override merit, so both are
    quotas. Only bounds that constrain nothing (a minimum of 0, a maximum of
    100%) are not.
    """
    quotas = [
        t.name
        for t in scheme.targets
        if t.strength == "hard"
        and t.attribute in PROTECTED_ATTRIBUTES
        and ((t.min_share is not None and t.min_share > 0) or (t.max_share is not None and t.max_share < 1))
    ]
    if quotas and not allow_quota:
        raise QuotaRefused(
            f"Target(s) {', '.join(quotas)} are hard share targets on a protected characteristic.",
            QUOTA_EXPLANATION,
        )
    return quotas


def load_round(session: Session, number: int, cohort: CohortRef | str | None = None) -> Round:
    """Round ``number`` of ``cohort`` (rounds are numbered within their cohort; None: the default cohort)."""
    cohort = scoped(session, cohort)
    rnd = session.scalar(select(Round).where(Round.cohort_id == cohort.id, Round.number == number))
    if rnd is None:
        latest = session.scalar(select(func.max(Round.number)).where(Round.cohort_id == cohort.id))
        hint = (
            f"Cohort {cohort.name} has no rounds yet: run `placement solve`."
            if latest is None
            else f"Cohort {cohort.name}'s rounds run from 1 to {latest}: see `placement round list`."
        )
        raise NotFound(f"There is no round {number} in cohort {cohort.name}.", hint)
    return rnd


def latest_approved(session: Session, cohort: CohortRef | str | None = None) -> Round | None:
    cohort = scoped(session, cohort)
    return session.scalar(_latest_approved(select(Round), cohort))


def latest_approved_ref(session: Session, cohort: CohortRef | str | None = None) -> RoundRef | None:
    """``latest_approved``'s id and number only: the row's summary is megabytes of JSON at 20,000 candidates,
    decoded whenever the row is loaded."""
    cohort = scoped(session, cohort)
    found = session.execute(_latest_approved(select(Round.id, Round.number), cohort)).first()
    return RoundRef(found.id, found.number) if found else None


@dataclass(frozen=True)
class RoundRef:
    id: int
    number: int


def _latest_approved(query: Select, cohort: CohortRef) -> Select:
    """The newest round of the cohort that was approved (its offers are the ones standing)."""
    return (
        query.where(Round.cohort_id == cohort.id, Round.approved_at.is_not(None)).order_by(Round.number.desc()).limit(1)
    )


def history(
    session: Session, decline_policy: str, cohort: CohortRef | str | None = None
) -> tuple[History, Round | None]:
    """What the cohort's approved rounds settled: offers held or accepted, and every decline so far."""
    cohort = scoped(session, cohort)
    hist = History()
    parent = latest_approved(session, cohort)
    if parent is None:
        return hist, None
    rows = session.execute(
        select(Round.number, Candidate.candidate_id, Host.host_id, Placement.offer_status)
        .join(Placement, Placement.round_id == Round.id)
        .join(Candidate, Candidate.id == Placement.candidate_pk)
        .join(Host, Host.id == Placement.host_pk)
        .where(Round.cohort_id == cohort.id, Round.approved_at.is_not(None))
        .order_by(Round.number)
    ).all()
    for number, cid, hid, status in rows:
        if status == "declined":
            hist.declined.setdefault(cid, set()).add(hid)
            hist.declined_round.setdefault((cid, hid), number)
            if decline_policy == "scheme":
                hist.withdrawn.add(cid)
        elif status == "released":
            # The scheme withdrew the offer: the candidate is back in the pool, but not for that host.
            hist.released.setdefault(cid, set()).add(hid)
            hist.released_round.setdefault((cid, hid), number)
        elif number == parent.number and status in ("offered", "accepted"):
            hist.fixed[cid] = hid
            hist.fixed_state[cid] = status
    # A candidate placed again after declining elsewhere is not withdrawn by that old decline.
    hist.withdrawn -= set(hist.fixed)
    return hist, parent


def _target_summaries(solution: Solution, problem) -> list[dict]:
    out = []
    for tr, t in zip(solution.targets, problem.targets):
        out.append(
            {
                "name": tr.name,
                "scope": tr.scope,
                "attribute": t.attribute,
                "value": t.value,
                "hard": tr.hard,
                "min_share": t.min_share,
                "max_share": t.max_share,
                "placed_in_scope": tr.placed_in_scope,
                "members_placed": tr.members_placed,
                "required_min": tr.required_min,
                "required_max": tr.required_max,
                "required": tr.required_min if tr.required_min is not None else tr.required_max,
                "achieved": tr.members_placed,
                "shortfall": tr.shortfall,
                "met": tr.met,
            }
        )
    return out


def prepare(
    engine: Engine, options: RoundOptions, cohort: CohortRef
) -> tuple[enc_mod.Encoded, Round | None, list[str], str]:
    """Load one cohort's scheme and history and encode them (read-only, from one snapshot: an import committing
    meanwhile is either wholly in it or wholly out); also the basis the solve starts from."""
    with read_session(engine) as s:
        scheme = load_scheme(s, cohort)
        if not scheme.candidates:
            raise RoundError(
                f"Cohort {cohort.name} has no candidates to place.",
                "Import candidates first: `placement import candidates FILE`.",
            )
        if not scheme.hosts:
            raise RoundError(
                f"Cohort {cohort.name} has no hosts with places.",
                "Import hosts first (`placement import hosts FILE`), or start from another cohort's "
                "hosts: `placement cohort copy-hosts FROM TO`.",
            )
        quotas = check_quotas(scheme, options.allow_quota)
        if not options.use_targets:
            scheme.targets = []
        hist, parent = history(s, options.decline_policy, cohort)
        encoded = enc_mod.encode(scheme, hist)
        start = basis(s, parent, cohort)
    return encoded, parent, quotas, start


def interruptible(work: Callable[[], T], deadline: float | None = None) -> T:
    """Run a solve so that Ctrl-C stops the command at once and nothing is stored.

    The solve runs in a worker thread while the main thread waits in short
    joins, where Python delivers KeyboardInterrupt promptly even though the
    solver is busy in C++. (CP-SAT's own SIGINT handling is switched off in the
    solver, so an interrupted search can never come back looking like an answer.)
    """
    import threading

    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["solution"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="placement-solve", daemon=True)
    worker.start()
    started = time.monotonic()
    try:
        while worker.is_alive():
            worker.join(0.1)
            if deadline is not None and time.monotonic() - started > deadline:
                # A MIP engine deep in one LP can overrun its own clock; the command must not.
                raise SolveTimeout(
                    f"The solver did not stop within {deadline:.0f} s, well past its time limit; no round was stored.",
                    "Run `placement solve` again with a larger --time-limit, or relax hard targets "
                    "(the hard part is usually a binding share target).",
                )
    except KeyboardInterrupt:
        raise Interrupted(
            "The solve was interrupted; no round was stored.", "Run `placement solve` again when ready."
        ) from None
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["solution"]  # type: ignore[return-value]


def solve_round(
    engine: Engine,
    options: RoundOptions | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    cohort: CohortRef | str | None = None,
) -> RoundResult:
    """Solve one cohort as it stands and store the answer as its next round's proposal."""
    from .solver import solve

    options = options or RoundOptions()
    say = progress or (lambda _msg: None)
    with transaction(engine) as s:
        scope = resolve(s, cohort, "write")
    say(f"Loading the scheme (cohort {scope.name})")
    encoded, parent, quotas, start = interruptible(lambda: prepare(engine, options, scope))
    say(
        f"Encoded {encoded.problem.n_candidates} candidates, {encoded.problem.n_hosts} hosts, "
        f"{encoded.problem.n_pairs} eligible pairs ({len(encoded.dropped)} preferences dropped as ineligible)"
    )
    started = time.perf_counter()
    # Grace past the solver's own limit for the engines' clock checks and the final checks.
    deadline = options.time_limit * 1.5 + 30
    solution = interruptible(
        lambda: solve(encoded.problem, options.solver_options(), progress=say, engine=options.engine), deadline
    )
    say(f"Solved: {solution.status} in {time.perf_counter() - started:.2f} s")
    if solution.status not in ("OPTIMAL", "FEASIBLE"):
        # Infeasible, or no answer within the time limit: there is nothing to propose, so no round.
        return _record_no_round(engine, options, encoded, solution, scope)
    blob = enc_mod.dumps(encoded)
    return _store(engine, options, encoded, solution, blob, parent, quotas, scope, start)


def options_words(options: RoundOptions | dict) -> str:
    """A round's options as the coordinator typed them: "objective=rank-sum, stability=none, ..."."""
    d = asdict(options) if isinstance(options, RoundOptions) else options
    return ", ".join(f"{k.replace('_', '-')}={str(v).lower() if isinstance(v, bool) else v}" for k, v in d.items())


def _result(
    encoded,
    solution,
    *,
    number: int | None,
    rank_sum: int,
    blocking: list[list[str]],
    targets: list[dict],
    cohort: CohortRef,
    stored: bool = True,
    superseded: list[int] | None = None,
) -> RoundResult:
    p = encoded.problem
    return RoundResult(
        round=number,
        status=solution.status,
        placed=solution.placed,
        unplaced=p.n_candidates - solution.placed,
        rank_sum=rank_sum,
        objective=solution.objective,
        bound=solution.bound,
        solve_seconds=solution.solve_seconds,
        blocking_pairs=blocking,
        targets=targets,
        method=solution.method,
        diagnosis=solution.diagnosis,
        soft_violations=solution.soft_violations,
        dropped=len(encoded.dropped),
        notes=encoded.notes,
        tie_break=str(solution.tie_break),
        engines=solution.engines,
        stored=stored,
        superseded=superseded or [],
        cohort=cohort.name,
    )


def _record_no_round(engine: Engine, options: RoundOptions, encoded, solution, cohort: CohortRef) -> RoundResult:
    """Log a solve that found no placement to propose; store no round, supersede nothing."""
    what = (
        "infeasible: no placement meets every hard constraint"
        if solution.status == "INFEASIBLE"
        else f"no answer within the time limit of {options.time_limit:g} s"
    )
    with write_session(engine) as s:
        log_action(s, "solve", f"{solution.status}, {what}; no round stored; options {options_words(options)}", cohort)
    return _result(
        encoded,
        solution,
        number=None,
        rank_sum=0,
        blocking=[],
        stored=False,
        cohort=cohort,
        targets=_target_summaries(solution, encoded.problem) if solution.targets else [],
    )


def round_summary(encoded: enc_mod.Encoded, solution: Solution, quotas: list[str]) -> dict:
    """What a stored round keeps about its solve besides the placements: the ``summary`` JSON."""
    p = encoded.problem
    placements = encoded.decode(solution)
    return {
        "pool": encoded.candidate_ids,
        "eligible": encoded.eligible_candidates(),
        "placed": solution.placed,
        "unplaced": p.n_candidates - solution.placed,
        "rank_sum": int(sum(r for _, r in placements.values())),
        "method": solution.method,
        "targets": _target_summaries(solution, p),
        "blocking_pairs": [[encoded.candidate_ids[c], encoded.host_ids[h]] for c, h in solution.blocking_pairs],
        "dropped": [
            {"candidate_id": d.candidate_id, "host_id": d.host_id, "reason": d.reason} for d in encoded.dropped
        ],
        "diagnosis": solution.diagnosis,
        "soft_violations": solution.soft_violations,
        "messages": solution.messages,
        "tie_break": str(solution.tie_break),
        "engines": solution.engines,
        "notes": encoded.notes,
        "hard_protected_targets": quotas,
    }


def _store(engine, options, encoded, solution, blob, parent, quotas, cohort: CohortRef, start) -> RoundResult:
    p = encoded.problem
    placements = encoded.decode(solution)
    fixed_pairs = {int(i) for i in p.fixed}
    fixed_cands = {encoded.candidate_ids[int(p.pair_cand[i])] for i in fixed_pairs}
    summary = round_summary(encoded, solution, quotas)
    # What the solve took as settled; approval refuses when it has changed since (a decline, a release...).
    summary["basis"] = start
    blocking, targets = summary["blocking_pairs"], summary["targets"]
    for attempt in range(3):
        try:
            # Under the rounds write lock (taken before the first read; the solve above holds none), so no
            # approval or other store can land between the checks below and this round's rows.
            with write_session(engine, lock="rounds") as s:
                resolve(s, cohort, "write")  # closed while this round was being solved: store nothing
                number = (s.scalar(select(func.max(Round.number)).where(Round.cohort_id == cohort.id)) or 0) + 1
                # Also when the solve started from no approved round and one was approved since.
                current = latest_approved(s, cohort)
                if (current.number if current else None) != (parent.number if parent else None):
                    raise ConcurrencyError(
                        "Another round was approved while this one was being solved.",
                        "Run `placement solve` again so the new round starts from it.",
                    )
                if basis(s, current, cohort) != start:
                    raise ConcurrencyError(
                        f"An answer to an offer of round {current.number if current else '?'} was recorded while "
                        "this round was being solved, so this round does not take it into account; nothing was stored.",
                        "Run `placement solve` again.",
                    )
                cand_pk = dict(
                    s.execute(
                        select(Candidate.candidate_id, Candidate.id).where(Candidate.cohort_id == cohort.id)
                    ).all()
                )
                host_pk = dict(s.execute(select(Host.host_id, Host.id)).all())
                prev_status: dict[str, str] = {}
                if parent is not None:
                    prev_status = dict(
                        s.execute(
                            select(Candidate.candidate_id, Placement.offer_status)
                            .join(Placement, Placement.candidate_pk == Candidate.id)
                            .where(Placement.round_id == parent.id)
                        ).all()
                    )
                # Older proposals nobody approved are replaced by this one.
                in_cohort = Round.cohort_id == cohort.id
                superseded = list(
                    s.scalars(select(Round.number).where(in_cohort, Round.state == "proposal").order_by(Round.number))
                )
                s.execute(update(Round).where(in_cohort, Round.state == "proposal").values(state="superseded"))
                rnd = Round(
                    cohort_id=cohort.id,
                    number=number,
                    state="proposal",
                    parent_number=parent.number if parent else None,
                    created_at=_now(),
                    created_by=os_user(),
                    options=asdict(options),
                    input_hash=enc_mod.input_hash(blob),
                    solver_version=solver_version(),
                    status=solution.status,
                    objective=solution.objective,
                    bound=solution.bound,
                    solve_seconds=solution.solve_seconds,
                    summary=summary,
                    inputs=blob,
                )
                s.add(rnd)
                s.flush()
                s.add_all(
                    Placement(
                        round_id=rnd.id,
                        candidate_pk=cand_pk[cid],
                        host_pk=host_pk[hid],
                        rank=rank,
                        offer_status=prev_status.get(cid, "proposed") if cid in fixed_cands else "proposed",
                    )
                    for cid, (hid, rank) in sorted(placements.items())
                )
                log_action(
                    s,
                    "solve",
                    f"round {number}: {solution.status}, {solution.placed} placed of {p.n_candidates}; "
                    f"options {options_words(options)}"
                    + (f"; supersedes proposal {', '.join(map(str, superseded))}" if superseded else ""),
                    cohort,
                )
            break
        except IntegrityError as exc:
            # Another solve took this round number first: become the next round instead.
            if attempt == 2:
                raise ConcurrencyError(
                    "Another solve stored a round at the same moment, three times in a row.",
                    "Wait for the other runs to finish and run `placement solve` again.",
                ) from exc
    return _result(
        encoded,
        solution,
        number=number,
        rank_sum=summary["rank_sum"],
        blocking=blocking,
        targets=targets,
        superseded=superseded,
        cohort=cohort,
    )


def record_response(
    engine: Engine, candidate_id: str, response: str, *, cohort: CohortRef | str | None = None
) -> tuple[int, str]:
    """Record one candidate's answer to their offer in the cohort's latest approved round."""
    return record_responses(engine, [(candidate_id, response)], cohort=cohort)[0]


def record_responses(
    engine: Engine, answers: list[tuple[str, str]], *, cohort: CohortRef | str | None = None
) -> list[tuple[int, str]]:
    """Record several answers in one transaction: all or none (see ``placement.offers``)."""
    from .offers import record_responses as record

    return record(engine, answers, cohort=cohort)
