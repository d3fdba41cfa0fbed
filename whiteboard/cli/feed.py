"""`whiteboard feed`: the HL7 v2 listener on its own (`listen`) and a synthetic PAS for demos (`demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from typing import Any

import click

from whiteboard.cli.common import DB_OPTION, announce_database, fail, load_settings, with_store
from whiteboard.cli.options import setting_option


@click.group()
def feed() -> None:
    """Hospital feeds: HL7 v2 ADT over MLLP."""


@feed.command("listen")
@setting_option("database_url")
@setting_option("redis_url")
@setting_option("redis_key_prefix")
@setting_option("mllp_port")
@setting_option("mllp_host")
@setting_option("mllp_location_map")
@setting_option("log_level")
def listen(**options: Any) -> None:
    """Run only the MLLP listener (no HTTP), writing through the same write path as `serve`.

    The boards' `serve` instances see its changes through the shared event log, so set --redis-url (as for any
    second instance); with the in-process log only this process would know of them.
    """
    from whiteboard.web import logs

    settings = load_settings(**options)
    if settings.mllp_port is None:
        fail("give the port to listen on: --mllp-port N (or WHITEBOARD_MLLP_PORT)")
    logs.configure(settings.log_level)
    if settings.redis_url is None:
        click.echo("warning: no --redis-url: running boards will not see these changes until restarted", err=True)
    announce_database(settings.database_url)
    try:
        asyncio.run(_listen(settings))
    except ValueError as exc:  # a location map that cannot be read, a bad TLS file
        fail(str(exc))


async def _listen(settings: Any) -> None:
    from whiteboard.eventlog import open_event_log
    from whiteboard.feeds.listener import build_listener
    from whiteboard.live.ingest import Ingest
    from whiteboard.metrics import Metrics
    from whiteboard.store import migrate, open_store

    if settings.migrate_on_start:
        await migrate.upgrade(settings.database_url)
    store = open_store(settings.database_url)
    eventlog = open_event_log(settings.event_log_url, key_prefix=settings.redis_key_prefix,
                              maxlen=settings.stream_maxlen)  # fmt: skip
    await store.connect()
    await eventlog.connect()
    metrics = Metrics()
    ingest = Ingest(store, eventlog, metrics, settings)
    await ingest.start()
    listener = build_listener(settings, ingest, metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await listener.start()
        click.echo(f"listening for HL7 v2 (MLLP) on {settings.mllp_host}:{listener.port}", err=True)
        await stop.wait()
    finally:
        for step in (listener.aclose(), ingest.aclose(), eventlog.aclose(), store.aclose()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(step, 10.0)


@feed.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="The listener's address.")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="The listener's port (serve --mllp-port).")
@click.option("--ward", "ward_ids", multiple=True, help="Wards to move patients in (default: every ward).")
@click.option("--count", default=50, show_default=True, type=click.IntRange(1, 1_000_000), help="Messages to send.")
@click.option("--rate", default=2.0, show_default=True, type=click.FloatRange(min=0.01), help="Messages a second.")
@click.option("--seed", default=None, type=int, help="Random seed (a reproducible stream).")
@DB_OPTION
def demo(host: str, port: int, ward_ids: tuple[str, ...], count: int, rate: float, seed: int | None,
         database_url: str) -> None:  # fmt: skip
    """Send a synthetic ADT stream over MLLP to a running server, as a PAS would, and report the ACKs.

    The wards and who is in their beds are read from the server's database, so the stream starts from the board.
    """
    from whiteboard.demo.adt_stream import from_board

    async def load(store: Any) -> list[Any]:
        ids = list(ward_ids) or [w.id for w in await store.list_wards()]
        states = [await store.load_ward(w) for w in ids]
        missing = [w for w, s in zip(ids, states, strict=True) if s is None]
        if missing:
            fail(f"no such ward: {', '.join(missing)}")
        return states

    wards = with_store(database_url, load)
    if not wards:
        fail("there are no wards: add some with `whiteboard ward add` or run `serve --demo`")
    stream = from_board(random.Random(seed), wards)
    tally = asyncio.run(_send(stream, host, port, count, rate))
    click.echo("sent {}: {}".format(count, ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))), err=True)


async def _send(stream: Any, host: str, port: int, count: int, rate: float) -> dict[str, int]:
    import hl7  # type: ignore[import-untyped]

    from whiteboard.feeds.sender import MllpClient

    tally: dict[str, int] = {}
    try:
        client = MllpClient(host, port)
        await client.connect()
    except (OSError, TimeoutError) as exc:
        fail(f"cannot reach an MLLP listener at {host}:{port} ({exc}); start one with serve --mllp-port {port}")
    try:
        with click.progressbar(range(count), label="ADT messages", file=sys.stderr) as steps:
            for _ in steps:
                started = time.monotonic()
                step = stream.next()
                [ack] = await client.send(step.message)
                code = str(hl7.parse(ack).segment("MSA")[1])
                stream.answered(step, code)
                tally[f"{step.event} {code}"] = tally.get(f"{step.event} {code}", 0) + 1
                await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))
    except (OSError, TimeoutError, ConnectionError) as exc:
        fail(f"the listener went away: {exc}")
    finally:
        await client.aclose()
    return tally
