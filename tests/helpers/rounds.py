"""A small scheme in a database, and the placements of a stored round, for the rounds tests."""

from __future__ import annotations

from sqlalchemy import select

from placement.db.models import Placement, Round
from placement.db.session import transaction
from tests.helpers.dbseed import seed


def small_scheme(engine, targets=()):
    # Three hosts with four places for six candidates; everyone's first choice is H1.
    cands = [{"candidate_id": f"C{i}", "score": 90 - i, "sex": "female" if i % 2 else "male"} for i in range(1, 7)]
    hosts = [
        {"host_id": "H1", "capacity": 2},
        {"host_id": "H2", "capacity": 1},
        {"host_id": "H3", "capacity": 1, "region": "Midlands"},
    ]
    prefs = [(f"C{i}", h, r) for i in range(1, 7) for r, h in enumerate(("H1", "H2", "H3"), start=1)]
    seed(engine, cands, hosts, prefs, targets=targets)


def placements(engine, number):
    from placement.db.models import Candidate, Host

    with transaction(engine) as s:
        rows = s.execute(
            select(Candidate.candidate_id, Host.host_id, Placement.offer_status)
            .join(Placement, Placement.candidate_pk == Candidate.id)
            .join(Host, Host.id == Placement.host_pk)
            .join(Round, Round.id == Placement.round_id)
            .where(Round.number == number)
        ).all()
    return {c: (h, st) for c, h, st in rows}
