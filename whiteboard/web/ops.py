"""`GET /api/ops`: the ops page's live figures, from the same registry `/metrics` exports.

Rates (events per second, fan-out latency over the last seconds) are deltas between counter samples
that a `Sampler` keeps for a short window, so they mean the same whether one ops page polls or five.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.domain.clock import iso, utc_now
from whiteboard.metrics import Labels, refusals, sum_of, take_sample
from whiteboard.state import PROBE_TIMEOUT_SECS, State, wb
from whiteboard.store import StoreUnavailable, WardInfo
from whiteboard.web.http import JSONResponse, principal


def read_registry(state: State) -> dict[tuple[str, Labels], float]:
    """Every sample in the app's registry, keyed by (name, sorted labels)."""
    out: dict[tuple[str, Labels], float] = {}
    for family in state.metrics.registry.collect():
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def connections(state: State, wards: list[WardInfo]) -> list[dict[str, Any]]:
    """Open WebSockets per ward and role, from the hub's subscriber sets, for every ward the server has: one
    nobody has opened yet (no view loaded, no offset) is listed with none, not left out."""
    names = {w.id: w.name for w in wards}
    rows = []
    for ward_id in sorted(names.keys() | state.hub.channels.keys()):
        ch = state.hub.channels.get(ward_id)
        by_role: dict[str, int] = {}
        for sub in tuple(ch.subscribers) if ch is not None else ():
            by_role[sub.role] = by_role.get(sub.role, 0) + 1
        rows.append({"ward": ward_id, "name": names.get(ward_id, ch.view.name if ch is not None else ward_id),
                     "total": sum(by_role.values()), "by_role": dict(sorted(by_role.items())),
                     "offset": ch.view.offset if ch is not None else None})  # fmt: skip
    return rows


def _process() -> dict[str, Any]:
    import psutil  # type: ignore[import-untyped]

    proc = psutil.Process()
    return {"rss_bytes": int(proc.memory_info().rss), "started_at": proc.create_time()}


async def figures(request: Request) -> Response:
    who = await principal(request)
    if not who.sees_metrics:
        raise forbidden("the ops figures are for the ops and admin roles")
    state = wb(request)
    sampler = state.ops_sampler
    now = time.time()
    values = read_registry(state)
    sampler.add(take_sample(values, now))
    health = await state.probe()
    try:
        known = await asyncio.wait_for(state.store.list_wards(), PROBE_TIMEOUT_SECS)
    except (StoreUnavailable, TimeoutError):  # the database is down (health says so): the wards loaded here
        known = []
    wards = connections(state, known)
    process = _process()
    by_role: dict[str, int] = {}
    for row in wards:
        for role, n in row["by_role"].items():
            by_role[role] = by_role.get(role, 0) + n
    body = {
        "at": iso(utc_now()),
        "pid": os.getpid(),
        "uptime_secs": round(now - process["started_at"], 1),
        "connections": {"total": sum(by_role.values()), "by_role": dict(sorted(by_role.items())), "wards": wards},
        "rates": sampler.rates(),
        "http": sampler.http(),
        "refused_by_reason": refusals(values),
        "totals": {
            "events": sum_of(values, "whiteboard_events_total"),
            "slow_client_closes": sum_of(values, "whiteboard_ws_closed_total", reason="slow_client"),
            "resyncs": sum_of(values, "whiteboard_view_resyncs_total"),
            "outbox_relayed": sum_of(values, "whiteboard_outbox_relayed_total"),
        },
        "event_log_lag_secs": sum_of(values, "whiteboard_log_lag_seconds"),
        "health": health,
        "process": {"rss_bytes": process["rss_bytes"]},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
