"""Placement trends over cohorts: ``placement audit --cohort A --cohort B ...``.

Each cohort's placements are its final round: the latest approved round
(else, before any approval, its latest round). For each cohort alone and for
all of them pooled (the candidates of every cohort together, as small
organisations pool multi-year WRES data) the placement audit's own figures
are built by ``report.build_audit`` — rates, relative likelihoods, adverse
impact with Fisher's exact test, verdicts, disclosure control in the
publication edition — so a comparison that is "too few to tell" in one intake
can be told over three. Targets and the price of fairness belong to one
round (one solve) and are not pooled: see each round's own audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from .. import __version__
from ..cohorts import CohortRef, resolve
from ..db.models import Round
from ..db.session import sqlite_path, transaction
from ..errors import ConfigError, NotFound
from ..totals import RoundRecord, totals_of
from .editions import Edition, edition_words, write_edition
from .load import CandidateFacts, RoundFacts, load_round_facts
from .price import not_applicable
from .report import build_audit

SCHEMA = "placement-trends/1"
NOT_POOLED = (
    "The price of fairness belongs to one round's solve; it is not pooled across cohorts. "
    "See each round's own audit (placement audit N --cohort NAME)."
)


def final_round(session, cohort: CohortRef) -> int:
    """The cohort's latest approved round, else its latest round."""
    base = select(Round.number).where(Round.cohort_id == cohort.id)
    number = session.scalar(base.where(Round.approved_at.is_not(None)).order_by(Round.number.desc()).limit(1))
    if number is None:
        number = session.scalar(base.order_by(Round.number.desc()).limit(1))
    if number is None:
        raise NotFound(
            f"Cohort {cohort.name} has no rounds to audit.", f"Solve it first: placement solve --cohort {cohort.name}."
        )
    return int(number)


def pool(per_cohort: Sequence[RoundFacts]) -> RoundFacts:
    """Every cohort's candidates as one population (ids prefixed by cohort, so a re-applicant counts twice)."""
    candidates: list[CandidateFacts] = []
    pool_ids: list[str] = []
    eligible: set[str] = set()
    placed: dict[str, tuple[str, int]] = {}
    blocking: list[tuple[str, str]] = []
    choice_of: dict[tuple[str, str], int] = {}
    for f in per_cohort:
        r = f.record
        tag = f"{r.cohort.name if r.cohort else r.number}/"
        candidates += [replace(c, candidate_id=tag + c.candidate_id) for c in f.candidates]
        pool_ids += [tag + c for c in r.pool]
        eligible |= {tag + c for c in r.eligible}
        placed.update({tag + c: hr for c, hr in r.placed.items()})
        blocking += [(tag + c, h) for c, h in r.blocking_pairs]
        choice_of.update({(tag + c, h): n for (c, h), n in r.choice_of.items()})
    solved = all(f.record.status in ("OPTIMAL", "FEASIBLE") for f in per_cohort)
    # Targets belong to one round's solve: the pooled record has none, so its totals count none.
    record = RoundRecord(
        cohort=None,
        number=0,
        state="pooled",
        parent_number=None,
        created_at=None,
        created_by="",
        approved_by=None,
        approved_at=None,
        options=per_cohort[0].record.options,
        input_hash="",
        solver_version=per_cohort[0].record.solver_version,
        status="OPTIMAL" if solved else "pooled",
        objective={},
        bound={},
        solve_seconds=0.0,
        summary={},
        pool=pool_ids,
        eligible=eligible,
        placed=placed,
        choice_of=choice_of,
        positions_from=per_cohort[0].record.positions_from,
        targets=[],
        targets_assessed=solved,
        blocking_pairs=blocking,
    )
    return RoundFacts(record=record, candidates=candidates, totals=totals_of(record), method="pooled")


def audit_trends(
    engine: Engine, cohorts: Sequence[str], *, edition: Edition | str = Edition.INTERNAL
) -> dict[str, Any]:
    """The placement audit of each cohort's final round and of all of them pooled."""
    edition = Edition.parse(edition)
    if len(cohorts) < 2:
        raise ConfigError(
            "A trend needs at least two cohorts.", "Name each with --cohort, e.g. --cohort 2025 --cohort 2026."
        )
    with transaction(engine) as s:
        refs: list[CohortRef] = []
        for name in cohorts:
            ref = resolve(s, name)
            if ref.id not in {r.id for r in refs}:
                refs.append(ref)
        facts = [load_round_facts(s, final_round(s, ref), ref) for ref in refs]
    per = [build_audit(f, not_applicable(f, NOT_POOLED), edition=edition) for f in facts]
    pooled_facts = pool(facts)
    pooled = build_audit(pooled_facts, not_applicable(pooled_facts, NOT_POOLED), edition=edition)
    return {
        "schema": SCHEMA,
        "generator": f"placement {__version__}",
        "edition": edition.value,
        "stamp": edition.stamp,
        "disclosure_control": {"applied": not edition.exact, "notice": edition.stamp},
        "cohorts": [
            {
                "cohort": f.record.cohort.name if f.record.cohort else "",
                "round": f.record.number,
                "state": f.record.state,
            }
            for f in facts
        ],
        "per_cohort": per,
        "pooled": pooled,
    }


def write_trends(
    engine: Engine,
    cohorts: Sequence[str],
    fmt: str = "html",
    out: Path | str | None = None,
    *,
    edition: Edition | str = Edition.INTERNAL,
) -> Path:
    """Write the cross-cohort placement trends and return where they went."""
    from .trends_render import render_trends

    edition = Edition.parse(edition)
    report = audit_trends(engine, cohorts, edition=edition)
    data = render_trends(report, fmt)
    if out is None:
        folder = Path.cwd()
        db_file = sqlite_path(engine.url.render_as_string(hide_password=False))
        if db_file is not None:
            folder = db_file.resolve().parent
        names = "+".join(c["cohort"] for c in report["cohorts"])
        out = folder / f"placement-trends-{names}-{edition.value}.{fmt}"
    path = Path(out)
    write_edition(path, data, edition)
    from ..rounds import log_action

    with transaction(engine) as s:
        log_action(
            s,
            "audit",
            f"placement trends over cohorts {', '.join(c['cohort'] for c in report['cohorts'])}, "
            f"{fmt}, {edition_words(edition)}, written to {path}",
        )
    return path
