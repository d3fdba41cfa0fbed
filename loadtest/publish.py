"""Tell the deployment it was load-tested: `POST /api/ops/load-tests` with the run's summary, so its ops page
shows the proven capacity. Only for `--host` runs (a temporary server of our own is gone afterwards), and a
failure to post is a warning, never a failed run: the run's own report is the record.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from loadtest.credentials import Credentials

PATH = "/api/ops/load-tests"


def result_body(summary: dict[str, Any], finished_at: str, report_name: str | None) -> dict[str, Any]:
    """The `LoadTestResult` wire body from a run's summary (see the OpenAPI document)."""
    return {
        "finished_at": finished_at,
        "profile": summary["profile"],
        "monthly_multiple": float(summary["multiple_of_7m"]),
        "thresholds_passed": bool(summary["thresholds_passed"]),
        "requests": int(summary["requests"]),
        "failures": int(summary["failures"]),
        "p99_ms": float(summary["p99_ms"]),
        "report_name": report_name,
    }


def ops_token(explicit: str | None, tokens: Path | None) -> str | None:
    """`--ops-token`, else the first `ops` row of the credentials file (None when there is neither)."""
    if explicit:
        return explicit
    if tokens is None or not tokens.exists():
        return None
    rows = Credentials.load(tokens).rows.get("ops") or []
    return next((r["token"] for r in rows if r.get("token")), None)


def post_result(host: str, token: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[bool, str]:
    """(posted, what happened, for the operator). Never raises for a network or HTTP failure."""
    url = host.rstrip("/") + PATH
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            saved = json.loads(answer.read() or b"{}")
            return True, f"recorded the result on {host} (load test {saved.get('id')}; its ops page shows it)"
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        return False, f"{url} answered {exc.code}: {detail}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"could not reach {url}: {exc}"
