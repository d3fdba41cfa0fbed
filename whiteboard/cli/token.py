"""`whiteboard token`: bearer tokens for scripts, feeds and displays (create, list, revoke)."""

from __future__ import annotations

import click

from whiteboard.access.auth import ROLES, validate_role_scope
from whiteboard.cli.common import DB_OPTION, cli_actor, fail, with_store
from whiteboard.store import Store


@click.group()
def token() -> None:
    """Create, list and revoke bearer tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@click.option("--ward", "wards", multiple=True, help="A ward it covers (repeat for several); none: every ward.")
@click.option("--label", default="", help="Who or what holds it (shown in the audit trail).")
@DB_OPTION
def token_create(role: str, wards: tuple[str, ...], label: str, database_url: str) -> None:
    """Print one new bearer token on stdout (and nothing else)."""
    scope = tuple(wards) if wards else None
    try:
        validate_role_scope(role, scope)
    except ValueError as exc:
        fail(str(exc))

    async def create(store: Store) -> str:
        from whiteboard.access.accounts import check_scope

        try:
            await check_scope(store, role, scope)
        except ValueError as exc:
            fail(str(exc))
        _, tok = await store.create_credential(role, scope, label, actor=cli_actor())
        return tok

    click.echo(with_store(database_url, create))


@token.command("list")
@DB_OPTION
def token_list(database_url: str) -> None:
    """List credentials (never the tokens themselves)."""
    rows = with_store(database_url, lambda s: s.list_credentials())
    for r in rows:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        wards = ",".join(r.wards) if r.wards is not None else "*"
        click.echo(f"{r.id}  {r.role:12} {wards:30} {state:24} {r.label}")


@token.command("revoke")
@click.argument("credential_id")
@DB_OPTION
def token_revoke(credential_id: str, database_url: str) -> None:
    """Revoke a credential by the id `token list` shows; running servers refuse it within seconds."""
    if not with_store(database_url, lambda s: s.revoke_credential(credential_id, cli_actor())):
        fail(f"no active credential {credential_id!r}; see `whiteboard token list`")
    click.echo(f"revoked {credential_id}", err=True)
