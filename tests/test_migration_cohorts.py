"""Migration 0004 moves a single-scheme database into cohort `default` and back, keeping every row.

A database at 0003 (the last schema before cohorts) is filled through its own tables (as the previous
version of placement left it: candidates, a purged one, monitoring data,
hosts, lists, pairs, a target, two rounds with placements, import batches,
the audit log). Upgrading keeps every row and every round, now in cohort
`default`; downgrading gives back a dump equal to the one taken before. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, insert, select, text

from placement.cli import cli
from placement.cohorts import create_cohort
from placement.db.migrate import current_revision, downgrade, head_revision, upgrade
from placement.db.session import make_engine

PRE_COHORT = "0003"  # the newest revision before cohorts
T0 = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2025, 9, 8, 14, 30, tzinfo=UTC)


def _fill_pre_cohort(engine) -> None:
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(
            insert(t["import_batches"]),
            [
                {
                    "id": 1,
                    "kind": "candidates",
                    "file_name": "candidates.csv",
                    "sha256": "a" * 64,
                    "rows": 3,
                    "added": 3,
                    "updated": 0,
                    "unchanged": 0,
                    "removed": 0,
                    "imported_at": T0,
                    "os_user": "coordinator",
                },
                {
                    "id": 2,
                    "kind": "hosts",
                    "file_name": "hosts.csv",
                    "sha256": "b" * 64,
                    "rows": 2,
                    "added": 2,
                    "updated": 0,
                    "unchanged": 0,
                    "removed": 0,
                    "imported_at": T0,
                    "os_user": "coordinator",
                },
            ],
        )
        conn.execute(
            insert(t["candidates"]),
            [
                {
                    "id": 1,
                    "candidate_id": "C001",
                    "given_name": "Ada",
                    "family_name": "Lovelace",
                    "email": "ada@example.org",
                    "assessment_score": 81.0,
                    "specialisms": "data;digital",
                    "home_region": "London",
                    "willing_to_relocate": True,
                    "career_changer": "no",
                    "linked_with": None,
                    "withdrawn": False,
                    "purged_at": None,
                    "import_batch_id": 1,
                },
                {
                    "id": 2,
                    "candidate_id": "C002",
                    "given_name": "Alan",
                    "family_name": "Turing",
                    "email": "alan@example.org",
                    "assessment_score": 77.5,
                    "specialisms": "technology",
                    "home_region": "South East",
                    "willing_to_relocate": False,
                    "career_changer": "yes",
                    "linked_with": "C003",
                    "withdrawn": True,
                    "purged_at": None,
                    "import_batch_id": 1,
                },
                {
                    "id": 3,
                    "candidate_id": "C003",
                    "given_name": None,
                    "family_name": None,
                    "email": None,
                    "assessment_score": 60.0,
                    "specialisms": "data",
                    "home_region": "Midlands",
                    "willing_to_relocate": True,
                    "career_changer": "not_known",
                    "linked_with": None,
                    "withdrawn": False,
                    "purged_at": T1,
                    "import_batch_id": None,
                },
            ],
        )
        conn.execute(
            insert(t["protected_characteristics"]),
            [
                {
                    "candidate_pk": 1,
                    "sex": "female",
                    "ethnic_category": "A",
                    "ethnic_group": "white",
                    "minority_ethnic": "no",
                    "disability": "no",
                },
                {
                    "candidate_pk": 2,
                    "sex": "male",
                    "ethnic_category": "H",
                    "ethnic_group": "asian",
                    "minority_ethnic": "yes",
                    "disability": "yes",
                },
            ],
        )
        conn.execute(
            insert(t["hosts"]),
            [
                {
                    "id": 1,
                    "host_id": "RX1",
                    "name": "Royal London",
                    "org_type": "acute",
                    "region": "London",
                    "capacity": 2,
                    "specialisms": "data;digital",
                    "min_score": 60.0,
                    "min_placements": 1,
                    "import_batch_id": 2,
                },
                {
                    "id": 2,
                    "host_id": "RY2",
                    "name": "Kent Community",
                    "org_type": "community",
                    "region": "South East",
                    "capacity": 0,
                    "specialisms": "technology",
                    "min_score": 0.0,
                    "min_placements": 0,
                    "import_batch_id": None,
                },
            ],
        )
        conn.execute(
            insert(t["preferences"]),
            [
                {"id": 1, "candidate_pk": 1, "host_pk": 1, "rank": 1},
                {"id": 2, "candidate_pk": 1, "host_pk": 2, "rank": 3},
                {"id": 3, "candidate_pk": 2, "host_pk": 2, "rank": 1},
            ],
        )
        conn.execute(
            insert(t["host_rankings"]),
            [
                {"id": 1, "host_pk": 1, "candidate_pk": 1, "rank": 1},
                {"id": 2, "host_pk": 1, "candidate_pk": 2, "rank": 1},
            ],
        )
        conn.execute(
            insert(t["pair_rules"]),
            [{"id": 1, "candidate_pk": 2, "host_pk": 1, "rule": "forbid", "reason": "current employer"}],
        )
        conn.execute(
            insert(t["targets"]),
            [
                {
                    "id": 1,
                    "name": "women",
                    "scope": "cohort",
                    "attribute": "sex",
                    "value": "female",
                    "min_share": 0.4,
                    "max_share": None,
                    "strength": "soft",
                    "weight": 5.0,
                }
            ],
        )
        common = {
            "created_by": "coordinator",
            "input_hash": "c" * 64,
            "solver_version": "placement 0.1.0",
            "status": "OPTIMAL",
            "solve_seconds": 0.5,
        }
        conn.execute(
            insert(t["rounds"]),
            [
                dict(
                    id=1,
                    number=1,
                    state="approved",
                    parent_number=None,
                    created_at=T0,
                    options={"objective": "rank-sum"},
                    objective={"placed": 2.0},
                    bound={"placed": 2.0},
                    summary={"pool": ["C001", "C002"], "placed": 2},
                    approved_by="A. Approver",
                    approved_at=T1,
                    inputs=b"\x00\x01stored inputs",
                    **common,
                ),
                dict(
                    id=2,
                    number=2,
                    state="proposal",
                    parent_number=1,
                    created_at=T1,
                    options={"objective": "rank-sum"},
                    objective={"placed": 1.0},
                    bound={"placed": 1.0},
                    summary={"pool": ["C001"], "placed": 1},
                    approved_by=None,
                    approved_at=None,
                    inputs=None,
                    **common,
                ),
            ],
        )
        conn.execute(
            insert(t["placements"]),
            [
                {
                    "id": 1,
                    "round_id": 1,
                    "candidate_pk": 1,
                    "host_pk": 1,
                    "rank": 1,
                    "offer_status": "accepted",
                    "responded_at": T1,
                },
                {
                    "id": 2,
                    "round_id": 1,
                    "candidate_pk": 2,
                    "host_pk": 2,
                    "rank": 1,
                    "offer_status": "declined",
                    "responded_at": T1,
                },
                {
                    "id": 3,
                    "round_id": 2,
                    "candidate_pk": 1,
                    "host_pk": 1,
                    "rank": 1,
                    "offer_status": "fixed",
                    "responded_at": None,
                },
            ],
        )
        conn.execute(
            insert(t["audit_log"]),
            [
                {
                    "id": 1,
                    "at": T0,
                    "os_user": "coordinator",
                    "action": "import",
                    "detail": "candidates from candidates.csv",
                },
                {
                    "id": 2,
                    "at": T1,
                    "os_user": "coordinator",
                    "action": "approve",
                    "detail": "round 1 approved by A. Approver",
                },
            ],
        )
        conn.execute(
            insert(t["season_events"]),
            [
                {
                    "id": 1,
                    "at": T1,
                    "os_user": "coordinator",
                    "action": "decline",
                    "round_id": 1,
                    "candidate_pk": 2,
                    "host_pk": 2,
                    "subject": "",
                    "before": "offered",
                    "after": "declined",
                    "reason": "took another post",
                },
                {
                    "id": 2,
                    "at": T1,
                    "os_user": "coordinator",
                    "action": "target-remove",
                    "round_id": None,
                    "candidate_pk": None,
                    "host_pk": None,
                    "subject": "old-target",
                    "before": None,
                    "after": None,
                    "reason": "no longer wanted",
                },
            ],
        )
        if conn.dialect.name == "postgresql":  # rows were given their ids: move each key's sequence past them
            for name, table in t.items():
                if "id" in table.c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                        )
                    )


def _dump(engine) -> dict[str, list[dict]]:
    """Every row of every table (bar Alembic's), by primary key order, values as text."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            out[name] = [
                {k: str(v) for k, v in row._mapping.items()} for row in conn.execute(select(table).order_by(*order))
            ]
    return out


def test_0004_keeps_every_row_up_and_down(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    upgrade(engine, PRE_COHORT)
    _fill_pre_cohort(engine)
    before = _dump(engine)

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    after = _dump(engine)
    assert [c["name"] for c in after["cohorts"]] == ["default"]
    default = after["cohorts"][0]["id"]
    # Every row of every old table is still there, with its old values; the cohort-scoped ones are in `default`.
    for table, rows in before.items():
        new_rows = {r["id"] if "id" in r else r["candidate_pk"]: r for r in after[table]}
        assert len(after[table]) == len(rows), table
        for old in rows:
            new = new_rows[old["id"] if "id" in old else old["candidate_pk"]]
            if table == "hosts":  # the places moved to host_places
                place = next(p for p in after["host_places"] if p["host_pk"] == old["id"])
                assert place["cohort_id"] == default
                new = {**new, **{k: place[k] for k in ("capacity", "specialisms", "min_score", "min_placements")}}
            assert {k: new[k] for k in old} == old, (table, old)
            if table in ("candidates", "targets", "rounds", "import_batches", "audit_log", "season_events"):
                assert new["cohort_id"] == default, (table, new)
    assert len(after["host_places"]) == 2 and after["outcomes"] == []

    # The application reads the migrated database as cohort `default`: both rounds, numbered as before.
    listing = CliRunner().invoke(cli, ["--db", any_db_url, "round", "list"], catch_exceptions=False)
    assert listing.exit_code == 0, listing.output
    assert "Rounds of cohort default" in listing.output
    listed = CliRunner().invoke(cli, ["--db", any_db_url, "round", "list", "--json"], catch_exceptions=False)
    assert [r["round"] for r in json.loads(listed.output)] == [1, 2]

    downgrade(engine, PRE_COHORT)
    assert _dump(engine) == before
    upgrade(engine)
    assert _dump(engine) == after | {"cohorts": _dump(engine)["cohorts"]}  # the same again (bar the new cohort's time)
    engine.dispose()


def test_0004_downgrade_refuses_to_drop_a_second_cohort(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    upgrade(engine, PRE_COHORT)
    _fill_pre_cohort(engine)
    upgrade(engine)
    create_cohort(engine, "2027")
    from placement.db.models import Target
    from placement.db.session import transaction

    with transaction(engine) as s:
        cohort = s.scalar(text("SELECT id FROM cohorts WHERE name = '2027'"))
        s.add(
            Target(
                cohort_id=cohort,
                name="women",
                scope="cohort",
                attribute="sex",
                value="female",
                min_share=0.5,
                max_share=None,
                strength="soft",
                weight=1.0,
            )
        )
    before = _dump(engine)
    with pytest.raises(RuntimeError, match="2 cohorts hold data"):
        downgrade(engine, PRE_COHORT)
    assert current_revision(engine) == head_revision()
    assert _dump(engine) == before
    engine.dispose()
