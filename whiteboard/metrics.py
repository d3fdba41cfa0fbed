"""Prometheus figures, in a registry owned by the app (never the process-global default), and the short history of
samples of it that the ops page takes its rates from (`Sampler`, one per app, in its `State`)."""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Fewer buckets for HTTP, which has a label set per route and status: a page or a write is 1-250 ms.
_HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        r = self.registry
        self.writes = Counter(
            "whiteboard_writes",
            "Bed updates by outcome: committed, unchanged, unavailable, refused_<error code>",
            ["outcome"],
            registry=r,
        )
        # By route template (never the raw path: ids would make the label set unbounded), method and status.
        self.http_requests = Counter(
            "whiteboard_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "whiteboard_http_request_seconds",
            "Time to answer an HTTP request",
            ["route", "method", "status"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.write_seconds = Histogram(
            "whiteboard_write_seconds",
            "Time from request to commit of a bed update",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.write_batch_size = Histogram(
            "whiteboard_write_batch_size",
            "Writes committed together (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.events = Counter("whiteboard_events", "Events applied to ward views", ["ward"], registry=r)
        self.frames_sent = Counter("whiteboard_ws_frames_sent", "Frames queued to WebSocket clients", registry=r)
        self.fanout_seconds = Histogram(
            "whiteboard_fanout_seconds",
            "Time from commit to frame queued for every watcher of the ward",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ws_connections = Gauge(
            "whiteboard_ws_connections", "Open WebSocket connections", ["ward", "role"], registry=r
        )
        self.ws_closed = Counter("whiteboard_ws_closed", "WebSocket closes by reason", ["reason"], registry=r)
        self.resumes = Counter("whiteboard_ws_resumes", "Resume attempts by result", ["result"], registry=r)
        self.resyncs = Counter(
            "whiteboard_view_resyncs", "Ward views reloaded after a gap or a new log epoch", ["reason"], registry=r
        )
        self.log_appends = Counter("whiteboard_log_appends", "Event-log appends by result", ["result"], registry=r)
        self.outbox_relayed = Counter(
            "whiteboard_outbox_relayed", "Outbox rows appended by the sweeper (after a crash or outage)", registry=r
        )
        self.log_lag = Gauge(
            "whiteboard_log_lag_seconds", "Age of the newest event when this instance applied it", registry=r
        )
        self.backend_up = Gauge("whiteboard_backend_up", "1 when a backing service answers", ["backend"], registry=r)
        # HL7 v2 feed: `event` is one of the handled events or "other", `ack` the code sent (bounded labels).
        self.hl7_messages = Counter(
            "whiteboard_hl7_messages", "HL7 v2 messages by event and acknowledgement", ["event", "ack"], registry=r
        )
        self.mllp_connections = Gauge("whiteboard_mllp_connections", "Open MLLP connections", registry=r)

    def refused_write(self, code: str) -> None:
        """One refused write, by the error code the client received (a bounded set of constants)."""
        self.writes.labels(f"refused_{code}").inc()

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # The labelled children, looked up once per (route, method, status): `labels()` costs more than the count.
        key = (route, method, status)
        children = self._http_children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = self._http_children[key] = (
                self.http_requests.labels(*labels),
                self.http_seconds.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ProcessCollector(Collector):
    """Resident memory of this process, so the ops page shows growth without a node exporter."""

    def collect(self):  # type: ignore[no-untyped-def]
        import psutil  # type: ignore[import-untyped]

        g = GaugeMetricFamily("whiteboard_process_resident_bytes", "Resident memory of this server process")
        g.add_metric([], float(psutil.Process().memory_info().rss))
        yield g
        # Growth with a steady number of connections is a leak (tests/cli/test_heap.py). Not `gc.get_objects()` nor
        # `gc.get_freeze_count()`: each walks every tracked object, ~180 ms with 5,000 connections, on every scrape.
        blocks = GaugeMetricFamily("whiteboard_python_allocated_blocks", "Memory blocks held by Python's allocator")
        blocks.add_metric([], float(sys.getallocatedblocks()))
        yield blocks


# --- samples of the registry, for the ops page's rates ---

# Rates are taken over about this long: short enough to show a burst, long enough not to flicker.
RATE_WINDOW_SECS: Final = 10.0
SAMPLES_KEPT: Final = 64

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


def sum_of(values: dict[tuple[str, Labels], float], name: str, **match: str) -> float:
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
            "events": sum_of(values, "whiteboard_events_total"),
            "frames": sum_of(values, "whiteboard_ws_frames_sent_total"),
            "writes": sum_of(values, "whiteboard_writes_total", outcome="committed"),
            "refused": sum(
                v
                for (n, lb), v in values.items()
                if n == "whiteboard_writes_total" and dict(lb).get("outcome", "").startswith("refused")
            ),
            "fanout_sum": sum_of(values, "whiteboard_fanout_seconds_sum"),
            "fanout_count": sum_of(values, "whiteboard_fanout_seconds_count"),
            "slow_closes": sum_of(values, "whiteboard_ws_closed_total", reason="slow_client"),
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
