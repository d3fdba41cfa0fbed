"""Turn one run's raw records into `summary.json` and the two pictures.

Inputs in the report directory: `requests.csv.gz` and `integrity.json` (written by the recorder inside
Locust), `shape.json` (the stress shape's break point), `server.csv` (the runner's samples of the server
process). Percentiles here are exact (nearest rank), unlike Locust's bucketed ones in its own CSVs.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from loadtest.context import timed
from loadtest.profiles import SECONDS_PER_MONTH, TRUST_MONTHLY_REQUESTS, Profile


def pct(sorted_ms: list[float], q: float) -> float | None:
    if not sorted_ms:
        return None
    return round(sorted_ms[min(len(sorted_ms) - 1, max(0, math.ceil(q * len(sorted_ms)) - 1))], 2)


def stats(values: list[float]) -> dict[str, Any]:
    v = sorted(values)
    return {
        "n": len(v),
        "p50": pct(v, 0.50),
        "p95": pct(v, 0.95),
        "p99": pct(v, 0.99),
        "max": round(v[-1], 2) if v else None,
    }


def load_rows(report: Path) -> list[tuple[float, str, str, float, int]]:
    with gzip.open(report / "requests.csv.gz", "rt") as f:
        return [(float(r["t"]), r["type"], r["name"], float(r["ms"]), int(r["failed"])) for r in csv.DictReader(f)]


def server_figures(report: Path, start: float, end: float) -> dict[str, Any] | None:
    path = report / "server.csv"
    if not path.exists():
        return None
    with path.open() as f:
        samples = [(float(r["t"]), float(r["cpu_s"]), int(r["rss"])) for r in csv.DictReader(f)]
    during = [s for s in samples if start <= s[0] <= end] or samples
    if len(during) < 2:
        return None
    (t0, c0, _), (t1, c1, _) = during[0], during[-1]
    rss = [s[2] for s in during]
    half = during[len(during) // 2 :]
    return {
        "cpu_seconds": round(c1 - c0, 2),
        "cpu_percent_of_one_core": round(100 * (c1 - c0) / max(1e-9, t1 - t0), 1),
        "rss_mib_start": round(rss[0] / 2**20, 1),
        "rss_mib_end": round(rss[-1] / 2**20, 1),
        "rss_mib_peak": round(max(rss) / 2**20, 1),
        "rss_growth_mib_second_half": round((half[-1][2] - half[0][2]) / 2**20, 1),
        "samples": len(during),
    }


def summarise(report: Path, profile: Profile, p99_bar: float, meta: dict[str, Any]) -> dict[str, Any]:
    rows = load_rows(report)
    integrity = json.loads((report / "integrity.json").read_text())
    shape = json.loads((report / "shape.json").read_text()) if (report / "shape.json").exists() else {}
    start = min((r[0] for r in rows), default=0.0)
    end = max((r[0] for r in rows), default=0.0)
    duration = max(1e-9, end - start)
    by_type: dict[str, list[float]] = defaultdict(list)
    fails: dict[str, int] = defaultdict(int)
    for _t, kind, name, ms, bad in rows:
        by_type[f"{kind} {name}"].append(ms)
        fails[f"{kind} {name}"] += bad
    steady_from = start + min(profile.ramp_s, duration / 2)
    steady = [r for r in rows if r[0] >= steady_from]
    sustained = len(steady) / max(1e-9, end - steady_from)
    monthly = sustained * SECONDS_PER_MONTH

    # The p99 bars judge the steady load, after the ramp (when every client signs in at once; argon2 is
    # slow on purpose); the whole run's p99 is reported beside them.
    def bar_ms(part: list[tuple[float, str, str, float, int]]) -> list[float]:
        return [r[3] for r in part if (r[1] != "WS" and timed(r[2])) or r[2] == "event (live)"]

    timed_ms = bar_ms(steady)
    http_ms = [r[3] for r in steady if r[1] != "WS" and timed(r[2])]
    live = stats([r[3] for r in steady if r[2] == "event (live)"])
    failures = sum(r[4] for r in rows)
    server = server_figures(report, start, end)
    overall = stats(timed_ms)
    checks: dict[str, bool] = {
        "no lost events": integrity["lost"] == 0,
        "no duplicated events": integrity["duplicated"] == 0,
    }
    if not profile.stress_step_s:  # stress is meant to break: its answer is where, in `stress`
        checks[f"failures <= {profile.max_failure_ratio:.2%}"] = failures <= profile.max_failure_ratio * len(rows)
        checks[f"p99 of requests <= {p99_bar:g} ms"] = overall["p99"] is not None and overall["p99"] <= p99_bar
        checks[f"p99 of live event latency <= {p99_bar:g} ms"] = live["p99"] is None or live["p99"] <= p99_bar
        checks["events were delivered"] = live["n"] > 0
    if profile.max_rss_growth_mib is not None and server is not None:
        checks[f"server RSS growth <= {profile.max_rss_growth_mib:g} MiB"] = (
            server["rss_growth_mib_second_half"] <= profile.max_rss_growth_mib
        )
    summary: dict[str, Any] = {
        **meta,
        "profile": profile.name,
        "duration_s": round(duration, 1),
        "requests": len(rows),
        "failures": failures,
        "rps": round(len(rows) / duration, 1),
        "sustained_rps": round(sustained, 1),
        "monthly_equivalent": round(monthly),
        "multiple_of_7m": round(monthly / TRUST_MONTHLY_REQUESTS, 1),
        "p99_ms": overall["p99"],
        "p99_ms_whole_run": stats(bar_ms(rows))["p99"],
        "steady_from_s": round(steady_from - start, 1),
        "http_p99_ms": stats(http_ms)["p99"],
        "ws_event_latency_ms": live,
        "requests_by_type": {k: {**stats(v), "failures": fails[k]} for k, v in sorted(by_type.items())},
        "integrity": integrity,
        "server": server,
        "thresholds": checks,
        "thresholds_passed": all(checks.values()),
    }
    if profile.stress_step_s:
        summary["stress"] = shape
    draw(report, rows, start)
    return summary


def draw(report: Path, rows: list[tuple[float, str, str, float, int]], start: float) -> None:
    """latency_over_time.png (p50/p99 per 5 s, requests/s) and latency_distribution.png (histograms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    width = 5
    for t, kind, name, ms, _bad in rows:
        b = bins[int((t - start) // width)]
        b["all"].append(ms)
        if name == "event (live)":
            b["live"].append(ms)
        elif kind != "WS" and timed(name):
            b["http"].append(ms)
    xs = sorted(bins)
    fig, ax = plt.subplots(figsize=(10, 5))
    for key, label in (("http", "HTTP"), ("live", "WS event (at → arrival)")):
        pts = [(x * width, sorted(bins[x][key])) for x in xs if bins[x][key]]
        ax.plot([p[0] for p in pts], [pct(p[1], 0.5) or 0.0 for p in pts], label=f"{label} p50")
        ax.plot([p[0] for p in pts], [pct(p[1], 0.99) or 0.0 for p in pts], label=f"{label} p99", linestyle="--")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("latency, ms")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(
        [x * width for x in xs], [len(bins[x]["all"]) / width for x in xs], color="grey", alpha=0.5, label="requests/s"
    )
    ax2.set_ylabel("requests/s")
    ax.legend(loc="upper left", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    ax.set_title("Latency over time")
    fig.tight_layout()
    fig.savefig(report / "latency_over_time.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 5))
    groups = {
        "HTTP": [r[3] for r in rows if r[1] != "WS" and timed(r[2])],
        "WS event (live)": [r[3] for r in rows if r[2] == "event (live)"],
        "WS connect/resume": [r[3] for r in rows if r[1] == "WS" and r[2] in ("connect", "resume")],
    }
    edges = [10 ** (i / 20) for i in range(-20, 101)]  # 0.1 ms .. 100 s, log-spaced
    for label, values in groups.items():
        if values:
            ax.hist([max(v, 0.1) for v in values], bins=edges, histtype="step", label=f"{label} (n={len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("requests")
    ax.legend(fontsize=8)
    ax.set_title("Latency distribution")
    fig.tight_layout()
    fig.savefig(report / "latency_distribution.png", dpi=100)
    plt.close(fig)


def render(summary: dict[str, Any]) -> str:
    """The summary as the runner prints it."""
    lines = [
        f"profile {summary['profile']}: {summary['requests']:,} requests in {summary['duration_s']} s, "
        f"{summary['failures']} failures, {summary['rps']} req/s ({summary['sustained_rps']} sustained)",
        f"monthly equivalent {summary['monthly_equivalent']:,} = {summary['multiple_of_7m']}× a large trust's 7M",
        f"p99 {summary['p99_ms']} ms after the {summary['steady_from_s']} s ramp (HTTP {summary['http_p99_ms']} ms; "
        f"whole run {summary['p99_ms_whole_run']} ms); live event latency "
        + ", ".join(f"{k} {v}" for k, v in summary["ws_event_latency_ms"].items()),
        "events: " + ", ".join(f"{k} {v}" for k, v in summary["integrity"].items() if k != "lost_examples"),
    ]
    if summary.get("server"):
        s = summary["server"]
        lines.append(
            f"server: {s['cpu_seconds']} CPU s ({s['cpu_percent_of_one_core']}% of a core), RSS "
            f"{s['rss_mib_start']} → {s['rss_mib_end']} MiB (peak {s['rss_mib_peak']})"
        )
    if "stress" in summary:
        lines.append(f"stress: {json.dumps(summary['stress'])}")
    width = max(len(k) for k in summary["requests_by_type"]) if summary["requests_by_type"] else 10
    lines.append(f"{'request':{width}}  {'n':>7} {'fail':>5} {'p50':>8} {'p95':>8} {'p99':>8}")
    for k, v in summary["requests_by_type"].items():
        lines.append(f"{k:{width}}  {v['n']:>7} {v['failures']:>5} {v['p50']!s:>8} {v['p95']!s:>8} {v['p99']!s:>8}")
    for name, ok in summary["thresholds"].items():
        lines.append(f"  [{'pass' if ok else 'FAIL'}] {name}")
    lines.append("THRESHOLDS PASSED" if summary["thresholds_passed"] else "THRESHOLDS FAILED")
    return "\n".join(lines)
