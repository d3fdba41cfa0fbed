"""`whiteboard serve` serves TLS itself (WHITEBOARD_TLS_CERT/_KEY, for a trust without a proxy): real https://
and wss:// with a self-signed certificate made by `cryptography`, and clear refusals of unusable TLS settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from websockets.asyncio.client import connect

from tests.deploy.tls import self_signed, trusting
from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import next_frame
from whiteboard.cli import main

WARD = "ward-tls"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_https_and_wss_with_a_self_signed_certificate(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    s = make_server(env={"WHITEBOARD_TLS_CERT": str(cert), "WHITEBOARD_TLS_KEY": str(key)}, tls=trusting(cert))
    s.cli("ward", "add", WARD, "--beds", "2")
    s.start()
    assert s.url.startswith("https://") and f"on https://127.0.0.1:{s.port}" in s.output()
    nurse = s.token("nurse", WARD)

    with s.client(nurse) as c:
        snap = c.get(f"/api/wards/{WARD}")
        assert snap.status_code == 200 and "strict-transport-security" in snap.headers
    # Plain HTTP on the TLS port is not served.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{s.port}/healthz", timeout=5).raise_for_status()

    ws = await connect(
        f"{s.ws_url}/ws/wards/{WARD}", ssl=s.tls, additional_headers={"Authorization": f"Bearer {nurse}"}
    )
    assert (await next_frame(ws))["type"] == "snapshot"
    with s.client(nurse) as c:
        assert c.patch(f"/api/wards/{WARD}/beds/B01", json={"status": "cleaning"}).status_code == 200
    event = await next_frame(ws)
    assert event["event"]["changes"]["status"] == "cleaning"
    await ws.close()


def test_serve_help_shows_the_tls_settings() -> None:
    text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    for name in (
        "--tls-cert",
        "--tls-key",
        "WHITEBOARD_TLS_CERT",
        "WHITEBOARD_TLS_KEY",
        "WHITEBOARD_FORWARDED_ALLOW_IPS",
    ):
        assert name in text


def test_unusable_tls_settings_stop_serve_with_a_reason(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wb.db'}"
    missing = CliRunner().invoke(main, ["serve", "--database-url", db, "--tls-cert", str(tmp_path / "nope.pem")])
    assert missing.exit_code == 2 and "cannot read the TLS file" in missing.output
    lonely = CliRunner().invoke(main, ["serve", "--database-url", db, "--tls-key", str(tmp_path / "key.pem")])
    assert lonely.exit_code == 2 and "needs --tls-cert" in lonely.output
