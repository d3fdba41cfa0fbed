"""Scenario 8: a rolling restart of two instances behind Debian's nginx (deploy/nginx/whiteboard.conf, helper
h11d's, with its ports and certificate substituted) under load.

Each instance in turn gets SIGTERM (helper h11f's graceful shutdown: it stops accepting, finishes the writes
it took, closes WebSockets 1012 in small batches), exits and starts again, while writers and boards go
through nginx only. Proves: every write is answered (nothing cut off mid-request reaches a client as a
silent loss), every board resumes on the other instance and misses nothing, and all converge.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import PostgresDatabases
from tests.deploy.nginx import UPSTREAM_CONF, start_tls_proxy
from tests.faults.harness import Rig
from tests.faults.profiles import Profile
from tests.faults.services import RedisServer


def fail_timeout_secs() -> int:
    """The shipped upstreams' `fail_timeout` (deploy/nginx/upstream.conf), which the restart procedure waits out."""
    found = re.findall(r"fail_timeout=(\d+)s", UPSTREAM_CONF.read_text())
    assert found, f"no fail_timeout=Ns in {UPSTREAM_CONF}"
    return max(int(v) for v in found)


def test_rolling_restart_behind_nginx_loses_nothing(
    rig_factory: Callable[..., Rig],
    redis_server: Callable[..., RedisServer],
    pg_databases: PostgresDatabases,
    profile: Profile,
    tmp_path: Path,
) -> None:
    rig = rig_factory(pg_databases.new(), redis_server().url)
    a, b = rig.server(), rig.server()  # graceful stops drain over 1 s (harness.FAST_ENV)
    rig.prepare()
    a.start()
    b.start()
    proxy = start_tls_proxy(tmp_path / "nginx", [a.port, b.port])
    nginx = proxy.nginx
    try:
        rig.front, rig.tls = proxy.url, proxy.tls
        rig.watch(per_ward=4)
        rig.load(per_ward=2, pause=0.03)
        for i, s in enumerate([a, b] * max(1, profile.rounds // 2)):
            if i:
                # nginx (open source) checks upstreams passively: the one that was down is tried again only after
                # its `fail_timeout` (deploy/nginx/upstream.conf). Restarting the other one sooner can leave
                # nginx with no upstream it believes in: 502 for everything (docs/RELIABILITY.md, deploy/README.md).
                time.sleep(fail_timeout_secs() + 1)
            s.stop()  # SIGTERM: graceful
            assert s.wait_exit() == 0
            s.start()
        time.sleep(profile.load_secs)
        report = rig.verify()
    finally:
        nginx.stop()
    closes = [conn.close_code for c in rig.checker.clients for conn in c.connections if conn.close_code is not None]
    assert 1012 in closes, f"no board was moved with 1012: {sorted(set(closes))}"
    assert report["unanswered"] == 0, "a write through nginx got no answer during the rolling restart"
    assert report["snapshots_recovered_false"] == 0
