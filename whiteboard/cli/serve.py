"""`whiteboard serve`: run the server until interrupted."""

from __future__ import annotations

import gc
from typing import Any

import click

from whiteboard import __version__
from whiteboard.cli.common import announce_database, fail, load_settings
from whiteboard.cli.options import environment_help, setting_options


@click.command(epilog=environment_help())
@setting_options()
def serve(**options: Any) -> None:
    """Run the server (HTTP, WebSocket and pages) until interrupted.

    Each flag is a setting (whiteboard/settings.py) and has a WHITEBOARD_* variable; a flag wins over its variable.
    """
    import logging

    import uvicorn

    from whiteboard.app import create_app
    from whiteboard.cli import heap
    from whiteboard.web import logs, protocols

    settings = load_settings(**options)
    logs.configure(settings.log_level)
    if not settings.access_log:
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
    heap.Server(config, heap.Collector(settings.gc_freeze_secs, settings.gc_full_secs)).run()
