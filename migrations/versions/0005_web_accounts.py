"""web console: accounts, server-side sessions, sign-in attempts, background jobs, settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:50:00

Adds the tables of ``placement serve``: ``web_users`` (argon2 password
hashes, roles coordinator / equality-lead / viewer), ``web_sessions``
(revocable, expiring), ``web_login_attempts`` (rate limiting shared by every
worker process), ``web_jobs`` (background solves) and ``web_settings`` (the
cookie-signing key, made by the first server to start, so every worker signs
alike). Nothing existing changes; the downgrade drops them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('coordinator', 'equality-lead', 'viewer')", name=op.f("ck_web_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("username", name=op.f("uq_web_users_username")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("cohort", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], name=op.f("fk_web_sessions_user_id_web_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "web_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login_attempts")),
    )
    op.create_index(op.f("ix_web_login_attempts_at"), "web_login_attempts", ["at"], unique=False)
    op.create_index(op.f("ix_web_login_attempts_username"), "web_login_attempts", ["username"], unique=False)
    op.create_table(
        "web_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("cohort", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
    )
    op.create_table(
        "web_settings",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_web_settings")),
    )


def downgrade() -> None:
    # SQLite's Python driver opens a transaction only at the first data statement and runs DDL before it in
    # autocommit: start with one, so that when an older migration's downgrade refuses (0004 refuses to drop a
    # second cohort's data), these drops are rolled back with it instead of leaving revision 0005 without tables.
    op.execute("DELETE FROM web_login_attempts WHERE 1 = 0")
    op.drop_table("web_settings")
    op.drop_table("web_jobs")
    op.drop_index(op.f("ix_web_login_attempts_username"), table_name="web_login_attempts")
    op.drop_index(op.f("ix_web_login_attempts_at"), table_name="web_login_attempts")
    op.drop_table("web_login_attempts")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
