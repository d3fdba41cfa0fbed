"""Our own Redis and PostgreSQL processes for the fault tests: on our own ports, in temp dirs, killed by PID.

The machine's shared Redis and PostgreSQL must never be stopped or restarted, so every scenario that kills
a backing service kills one of these. Redis runs with or without AOF persistence (with it, a restart keeps
the log and its epoch; without, the log is lost and the epoch changes). PostgreSQL is an `initdb` cluster
run as the `postgres` OS user when the tests run as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port

START_TIMEOUT_SECS = 20.0


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until something accepts TCP on 127.0.0.1:port (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop_pid(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Signal our own child by PID and reap it (SIGKILL if it does not go)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class RedisServer:
    """A redis-server of our own. `persistent`: AOF on (`appendfsync everysec`; a write is in the file, i.e. the
    kernel's page cache, before Redis answers, so kill -9 loses nothing acknowledged)."""

    workdir: Path
    persistent: bool = True
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes" if self.persistent else "no", "--daemonize", "no",
                "--logfile", str(self.workdir / "redis.log"), "--protected-mode", "no"]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, START_TIMEOUT_SECS, self.proc)
        # Loading the AOF can take a moment after the port opens: wait until it answers PING.
        import redis as redis_sync

        client = redis_sync.Redis.from_url(self.url, socket_timeout=2)
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while True:
            try:
                client.ping()
                break
            except redis_sync.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()
        return self

    def kill(self) -> None:
        """kill -9: no shutdown save, no goodbye to clients."""
        stop_pid(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        stop_pid(self.proc)

    def restart(self, down_secs: float = 0.0) -> None:
        self.kill()
        time.sleep(down_secs)
        self.start()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} in /usr/lib/postgresql/*/bin: apt-get install postgresql")
    return found[-1]


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster (`initdb` in a temp dir, trust auth on 127.0.0.1, our own port)."""

    port: int = field(default_factory=free_port)
    datadir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    _user: pwd.struct_passwd | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _demote(self) -> tuple[int | None, int | None]:
        """As root, run as the `postgres` user (PostgreSQL will not run as root): (uid, gid), else (None, None)."""
        if os.geteuid() != 0:
            return None, None
        user = self._user or pwd.getpwnam("postgres")
        self._user = user
        return user.pw_uid, user.pw_gid

    def init(self) -> PostgresCluster:
        # Not under pytest's tmp_path: its directories are root-only, and the server runs as `postgres`.
        self.datadir = Path(tempfile.mkdtemp(prefix="wbfaults-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=120, user=self._demote()[0], group=self._demote()[1],
        )  # fmt: skip
        return self

    def start(self) -> PostgresCluster:
        assert self.datadir is not None, "init() first"
        log = open(self.datadir / "server.log", "ab")
        self.proc = subprocess.Popen(
            [_pg_bin("postgres"), "-D", str(self.datadir), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.datadir), "-c", "fsync=off", "-c", "max_connections=200",
             "-c", "shared_buffers=32MB"],
            stdout=log, stderr=subprocess.STDOUT, user=self._demote()[0], group=self._demote()[1],
        )  # fmt: skip
        log.close()
        wait_port(self.port, START_TIMEOUT_SECS, self.proc)
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while self.psql("SELECT 1", check=False).returncode != 0:  # the port opens before it accepts logins
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not accept connections:\n" + self.log_tail())
            time.sleep(0.1)
        return self

    def psql(self, sql: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_pg_bin("psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-tAc", sql],
            check=check, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        """`fast` (SIGINT: roll back, disconnect) or `immediate` (SIGQUIT: like a crash, recovery at start)."""
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        stop_pid(self.proc, sig, timeout=20)

    def restart(self, down_secs: float = 0.0, mode: str = "immediate") -> None:
        self.stop(mode)
        time.sleep(down_secs)
        self.start()

    def log_tail(self) -> str:
        if self.datadir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.datadir / "server.log").read_text(errors="replace")[-4000:]
        return ""

    def destroy(self) -> None:
        self.stop("immediate")
        if self.datadir is not None:
            shutil.rmtree(self.datadir, ignore_errors=True)
