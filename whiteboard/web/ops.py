"""`GET /api/ops`: the ops page's live figures, from the same registry `/metrics` exports.

Rates (events per second, fan-out latency over the last seconds) are deltas between counter samples
that a `Sampler` keeps for a short window, so they mean the same whether one ops page polls or five.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.domain.clock import iso, utc_now
from whiteboard.state import State, wb
from whiteboard.store import StoreUnavailable, WardInfo
from whiteboard.web.http import JSONResponse, principal

# Rates are taken over about this long: short enough to show a burst, long enough not to flicker.
RATE_WINDOW_SECS: Final = 10.0
SAMPLES_KEPT: Final = 64
PROBE_TIMEOUT_SECS: Final = 2.0

Labels = tuple[tuple[str, str], ...]


Buckets = tuple[tuple[float, float], ...]  # (upper bound, cumulative count)


@dataclass(frozen=True)
class RouteSample:
    """One route template's HTTP figures at one instant, summed over methods and statuses."""

    count: float
    seconds: float
    buckets: Buckets
    by_class: dict[str, float]  # "2xx" … "5xx" → requests


@dataclass(frozen=True)
class Sample:
    at: float
    values: dict[str, float]
    fanout_buckets: Buckets
    routes: dict[str, RouteSample]


def read_registry(state: State) -> dict[tuple[str, Labels], float]:
    """Every sample in the app's registry, keyed by (name, sorted labels)."""
    out: dict[tuple[str, Labels], float] = {}
    for family in state.metrics.registry.collect():
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def _sum(values: dict[tuple[str, Labels], float], name: str, **match: str) -> float:
    total = 0.0
    for (n, labels), v in values.items():
        if n == name and all(dict(labels).get(k) == want for k, want in match.items()):
            total += v
    return total


def route_samples(values: dict[tuple[str, Labels], float]) -> dict[str, RouteSample]:
    """`whiteboard_http_request_seconds` per route template (methods and statuses summed)."""
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    buckets: dict[str, dict[float, float]] = {}
    classes: dict[str, dict[str, float]] = {}
    for (name, labels), v in values.items():
        if not name.startswith("whiteboard_http_request_seconds_"):
            continue
        lb = dict(labels)
        route = lb.get("route", "")
        if name.endswith("_count"):
            counts[route] = counts.get(route, 0.0) + v
            by_class = classes.setdefault(route, {})
            cls = lb.get("status", "?")[:1] + "xx"
            by_class[cls] = by_class.get(cls, 0.0) + v
        elif name.endswith("_sum"):
            sums[route] = sums.get(route, 0.0) + v
        elif name.endswith("_bucket"):
            le = float(lb["le"])
            per = buckets.setdefault(route, {})
            per[le] = per.get(le, 0.0) + v
    return {
        r: RouteSample(counts[r], sums.get(r, 0.0), tuple(sorted(buckets.get(r, {}).items())), classes.get(r, {}))
        for r in counts
    }


def refusals(values: dict[tuple[str, Labels], float]) -> dict[str, float]:
    """Refused writes since start, by reason (the error code the client was given)."""
    out: dict[str, float] = {}
    for (name, labels), v in values.items():
        outcome = dict(labels).get("outcome", "")
        if name == "whiteboard_writes_total" and outcome.startswith("refused_") and v:
            out[outcome.removeprefix("refused_")] = v
    return dict(sorted(out.items()))


def take_sample(values: dict[tuple[str, Labels], float], at: float) -> Sample:
    buckets = sorted(
        (float(dict(labels)["le"]), v) for (n, labels), v in values.items() if n == "whiteboard_fanout_seconds_bucket"
    )
    return Sample(
        at=at,
        values={
            "events": _sum(values, "whiteboard_events_total"),
            "frames": _sum(values, "whiteboard_ws_frames_sent_total"),
            "writes": _sum(values, "whiteboard_writes_total", outcome="committed"),
            "refused": sum(
                v
                for (n, lb), v in values.items()
                if n == "whiteboard_writes_total" and dict(lb).get("outcome", "").startswith("refused")
            ),
            "fanout_sum": _sum(values, "whiteboard_fanout_seconds_sum"),
            "fanout_count": _sum(values, "whiteboard_fanout_seconds_count"),
            "slow_closes": _sum(values, "whiteboard_ws_closed_total", reason="slow_client"),
        },
        fanout_buckets=tuple(buckets),
        routes=route_samples(values),
    )


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Prometheus-style histogram_quantile over cumulative (upper bound, count) pairs."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1.0)
        lower_bound, lower_count = bound, count
    return lower_bound


class Sampler:
    """A short history of counter samples; `rates` compares the newest with one about a window ago."""

    def __init__(self, window_secs: float = RATE_WINDOW_SECS, keep: int = SAMPLES_KEPT) -> None:
        self.window = window_secs
        self.samples: deque[Sample] = deque(maxlen=keep)

    def add(self, sample: Sample) -> None:
        # Polled very often: the newest sample replaces the last until that one is 0.5 s past the one before, so
        # the history stays spread out (and polls every < 0.5 s still make a window of two samples at once).
        if len(self.samples) >= 2 and self.samples[-1].at - self.samples[-2].at < 0.5:
            self.samples[-1] = sample
        else:
            self.samples.append(sample)

    def rates(self) -> dict[str, Any]:
        if len(self.samples) < 2:
            return {
                "window_secs": 0.0,
                "events_per_sec": None,
                "frames_per_sec": None,
                "writes_per_sec": None,
                "refused_per_sec": None,
                "fanout_mean_ms": None,
                "fanout_p95_ms": None,
                "slow_closes": 0.0,
            }
        new = self.samples[-1]
        old = next((s for s in reversed(self.samples) if new.at - s.at >= self.window), self.samples[0])
        span = max(new.at - old.at, 1e-6)

        def delta(key: str) -> float:
            return max(new.values[key] - old.values[key], 0.0)

        count = delta("fanout_count")
        old_buckets = dict(old.fanout_buckets)
        window_buckets = [(b, max(c - old_buckets.get(b, 0.0), 0.0)) for b, c in new.fanout_buckets]
        p95 = quantile(window_buckets, 0.95)
        return {
            "window_secs": round(span, 1),
            "events_per_sec": round(delta("events") / span, 2),
            "frames_per_sec": round(delta("frames") / span, 2),
            "writes_per_sec": round(delta("writes") / span, 2),
            "refused_per_sec": round(delta("refused") / span, 2),
            "fanout_mean_ms": round(delta("fanout_sum") / count * 1000, 2) if count else None,
            "fanout_p95_ms": round(p95 * 1000, 2) if p95 is not None and count else None,
            "slow_closes": delta("slow_closes"),
        }

    def http(self) -> dict[str, Any]:
        """Requests per second and latency per route template over the window, busiest first."""
        if len(self.samples) < 2:
            return {"window_secs": 0.0, "requests_per_sec": None, "server_errors_per_sec": None, "routes": []}
        new = self.samples[-1]
        old = next((s for s in reversed(self.samples) if new.at - s.at >= self.window), self.samples[0])
        span = max(new.at - old.at, 1e-6)
        rows: list[dict[str, Any]] = []
        for route, now in new.routes.items():
            before = old.routes.get(route)
            count = max(now.count - (before.count if before else 0.0), 0.0)
            if not count:
                continue
            seconds = max(now.seconds - (before.seconds if before else 0.0), 0.0)
            old_buckets = dict(before.buckets) if before else {}
            p95 = quantile([(b, max(c - old_buckets.get(b, 0.0), 0.0)) for b, c in now.buckets], 0.95)
            by_class = {
                cls: max(n - (before.by_class.get(cls, 0.0) if before else 0.0), 0.0)
                for cls, n in sorted(now.by_class.items())
            }
            rows.append({
                "route": route,
                "requests_per_sec": round(count / span, 2),
                "mean_ms": round(seconds / count * 1000, 2),
                "p95_ms": round(p95 * 1000, 2) if p95 is not None else None,
                "by_class": {cls: n for cls, n in by_class.items() if n},
            })  # fmt: skip
        rows.sort(key=lambda r: (-r["requests_per_sec"], r["route"]))
        total = sum(r["requests_per_sec"] for r in rows)
        errors = sum(r["by_class"].get("5xx", 0.0) for r in rows) / span
        return {"window_secs": round(span, 1), "requests_per_sec": round(total, 2),
                "server_errors_per_sec": round(errors, 2), "routes": rows}  # fmt: skip


async def _probe(name: str, check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT_SECS)
    except Exception as exc:  # any failure is "down"; say why
        return {"backend": name, "status": "down", "error": f"{exc.__class__.__name__}: {exc}"[:200]}
    return {"backend": name, "status": "ok", "ping_ms": round((time.perf_counter() - started) * 1000, 2)}


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
    sampler: Sampler | None = getattr(request.app.state, "ops_sampler", None)
    if sampler is None:
        sampler = request.app.state.ops_sampler = Sampler()
    now = time.time()
    values = read_registry(state)
    sampler.add(take_sample(values, now))
    database, eventlog = await asyncio.gather(
        _probe(state.store.name, state.store.ping()), _probe(state.eventlog.name, state.eventlog.ping())
    )
    state.metrics.backend_up.labels("database").set(1 if database["status"] == "ok" else 0)
    state.metrics.backend_up.labels("eventlog").set(1 if eventlog["status"] == "ok" else 0)
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
            "events": _sum(values, "whiteboard_events_total"),
            "slow_client_closes": _sum(values, "whiteboard_ws_closed_total", reason="slow_client"),
            "resyncs": _sum(values, "whiteboard_view_resyncs_total"),
            "outbox_relayed": _sum(values, "whiteboard_outbox_relayed_total"),
        },
        "event_log_lag_secs": _sum(values, "whiteboard_log_lag_seconds"),
        "health": {"database": database, "eventlog": eventlog},
        "process": {"rss_bytes": process["rss_bytes"]},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
