"""season events: the history of offers, approvals and corrections; approved rounds stay approved

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:00:00

Adds ``season_events`` (one row per change of state: approve, accept, decline,
change, release, revoke, withdraw, target/pair removal, with who, when and
why). Rounds approved before this version were marked ``superseded`` when the
next round was approved; an approved round now stays ``approved``, so those
rows are set back (their ``approved_at`` says they were approved). The
downgrade restores the old marking.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('season_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('os_user', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('candidate_pk', sa.Integer(), nullable=True),
    sa.Column('host_pk', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('before', sa.String(length=20), nullable=True),
    sa.Column('after', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_pk'], ['candidates.id'], name=op.f('fk_season_events_candidate_pk_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_pk'], ['hosts.id'], name=op.f('fk_season_events_host_pk_hosts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_season_events_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_season_events'))
    )
    with op.batch_alter_table('season_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_season_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_season_events_candidate_pk'), ['candidate_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_season_events_round_id'), ['round_id'], unique=False)
    # An approved round stays approved.
    op.execute("UPDATE rounds SET state = 'approved' WHERE state = 'superseded' AND approved_at IS NOT NULL")


def downgrade() -> None:
    # The old marking: every approved round but the latest was superseded.
    op.execute(
        "UPDATE rounds SET state = 'superseded' WHERE state = 'approved' "
        "AND number < (SELECT MAX(number) FROM rounds WHERE approved_at IS NOT NULL)"
    )
    with op.batch_alter_table('season_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_season_events_round_id'))
        batch_op.drop_index(batch_op.f('ix_season_events_candidate_pk'))
        batch_op.drop_index(batch_op.f('ix_season_events_at'))
    op.drop_table('season_events')
