"""Every migration runs up and down on SQLite and PostgreSQL, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from placement.db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from placement.db.models import Base
from placement.db.session import make_engine


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_migrations_up_down_and_match_models(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    revisions = _revisions_oldest_first()
    assert revisions, "no migrations found"
    # Up one step at a time, then all the way down, then up again.
    for rev in revisions:
        upgrade(engine, rev)
        assert current_revision(engine) == rev
    for rev in reversed(revisions[:-1]):
        downgrade(engine, rev)
        assert current_revision(engine) == rev
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    engine.dispose()


def test_sqlite_file_is_owner_only(tmp_path) -> None:
    path = tmp_path / "new.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    assert path.stat().st_mode & 0o777 == 0o600
