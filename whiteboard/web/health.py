"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.state import State, wb
from whiteboard.web.http import JSONResponse, principal

PROBE_INTERVAL_SECS = 5.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def probe_forever(state: State, interval: float = PROBE_INTERVAL_SECS) -> None:
    """Keeps the backend gauges current for Prometheus scrapes that never touch /readyz."""
    while True:
        await state.probe()
        await asyncio.sleep(interval)


async def readyz(request: Request) -> Response:
    """200 when the database and the event log both answer; otherwise 503 naming what failed. From SIGTERM on,
    503 "shutting down" at once (no probe): the proxy or orchestrator sends this instance nothing new."""
    state = wb(request)
    if state.draining:
        message = "shutting down: this instance is draining its connections; send requests to another"
        body = {"status": "shutting down", "error": {"code": "unavailable", "message": message}}
        return JSONResponse(body, status_code=503)
    results = await state.probe()
    failed = [f"{key} ({check['backend']})" for key, check in results.items() if check["status"] != "ok"]
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
