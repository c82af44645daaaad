"""Alembic migrations (shipped in the wheel as ``placement.migrations``)."""
