"""`placement db ...`: create and upgrade the schema."""

from __future__ import annotations

import click

from ..text import visible
from . import AppContext, cli, handle_errors, pass_app


@cli.group("db")
def db_group() -> None:
    """Create, upgrade and inspect the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migrate to this Alembic revision.")
@pass_app
@handle_errors
def db_upgrade(app: AppContext, revision: str) -> None:
    """Create the schema or bring it up to date (runs the Alembic migrations)."""
    from ..db.migrate import current_revision, upgrade
    from ..db.session import check_upgradable, make_engine

    engine = make_engine(app.db_url)
    before = current_revision(engine)
    check_upgradable(engine, before)
    upgrade(engine, revision)
    after = current_revision(engine)
    if before == after:
        click.echo(f"Database already at revision {after}.")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to {after}.")


@db_group.command("status")
@pass_app
@handle_errors
def db_status(app: AppContext) -> None:
    """Show the schema revision of the database and the newest one available."""
    from ..db.migrate import current_revision, head_revision
    from ..db.session import make_engine

    engine = make_engine(app.db_url)
    click.echo(
        f"database: {visible(app.db_url)}\ncurrent:  {current_revision(engine) or 'empty'}\nnewest:   {head_revision()}"
    )
