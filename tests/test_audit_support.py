"""The audit tests' round builder (``tests/helpers/audit.py``) writes what a solved round holds."""

from __future__ import annotations

from sqlalchemy import select

from placement.db.models import Round
from placement.db.session import transaction
from tests.helpers.audit import add_candidates, add_hosts, add_preferences, store_round


def test_store_round_follows_the_contract(engine) -> None:
    add_candidates(engine, [{"candidate_id": "C1", "sex": "female"}, {"candidate_id": "C2", "sex": "male"}])
    add_hosts(engine, [{"host_id": "H1", "capacity": 1}, {"host_id": "H2", "capacity": 1}])
    add_preferences(engine, [("C1", "H1", 1), ("C1", "H2", 3), ("C2", "H2", 2)])
    r = store_round(engine, {"C1": "H2", "C2": "H2"})
    assert r.number == 1
    assert r.placements == {"C1": ("H2", 3), "C2": ("H2", 2)}
    with transaction(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == 1))
        assert sorted(rnd.summary["pool"]) == ["C1", "C2"]
        assert rnd.objective == {"placed": 2.0, "rank_cost": 3.0}  # positions 2 and 1
        assert sorted(p.rank for p in rnd.placements) == [2, 3]
