"""`create_app(settings)`: wires store, event log, hub, ingest and routes; the lifespan opens and closes them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette

from whiteboard import first_run
from whiteboard.access.accounts import Accounts
from whiteboard.access.auth import Authenticator
from whiteboard.access.limits import RateLimiter
from whiteboard.access.oidc import Oidc
from whiteboard.domain.clock import utc_now
from whiteboard.eventlog import open_event_log
from whiteboard.live.hub import Hub
from whiteboard.live.ingest import Ingest
from whiteboard.live.retention import retain_forever
from whiteboard.metrics import Metrics, ProcessCollector
from whiteboard.settings import Settings, mask_url
from whiteboard.state import State
from whiteboard.store import PoolLimits, migrate, open_store
from whiteboard.web import health, held
from whiteboard.web.edge import SecuredStarlette
from whiteboard.web.http import EXCEPTION_HANDLERS
from whiteboard.web.pages import render
from whiteboard.web.routes import routes

log = logging.getLogger("whiteboard.app")
SHUTDOWN_STEP_SECS = 10.0


def pool_limits(settings: Settings) -> PoolLimits:
    """The `db_*` settings as the store's PostgreSQL pool and timeouts."""
    return PoolLimits(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        timeout_secs=settings.db_pool_timeout_secs,
        connect_secs=settings.db_connect_timeout_secs,
        statement_secs=settings.db_statement_timeout_secs,
        idle_in_transaction_secs=settings.db_idle_in_transaction_secs,
    )


def build_state(settings: Settings, clock: Callable[[], dt.datetime] = utc_now) -> State:
    """`clock` is what sessions take as "now" (tests advance their own instead of sleeping)."""
    store = open_store(settings.database_url, pool_limits(settings))
    eventlog = open_event_log(
        settings.event_log_url,
        key_prefix=settings.redis_key_prefix,
        maxlen=settings.stream_maxlen,
        tail_stall_secs=settings.eventlog_tail_stall_secs,
    )
    metrics = Metrics()
    metrics.add_collector(ProcessCollector())
    accounts = Accounts(
        store, idle_secs=settings.session_idle_secs, max_age_secs=settings.session_max_age_secs, clock=clock
    )
    oidc = Oidc(settings, accounts) if settings.oidc_issuer and settings.oidc_client_id else None
    return State(
        templates=render.build_templates(),
        oidc=oidc,
        settings=settings,
        store=store,
        eventlog=eventlog,
        metrics=metrics,
        auth=Authenticator(
            store, settings.credential_cache_secs, accounts.resolve, stale_secs=settings.credential_stale_secs
        ),
        accounts=accounts,
        login_limiter=RateLimiter(settings.login_failures_per_min, max(1, int(settings.login_failures_per_min))),
        hub=Hub(store, eventlog, metrics, queue_size=settings.ws_queue_size, heartbeat_secs=settings.heartbeat_secs),
        ingest=Ingest(store, eventlog, metrics, settings),
        write_limiter=RateLimiter(settings.write_rate_per_min, settings.write_burst),
        connect_limiter=RateLimiter(settings.ws_connect_rate_per_min, settings.ws_connect_burst),
    )


def create_app(settings: Settings | None = None, *, clock: Callable[[], dt.datetime] = utc_now) -> Starlette:
    settings = settings or Settings.from_environ()
    state = build_state(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await migrate.upgrade(settings.database_url)
        await state.store.connect()
        await state.eventlog.connect()
        await state.ingest.start()
        prober = asyncio.create_task(health.probe_forever(state), name="backend-probe")
        rechecker = asyncio.create_task(held.recheck_forever(state), name="ws-recheck")
        retainer = None
        if settings.retention_days is not None:
            retainer = asyncio.create_task(
                retain_forever(
                    state.store, state.eventlog, settings.retention_days, settings.retention_sweep_secs, clock
                ),
                name="retention",
            )
        mllp = None
        if settings.mllp_port is not None:
            from whiteboard.feeds.listener import build_listener

            mllp = build_listener(settings, state.ingest, state.metrics)
            await mllp.start()
        demo = None
        if settings.demo:
            from whiteboard.demo.feed import DemoFeed

            demo = DemoFeed(state)
            await demo.start()
        await first_run.announce_first_admin(state)
        log.info(
            "whiteboard ready",
            extra={"database": mask_url(state.store.url), "eventlog": state.eventlog.name, "demo": settings.demo},
        )
        try:
            yield
        finally:
            prober.cancel()
            rechecker.cancel()
            if retainer is not None:
                retainer.cancel()
            # In order, each bounded: a backend that stopped answering must not hold a shutdown.
            steps = [("MLLP listener", mllp.aclose() if mllp is not None else None),
                     ("demo feed", demo.aclose() if demo is not None else None), ("hub", state.hub.aclose()),
                     ("ingest", state.ingest.aclose()), ("event log", state.eventlog.aclose()),
                     ("store", state.store.aclose())]  # fmt: skip
            for name, step in steps:
                if step is None:
                    continue
                try:
                    async with asyncio.timeout(SHUTDOWN_STEP_SECS):
                        await step
                except TimeoutError:
                    log.warning("shutdown: %s did not close within %.0f s; going on", name, SHUTDOWN_STEP_SECS)
                log.debug("shutdown: %s closed", name)

    app = SecuredStarlette(  # one layer (`Edge`) dresses every answer, the server-error one included
        routes=routes(),
        metrics=state.metrics,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.wb = state
    return app
