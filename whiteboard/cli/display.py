"""`whiteboard display`: pair, list and rename the wall-board screens."""

from __future__ import annotations

from typing import Any

import click

from whiteboard.cli.common import DB_OPTION, cli_actor, fail, with_store
from whiteboard.store import Store


@click.group()
def display() -> None:
    """Wall displays: pairing codes to enrol a screen, and the enrolled displays."""


@display.command("pair")
@click.option("--ward", required=True, help="The ward whose board the screen will show.")
@click.option("--label", required=True, help="Where the screen hangs, e.g. 'Ward 7A nurses station'.")
@DB_OPTION
def display_pair(ward: str, label: str, database_url: str) -> None:
    """Print a single-use pairing code (valid 15 minutes) to type into the wall screen's sign-in page."""
    from whiteboard.access.kiosks import Kiosks
    from whiteboard.errors import ApiError

    async def pair(store: Store) -> tuple[str, Any]:
        try:
            return await Kiosks(store).new_code(ward, label, actor=cli_actor())
        except ApiError as exc:
            fail(f"{exc.message}. Create it with `whiteboard ward add`.")
            raise

    code, expires = with_store(database_url, pair)
    click.echo(code)
    click.echo(f"open /login on the screen and enter it before {expires:%H:%M} UTC", err=True)


@display.command("list")
@DB_OPTION
def display_list(database_url: str) -> None:
    """Enrolled displays (revoke one with `whiteboard token revoke ID`)."""
    from whiteboard.access.kiosks import Kiosks

    for d in with_store(database_url, lambda s: Kiosks(s).list()):
        click.echo(f"{d.id}  {d.ward:20} {'revoked' if d.revoked else 'active':8} {d.label}")


@display.command("rename")
@click.argument("display_id")
@click.argument("label")
@DB_OPTION
def display_rename(display_id: str, label: str, database_url: str) -> None:
    """Give an enrolled display a new label."""
    from whiteboard.access.kiosks import Kiosks

    if not with_store(database_url, lambda s: Kiosks(s).rename(display_id, label, actor=cli_actor())):
        fail(f"no display {display_id!r}; see `whiteboard display list`")
    click.echo(f"renamed {display_id}", err=True)
