"""The `placement` command line: thin commands over the library.

Each command opens the database, calls one library function and turns a
:class:`~placement.errors.PlacementError` into a clear message (sqlite-utils
style). Commands live in one module per group; this module wires them up.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..cohorts import COHORT_ENV
from ..config import DATABASE_URL_ENV, database_url
from ..errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, PlacementError
from ..text import visible


class AppContext:
    """What every command shares: the database URL, the cohort named (if any) and a lazily opened engine."""

    def __init__(self, db_url: str, cohort: str | None = None):
        self.db_url = db_url
        # --cohort / PLACEMENT_COHORT; None: the only open cohort (``cohorts.resolve`` decides, or says which exist).
        self.cohort = cohort
        self._engine: Engine | None = None

    def engine(self, *, create_if_empty: bool = True) -> Engine:
        """Open the database, checking the schema is current.

        A brand-new, empty database is given the schema by running the
        migrations (never ``create_all``); an existing database behind the
        newest migration is left alone and the user is told to upgrade it.
        """
        from ..db.migrate import current_revision, upgrade
        from ..db.session import make_engine, require_schema, table_names

        if self._engine is None:
            engine = make_engine(self.db_url)
            if create_if_empty and not table_names(engine) and current_revision(engine) is None:
                upgrade(engine)
                click.echo(f"Created a new placement database at {visible(self.db_url)}.", err=True)
            require_schema(engine)
            self._engine = engine
        return self._engine


_FAILURES: dict[int, type[click.ClickException]] = {}

# Every write is one transaction, so a command stopped part-way has written nothing.
INTERRUPTED = "Stopped: interrupted (Ctrl-C) before it finished; nothing was written. Run the command again when ready."


def command_failed(exc: PlacementError) -> click.ClickException:
    """A library error as click's one-message failure, with the error's exit code (see the README)."""
    code = exc.exit_code
    if code not in _FAILURES:
        _FAILURES[code] = type(f"CommandFailed{code}", (click.ClickException,), {"exit_code": code})
    # Messages quote ids and names from files and the command line: never let them act on the terminal.
    return _FAILURES[code](visible(str(exc), multiline=True))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into click's clear one-message failures."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PlacementError as exc:
            raise command_failed(exc) from exc
        except SQLAlchemyError as exc:  # a damaged file, a full disk, a lost connection: never a traceback
            from ..db.failures import describe

            raise command_failed(describe(exc, doing=f"`placement {_command_name()}`", written=False)) from None

    return wrapper


def _command_name() -> str:
    ctx = click.get_current_context(silent=True)
    return ctx.command_path.partition(" ")[2] if ctx is not None else "command"


class PlacementGroup(click.Group):
    """The top-level group, with the exit codes the README documents.

    0 done; 1 bad input or usage (click's own usage errors exit 2 by default);
    3 infeasible; 4 no answer within the time limit; 130 interrupted (Ctrl-C).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Without standalone mode click returns ctx.exit(N)'s code (commands themselves return None).
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            interrupted = isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt)
            click.echo(INTERRUPTED if interrupted else "Aborted.", err=True)
            sys.exit(EXIT_INTERRUPTED if interrupted else EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo(INTERRUPTED, err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


pass_app = click.make_pass_decorator(AppContext)

COHORT_HELP = (
    f"The cohort (intake) to work on (default: ${COHORT_ENV}, else the only open cohort; see `placement cohort list`)."
)


def _remember_cohort(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.cohort = value
    return value


def cohort_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--cohort NAME`` (or ``PLACEMENT_COHORT``) on a command: it sets ``AppContext.cohort``."""
    return click.option(
        "--cohort",
        metavar="NAME",
        envvar=COHORT_ENV,
        default=None,
        expose_value=False,
        callback=_remember_cohort,
        help=COHORT_HELP,
    )(fn)


@click.group(cls=PlacementGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help=f"Database URL (default: ${DATABASE_URL_ENV}, else sqlite:///placement.db in this directory).",
)
@click.option("--cohort", metavar="NAME", envvar=COHORT_ENV, default=None, help=COHORT_HELP)
@click.version_option(__version__, prog_name="placement")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, cohort: str | None) -> None:
    """Place graduates with host organisations: optimal, explainable, auditable.

    \b
    Typical year:
      placement import dir data/          # candidates, hosts, preferences, ...
      placement solve                     # round 1 as a proposal
      placement audit 1                   # fairness report (HTML)
      placement round approve 1 --by "A. Coordinator"
      placement offer accept C0001        # record answers, then solve again

    \b
    Exit codes: 0 done; 1 bad input or usage; 3 infeasible (no placement
    meets every hard constraint); 4 no answer within the time limit;
    130 interrupted.

    \b
    Several intakes in one database: `placement cohort create 2027`, then
    name the cohort on any command (--cohort 2027, or PLACEMENT_COHORT=2027).
    """
    ctx.obj = AppContext(database_url(db_url), cohort)


def _register() -> None:
    # Each group lives in its own module; importing registers its commands on `cli`.
    import importlib

    for name in (
        "db",
        "cohort",
        "imports",
        "outcomes",
        "fixtures",
        "demo",
        "solve",
        "rounds",
        "season",
        "audit",
        "scenario",
        "admin",
        "users",
        "bench",
    ):
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


_register()


def main() -> None:  # console script entry point
    cli(prog_name="placement")


if __name__ == "__main__":  # pragma: no cover
    main()
