"""`whiteboard serve` believes X-Forwarded-Proto/-For only from WHITEBOARD_FORWARDED_ALLOW_IPS: a proxy on the
list makes a request count as HTTPS (HSTS, Secure cookies); the same header from anyone else changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.server import ServerProcess

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize(("allowed", "believed"), [(None, True), ("192.0.2.1", False), ("*", True)])
def test_forwarded_headers_are_believed_only_from_the_allowed_proxies(
    make_server: Callable[..., ServerProcess], allowed: str | None, believed: bool
) -> None:
    env = {} if allowed is None else {"WHITEBOARD_FORWARDED_ALLOW_IPS": allowed}
    s = make_server(env=env).start()  # this test's requests come from 127.0.0.1, the default's one proxy
    with s.client() as c:
        plain = c.get("/healthz")
        forwarded = c.get("/healthz", headers=FORWARDED)
    assert plain.status_code == forwarded.status_code == 200
    assert "strict-transport-security" not in plain.headers
    assert ("strict-transport-security" in forwarded.headers) is believed
