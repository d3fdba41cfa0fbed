"""What a fresh server tells the person who started it: how to create the first admin.

Without it a newcomer has a running server, a sign-in page and no way in that the server names.
"""

from __future__ import annotations

import logging

from whiteboard.settings import Settings, mask_url
from whiteboard.state import State
from whiteboard.store import StoreUnavailable, sqlite_path

log = logging.getLogger("whiteboard.first_run")

FIRST_ADMIN_COMMAND = "whiteboard user add NAME --role admin"


def first_admin_hint(settings: Settings, users: int, demo_tokens: str | None = None) -> str | None:
    """The start-up line for a server without staff accounts (None when there are some)."""
    if users:
        return None
    path = sqlite_path(settings.database_url)
    where = (
        f"in this server's directory (database {path})"
        if path is not None and not path.is_absolute()
        else f"with WHITEBOARD_DATABASE_URL={mask_url(settings.database_url)}"
    )
    hint = f"no staff accounts yet: create the first admin with `{FIRST_ADMIN_COMMAND}`, run {where}"
    if demo_tokens:
        hint += f"; meanwhile the demo's sign-in tokens are in {demo_tokens}"
    return hint


async def announce_first_admin(state: State) -> None:
    """Log the hint at start-up, after the demo (if on) has written its tokens file."""
    tokens = None
    if state.settings.demo:
        from whiteboard.demo.feed import tokens_file

        path = tokens_file(state.settings.database_url)
        tokens = str(path) if path.exists() else None
    try:
        users = await state.accounts.list_users()
    except StoreUnavailable:  # a database that is down now is reported by /readyz; it must not stop the start
        return
    hint = first_admin_hint(state.settings, len(users), tokens)
    if hint is not None:
        log.warning(hint, extra={"command": FIRST_ADMIN_COMMAND})
