"""The suite cleans up after itself, under names a checkout chooses (`WHITEBOARD_TEST_*`).

A probe test runs in a pytest of its own with tests/conftest.py as its plugin and its own prefixes; it
starts a server on Redis and PostgreSQL that goes on writing while the test's fixtures are torn down,
which is what left `wbtest-…:m` and `:s` keys behind.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import redis as redis_sync
from sqlalchemy.engine import make_url

from tests.support import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent

PROBE = '''
import os
import threading

import httpx
import pytest

import redis as redis_sync

WARD = "ward-probe"


@pytest.fixture
def lingering(servers, redis_url):
    """Set up before the test's Redis prefix, so torn down after its cleanup and before the servers stop:
    waits (bounded) until the still-running server has written to Redis again."""
    seen = {}
    yield seen
    client = redis_sync.Redis.from_url(redis_url)
    for _ in range(200):
        if list(client.scan_iter(match=f"{seen['prefix']}:*")):
            break
        threading.Event().wait(0.05)
    client.close()


@pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)
def test_probe(servers, lingering, make_server, backend):
    lingering["prefix"] = backend["redis_prefix"]
    with open(os.environ["PROBE_OUT"], "w") as f:
        f.write(backend["redis_prefix"] + " " + backend["database_url"].rsplit("/", 1)[-1])
    s = make_server()
    s.cli("ward", "add", WARD, "--beds", "2")
    nurse = s.token("nurse", WARD)
    s.start()

    def keep_writing():
        with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {nurse}"}, timeout=5) as c:
            for i in range(2000):
                try:
                    c.patch(f"/api/wards/{WARD}/beds/B01", json={"notes": f"round {i}"})
                except httpx.HTTPError:
                    return  # the server stopped
                threading.Event().wait(0.02)

    threading.Thread(target=keep_writing, daemon=True).start()
    assert s.client(nurse).get(f"/api/wards/{WARD}").status_code == 200
'''


def test_a_run_leaves_no_redis_keys_and_no_databases_under_its_prefixes(tmp_path: Path, redis_url: str) -> None:
    prefix = f"hyg{uuid.uuid4().hex[:10]}"
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    out = tmp_path / "probe-names.txt"
    env = {**os.environ, "WHITEBOARD_TEST_REDIS_PREFIX": prefix, "WHITEBOARD_TEST_DB_PREFIX": prefix,
           "PROBE_OUT": str(out)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), str(probe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]
    redis_prefix, database = out.read_text().split()
    assert redis_prefix.startswith(f"{prefix}-") and database.startswith(f"{prefix}_")  # the names it was given
    client = redis_sync.Redis.from_url(redis_url)
    try:
        assert [k.decode() for k in client.scan_iter(match=f"{redis_prefix}:*")] == []
    finally:
        client.close()
    rows = asyncio.run(pg_fetch(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'"))
    assert rows == []


async def pg_fetch(sql: str) -> list[str]:
    import asyncpg

    url = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                 database=url.database, timeout=5)  # fmt: skip
    try:
        return [r[0] for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def test_servers_listen_in_the_port_range_a_checkout_chose() -> None:
    def pick(ports: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from tests.support import free_port; print(*(free_port() for _ in range(20)))"],
            cwd=ROOT, env={**os.environ, "WHITEBOARD_TEST_PORTS": ports}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    chosen = pick("25100-25109")
    assert chosen.returncode == 0, chosen.stderr
    assert {int(p) for p in chosen.stdout.split()} <= set(range(25100, 25110))
    wrong = pick("25109-25100")
    assert wrong.returncode != 0 and "WHITEBOARD_TEST_PORTS='25109-25100': use LOW-HIGH" in wrong.stderr


def test_a_server_whose_port_was_taken_moves_and_answers_for_itself(tmp_path: Path) -> None:
    """Two xdist workers once started servers on the same port: the second could not bind, yet its test went on
    against the first's server (a 200 from the port was taken as its own). Now a start checks that its own
    process listens there, and a first start moves to a free port."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from tests.e2e.server import ServerProcess
    from tests.support import free_port

    class AlwaysReady(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    squatter = ThreadingHTTPServer(("127.0.0.1", free_port()), AlwaysReady)
    thread = threading.Thread(target=squatter.serve_forever, daemon=True)
    thread.start()
    taken = squatter.server_port
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'wb.db'}", workdir=tmp_path, port=taken)
    try:
        server.start()
        assert server.port != taken
        assert httpx.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}
        assert "address already in use" in (tmp_path / f"server-{taken}-1.log").read_text()
    finally:
        server.stop()
        squatter.shutdown()
        squatter.server_close()
