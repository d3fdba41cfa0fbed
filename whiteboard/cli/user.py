"""`whiteboard user`: staff accounts (add, list, disable, reset a password)."""

from __future__ import annotations

import sys
from typing import Any

import click

from whiteboard.access.auth import ROLES
from whiteboard.cli.common import DB_OPTION, cli_actor, fail, open_database, with_store
from whiteboard.settings import Settings
from whiteboard.store import Store


@click.group()
def user() -> None:
    """Staff accounts: username and password (stored as an argon2 hash)."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _accounts(store: Store) -> Any:
    from whiteboard.access.accounts import Accounts

    return Accounts(store, idle_secs=Settings.session_idle_secs, max_age_secs=Settings.session_max_age_secs)


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r for r in ROLES if r != "display"]))
@click.option("--ward", "wards", multiple=True, help="A ward they cover (repeat for several); none: every ward.")
@click.option("--name", default=None, help="Full name, shown in the audit trail (default: the username).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@DB_OPTION
def user_add(
    username: str, role: str, wards: tuple[str, ...], name: str | None, password_stdin: bool, database_url: str
) -> None:
    """Create a staff account (at least 12 characters of password)."""
    from whiteboard.access.accounts import AccountError

    open_database(database_url)  # before asking for a password that would be thrown away
    password = _password(password_stdin)

    async def add(store: Store) -> str:
        try:
            result: str = await _accounts(store).add_user(
                username, name or username, password, role, wards or None, actor=cli_actor()
            )
        except (AccountError, ValueError) as exc:
            fail(str(exc))
        return result

    with_store(database_url, add, checked=True)
    click.echo(f"created user {username} ({role})", err=True)


@user.command("list")
@DB_OPTION
def user_list(database_url: str) -> None:
    """List staff accounts (never their passwords)."""
    for u in with_store(database_url, lambda s: _accounts(s).list_users()):
        wards = ",".join(u.wards) if u.wards is not None else "*"
        state = "disabled" if u.disabled else "active"
        click.echo(f"{u.username:24} {u.role:12} {wards:30} {state:9} {u.display_name}")


@user.command("disable")
@click.argument("username")
@DB_OPTION
def user_disable(username: str, database_url: str) -> None:
    """Disable an account and end its sessions at once."""
    from whiteboard.access.accounts import AccountError

    async def disable(store: Store) -> None:
        try:
            await _accounts(store).disable_user(username, actor=cli_actor())
        except AccountError as exc:
            fail(str(exc))

    with_store(database_url, disable)
    click.echo(f"disabled {username}; their sessions are ended", err=True)


@user.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@DB_OPTION
def user_reset_password(username: str, password_stdin: bool, database_url: str) -> None:
    """Set a new password; every session the old one opened is ended."""
    from whiteboard.access.accounts import AccountError

    open_database(database_url)  # before asking for a password that would be thrown away
    password = _password(password_stdin)

    async def reset(store: Store) -> None:
        try:
            await _accounts(store).reset_password(username, password, actor=cli_actor())
        except AccountError as exc:
            fail(str(exc))

    with_store(database_url, reset, checked=True)
    click.echo(f"password of {username} changed; their sessions are ended", err=True)
