"""`whiteboard serve`: run the server until interrupted."""

from __future__ import annotations

import gc
import os
from typing import Any

import click

from whiteboard import __version__
from whiteboard.cli.common import announce_database, fail, load_settings
from whiteboard.cli.options import environment_help, setting_options


def tls_files(cert: str | None, key: str | None) -> tuple[str | None, str | None]:
    """uvicorn's certificate and key files, or a clear error before anything starts (a missing file, a key
    without a certificate)."""
    if cert is None and key is not None:
        fail("--tls-key (WHITEBOARD_TLS_KEY) needs --tls-cert (WHITEBOARD_TLS_CERT) too")
    for path in (cert, key):
        if path is not None and not os.access(path, os.R_OK):
            fail(f"cannot read the TLS file {path}: check the path and that this user may read it")
    return cert, key


@click.command(epilog=environment_help())
@setting_options()
def serve(**options: Any) -> None:
    """Run the server (HTTP, WebSocket and pages) until interrupted.

    Each flag is a setting (whiteboard/settings.py) and has a WHITEBOARD_* variable; a flag wins over its variable.
    """
    import logging

    import uvicorn

    from whiteboard.app import create_app
    from whiteboard.web import logs, protocols, shutdown

    settings = load_settings(**options)
    logs.configure(settings.log_level)
    if not settings.access_log:
        logging.getLogger("whiteboard.access").setLevel(logging.WARNING)
    cert, key = tls_files(settings.tls_cert, settings.tls_key)
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
        # Behind a proxy the client's address and scheme come from its X-Forwarded-* headers, from it alone.
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    scheme = "https" if cert else "http"
    click.echo(f"Ward Whiteboard {__version__} on {scheme}://{settings.host}:{settings.port}", err=True)
    announce_database(settings.database_url)
    # What start-up built (modules, templates, schemas, the app) lives as long as the process: out of the
    # collector's way, so a full collection during requests scans only what requests made (docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    # SIGTERM drains first (readyz 503, no new connections, WebSockets closed 1012 in batches, writes settled).
    shutdown.GracefulServer(config, app.state.wb).run()
