"""Alembic, driven from code: ``placement db upgrade`` and the tests call these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def migrations_dir() -> Path:
    """The Alembic scripts: ``placement.migrations`` as installed (the build maps the repository's
    ``migrations/`` there; an editable install maps it to the repository folder itself)."""
    from importlib.util import find_spec

    spec = find_spec("placement.migrations")
    if spec is not None and spec.origin and (Path(spec.origin).parent / "env.py").exists():
        return Path(spec.origin).parent
    for parent in Path(__file__).resolve().parents:  # a source tree used without installing
        candidate = parent / "migrations"
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("The migrations are missing from this installation of placement; reinstall it.")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # '%' is Alembic's interpolation character; a URL with a %-escaped password must survive.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this version's migrations."""
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run Alembic on one connection in one transaction.

    On SQLite, foreign keys are switched off for the run (and back on after):
    SQLite alters a table by rebuilding it, and dropping the old copy with
    foreign keys on would cascade-delete the rows that point at it (every
    preference of every candidate). The pragma only takes effect outside a
    transaction, so it is set before the migration's transaction begins; each
    migration that rebuilds tables checks ``PRAGMA foreign_key_check`` itself.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic.util import CommandError

    from ..errors import ConfigError

    try:
        _run(engine, lambda cfg: command.upgrade(cfg, revision))
    except CommandError as exc:  # e.g. an unknown --revision
        raise ConfigError(
            f"Cannot migrate the database to {revision!r}: {exc}. Nothing was changed.",
            "Run `placement db upgrade` without --revision (to the newest schema).",
        ) from None


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, revision))
