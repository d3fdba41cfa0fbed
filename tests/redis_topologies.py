"""Real Redis topologies on loopback for the tests: a Sentinel group and a three-master Cluster.

Each is made of `redis-server` processes of the test run's own, on free ports (`tests.support.free_port`,
within WHITEBOARD_TEST_PORTS when set), with their files in a temporary directory, and stopped by PID.
Every wait is bounded, so a topology that does not come up fails the test with the processes' logs
instead of hanging it. The fixtures in tests/conftest.py start one of each per test session (shared,
so tests use their own key prefixes and never break them); a test that kills or pauses a node uses a
topology of its own (`sentinel_topology` / `cluster_topology` factories below, e.g. the fault tests).

    with SentinelTopology(tmp) as group:     # 1 primary + 2 replicas + 3 sentinels
        url = group.url()                    # redis+sentinel://127.0.0.1:a,127.0.0.1:b,127.0.0.1:c/<service>/0
        group.primary.kill()                 # kill -9; or .pause() / .resume() for SIGSTOP / SIGCONT
        group.wait_for_new_primary(old)      # the replica the sentinels promoted
        group.cut_replication()              # writes from now on reach the primary only (lost in a failover)
    with ClusterTopology(tmp) as cluster:    # 3 masters, slots split evenly
        url = cluster.url()                  # redis+cluster://127.0.0.1:a,127.0.0.1:b,127.0.0.1:c/
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
import redis as redis_sync

from tests.support import free_port

START_TIMEOUT_SECS = 20.0
FAILOVER_TIMEOUT_SECS = 30.0
SERVICE = "wbprimary"
DOWN_AFTER_MS = 1000  # how long the sentinels wait before they call the primary down (small: tests wait for it)


def redis_binaries() -> tuple[str, str]:
    """redis-server and redis-cli, or fail with what to do (scripts/services installs them with apt)."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.fail("redis-server / redis-cli not installed: run scripts/services (it installs Debian's redis)")
    return server, cli


def wait_until(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_SECS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis_sync.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.05)


class PortTaken(Exception):
    """Another process bound the port between choosing it and starting the server."""


class RedisNode:
    """One redis-server (or sentinel) process of the test's own; stopped by its PID only."""

    def __init__(
        self, workdir: Path, name: str, args: list[str], *, sentinel: bool = False, cluster: bool = False
    ) -> None:
        self.name = name
        self.port = free_port()
        # A cluster node's bus listens on a port of its own (port + 10000 unless set: outside the test range).
        self.cluster_port = free_port() if cluster else None
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.sentinel = sentinel
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def log_path(self) -> Path:
        return self.dir / "redis.log"

    def start(self) -> None:
        """Start it and wait until it answers; a port taken meanwhile (another test run) gets a new one."""
        for attempt in range(3):
            try:
                self._start_once(fresh_ports=attempt > 0)
                return
            except PortTaken:
                continue
        self._start_once(fresh_ports=True)

    def _start_once(self, *, fresh_ports: bool) -> None:
        server, _ = redis_binaries()
        conf = self.dir / "redis.conf"
        if fresh_ports:
            self.port = free_port()
            self.cluster_port = free_port() if self.cluster_port is not None else None
            conf.unlink(missing_ok=True)
        lines = [
            f"port {self.port}",
            f"cluster-port {self.cluster_port}" if self.cluster_port is not None else "",
            "bind 127.0.0.1",
            f'dir "{self.dir}"',
            f'logfile "{self.log_path}"',
            "save ''" if not self.sentinel else "",
            "appendonly no" if not self.sentinel else "",
            *self.args,
        ]
        # A sentinel rewrites its own config file, so each process gets one it owns.
        if not conf.exists():
            conf.write_text("\n".join(line for line in lines if line) + "\n")
        command = [server, str(conf)] + (["--sentinel"] if self.sentinel else [])
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.paused = False

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                if "Address already in use" in self.log_tail(5):
                    raise PortTaken(self.port)
                raise RuntimeError(f"{self.name} exited at start: {self.log_tail(10)}")
            return self.answers()

        wait_until(up, f"{self.name} on port {self.port} (log {self.log_path})")

    def client(self, **kw: object) -> redis_sync.Redis:
        return redis_sync.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, socket_connect_timeout=2, **kw)  # type: ignore[arg-type]

    def answers(self) -> bool:
        with self.client() as c:
            return bool(c.ping())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no last write to anyone."""
        if self.alive():
            assert self.proc is not None
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets open and answers nothing (a hung host)."""
        assert self.proc is not None and self.alive()
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused and self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Topology:
    """Processes started together and stopped together (by PID), with their logs for a failure message."""

    nodes: list[RedisNode]

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {n.name} (port {n.port}) ---\n{n.log_tail()}" for n in self.nodes)


class SentinelTopology(Topology):
    """1 primary + 2 replicas + 3 sentinels (quorum 2) on loopback, as a hospital would run Sentinel."""

    def __init__(self, workdir: Path, *, service: str = SERVICE, down_after_ms: int = DOWN_AFTER_MS) -> None:
        self.service = service
        self.down_after_ms = down_after_ms
        # No diskless-sync delay (5 s by default): a replica is in sync as soon as it can be.
        self.servers = [RedisNode(workdir, f"redis-{i}", ["repl-diskless-sync-delay 0"]) for i in range(3)]
        self.sentinels: list[RedisNode] = []
        self.workdir = workdir
        self.nodes = list(self.servers)

    def start(self) -> None:
        first = self.servers[0]
        first.start()
        for replica in self.servers[1:]:
            replica.args = [*replica.args, f"replicaof 127.0.0.1 {first.port}"]
            replica.start()
        wait_until(lambda: self._replicas_online(first) == 2, "replicas in sync with the primary")
        for i in range(3):
            sentinel = RedisNode(
                self.workdir,
                f"sentinel-{i}",
                [
                    f"sentinel monitor {self.service} 127.0.0.1 {first.port} 2",
                    f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}",
                    f"sentinel failover-timeout {self.service} 10000",
                    f"sentinel parallel-syncs {self.service} 2",
                ],
                sentinel=True,
            )
            self.sentinels.append(sentinel)
            self.nodes.append(sentinel)
            sentinel.start()
        wait_until(self._sentinels_agree, "every sentinel sees the primary, both replicas and the other sentinels")

    def _replicas_online(self, primary: RedisNode) -> int:
        """Replicas past their initial sync (state online), as the primary sees them."""
        with primary.client() as c:
            info = c.info("replication")
        return sum(
            1 for k, v in info.items() if k.startswith("slave") and isinstance(v, dict) and v["state"] == "online"
        )

    def _sentinels_agree(self) -> bool:
        for s in self.sentinels:
            with s.client() as c:
                master = c.sentinel_master(self.service)
                if int(master.get("num-slaves", 0)) < 2 or int(master.get("num-other-sentinels", 0)) < 2:
                    return False
        return True

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/{db}"

    def primary_address(self) -> tuple[str, int]:
        """Where the sentinels say the primary is (the first sentinel that answers)."""
        for s in self.sentinels:
            if not s.alive() or s.paused:
                continue
            try:
                with s.client() as c:
                    host, port = c.sentinel_get_master_addr_by_name(self.service)
                    return (host.decode() if isinstance(host, bytes) else str(host), int(port))
            except (redis_sync.RedisError, OSError):
                continue
        raise RuntimeError("no sentinel answers")

    @property
    def primary(self) -> RedisNode:
        _, port = self.primary_address()
        return next(n for n in self.servers if n.port == port)

    @property
    def replicas(self) -> list[RedisNode]:
        primary = self.primary
        return [n for n in self.servers if n is not primary]

    def wait_for_new_primary(self, old: RedisNode, timeout: float = FAILOVER_TIMEOUT_SECS) -> RedisNode:
        """Block until the sentinels promoted a replica other than `old` and it accepts writes."""

        def promoted() -> bool:
            new = self.primary
            if new is old:
                return False
            with new.client() as c:
                return bool(c.info("replication").get("role") == "master")

        try:
            wait_until(promoted, f"failover away from {old.name}", timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.logs()}") from None
        return self.primary

    def wait_for_role(self, node: RedisNode, role: str, timeout: float = FAILOVER_TIMEOUT_SECS) -> None:
        """Until `node` says ROLE `role` ("master" or "slave"), e.g. an old primary demoted by the sentinels."""

        def has_role() -> bool:
            with node.client() as c:
                return bool(c.info("replication").get("role") == role)

        wait_until(has_role, f"{node.name} becoming {role}", timeout)

    def cut_replication(self) -> None:
        """From now on the replicas receive nothing from the primary: their link is dropped and their
        reconnects fail authentication. Writes made meanwhile exist on the primary alone, as the newest
        writes do in a failover under asynchronous replication; `restore_replication` undoes it."""
        primary = self.primary
        for replica in self.replicas:
            with replica.client() as c:
                c.config_set("masteruser", "wb-cut-off")
                c.config_set("masterauth", "no-such-password")
        with primary.client() as c:
            c.client_kill_filter(_type="replica")
        wait_until(lambda: self._replicas_online(primary) == 0, "replicas cut off")

    def restore_replication(self) -> None:
        for node in self.servers:
            if node.alive() and not node.paused:
                with node.client() as c:
                    c.config_set("masteruser", "")
                    c.config_set("masterauth", "")

    def wait_until_replicas_follow(self, timeout: float = FAILOVER_TIMEOUT_SECS) -> None:
        """After a failover: the primary has every live replica back (e.g. a resumed old primary, demoted)."""
        live = [n for n in self.servers if n.alive() and not n.paused]
        wait_until(
            lambda: self._replicas_online(self.primary) >= len(live) - 1, "replicas following the primary", timeout
        )


class ClusterTopology(Topology):
    """A Redis Cluster of three masters, slots split evenly by `redis-cli --cluster create`; with `replicas=1`
    each master has a replica that takes over when it dies (cluster-node-timeout 2 s; validity factor 0, so a
    replica whose link looked stale on a busy machine still stands for election)."""

    def __init__(self, workdir: Path, *, masters: int = 3, replicas: int = 0) -> None:
        self.replicas = replicas
        self.nodes = [
            RedisNode(
                workdir,
                f"cluster-{i}",
                ["cluster-enabled yes", "cluster-node-timeout 2000", "cluster-replica-validity-factor 0"],
                cluster=True,
            )
            for i in range(masters * (1 + replicas))
        ]

    def start(self) -> None:
        _, cli = redis_binaries()
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        done = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True,
            timeout=START_TIMEOUT_SECS,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout!r} {done.stderr!r}\n{self.logs()}")
        wait_until(self._ok, "every cluster node says cluster_state:ok")

    def _ok(self) -> bool:
        for node in self.nodes:
            if not node.alive():
                continue
            with node.client() as c:
                if c.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                    return False
        return True

    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes) + "/"

    def client(self) -> redis_sync.RedisCluster:
        return redis_sync.RedisCluster(host="127.0.0.1", port=self._alive().port, socket_timeout=5)

    @property
    def masters(self) -> list[RedisNode]:
        """The nodes serving slots now (after a failover, the promoted replicas)."""
        with self._alive().client() as c:
            ports = {int(master[1]) for _, _, master, *_ in c.execute_command("CLUSTER SLOTS")}
        return [n for n in self.nodes if n.port in ports]

    def _alive(self) -> RedisNode:
        return next(n for n in self.nodes if n.alive() and not n.paused)

    def wait_for_failover(self, dead: RedisNode, timeout: float = FAILOVER_TIMEOUT_SECS) -> None:
        """Until no slot is served by `dead` and every live node says cluster_state:ok."""
        wait_until(lambda: dead not in self.masters and self._ok(), f"cluster failover away from {dead.name}", timeout)

    def node_of_slot(self, slot: int) -> RedisNode:
        """The master serving `slot`, as the cluster says."""
        with self._alive().client() as c:
            for start, end, master, *_ in c.execute_command("CLUSTER SLOTS"):
                if int(start) <= slot <= int(end):
                    return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(slot)

    def delete_keys(self, prefix: str) -> None:
        """Delete a test's keys (`prefix:*`) on every master."""
        for node in self.nodes:
            if not node.alive():
                continue
            with node.client() as c:
                for key in c.scan_iter(match=f"{prefix}:*", count=1000):
                    c.delete(key)
