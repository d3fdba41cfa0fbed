"""The `whiteboard` command: a thin click layer over `Settings`, `create_app` and the store.

Every flag is mirrored by a `WHITEBOARD_*` environment variable (shown in --help).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from whiteboard import __version__
from whiteboard.access.auth import ROLES, validate_role_scope
from whiteboard.settings import Settings, mask_url
from whiteboard.store import Actor, Store, migrate, open_store, sqlite_path

T = TypeVar("T")

DB_OPTION = click.option(
    "--database-url",
    envvar="WHITEBOARD_DATABASE_URL",
    show_envvar=True,
    default=Settings.database_url,
    show_default=True,
    help="SQLite file (default) or postgresql://user@host/db for production.",
)


def cli_actor() -> Actor:
    """Who the audit trail names for a command: the operating-system account that ran it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        user = "unknown"
    return Actor(name=f"cli:{user}", role="admin", source="cli")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _database_label(url: str) -> str:
    """Which database, for a person: a SQLite file by its absolute path, a server URL with its password masked."""
    try:
        path = sqlite_path(url)
    except ValueError:
        return mask_url(url)
    return f"sqlite file {path.resolve()}" if path is not None else mask_url(url)


def _announce_database(url: str) -> None:
    click.echo(f"database: {_database_label(url)}", err=True)


def _require_existing_database(url: str) -> None:
    """Only `serve` and `db upgrade` may create a SQLite file: anywhere else a new, empty one is a mistake
    (the wrong directory), and a token minted there is one the running server rejects."""
    try:
        path = sqlite_path(url)
    except ValueError as exc:
        _fail(str(exc))
    if path is not None and not path.exists():
        _fail(
            f"no database at {path.resolve()}; run from the server's directory or set WHITEBOARD_DATABASE_URL "
            "(a new installation creates it with `whiteboard db upgrade` or `whiteboard serve`)"
        )


def _open_database(url: str) -> None:
    """Say which database this command uses, and refuse one that does not exist."""
    _announce_database(url)
    _require_existing_database(url)


def _with_store(url: str, fn: Callable[[Store], Awaitable[T]], *, checked: bool = False) -> T:
    if not checked:
        _open_database(url)

    async def run() -> T:
        try:
            await migrate.upgrade(url)
        except Exception as exc:
            _fail(f"cannot open the database ({_database_label(url)}): {exc}\n"
                  "Check WHITEBOARD_DATABASE_URL / --database-url.")
        store = open_store(url)
        await store.connect()
        try:
            return await fn(store)
        finally:
            await store.aclose()

    return asyncio.run(run())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="whiteboard")
def main() -> None:
    """Ward Whiteboard: a real-time ward whiteboard server for wall boards and nurses' phones.

    \b
    Quick start (SQLite file + in-process event log, synthetic data):
      whiteboard serve --demo
    Production parts are chosen by URL:
      WHITEBOARD_DATABASE_URL=postgresql://wb@db/wb WHITEBOARD_REDIS_URL=redis://redis:6379/0 whiteboard serve
    """


@main.command()
@click.option("--host", envvar="WHITEBOARD_HOST", show_envvar=True, default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for every interface.")
@click.option("--port", envvar="WHITEBOARD_PORT", show_envvar=True, default=8000, show_default=True, type=int)
@DB_OPTION
@click.option("--redis-url", envvar="WHITEBOARD_REDIS_URL", show_envvar=True, default=None,
              help="Redis for the shared event log (redis://host:6379/0); without it an in-process log (one instance).")
@click.option("--redis-key-prefix", envvar="WHITEBOARD_REDIS_KEY_PREFIX", show_envvar=True, default="wb",
              show_default=True, help="Prefix for every Redis key, so deployments can share one Redis.")
@click.option("--demo/--no-demo", envvar="WHITEBOARD_DEMO", show_envvar=True, default=False,
              help="Seed synthetic wards (once) and run a simulated feed of changes.")
@click.option("--demo-rate", envvar="WHITEBOARD_DEMO_RATE", show_envvar=True, default=20.0, show_default=True,
              type=click.FloatRange(min=0), help="Simulated changes per minute with --demo; 0 for none.")
@click.option("--demo-seed", envvar="WHITEBOARD_DEMO_SEED", show_envvar=True, default=None, type=int,
              help="Random seed for the demo data and feed (reproducible boards).")
@click.option("--log-level", envvar="WHITEBOARD_LOG_LEVEL", show_envvar=True, default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--access-log/--no-access-log", envvar="WHITEBOARD_ACCESS_LOG", show_envvar=True, default=True,
              help="Log one line per HTTP request.")
def serve(**options: Any) -> None:
    """Run the server (HTTP, WebSocket and pages) until interrupted."""
    import logging

    import uvicorn

    from whiteboard.app import create_app
    from whiteboard.web import logs, protocols

    access_log = options.pop("access_log")
    try:
        settings = Settings.from_environ(**options)
    except (TypeError, ValueError) as exc:
        _fail(str(exc))
    logs.configure(settings.log_level)
    if not access_log:
        logging.getLogger("whiteboard.access").setLevel(logging.WARNING)
    try:
        app = create_app(settings)
    except ValueError as exc:
        _fail(str(exc))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # httptools and websockets-sansio, bounded: every connection is answered or closed in bounded time.
        http=protocols.http_protocol(settings.request_head_secs),
        ws=protocols.websocket_protocol(settings.ws_handshake_secs),
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    click.echo(f"Ward Whiteboard {__version__} on http://{settings.host}:{settings.port}", err=True)
    _announce_database(settings.database_url)
    uvicorn.Server(config).run()


@main.group()
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
        _fail(str(exc))

    async def create(store: Store) -> str:
        from whiteboard.access.accounts import check_scope

        try:
            await check_scope(store, role, scope)
        except ValueError as exc:
            _fail(str(exc))
        _, tok = await store.create_credential(role, scope, label, actor=cli_actor())
        return tok

    click.echo(_with_store(database_url, create))


@token.command("list")
@DB_OPTION
def token_list(database_url: str) -> None:
    """List credentials (never the tokens themselves)."""
    rows = _with_store(database_url, lambda s: s.list_credentials())
    for r in rows:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        wards = ",".join(r.wards) if r.wards is not None else "*"
        click.echo(f"{r.id}  {r.role:12} {wards:30} {state:24} {r.label}")


@token.command("revoke")
@click.argument("credential_id")
@DB_OPTION
def token_revoke(credential_id: str, database_url: str) -> None:
    """Revoke a credential by the id `token list` shows; running servers refuse it within seconds."""
    if not _with_store(database_url, lambda s: s.revoke_credential(credential_id, cli_actor())):
        _fail(f"no active credential {credential_id!r}; see `whiteboard token list`")
    click.echo(f"revoked {credential_id}", err=True)


@main.group()
def ward() -> None:
    """Create and list wards."""


def bed_layout(beds: int, bay_size: int) -> list[tuple[str, str]]:
    width = max(2, len(str(beds)))
    return [(f"B{i + 1:0{width}d}", f"Bay {i // bay_size + 1}") for i in range(beds)]


@ward.command("add")
@click.argument("ward_ids", nargs=-1, required=True)
@click.option("--beds", required=True, type=click.IntRange(1, 200), help="Empty beds to create in each ward.")
@click.option("--name", default=None, help="Display name (default: the ward id).")
@click.option("--bay-size", default=6, show_default=True, type=click.IntRange(1, 50), help="Beds per bay.")
@DB_OPTION
def ward_add(ward_ids: tuple[str, ...], beds: int, name: str | None, bay_size: int, database_url: str) -> None:
    """Create wards with N empty beds each; a running server picks them up."""
    for wid in ward_ids:
        if not wid.replace("-", "").replace("_", "").isalnum() or len(wid) > 64:
            _fail(f"ward id {wid!r}: use letters, digits, '-' and '_' (at most 64)")
    layout = bed_layout(beds, bay_size)
    specs = [(wid, name or wid, layout) for wid in ward_ids]
    created = _with_store(database_url, lambda s: s.add_wards(specs, actor=cli_actor()))
    for wid in ward_ids:
        click.echo(f"{'created' if wid in created else 'exists '} {wid}", err=True)


@ward.command("list")
@DB_OPTION
def ward_list(database_url: str) -> None:
    """List wards with their bed counts."""
    for w in _with_store(database_url, lambda s: s.list_wards()):
        click.echo(f"{w.id:20} {w.beds:4} beds  {w.name}")


@main.group()
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
def user_add(username: str, role: str, wards: tuple[str, ...], name: str | None, password_stdin: bool,
             database_url: str) -> None:
    """Create a staff account (at least 12 characters of password)."""
    from whiteboard.access.accounts import AccountError

    _open_database(database_url)  # before asking for a password that would be thrown away
    password = _password(password_stdin)

    async def add(store: Store) -> str:
        try:
            result: str = await _accounts(store).add_user(username, name or username, password, role, wards or None,
                                                          actor=cli_actor())
        except (AccountError, ValueError) as exc:
            _fail(str(exc))
        return result

    _with_store(database_url, add, checked=True)
    click.echo(f"created user {username} ({role})", err=True)


@user.command("list")
@DB_OPTION
def user_list(database_url: str) -> None:
    """List staff accounts (never their passwords)."""
    for u in _with_store(database_url, lambda s: _accounts(s).list_users()):
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
            _fail(str(exc))

    _with_store(database_url, disable)
    click.echo(f"disabled {username}; their sessions are ended", err=True)


@user.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@DB_OPTION
def user_reset_password(username: str, password_stdin: bool, database_url: str) -> None:
    """Set a new password; every session the old one opened is ended."""
    from whiteboard.access.accounts import AccountError

    _open_database(database_url)  # before asking for a password that would be thrown away
    password = _password(password_stdin)

    async def reset(store: Store) -> None:
        try:
            await _accounts(store).reset_password(username, password, actor=cli_actor())
        except AccountError as exc:
            _fail(str(exc))

    _with_store(database_url, reset, checked=True)
    click.echo(f"password of {username} changed; their sessions are ended", err=True)


@main.group()
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
            _fail(f"{exc.message}. Create it with `whiteboard ward add`.")
            raise

    code, expires = _with_store(database_url, pair)
    click.echo(code)
    click.echo(f"open /login on the screen and enter it before {expires:%H:%M} UTC", err=True)


@display.command("list")
@DB_OPTION
def display_list(database_url: str) -> None:
    """Enrolled displays (revoke one with `whiteboard token revoke ID`)."""
    from whiteboard.access.kiosks import Kiosks

    for d in _with_store(database_url, lambda s: Kiosks(s).list()):
        click.echo(f"{d.id}  {d.ward:20} {'revoked' if d.revoked else 'active':8} {d.label}")


@display.command("rename")
@click.argument("display_id")
@click.argument("label")
@DB_OPTION
def display_rename(display_id: str, label: str, database_url: str) -> None:
    """Give an enrolled display a new label."""
    from whiteboard.access.kiosks import Kiosks

    if not _with_store(database_url, lambda s: Kiosks(s).rename(display_id, label, actor=cli_actor())):
        _fail(f"no display {display_id!r}; see `whiteboard display list`")
    click.echo(f"renamed {display_id}", err=True)


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@DB_OPTION
def audit_verify(database_url: str) -> None:
    """Prove the audit chains are intact, or name the first broken record (exit status 1)."""
    records, chains, problem = _with_store(database_url, lambda s: s.verify_audit())
    if problem is not None:
        click.echo(f"BROKEN: {problem}", err=True)
        sys.exit(1)
    click.echo(f"intact: {records} records in {chains} chains")


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@DB_OPTION
def db_upgrade(revision: str, database_url: str) -> None:
    """Bring the schema up to date, creating the database if need be (safe while other instances start)."""
    _announce_database(database_url)
    try:
        asyncio.run(migrate.upgrade(database_url, revision))
    except Exception as exc:
        _fail(f"cannot open the database ({_database_label(database_url)}): {exc}")
    click.echo(f"database at revision {asyncio.run(migrate.current(database_url))}", err=True)


@db.command("current")
@DB_OPTION
def db_current(database_url: str) -> None:
    """Show the schema revision and the newest one this version knows."""
    _announce_database(database_url)
    _require_existing_database(database_url)
    click.echo(f"current {asyncio.run(migrate.current(database_url))}  head {migrate.head()}")


if __name__ == "__main__":
    main()
