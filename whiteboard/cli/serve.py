"""`whiteboard serve`: run the server until interrupted."""

from __future__ import annotations

import gc
from typing import Any

import click

from whiteboard import __version__
from whiteboard.cli.common import DB_OPTION, announce_database, fail
from whiteboard.settings import Settings


@click.command()
@click.option(
    "--host",
    envvar="WHITEBOARD_HOST",
    show_envvar=True,
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 for every interface.",
)
@click.option("--port", envvar="WHITEBOARD_PORT", show_envvar=True, default=8000, show_default=True, type=int)
@DB_OPTION
@click.option(
    "--redis-url",
    envvar="WHITEBOARD_REDIS_URL",
    show_envvar=True,
    default=None,
    help="Redis for the shared event log (redis://host:6379/0); without it an in-process log (one instance).",
)
@click.option(
    "--redis-key-prefix",
    envvar="WHITEBOARD_REDIS_KEY_PREFIX",
    show_envvar=True,
    default="wb",
    show_default=True,
    help="Prefix for every Redis key, so deployments can share one Redis.",
)
@click.option(
    "--demo/--no-demo",
    envvar="WHITEBOARD_DEMO",
    show_envvar=True,
    default=False,
    help="Seed synthetic wards (once) and run a simulated feed of changes.",
)
@click.option(
    "--demo-rate",
    envvar="WHITEBOARD_DEMO_RATE",
    show_envvar=True,
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Simulated changes per minute with --demo; 0 for none.",
)
@click.option(
    "--demo-seed",
    envvar="WHITEBOARD_DEMO_SEED",
    show_envvar=True,
    default=None,
    type=int,
    help="Random seed for the demo data and feed (reproducible boards).",
)
@click.option(
    "--log-level",
    envvar="WHITEBOARD_LOG_LEVEL",
    show_envvar=True,
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--access-log/--no-access-log",
    envvar="WHITEBOARD_ACCESS_LOG",
    show_envvar=True,
    default=True,
    help="Log one line per HTTP request.",
)
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
        fail(str(exc))
    logs.configure(settings.log_level)
    if not access_log:
        logging.getLogger("whiteboard.access").setLevel(logging.WARNING)
    try:
        app = create_app(settings)
    except ValueError as exc:
        fail(str(exc))
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
    announce_database(settings.database_url)
    # What start-up built (modules, templates, schemas, the app) lives as long as the process: out of the
    # collector's way, so a full collection during requests scans only what requests made (docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run()
