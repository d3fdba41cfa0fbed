"""The event-log suites run against every backend: in-process, one Redis, a real Sentinel group, a real Cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.redis_topologies import ClusterTopology, SentinelTopology
from tests.support import REDIS_PREFIX_BASE


@pytest.fixture(params=["memory", "redis", "sentinel", "cluster"])
def topology_log(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(event-log URL, key prefix): the prefix's keys are deleted afterwards (on every node of a topology)."""
    if request.param == "memory":
        yield "memory://", "wb"
        return
    if request.param == "redis":
        yield str(request.getfixturevalue("redis_url")), str(request.getfixturevalue("redis_prefix"))
        return
    prefix = f"{REDIS_PREFIX_BASE}-{uuid.uuid4().hex[:12]}"
    if request.param == "sentinel":
        group: SentinelTopology = request.getfixturevalue("redis_sentinel")
        yield group.url(), prefix
        with group.primary.client() as client:
            for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                client.delete(key)
        return
    cluster: ClusterTopology = request.getfixturevalue("redis_cluster")
    yield cluster.url(), prefix
    cluster.delete_keys(prefix)
