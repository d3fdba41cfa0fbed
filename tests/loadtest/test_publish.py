"""`scripts/loadtest --host` records its result on the deployment: the body it sends is the wire model, the
server keeps it (the ops page shows it), and a refusal or an unreachable host is reported, never raised."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from loadtest import publish
from tests.e2e.server import ServerProcess

SUMMARY = {"profile": "trust-day", "multiple_of_7m": 103.4, "thresholds_passed": True, "requests": 181234,
           "failures": 0, "p99_ms": 44.2, "when": "2026-12-01T09:00:00+00:00"}  # fmt: skip


def test_the_summary_is_posted_to_the_deployment_and_shown_on_its_ops_page(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    s = make_server()
    ops, nurse = s.token("ops"), s.token("nurse")
    s.start()
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f"kind,ward,token,username,password\nnurse,,{nurse},,\nops,,{ops},,\n")
    token = publish.ops_token(None, tokens)
    assert token == ops and publish.ops_token("explicit", tokens) == "explicit"
    body = publish.result_body(SUMMARY, "2026-12-01T09:30:00+00:00", "20261201T090000Z-trust-day")
    posted, what = publish.post_result(s.url, token, body)
    assert posted, what
    with s.client(ops) as c:
        (saved,) = c.get("/api/ops/load-tests").json()
        page = c.get("/ops").text
    assert {k: saved[k] for k in body} == {**body, "finished_at": "2026-12-01T09:30:00.000Z"}
    assert saved["monthly_multiple"] == 103.4 and saved["requests"] == 181234 and saved["recorded_by"] == "test ops"
    assert "103.4×" in page and ">PASS<" in page


def test_a_refused_or_unreachable_post_is_a_warning_not_an_exception(
    make_server: Callable[..., ServerProcess],
) -> None:
    s = make_server()
    nurse = s.token("nurse")
    s.start()
    body = publish.result_body(SUMMARY, "2026-12-01T09:30:00Z", None)
    posted, what = publish.post_result(s.url, nurse, body)
    assert not posted and "403" in what
    posted, what = publish.post_result(s.url, s.token("ops"), {**body, "requests": -1})
    assert not posted and "422" in what and "requests" in what
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    posted, what = publish.post_result(f"http://127.0.0.1:{port}", "wbt_x", body, timeout=2)
    assert not posted and "could not reach" in what
