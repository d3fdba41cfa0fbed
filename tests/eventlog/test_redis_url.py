"""Redis URLs: one server, Sentinel, Cluster; a bad one is explained before anything connects."""

from __future__ import annotations

import pytest

from whiteboard.eventlog import open_event_log
from whiteboard.eventlog.redis_url import parse_redis_url


def test_sentinel_url_names_hosts_service_and_db() -> None:
    t = parse_redis_url("redis+sentinel://:s3cret@h1:26379,h2,[::1]:26380/mymaster/2?sentinel_password=x")
    assert t.kind == "sentinel" and t.service == "mymaster" and t.db == 2 and t.password == "s3cret"
    assert t.hosts == (("h1", 26379), ("h2", 26379), ("::1", 26380))
    assert t.options == {"sentinel_password": "x"} and not t.ssl


def test_cluster_url_names_hosts_and_buckets() -> None:
    t = parse_redis_url("rediss+cluster://h1:7000,h2:7001,h3:7002/?buckets=32")
    assert t.kind == "cluster" and t.ssl and t.buckets == 32 and len(t.hosts) == 3
    assert parse_redis_url("redis+cluster://h1:7000/").buckets == 16


def test_a_plain_url_is_left_to_redis_py() -> None:
    assert parse_redis_url("redis://127.0.0.1:6379/0").kind == "server"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://h1:26379/", "name the service"),
        ("redis+sentinel://h1:26379/svc/zero", "is a number"),
        ("redis+sentinel://h1:port/svc/0", "is not host:port"),
        ("redis+sentinel:///svc/0", "at least one host"),
        ("redis+cluster://h1:7000/3", "one database"),
        ("redis+cluster://h1:7000/?buckets=0", "buckets is a number"),
    ],
)
def test_a_bad_url_says_how_to_write_it(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        open_event_log(url)
