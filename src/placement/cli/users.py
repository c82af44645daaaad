"""`placement user ...` (accounts of the web console) and `placement serve` (the console itself)."""

from __future__ import annotations

import sys

import click

from ..text import visible
from . import AppContext, cli, cohort_option, handle_errors, pass_app

ROLES = click.Choice(["coordinator", "equality-lead", "viewer"])


def _password_from_stdin() -> str:
    """The password as the first line of standard input (a pipe, or typed with echo off when a terminal)."""
    if sys.stdin.isatty():
        first = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return str(first)
    return sys.stdin.readline().rstrip("\r\n")


@cli.group("user")
def user_group() -> None:
    """Accounts of the web console (`placement serve`): add, list, disable, change a password."""


@user_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=ROLES,
    required=True,
    help="coordinator: imports, solves, approves, records answers and corrects; equality-lead: reads "
    "everything and the internal audit edition, changes nothing; viewer: reads rounds without "
    "special category data and the publication edition only.",
)
@click.option("--full-name", default="", help="The person's full name: what an approval they make records.")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (never from the command line, where it would be kept "
    "in the shell's history).",
)
@pass_app
@handle_errors
def user_add(app: AppContext, name: str, role: str, full_name: str, password_stdin: bool) -> None:
    """Add the account NAME with a role; its password is read from standard input.

    \b
        printf '%s\\n' "$PASSWORD" | placement user add a.smith --role coordinator \\
            --full-name "Alex Smith" --password-stdin
    """
    from ..accounts import add_user

    account = add_user(app.engine(), name, role, _password_from_stdin(), full_name=full_name)
    click.echo(
        f"Account {visible(account.username)} added ({account.role}). They sign in at /login of `placement serve`."
    )


@user_group.command("list")
@pass_app
@handle_errors
def user_list(app: AppContext) -> None:
    """Every account with its role and whether it is disabled."""
    from ..accounts import list_users
    from .tables import console, row, table

    users = list_users(app.engine())
    if not users:
        click.echo("No accounts yet: add one with `placement user add NAME --role coordinator --password-stdin`.")
        return
    out = table("Accounts of the web console", "name", "full name", "role", "state")
    for u in users:
        row(out, u.username, u.full_name, u.role, "disabled" if u.disabled else "active")
    console().print(out)


@user_group.command("disable")
@click.argument("name")
@pass_app
@handle_errors
def user_disable(app: AppContext, name: str) -> None:
    """Disable the account NAME: it cannot sign in, and its open sessions end at once."""
    from ..accounts import disable_user

    revoked = disable_user(app.engine(), name)
    click.echo(f"Account {visible(name)} disabled; {revoked} open sessions ended.")


@user_group.command("enable")
@click.argument("name")
@pass_app
@handle_errors
def user_enable(app: AppContext, name: str) -> None:
    """Let a disabled account NAME sign in again."""
    from ..accounts import enable_user

    enable_user(app.engine(), name)
    click.echo(f"Account {visible(name)} enabled.")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from standard input.")
@pass_app
@handle_errors
def user_passwd(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; its open sessions end (it signs in again)."""
    from ..accounts import set_password

    revoked = set_password(app.engine(), name, _password_from_stdin())
    click.echo(f"Password of {visible(name)} changed; {revoked} open sessions ended.")


@cli.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Keep 127.0.0.1 and put a reverse proxy with TLS in front (docs/web.md).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (use PostgreSQL for more than one: docs/web.md).",
)
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    help="Mark cookies Secure (HTTPS only). Default: on unless listening on a loopback address.",
)
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-For/-Proto from the reverse proxy on 127.0.0.1 (for the client address the "
    "sign-in rate limit counts).",
)
@cohort_option
@pass_app
@handle_errors
def serve_cmd(
    app: AppContext, host: str, port: int, workers: int, secure_cookies: bool | None, proxy_headers: bool
) -> None:
    """The web console for coordinators, equality leads and viewers, on the same database as the CLI.

    --cohort names the cohort pages open on (default: the only open one); anyone can choose another on the
    season page.

    Add an account first (`placement user add NAME --role coordinator --password-stdin`), then open
    http://127.0.0.1:8000/login. `GET /healthz` answers `ok`.
    """
    from ..web.server import run

    app.engine()  # creates or checks the schema before any worker starts
    run(
        app.db_url,
        host=host,
        port=port,
        workers=workers,
        cohort=app.cohort,
        secure_cookies=secure_cookies,
        proxy_headers=proxy_headers,
    )
