"""Prometheus figures, in a registry owned by the app (never the process-global default)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Fewer buckets for HTTP, which has a label set per route and status: a page or a write is 1-250 ms.
_HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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

    def refused_write(self, code: str) -> None:
        """One refused write, by the error code the client received (a bounded set of constants)."""
        self.writes.labels(f"refused_{code}").inc()

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_seconds.labels(route, method, str(status)).observe(seconds)

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
