"""Debian's nginx as the test's own process: deploy/nginx/whiteboard.conf with its ports and paths substituted,
a main config of our own (prefix, pid, logs and temp files in a tmp dir), stopped by PID."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE_CONF = ROOT / "deploy" / "nginx" / "whiteboard.conf"
UPSTREAM_CONF = ROOT / "deploy" / "nginx" / "upstream.conf"
ERRORS_CONF = ROOT / "deploy" / "nginx" / "errors.conf"
ERRORS_INCLUDE = "include /etc/nginx/whiteboard-errors.conf;"
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


def nginx_binary() -> str:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail("nginx is not installed: run scripts/services (it installs Debian's nginx package, never starting it)")


def _replace_once(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) == count, f"deploy/nginx/whiteboard.conf no longer has {count} of {old!r}: update this test"
    return text.replace(old, new)


def upstream_params() -> str:
    """The parameters (max_fails, fail_timeout) deploy/nginx/upstream.conf gives its first instance."""
    found = re.search(r"^server 127\.0\.0\.1:\d+ ([^;]*);$", UPSTREAM_CONF.read_text(), re.MULTILINE)
    assert found, "deploy/nginx/upstream.conf has no `server 127.0.0.1:PORT ...;` line: update this test"
    return found.group(1)


def render_site(prefix: Path, *, http_port: int, https_port: int, upstreams: list[int], cert: Path, key: Path) -> Path:
    """The deployed site config with only its listen ports, certificate paths and upstream ports changed (the
    upstream parameters and the error pages are the deployed files')."""
    upstream = prefix / "whiteboard-upstream.conf"
    upstream.write_text("".join(f"server 127.0.0.1:{p} {upstream_params()};\n" for p in upstreams))
    errors = prefix / "whiteboard-errors.conf"
    shutil.copyfile(ERRORS_CONF, errors)
    text = SITE_CONF.read_text()
    text = _replace_once(text, "    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n")
    text = _replace_once(text, "    listen [::]:80;\n", "")
    text = _replace_once(text, "    listen 443 ssl;\n", f"    listen 127.0.0.1:{https_port} ssl;\n")
    text = _replace_once(text, "    listen [::]:443 ssl;\n", "")
    text = _replace_once(text, "/etc/ssl/certs/whiteboard.pem", str(cert))
    text = _replace_once(text, "/etc/ssl/private/whiteboard.key", str(key))
    text = _replace_once(text, "include /etc/nginx/whiteboard-upstream.conf;", f"include {upstream};")
    text = _replace_once(text, ERRORS_INCLUDE, f"include {errors};", count=2)
    site = prefix / "whiteboard.conf"
    site.write_text(text)
    return site


def main_conf(prefix: Path, site: Path) -> Path:
    """nginx.conf around the site: everything nginx writes goes under `prefix`."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must reach the tmp dir (mode 0700)
    temps = "".join(
        f"    {name}_temp_path {prefix / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temps}    include {site};\n}}\n"
    )
    return conf


def check_config(conf: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )


@dataclass
class Nginx:
    prefix: Path
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> Nginx:
        log = (self.prefix / "stdout.log").open("wb")
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {port}:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers, then itself
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def output(self) -> str:
        parts = [p.read_text(errors="replace")[-4000:] for p in (self.prefix / "error.log", self.prefix / "stdout.log")
                 if p.exists()]  # fmt: skip
        return "\n".join(parts)


@dataclass
class TlsProxy:
    """The shipped config running in front of some upstreams, over TLS with a self-signed certificate."""

    nginx: Nginx
    http_port: int
    https_port: int
    tls: ssl.SSLContext  # trusts the proxy's certificate

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"


def start_tls_proxy(prefix: Path, upstreams: list[int]) -> TlsProxy:
    """Render deploy/nginx with fresh ports and a self-signed certificate under `prefix` and start nginx."""
    from tests.deploy.tls import self_signed, trusting
    from tests.support import free_port

    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = render_site(prefix, http_port=http_port, https_port=https_port, upstreams=upstreams, cert=cert, key=key)
    nginx = Nginx(prefix, main_conf(prefix, site)).start(https_port)
    return TlsProxy(nginx, http_port, https_port, trusting(cert))
