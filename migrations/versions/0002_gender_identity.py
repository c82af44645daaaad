"""gender identity: the six NHS GENDER IDENTITY CODE values, checked by the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:50:00

``protected_characteristics.sex`` held female, male, not_stated or not_known;
it now also takes non_binary and other (formats.md). Every value an existing
database holds stays valid, and the database itself refuses anything outside
the six from now on. A value outside even the old four (never written by
placement, but possible in a hand-edited database) becomes not_known rather
than blocking the upgrade; values are never printed (they can reveal trans
status).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

VALUES = ("female", "male", "non_binary", "other", "not_stated", "not_known")
OLD_VALUES = ("female", "male", "not_stated", "not_known")


def _in(values: tuple[str, ...]) -> str:
    return "sex IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.execute(f"UPDATE protected_characteristics SET sex = 'not_known' WHERE NOT ({_in(VALUES)})")
    with op.batch_alter_table('protected_characteristics', schema=None) as batch_op:
        batch_op.create_check_constraint('sex_values', sa.text(_in(VALUES)))


def downgrade() -> None:
    # An older placement knows only the four old values: non_binary and other
    # go back to not_known there (what coordinators had to use before).
    with op.batch_alter_table('protected_characteristics', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_protected_characteristics_sex_values'), type_='check')
    op.execute(f"UPDATE protected_characteristics SET sex = 'not_known' WHERE NOT ({_in(OLD_VALUES)})")
