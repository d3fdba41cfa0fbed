"""`GET /api/ops`: the ops page's live figures, from the same registry `/metrics` exports.

Rates (events per second, fan-out latency over the last seconds) are deltas between counter samples
that a `Sampler` keeps for a short window, so they mean the same whether one ops page polls or five.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.numbers import whole_number
from whiteboard.domain.wire.refusal import refusal
from whiteboard.domain.wire.requests import LOAD_TEST_RESULT
from whiteboard.domain.wire.values import LOAD_TESTS_LIMIT_DEFAULT, LOAD_TESTS_LIMIT_MAX
from whiteboard.errors import ApiError
from whiteboard.metrics import Labels, refusals, sum_of, take_sample
from whiteboard.state import PROBE_TIMEOUT_SECS, State, wb
from whiteboard.store import StoreUnavailable, WardInfo
from whiteboard.web.http import JSONResponse, principal, read_json, request_actor


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


def parse_load_test(body: Any) -> dict[str, Any]:
    """A `LoadTestResult` body (the model is the rule; a refusal is the contract's 422), `finished_at` parsed."""
    try:
        result: dict[str, Any] = dict(LOAD_TEST_RESULT.validate_python(body))
    except ValidationError as exc:
        raise refusal(exc, body) from None
    result["finished_at"] = dt.datetime.fromisoformat(result["finished_at"])
    return result


async def load_tests(request: Request) -> Response:
    """`GET` the latest load-test results, `POST` one (`scripts/loadtest --host` does): ops and admin only."""
    who = await principal(request)
    if not who.sees_metrics:
        raise forbidden("load-test results are for the ops and admin roles")
    store = wb(request).store
    if request.method == "POST":
        result = parse_load_test(await read_json(request))
        saved = await store.record_load_test(result, actor=request_actor(who, request))
        return JSONResponse(saved, status_code=201, headers={"Cache-Control": "no-store"})
    limit = whole_number(request.query_params.get("limit", str(LOAD_TESTS_LIMIT_DEFAULT)))
    if limit is None or not 1 <= limit <= LOAD_TESTS_LIMIT_MAX:
        raise ApiError(400, "bad_limit", f"limit must be a whole number from 1 to {LOAD_TESTS_LIMIT_MAX}", "limit")
    return JSONResponse(await store.load_tests(limit), headers={"Cache-Control": "no-store"})
