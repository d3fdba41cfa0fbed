"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.state import State, wb
from whiteboard.web.http import JSONResponse, principal

PROBE_TIMEOUT_SECS = 2.0
PROBE_INTERVAL_SECS = 5.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def probe(state: State) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Ask each backend once; sets `whiteboard_backend_up` and says what failed."""
    checks = {"database": state.store.ping(), "eventlog": state.eventlog.ping()}
    names = {"database": state.store.name, "eventlog": state.eventlog.name}
    results: dict[str, dict[str, str]] = {}
    failed: list[str] = []
    for key, check in checks.items():
        try:
            await asyncio.wait_for(check, PROBE_TIMEOUT_SECS)
            results[key] = {"backend": names[key], "status": "ok"}
            state.metrics.backend_up.labels(key).set(1)
        except Exception as exc:  # any failure means "not ready"; say which and why
            results[key] = {"backend": names[key], "status": "down", "error": f"{exc.__class__.__name__}: {exc}"[:300]}
            state.metrics.backend_up.labels(key).set(0)
            failed.append(f"{key} ({names[key]})")
    return results, failed


async def probe_forever(state: State, interval: float = PROBE_INTERVAL_SECS) -> None:
    """Keeps the backend gauges current for Prometheus scrapes that never touch /readyz."""
    while True:
        await probe(state)
        await asyncio.sleep(interval)


async def readyz(request: Request) -> Response:
    """200 when the database and the event log both answer; otherwise 503 naming what failed."""
    results, failed = await probe(wb(request))
    if failed:
        body = {
            "status": "unavailable",
            "checks": results,
            "error": {"code": "unavailable", "message": "not ready: " + ", ".join(failed) + " does not answer"},
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "checks": results})


async def metrics(request: Request) -> Response:
    who = await principal(request)
    if not who.sees_metrics:
        raise forbidden("metrics are for the ops and admin roles")
    return Response(wb(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
