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


def test_gender_identity_migration_keeps_existing_databases_valid(any_db_url: str) -> None:
    """A database written before non_binary/other keeps every value; the database refuses any other value."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(any_db_url)
    upgrade(engine, "0001")
    old = ("female", "male", "not_stated", "not_known")
    with engine.begin() as conn:
        for pk, sex in enumerate(old, start=1):
            conn.execute(
                text(
                    "INSERT INTO candidates (id, candidate_id, assessment_score, specialisms, home_region, "
                    "willing_to_relocate, career_changer, withdrawn) VALUES (:pk, :cid, 70, 'data', 'London', "
                    "true, 'no', false)"
                ),
                {"pk": pk, "cid": f"C{pk}"},
            )
            conn.execute(
                text("INSERT INTO protected_characteristics VALUES (:pk, :sex, 'A', 'white', 'no', 'no')"),
                {"pk": pk, "sex": sex},
            )
    upgrade(engine, "0002")
    with engine.begin() as conn:
        assert [r[0] for r in conn.execute(text("SELECT sex FROM protected_characteristics ORDER BY 1"))] == sorted(old)
        conn.execute(text("UPDATE protected_characteristics SET sex = 'non_binary' WHERE candidate_pk = 1"))
        conn.execute(text("UPDATE protected_characteristics SET sex = 'other' WHERE candidate_pk = 2"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE protected_characteristics SET sex = 'woman' WHERE candidate_pk = 3"))
    downgrade(engine, "0001")  # an older placement knows four values: the new two become not_known
    with engine.begin() as conn:
        got = dict(conn.execute(text("SELECT candidate_pk, sex FROM protected_characteristics")).all())
    assert got == {1: "not_known", 2: "not_known", 3: "not_stated", 4: "not_known"}
    engine.dispose()
