"""The objects one app instance owns, built by `app.create_app` and reached from handlers as `wb(request)`.

Everything an instance keeps between requests is here (no module-level or `app.state` extras), typed, and made
once in `app.build_state`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from whiteboard.access.accounts import Accounts
from whiteboard.access.auth import Authenticator
from whiteboard.access.limits import RateLimiter
from whiteboard.access.oidc import Oidc
from whiteboard.eventlog import EventLog
from whiteboard.live.hub import Hub
from whiteboard.live.ingest import Ingest
from whiteboard.live.subscriptions import Subscriptions
from whiteboard.metrics import Metrics, Sampler
from whiteboard.settings import Settings
from whiteboard.store import Store

PROBE_TIMEOUT_SECS: Final = 2.0


@dataclass
class State:
    settings: Settings
    store: Store
    eventlog: EventLog
    metrics: Metrics
    auth: Authenticator
    hub: Hub
    ingest: Ingest
    accounts: Accounts  # staff users and browser sessions
    templates: Jinja2Templates
    write_limiter: RateLimiter
    connect_limiter: RateLimiter
    login_limiter: RateLimiter
    oidc: Oidc | None = None  # None unless an issuer and a client id are configured
    ops_sampler: Sampler = field(default_factory=Sampler)  # the ops page's rates, whichever page polls
    subscriptions: Subscriptions = field(default_factory=Subscriptions)  # FHIR Subscriptions this instance pushes

    async def probe(self) -> dict[str, dict[str, Any]]:
        """Ask the database and the event log once, together, each within PROBE_TIMEOUT_SECS; sets
        `whiteboard_backend_up`. For /readyz, the ops page and the gauges alike: `{"database": {"backend",
        "status": "ok", "ping_ms"} | {"backend", "status": "down", "error"}, "eventlog": ...}`."""
        database, eventlog = await asyncio.gather(
            self._probe_one("database", self.store.name, self.store.ping),
            self._probe_one("eventlog", self.eventlog.name, self.eventlog.ping),
        )
        return {"database": database, "eventlog": eventlog}

    async def _probe_one(self, key: str, name: str, check: Callable[[], Awaitable[object]]) -> dict[str, Any]:
        # `check` is called here, not by the caller: a probe cancelled before it starts (a shutdown mid-/readyz)
        # must not leave a never-awaited coroutine behind, which the test suite turns into an error.
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), PROBE_TIMEOUT_SECS)
        except Exception as exc:  # any failure means "down"; say which and why
            self.metrics.backend_up.labels(key).set(0)
            return {"backend": name, "status": "down", "error": f"{exc.__class__.__name__}: {exc}"[:300]}
        self.metrics.backend_up.labels(key).set(1)
        return {"backend": name, "status": "ok", "ping_ms": round((time.perf_counter() - started) * 1000, 2)}

    openapi: bytes | None = None  # the OpenAPI document for these settings, built on its first request
    draining: bool = False  # SIGTERM came (web/shutdown.py): /readyz answers 503, new WebSockets are refused


def wb(conn: HTTPConnection) -> State:
    state: State = conn.app.state.wb
    return state
