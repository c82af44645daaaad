"""cohorts: every intake in one database, and outcomes

Moves a single-scheme database into a cohort named ``default``: every
candidate, target, round, import batch, audit-log line and season event joins it, and each host's places
(capacity, specialisms, minimum score, minimum placements) become the host's
places for that cohort, while the host organisation itself (id, name, type,
region) stays shared by every cohort. Adds the outcomes table.

Downgrade is the reverse, and refuses (changing nothing) when it would lose
data the old schema cannot hold: a second cohort with anything in it, or
recorded outcomes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:40:00
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEFAULT_COHORT = "default"
DEFAULT_ID = f"SELECT id FROM cohorts WHERE name = '{DEFAULT_COHORT}'"

# Tables that gain a cohort: (table, the column its old unique constraint was on).
SCOPED = (("candidates", "candidate_id"), ("targets", "name"), ("rounds", "number"))


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
        sa.UniqueConstraint("name", name=op.f("uq_cohorts_name")),
    )
    cohorts = sa.table(
        "cohorts", sa.column("name", sa.String), sa.column("state", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    # Every database has the `default` cohort: an existing scheme moves into it, and a new
    # single-intake user never has to name a cohort. (Its id comes from the key's own sequence,
    # so PostgreSQL's next cohort does not collide with it.)
    op.bulk_insert(cohorts, [{"name": DEFAULT_COHORT, "state": "open", "created_at": datetime.now(timezone.utc)}])

    op.create_table(
        "host_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("host_pk", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("specialisms", sa.String(length=100), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("min_placements", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], name=op.f("fk_host_places_cohort_id_cohorts")),
        sa.ForeignKeyConstraint(["host_pk"], ["hosts.id"], name=op.f("fk_host_places_host_pk_hosts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_batch_id"], ["import_batches.id"],
                                name=op.f("fk_host_places_import_batch_id_import_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_places")),
        sa.UniqueConstraint("cohort_id", "host_pk", name=op.f("uq_host_places_cohort_id")),
    )
    with op.batch_alter_table("host_places", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_places_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_host_places_host_pk"), ["host_pk"], unique=False)
    op.execute(
        "INSERT INTO host_places (cohort_id, host_pk, capacity, specialisms, min_score, min_placements, "
        f"import_batch_id) SELECT ({DEFAULT_ID}), id, capacity, specialisms, min_score, min_placements, import_batch_id FROM hosts"
    )
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        for column in ("capacity", "specialisms", "min_score", "min_placements"):
            batch_op.drop_column(column)

    for table, old_unique in SCOPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cohort_id", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET cohort_id = ({DEFAULT_ID})")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("cohort_id", existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint(f"uq_{table}_{old_unique}", type_="unique")
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_cohort_id"), ["cohort_id", old_unique])
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_cohort_id_cohorts"), "cohorts", ["cohort_id"], ["id"])
            batch_op.create_index(batch_op.f(f"ix_{table}_cohort_id"), ["cohort_id"], unique=False)

    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cohort_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE import_batches SET cohort_id = ({DEFAULT_ID})")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f("fk_import_batches_cohort_id_cohorts"), "cohorts", ["cohort_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_import_batches_cohort_id"), ["cohort_id"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cohort_id", sa.Integer(), nullable=True))
    # Everything logged so far concerned the one scheme, now cohort `default`.
    op.execute(f"UPDATE audit_log SET cohort_id = ({DEFAULT_ID})")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f("fk_audit_log_cohort_id_cohorts"), "cohorts", ["cohort_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_audit_log_cohort_id"), ["cohort_id"], unique=False)

    # The season's corrections and answers so far were the one scheme's too.
    with op.batch_alter_table("season_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cohort_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE season_events SET cohort_id = ({DEFAULT_ID})")
    with op.batch_alter_table("season_events", schema=None) as batch_op:
        batch_op.alter_column("cohort_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_season_events_cohort_id_cohorts"), "cohorts", ["cohort_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_season_events_cohort_id"), ["cohort_id"], unique=False)

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_pk", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("band", sa.String(length=4), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["candidate_pk"], ["candidates.id"], name=op.f("fk_outcomes_candidate_pk_candidates"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_batch_id"], ["import_batches.id"],
                                name=op.f("fk_outcomes_import_batch_id_import_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("candidate_pk", "event", "date", name=op.f("uq_outcomes_candidate_pk")),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcomes_candidate_pk"), ["candidate_pk"], unique=False)
    _check_foreign_keys()


def _check_foreign_keys() -> None:
    """SQLite rebuilt tables with foreign keys off (``migrate.py``): prove nothing now points nowhere."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration 0003 left {len(broken)} broken foreign key(s), e.g. {broken[0]}")


def _refuse_lossy_downgrade() -> int:
    """The one cohort to keep; raises when the pre-cohort schema cannot hold what is stored."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM outcomes")).scalar():
        raise RuntimeError(
            "Cannot downgrade below 0004: the database records outcomes, which the older schema cannot hold. "
            "Nothing was changed; export them first, or restore a backup taken before the upgrade."
        )
    used = bind.execute(sa.text(
        "SELECT id, name FROM cohorts WHERE id IN (SELECT cohort_id FROM candidates UNION SELECT cohort_id FROM rounds "
        "UNION SELECT cohort_id FROM targets UNION SELECT cohort_id FROM host_places "
        "UNION SELECT cohort_id FROM season_events) ORDER BY id"
    )).all()
    if len(used) > 1:
        names = ", ".join(name for _, name in used)
        raise RuntimeError(
            f"Cannot downgrade below 0004: {len(used)} cohorts hold data ({names}) and the older schema holds one "
            "scheme. Nothing was changed; restore a backup taken before the upgrade instead."
        )
    if used:
        return int(used[0][0])
    default = bind.execute(sa.text("SELECT id FROM cohorts WHERE name = :n"), {"n": DEFAULT_COHORT}).scalar()
    return int(default) if default is not None else 0


def downgrade() -> None:
    keep = _refuse_lossy_downgrade()
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_candidate_pk"))
    op.drop_table("outcomes")

    with op.batch_alter_table("season_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_season_events_cohort_id"))
        batch_op.drop_constraint(batch_op.f("fk_season_events_cohort_id_cohorts"), type_="foreignkey")
        batch_op.drop_column("cohort_id")

    for table in ("audit_log", "import_batches"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_cohort_id"))
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_cohort_id_cohorts"), type_="foreignkey")
            batch_op.drop_column("cohort_id")

    for table, old_unique in reversed(SCOPED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_cohort_id"))
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_cohort_id_cohorts"), type_="foreignkey")
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_cohort_id"), type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_{old_unique}", [old_unique])
            batch_op.drop_column("cohort_id")

    # Each host's places in the kept cohort go back onto the host; a host with no places there offers none.
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("specialisms", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("min_score", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("min_placements", sa.Integer(), nullable=False, server_default="0"))
    for column in ("capacity", "specialisms", "min_score", "min_placements"):
        op.execute(sa.text(
            f"UPDATE hosts SET {column} = (SELECT p.{column} FROM host_places p "
            f"WHERE p.host_pk = hosts.id AND p.cohort_id = :keep) "
            f"WHERE EXISTS (SELECT 1 FROM host_places p WHERE p.host_pk = hosts.id AND p.cohort_id = :keep)"
        ).bindparams(keep=keep))
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        for column, kind in (("capacity", sa.Integer()), ("specialisms", sa.String(length=100)),
                             ("min_score", sa.Float()), ("min_placements", sa.Integer())):
            batch_op.alter_column(column, existing_type=kind, existing_nullable=False, server_default=None)
    with op.batch_alter_table("host_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_places_host_pk"))
        batch_op.drop_index(batch_op.f("ix_host_places_cohort_id"))
    op.drop_table("host_places")
    op.drop_table("cohorts")
    _check_foreign_keys()
