"""What a Redis URL names: one server, a Sentinel-watched primary, or a Cluster.

    redis://host:6379/0, rediss://..., unix:///path   one server (redis-py's own URL syntax)
    redis+sentinel://h1:26379,h2:26379,h3:26379/SERVICE/DB
                                                      the primary the sentinels name for SERVICE
    redis+cluster://h1:7000,h2:7001,h3:7002/          a Redis Cluster, any of its nodes to start from
                                                      (?buckets=N: how many tail groups, see redis_cluster)

A password goes before the first host (`redis+sentinel://:secret@h1:26379,.../SERVICE/0`); with
Sentinel it is the data nodes' password (`?sentinel_password=` for the sentinels' own, when they have one).
Parsing is separate from connecting so a bad URL is explained at start-up, before anything connects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

SENTINEL_SCHEMES = {"redis+sentinel", "rediss+sentinel"}
CLUSTER_SCHEMES = {"redis+cluster", "rediss+cluster"}
DEFAULT_CLUSTER_BUCKETS = 16
MAX_CLUSTER_BUCKETS = 1024


@dataclass(frozen=True, slots=True)
class RedisTarget:
    kind: str  # "server" | "sentinel" | "cluster"
    url: str  # as given (for a "server", what redis-py's from_url takes)
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    buckets: int = DEFAULT_CLUSTER_BUCKETS
    options: dict[str, str] = field(default_factory=dict)


def _hosts(netloc: str, default_port: int, url: str) -> tuple[tuple[str, int], ...]:
    hosts: list[tuple[str, int]] = []
    for part in netloc.split(","):
        part = part.strip()
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep:
            host, port = part, str(default_port)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{url!r}: {part!r} is not host:port")
        hosts.append((host.strip("[]"), int(port)))
    if not hosts:
        raise ValueError(f"{url!r}: name at least one host:port")
    return tuple(hosts)


def parse_redis_url(url: str) -> RedisTarget:
    """A RedisTarget, or ValueError saying how to write the URL."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme not in SENTINEL_SCHEMES | CLUSTER_SCHEMES:
        return RedisTarget(kind="server", url=url)
    rest, _, query = rest.partition("?")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        auth, _, netloc = netloc.rpartition("@")
        user, colon, secret = auth.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) if colon else None)
    ssl = scheme.startswith("rediss")
    if scheme in SENTINEL_SCHEMES:
        service, _, db = path.strip("/").partition("/")
        if not service:
            raise ValueError(f"{url!r}: name the service: redis+sentinel://h1:26379,h2:26379/SERVICE/DB")
        if db and not db.isdigit():
            raise ValueError(f"{url!r}: the database after the service is a number (…/{service}/0)")
        return RedisTarget(
            "sentinel", url, _hosts(netloc, 26379, url), service, int(db or 0), username, password, ssl,
            options=options,
        )  # fmt: skip
    if path.strip("/"):
        raise ValueError(f"{url!r}: a Redis Cluster has one database: end the URL with the hosts (…:7002/)")
    buckets = options.get("buckets", str(DEFAULT_CLUSTER_BUCKETS))
    if not buckets.isdigit() or not 1 <= int(buckets) <= MAX_CLUSTER_BUCKETS:
        raise ValueError(f"{url!r}: buckets is a number from 1 to {MAX_CLUSTER_BUCKETS}")
    return RedisTarget("cluster", url, _hosts(netloc, 6379, url), "", 0, username, password, ssl, int(buckets), options)
