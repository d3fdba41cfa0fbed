"""What the test suite's environment chooses (`WHITEBOARD_TEST_*`), and helpers the fixtures build on.

A plain module, so `tests/e2e/server.py` and the benchmarks can use it too; the fixtures themselves
are in the conftest.py files.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil  # type: ignore[import-untyped]
import pytest
import redis as redis_sync

from whiteboard.store import Actor, Store, WriteRequest, Written

if TYPE_CHECKING:
    from starlette.testclient import TestClient

REDIS_URL = os.environ.get("WHITEBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("WHITEBOARD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ARTIFACTS = Path(os.environ.get("WHITEBOARD_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))


def _env_name(var: str, default: str, pattern: str) -> str:
    value = os.environ.get(var, default)
    if not re.fullmatch(pattern, value):
        raise pytest.UsageError(f"{var}={value!r}: use 1-20 characters matching {pattern}")
    return value


def _env_ports(var: str) -> range | None:
    raw = os.environ.get(var, "")
    if not raw:
        return None
    match = re.fullmatch(r"(\d+)-(\d+)", raw)
    low, high = (int(match[1]), int(match[2])) if match else (0, 0)
    if not match or not 1024 <= low < high <= 65535:
        raise pytest.UsageError(f"{var}={raw!r}: use LOW-HIGH with 1024 <= LOW < HIGH <= 65535, e.g. 21000-21999")
    return range(low, high + 1)


# So two checkouts can run the suite side by side on one machine, each with its own names and ports.
REDIS_PREFIX_BASE = _env_name("WHITEBOARD_TEST_REDIS_PREFIX", "wbtest", r"[A-Za-z0-9_-]{1,20}")
DB_PREFIX = _env_name("WHITEBOARD_TEST_DB_PREFIX", "wbtest", r"[a-z][a-z0-9_]{0,19}")
PORTS = _env_ports("WHITEBOARD_TEST_PORTS")


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3" under pytest-xdist
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def _worker_count() -> int:
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    return max(1, int(count)) if count.isdigit() else 1


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds the listening socket on `port`. A 200 from the port proves nothing on
    its own: when a server cannot bind (another process took the port first) something else answers there."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def free_port() -> int:
    """A port nothing listens on: from WHITEBOARD_TEST_PORTS when set, else one the kernel picks."""
    if PORTS is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    # Each xdist worker takes its own slice of the range (every Nth port): two workers once picked the same free
    # port at the same moment, and one test then talked to the other's server.
    mine = PORTS[_worker_index() :: _worker_count()] or PORTS
    start = random.randrange(len(mine))  # a random start, so ports handed out one after another rarely repeat
    for i in range(len(mine)):
        port = mine[(start + i) % len(mine)]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in WHITEBOARD_TEST_PORTS={PORTS.start}-{PORTS.stop - 1}")


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under `prefix:` (what one test's servers and event logs wrote), on one server, on the
    primary a Sentinel group names, or on every master of a Cluster (one key at a time: keys of many slots)."""
    from whiteboard.eventlog.redis_url import parse_redis_url

    target = parse_redis_url(redis_url)
    if target.kind == "sentinel":
        from redis.sentinel import Sentinel

        sentinel = Sentinel(list(target.hosts), socket_timeout=2)  # type: ignore[no-untyped-call]
        host, port = sentinel.discover_master(target.service)  # type: ignore[no-untyped-call]
        clients = [redis_sync.Redis(host=host, port=port, db=target.db, password=target.password)]
    elif target.kind == "cluster":
        cluster = redis_sync.RedisCluster(host=target.hosts[0][0], port=target.hosts[0][1], password=target.password)
        primaries = cluster.get_primaries()  # type: ignore[no-untyped-call]
        clients = [cluster.get_redis_connection(node) for node in primaries]
    else:
        clients = [redis_sync.Redis.from_url(redis_url)]
    for client in clients:
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if target.kind == "cluster":
                for key in keys:
                    client.delete(key)
            elif keys:
                client.delete(*keys)
        finally:
            client.close()


class RedisPrefixes:
    """Hands out key prefixes no other test or checkout uses, and deletes their keys again at the session's end
    (a test's own cleanup runs before the servers it started have stopped writing)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.given: list[str] = []

    def new(self) -> str:
        prefix = f"{REDIS_PREFIX_BASE}-{uuid.uuid4().hex[:12]}"
        self.given.append(prefix)
        return prefix

    def delete_all(self) -> None:
        for prefix in self.given:
            delete_redis_keys(self.redis_url, prefix)


SETUP = Actor("test setup", "admin", source="test")
"""Who the audit names for what fixtures set up (every audited function takes an actor)."""


def portal_runner(client: TestClient) -> Callable[[Any], Any]:
    """Run a coroutine on the app's own event loop (the store's objects live there)."""
    portal = client.portal
    assert portal is not None

    def run(coro: Any) -> Any:
        async def wrapper() -> Any:
            return await coro

        return portal.call(wrapper)

    return run


# The security header set every answer carries, as written here, not imported from the code: a weakened
# policy in the code fails the tests that compare with it.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
    ),
}


class InProcessSite:
    """The real app in-process (Starlette's TestClient runs its lifespan) with one ward and a token per role."""

    WARD = "ward-site"
    WARD_NAME = "Ward Site — Test"

    def __init__(self, client: object, app: object, tokens: dict[str, str]) -> None:
        from starlette.testclient import TestClient

        assert isinstance(client, TestClient)
        self.c = client
        self.app = app
        self.tokens = tokens

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def run(self, coro: object) -> object:
        """Run a coroutine on the app's own event loop (the store's objects live there)."""
        portal = self.c.portal
        assert portal is not None

        async def wrapper() -> object:
            return await coro  # type: ignore[misc]

        return portal.call(wrapper)

    def metric(self, name: str, **labels: str) -> float:
        """One sample from the app's registry (0 when absent)."""
        value = self.app.state.wb.metrics.registry.get_sample_value(name, labels)  # type: ignore[attr-defined]
        return float(value or 0.0)


async def write_one(store: Store, request: WriteRequest) -> Written:
    """One request through the store's group-commit entry point; a refusal is raised, as the API would answer it."""
    [result] = await store.apply_batch([request])
    if isinstance(result, Exception):
        raise result
    return result


def run_tree(cmd: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(..., text=True, capture_output=True)`, but a timeout kills the command's whole process group.

    subprocess.run's own timeout kills only the child: a bench or `scripts/loadtest` killed that way left the
    servers and Locust it had started running on after the test (seen once: a bench server alive 40 minutes later).
    """
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
        # The command has exited; anything it left behind in its group goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
