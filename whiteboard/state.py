"""The objects one app instance owns, built by `app.create_app` and reached from handlers as `wb(request)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from whiteboard.access.auth import Authenticator
from whiteboard.access.limits import RateLimiter
from whiteboard.eventlog import EventLog
from whiteboard.live.hub import Hub
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Store


@dataclass
class State:
    settings: Settings
    store: Store
    eventlog: EventLog
    metrics: Metrics
    auth: Authenticator
    hub: Hub
    ingest: Ingest
    write_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    connect_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    accounts: Any = None  # accounts.Accounts (staff users and browser sessions)
    oidc: Any = None  # oidc.Oidc, made on first use when configured
    login_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    templates: Any = None  # Jinja2Templates, when the pages are mounted
    openapi: bytes | None = None  # the OpenAPI document for these settings, built on its first request


def wb(conn: HTTPConnection) -> State:
    state: State = conn.app.state.wb
    return state
