"""How the Redis log reaches Redis: one server, the primary Sentinel names, or a Cluster's primaries.

The log itself (`redis.py`) is the same for all three; what differs is here: which client runs the
commands, where a tail connection goes, and how ward keys group into tail reads.

- Server: one command pool, tail connections to the same server.
- Sentinel: the command pool and every tail connection ask the sentinels for the primary when they
  connect, and a tail connection checks ROLE first (a demoted primary would serve stale reads). A
  connection blocked in XREAD BLOCK hears nothing of a failover (redis-py 8; a SIGSTOPped primary
  keeps its sockets open), so a watcher asks the sentinels every `SENTINEL_POLL_SECS` and, when the
  primary moved, drops the tail connections and the idle command connections: nothing stays parked
  on a dead primary for longer than that (and the socket timeout bounds even a watcher that fails).
- Cluster: XREAD over several keys must name keys of one slot (else CROSSSLOT), so a key's hash tag
  is not the ward itself but one of `buckets` tags chosen to spread over the slot range (every shard
  gets wards): a tail read covers one bucket, on the primary serving that bucket's slot (never a
  replica). 2,000 wards in 16 buckets are about 24 tail reads (a bucket past 128 wards gets a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection
from redis.asyncio.sentinel import Sentinel
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from whiteboard.eventlog.redis_url import RedisTarget

log = logging.getLogger("whiteboard.eventlog")

CONNECT_TIMEOUT_SECS = 3
SENTINEL_POLL_SECS = 1.0
SENTINEL_TIMEOUT_SECS = 1.0


class Connector:
    """One server (redis://): the base every topology refines."""

    kind = "redis"

    def __init__(self, target: RedisTarget, *, client_name: str, command_timeout: float, tail_timeout: float) -> None:
        self.target = target
        self.client_name = client_name
        self.command_timeout = command_timeout
        self.tail_timeout = tail_timeout
        self.client: Any = None
        self._tail_pool: aioredis.ConnectionPool | None = None

    def _command_kwargs(self) -> dict[str, Any]:
        return {
            "decode_responses": False,
            "socket_connect_timeout": CONNECT_TIMEOUT_SECS,
            "socket_timeout": self.command_timeout,
            "client_name": self.client_name,
        }

    async def connect(self) -> None:
        self.client = aioredis.from_url(self.target.url, health_check_interval=30, **self._command_kwargs())
        self._tail_pool = aioredis.ConnectionPool.from_url(
            self.target.url,
            decode_responses=False,
            socket_connect_timeout=CONNECT_TIMEOUT_SECS,
            socket_timeout=self.tail_timeout,
            client_name=self.client_name + "-tail",
        )

    def key_base(self, prefix: str, log: str) -> str:
        """Both keys of a ward start with this; its `{...}` is the hash tag that keeps them on one slot."""
        return f"{prefix}:{{{log}}}"

    def route(self, key: bytes) -> bytes:
        """Which tail read a stream key can share (every key, on one server)."""
        return b""

    def wake_key(self, prefix: str, route: bytes, n: int) -> bytes:
        return f"{prefix}:wake:{self.client_name}-{n}".encode()

    async def tail_connection(self, route: bytes, after_error: bool) -> AbstractConnection:
        assert self._tail_pool is not None
        conn: AbstractConnection = self._tail_pool.make_connection()  # type: ignore[no-untyped-call]
        return conn

    def watch(self, on_switch: Callable[[], None]) -> Awaitable[None] | None:
        """A coroutine to run while connected, or None when this topology needs no watcher."""
        return None

    async def aclose(self) -> None:
        if self.client is not None:
            with contextlib.suppress(TimeoutError, RedisError, OSError):
                async with asyncio.timeout(3):
                    await self.client.aclose()


class SentinelConnector(Connector):
    kind = "redis-sentinel"

    def __init__(self, target: RedisTarget, **kw: Any) -> None:
        super().__init__(target, **kw)
        self.sentinel: Sentinel | None = None
        self.primary: tuple[str, int] | None = None  # the watcher's last answer
        self._tail_primary: tuple[str, int] | None = None  # where new tail connections go (asked once, shared)
        self._asking = asyncio.Lock()

    async def connect(self) -> None:
        t = self.target
        auth = {"username": t.username, "password": t.password, "db": t.db, "ssl": t.ssl}
        sentinel_auth = {"password": t.options.get("sentinel_password")} if "sentinel_password" in t.options else {}
        self.sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(t.hosts),
            sentinel_kwargs={
                "socket_timeout": SENTINEL_TIMEOUT_SECS,
                "socket_connect_timeout": SENTINEL_TIMEOUT_SECS,
                **sentinel_auth,
            },
            **{k: v for k, v in auth.items() if v is not None},
        )
        self.client = self.sentinel.master_for(t.service, health_check_interval=30, **self._command_kwargs())

    async def _primary_for_tails(self, fresh: bool) -> tuple[str, int]:
        """The primary, asked of the sentinels once for all tail connections that need it (16 readers
        reconnecting at once would otherwise open 16 connections to a sentinel)."""
        assert self.sentinel is not None
        async with self._asking:
            if fresh or self._tail_primary is None:
                host, port = await self.sentinel.discover_master(self.target.service)
                self._tail_primary = (str(host), int(port))
            return self._tail_primary

    async def tail_connection(self, route: bytes, after_error: bool) -> AbstractConnection:
        host, port = await self._primary_for_tails(after_error)
        t = self.target
        conn = (SSLConnection if t.ssl else Connection)(
            host=host,
            port=port,
            db=t.db,
            username=t.username,
            password=t.password,
            socket_connect_timeout=CONNECT_TIMEOUT_SECS,
            socket_timeout=self.tail_timeout,
            client_name=self.client_name + "-tail",
        )
        await conn.connect()  # type: ignore[no-untyped-call]
        await conn.send_command("ROLE", check_health=False)
        role = await conn.read_response()
        if not role or role[0] != b"master":
            # The sentinels name a server that is not (or no longer) the primary: reading from it could miss
            # confirmed entries. A connection error makes the reader ask again.
            await conn.disconnect(nowait=True)
            raise RedisConnectionError(f"{conn.host}:{conn.port} is not the primary (ROLE {role[:1]!r})")
        return conn

    def watch(self, on_switch: Callable[[], None]) -> Awaitable[None]:
        return self._watch(on_switch)

    async def aclose(self) -> None:
        await super().aclose()
        for sentinel in self.sentinel.sentinels if self.sentinel is not None else ():
            with contextlib.suppress(TimeoutError, RedisError, OSError):
                async with asyncio.timeout(1):
                    await sentinel.aclose()

    async def _watch(self, on_switch: Callable[[], None]) -> None:
        assert self.sentinel is not None
        while True:
            try:
                address = await self.sentinel.discover_master(self.target.service)
            except (RedisError, OSError) as exc:
                log.warning("event log: no sentinel names a primary for %s: %s", self.target.service, exc)
                address = None
            if address is not None:
                address = (str(address[0]), int(address[1]))
                if self.primary is not None and address != self.primary:
                    log.warning("event log: the primary moved from %s to %s; reconnecting", self.primary, address)
                    self._tail_primary = address
                    on_switch()
                    # Idle command connections go now; one in use times out (or gets READONLY) and goes then.
                    with contextlib.suppress(RedisError, OSError):
                        await self.client.connection_pool.get_master_address()
                self.primary = address
            await asyncio.sleep(SENTINEL_POLL_SECS)


def bucket_tags(buckets: int) -> list[str]:
    """`buckets` hash tags, the i-th on a slot in the i-th of `buckets` equal slot ranges (so over all shards).

    A pure function of `buckets`: every instance of a deployment computes the same tags.
    """
    tags = []
    width = REDIS_CLUSTER_HASH_SLOTS / buckets
    for i in range(buckets):
        n = 0
        while int(key_slot(f"wb{i}.{n}".encode()) // width) != i:
            n += 1
        tags.append(f"wb{i}.{n}")
    return tags


class ClusterConnector(Connector):
    kind = "redis-cluster"

    def __init__(self, target: RedisTarget, **kw: Any) -> None:
        super().__init__(target, **kw)
        self.tags = bucket_tags(target.buckets)

    async def connect(self) -> None:
        t = self.target
        self.client = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in t.hosts],
            username=t.username,
            password=t.password,
            ssl=t.ssl,
            # No load_balancing_strategy: every command goes to the slot's primary (a lagging replica could
            # miss confirmed entries).
            **self._command_kwargs(),
        )
        with contextlib.suppress(RedisError, OSError):  # not up yet: the first command retries it
            async with asyncio.timeout(self.command_timeout):
                await self.client.initialize()

    def key_base(self, prefix: str, log: str) -> str:
        tag = self.tags[zlib.crc32(log.encode()) % len(self.tags)]
        return f"{prefix}:{{{tag}}}:{log}"

    def route(self, key: bytes) -> bytes:
        start = key.index(b"{") + 1
        return key[start : key.index(b"}", start)]

    def wake_key(self, prefix: str, route: bytes, n: int) -> bytes:
        return f"{prefix}:{{{route.decode()}}}:wake:{self.client_name}-{n}".encode()

    async def tail_connection(self, route: bytes, after_error: bool) -> AbstractConnection:
        """A connection to the primary now serving the route's slot (after an error, asked afresh)."""
        manager = self.client.nodes_manager
        if after_error or not manager.slots_cache:
            async with asyncio.timeout(self.command_timeout):
                await manager.initialize()
        node = manager.get_node_from_slot(key_slot(route), read_from_replicas=False)
        t = self.target
        return (SSLConnection if t.ssl else Connection)(
            host=node.host,
            port=node.port,
            username=t.username,
            password=t.password,
            socket_connect_timeout=CONNECT_TIMEOUT_SECS,
            socket_timeout=self.tail_timeout,
            client_name=self.client_name + "-tail",
        )


def connector_for(target: RedisTarget, **kw: Any) -> Connector:
    if target.kind == "sentinel":
        return SentinelConnector(target, **kw)
    if target.kind == "cluster":
        return ClusterConnector(target, **kw)
    return Connector(target, **kw)
