"""A real `whiteboard serve` in a subprocess on a free port (datasette's test_playwright pattern).

Its output goes to a log file that a failing test prints, so a crash on the server side is visible.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import free_port, listens_on

START_TIMEOUT_SECS = 30.0
BIND_ATTEMPTS = 10
BIND_RETRY_SECS = 0.5


class PortTaken(RuntimeError):
    """The server could not bind its port: something else holds it."""


@dataclass
class ServerProcess:
    database_url: str
    workdir: Path
    redis_url: str | None = None
    redis_prefix: str = "wb"
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    starts: int = 0
    umask: int = -1  # the server's umask (-1: inherit this process's)
    tls: ssl.SSLContext | None = None  # the server serves TLS (WHITEBOARD_TLS_CERT): a context trusting its cert

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEBOARD_")}
        env.update(
            {
                "WHITEBOARD_DATABASE_URL": self.database_url,
                "WHITEBOARD_REDIS_KEY_PREFIX": self.redis_prefix,
                "WHITEBOARD_LOG_LEVEL": "info",
                "WHITEBOARD_DEMO_RATE": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.redis_url:
            env["WHITEBOARD_REDIS_URL"] = self.redis_url
        env.update(self.env)
        return env

    def cli(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run another `whiteboard` command against the same database."""
        return subprocess.run(
            [sys.executable, "-m", "whiteboard", *args],
            input=stdin,
            env=self.cli_env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def token(self, role: str, *wards: str) -> str:
        args = ["token", "create", "--role", role, "--label", f"test {role}"]
        for w in wards:
            args += ["--ward", w]
        return self.cli(*args).stdout.strip()

    def start(self, extra_env: dict[str, str] | None = None) -> ServerProcess:
        """Start it and wait until its own /readyz is 200, when the port is taken (another process bound it
        after `free_port` chose it, or took it as an outgoing connection's local port between a kill and a
        restart): a first start moves to a new port, a restart waits and tries its own port again (its clients
        hold that one)."""
        first = self.starts == 0
        for attempt in range(BIND_ATTEMPTS):
            try:
                return self._start_once(extra_env)
            except PortTaken:
                if attempt == BIND_ATTEMPTS - 1:
                    raise
                if first:
                    self.starts -= 1
                    self.port = free_port()
                else:
                    time.sleep(BIND_RETRY_SECS)
        raise AssertionError("unreachable")

    def _start_once(self, extra_env: dict[str, str] | None) -> ServerProcess:
        self.starts += 1
        self.log_path = self.workdir / f"server-{self.port}-{self.starts}.log"
        env = self.cli_env()
        env.update(extra_env or {})
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "whiteboard", "serve", "--port", str(self.port), *self.args],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            umask=self.umask,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                error = PortTaken if "address already in use" in self.output() else RuntimeError
                raise error(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                ready = httpx.get(self.url + "/readyz", timeout=1, verify=self.tls or True).status_code == 200
                if ready and listens_on(self.proc.pid, self.port):  # this server's answer, not another's
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become ready in {START_TIMEOUT_SECS}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 15) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path and self.log_path.exists() else ""

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, verify=self.tls or True)
