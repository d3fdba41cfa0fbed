"""`scripts/loadtest PROFILE`: seed a trust, start a server, run Locust, stop everything, report.

Everything it starts it stops, by PID: the server, Locust, and (for `--backend redis+postgresql`) the
PostgreSQL database it created and the Redis keys under its own prefix. Traffic goes to 127.0.0.1 unless
`--host` names a deployment (then `--tokens` supplies its credentials and nothing is started). Every run
ends by itself: the profile's shape stops at its run time, and Locust is killed if it overruns.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any

from loadtest import publish
from loadtest.mllp_client import endpoint
from loadtest.orphans import die_with_parent
from loadtest.profiles import PROFILES
from loadtest.report import render, summarise

ROOT = Path(__file__).resolve().parent.parent
REPORTS = Path(os.environ.get("LOADTEST_REPORTS") or ROOT / "loadtest" / "reports")  # latest.json lives here
VENV_BIN = Path(sys.executable).parent
GRACE_S = 90.0  # Locust's own start and stop, on top of the run time, before it is killed
GRACE_HELP = (
    "seconds Locust may take beyond the run time (its start, the users' stop) before it is killed and the run "
    f"fails; default {GRACE_S:g}"
)
PG_ADMIN = os.environ.get("LOADTEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def log(msg: str) -> None:
    print(f"[loadtest] {msg}", file=sys.stderr, flush=True)


def seconds(text: str) -> float:
    """Locust's --run-time syntax: 90, 30s, 2m, 1h30m."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+)\s*([hms])", text)
    if not parts or "".join(a + b for a, b in parts) != text.replace(" ", ""):
        raise argparse.ArgumentTypeError(f"--run-time {text!r}: use e.g. 40s, 2m or 1h30m")
    return float(sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts))


def port_range(raw: str) -> range | None:
    """LOADTEST_PORTS=LOW-HIGH: where the server's HTTP and MLLP ports (and Locust's web UI) may go."""
    match = re.fullmatch(r"(\d+)-(\d+)", raw.strip())
    if not raw.strip():
        return None
    if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
        raise SystemExit(f"[loadtest] ERROR: LOADTEST_PORTS={raw!r}: use LOW-HIGH, e.g. 31000-31999")
    return range(int(match[1]), int(match[2]) + 1)


def free_port() -> int:
    """A port nothing listens on now: within LOADTEST_PORTS when set, else one the kernel picks."""
    ports = port_range(os.environ.get("LOADTEST_PORTS", ""))
    candidates = [0] if ports is None else random.sample(ports, len(ports))
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SystemExit(f"[loadtest] ERROR: no free port in LOADTEST_PORTS={os.environ['LOADTEST_PORTS']}")


class Sampler(threading.Thread):
    """The server process's CPU seconds and RSS, once a second (psutil), into server.csv."""

    def __init__(self, pid: int, out: Path) -> None:
        super().__init__(daemon=True)
        import psutil  # type: ignore[import-untyped]

        self.proc = psutil.Process(pid)
        self.out = out
        self.halt = threading.Event()

    def run(self) -> None:
        with self.out.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t", "cpu_s", "rss"])
            while not self.halt.is_set():
                try:
                    cpu = self.proc.cpu_times()
                    w.writerow([f"{time.time():.3f}", f"{cpu.user + cpu.system:.3f}", self.proc.memory_info().rss])
                    f.flush()
                except Exception:  # the server has gone; the runner reports that
                    return
                self.halt.wait(1.0)


def _capture(errors: list[BaseException], fn: Any) -> None:
    try:
        fn()
    except BaseException as exc:
        errors.append(exc)


class Backend:
    """A throwaway database (and Redis prefix) for one run, removed afterwards."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.env: dict[str, str] = {}
        self.db_name = ""
        self.prefix = ""
        if kind == "embedded":
            self.database_url = f"sqlite:///{tmp / 'whiteboard.db'}"
        else:
            self.db_name = f"wb_loadtest_{secrets.token_hex(4)}"
            self.prefix = f"wb-loadtest-{secrets.token_hex(4)}"
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            self.database_url = f"{base}/{self.db_name}"
            self.env = {"WHITEBOARD_REDIS_URL": REDIS_URL, "WHITEBOARD_REDIS_KEY_PREFIX": self.prefix}
        self.env["WHITEBOARD_DATABASE_URL"] = self.database_url

    def _pg(self, sql: str) -> None:
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        # Its own thread and loop, so the asyncio bench can call it too.
        errors: list[BaseException] = []
        worker = threading.Thread(target=lambda: _capture(errors, lambda: asyncio.run(run())))
        worker.start()
        worker.join(60)
        if errors:
            raise errors[0]

    def create(self) -> None:
        if self.db_name:
            self._pg(f'CREATE DATABASE "{self.db_name}"')
            log(f"created PostgreSQL database {self.db_name}; Redis key prefix {self.prefix}")

    def drop(self) -> None:
        if not self.db_name:
            return
        try:
            self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # say so; never leave silently
            log(f"WARNING: could not drop database {self.db_name}: {exc}")
        try:
            import redis

            r = redis.Redis.from_url(REDIS_URL)
            keys = list(r.scan_iter(f"{self.prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                r.delete(*keys[i : i + 500])
            r.close()
        except Exception as exc:
            log(f"WARNING: could not delete Redis keys {self.prefix}*: {exc}")


def stop(proc: subprocess.Popen[bytes], what: str, timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"{what} (pid {proc.pid}) did not stop in {timeout:g} s; killing it")
        proc.kill()
        proc.wait(5)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """The server's MLLP listener accepts connections (it starts with the server, beside the HTTP port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before its MLLP port was open")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server's MLLP listener did not open 127.0.0.1:{port} within {timeout:g} s")


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url}/readyz within {timeout:g} s")


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    ap = argparse.ArgumentParser(prog="scripts/loadtest", description="Seed, serve, load, report (see README).")
    ap.add_argument("profile", choices=sorted(PROFILES))
    ap.add_argument("--backend", choices=("embedded", "redis+postgresql"), default="embedded")
    ap.add_argument("--host", help="load an existing deployment at this URL instead of starting a server")
    ap.add_argument("--tokens", type=Path, help="with --host: the credentials CSV (kind,ward,token,username,password)")
    ap.add_argument(
        "--ops-token",
        help="with --host: an ops/admin token to record the result on the deployment "
        "(default: the tokens file's ops row)",
    )
    ap.add_argument(
        "--mllp",
        metavar="HOST:PORT",
        help="with --host: the deployment's MLLP listener, for the HL7 v2 hospital-feed users "
        "(without it they write over the API)",
    )
    ap.add_argument(
        "--feed",
        choices=("mllp", "api"),
        help="how the hospital-feed users write: HL7 v2 ADT over MLLP (default with a server of its own, or "
        "with --mllp) or PATCHes over the API (default with --host alone)",
    )
    ap.add_argument("--fail-p99-ms", type=float, help="override the profile's p99 bar")
    ap.add_argument("--web", action="store_true", help="Locust's web UI on 127.0.0.1 instead of headless")
    ap.add_argument("--run-time", type=seconds, help="bound the run (Locust syntax: 40s, 5m); default: the profile's")
    ap.add_argument("--report-dir", type=Path, help="default: loadtest/reports/<UTC stamp>-<profile>")
    ap.add_argument("--grace-s", type=float, default=GRACE_S, help=GRACE_HELP)
    ap.add_argument(
        "--locustfile", type=Path, default=ROOT / "loadtest" / "locustfile.py", help="default: loadtest/locustfile.py"
    )
    args, rest = ap.parse_known_args(argv)
    if args.host and not args.tokens:
        ap.error("--host needs --tokens FILE: the deployment's own credentials")
    if args.mllp and not args.host:
        ap.error("--mllp is for --host: with a server of its own, the runner opens its MLLP port itself")
    if args.host and args.feed == "mllp" and not args.mllp:
        ap.error("--feed mllp with --host needs --mllp HOST:PORT (the deployment's MLLP listener)")
    if args.mllp:
        try:
            endpoint(args.mllp)
        except ValueError as exc:
            ap.error(f"--mllp: {exc}")
    args.feed = args.feed or ("mllp" if args.mllp or not args.host else "api")
    return args, rest


def main(argv: list[str] | None = None) -> int:
    args, locust_args = parse(sys.argv[1:] if argv is None else argv)
    profile = PROFILES[args.profile]
    run_time = args.run_time or profile.run_time_s
    p99_bar = args.fail_p99_ms or profile.p99_ms
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = args.report_dir or REPORTS / f"{stamp}-{profile.name}"
    report.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wb-loadtest-"))
    server: subprocess.Popen[bytes] | None = None
    sampler: Sampler | None = None
    backend: Backend | None = None
    meta: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_time_s": run_time,
        "backend": None if args.host else args.backend,
        "host": args.host or "127.0.0.1 (own)",
        "p99_bar_ms": p99_bar,
        "report_dir": str(report),
        "feed": args.feed,
    }
    mllp: str | None = args.mllp
    try:
        if args.host:
            host, tokens = args.host.rstrip("/"), args.tokens.resolve()
            if args.feed == "api":
                log(
                    "the hospital-feed users write over the API (PATCH); give --mllp HOST:PORT to send HL7 v2 over MLLP"
                )
        else:
            backend = Backend(args.backend, tmp)
            backend.create()
            tokens = tmp / "tokens.csv"
            t0 = time.monotonic()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "loadtest.seed",
                    "--database-url",
                    backend.database_url,
                    "--profile",
                    profile.name,
                    "--out",
                    str(tokens),
                ],
                cwd=ROOT,
                check=True,
            )
            log(f"seeded in {time.monotonic() - t0:.1f} s")
            port = free_port()
            host = f"http://127.0.0.1:{port}"
            env = {**os.environ, **backend.env, "WHITEBOARD_LOG_LEVEL": "warning"}
            server_log = (report / "server.log").open("wb")
            serve = [
                str(VENV_BIN / "whiteboard"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ]
            mllp_port = free_port() if args.feed == "mllp" else None
            if mllp_port is not None:  # on loopback (the default --mllp-host), no location map: the board's ids
                serve += ["--mllp-port", str(mllp_port)]
                mllp = f"127.0.0.1:{mllp_port}"
            server = subprocess.Popen(
                serve,
                cwd=tmp,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
            wait_ready(host, server)
            if mllp_port is not None:
                wait_port(mllp_port, server)
            log(f"server pid {server.pid} ready on {host} ({args.backend}); MLLP: {mllp or 'off (API feed)'}")
            meta["server_pid"] = server.pid
            sampler = Sampler(server.pid, report / "server.csv")
            sampler.start()
        cmd = [
            str(VENV_BIN / "locust"),
            "-f",
            str(args.locustfile),
            "--host",
            host,
            "--csv",
            str(report / "locust"),
            "--csv-full-history",
            "--html",
            str(report / "report.html"),
            "--loglevel",
            "WARNING",
        ]
        if args.web:
            web_port = free_port()
            cmd += ["--web-host", "127.0.0.1", "--web-port", str(web_port), "--autoquit", "10"]
            log(f"Locust web UI: http://127.0.0.1:{web_port}/ (press Start; the shape ends the run)")
            webbrowser.open(f"http://127.0.0.1:{web_port}/")
            limit = run_time + 1800.0  # time to press Start, still bounded
        else:
            cmd += ["--headless", "--only-summary"]
            limit = run_time + args.grace_s
        env = {
            **os.environ,
            "LOADTEST_PROFILE": profile.name,
            "LOADTEST_TOKENS": str(tokens),
            "LOADTEST_REPORT_DIR": str(report),
            "LOADTEST_RUN_TIME_S": str(run_time),
            "LOADTEST_P99_MS": str(p99_bar),
            "LOADTEST_MLLP": mllp or "",
            # Within the grace, so the records are saved before the runner has to kill Locust.
            "LOADTEST_STOP_WATCHDOG_S": f"{max(1.0, min(20.0, args.grace_s / 3)):g}",
            "PYTHONPATH": str(ROOT),
        }
        log(
            f"locust: profile {profile.name}, {profile.users} users, {run_time:g} s, p99 bar {p99_bar:g} ms, "
            f"feed over {'MLLP ' + mllp if mllp else 'the API'}"
        )
        with (report / "locust.log").open("wb") as locust_log:
            locust = subprocess.Popen(
                cmd + locust_args,
                cwd=ROOT,
                env=env,
                stdout=locust_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
            meta["locust_pid"] = locust.pid
            try:
                locust.wait(limit)
            except subprocess.TimeoutExpired:
                meta["locust_overran"] = overran(report, limit)
                stop(locust, "locust", timeout=5.0)
        if not (report / "requests.csv.gz").exists():
            log(f"Locust wrote no records (exit {locust.returncode}); see {report / 'locust.log'}")
            (report / "summary.json").write_text(json.dumps({**meta, "thresholds_passed": False}, indent=2))
            return 2
        if server is not None and server.poll() is not None:
            meta["server_exit"] = server.returncode
    finally:
        if sampler is not None:
            sampler.halt.set()
            sampler.join(5)
        if server is not None:
            stop(server, "the server")
        if backend is not None:
            backend.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    summary = summarise(report, profile, p99_bar, meta)
    if "server_exit" in meta:
        summary["thresholds"]["server stayed up"] = False
        summary["thresholds_passed"] = False
    if "locust_overran" in meta:
        summary["thresholds"]["Locust stopped within run time + grace"] = False
        summary["thresholds_passed"] = False
    (report / "summary.json").write_text(json.dumps(summary, indent=2))
    latest = {
        k: summary[k]
        for k in (
            "when",
            "profile",
            "backend",
            "host",
            "requests",
            "failures",
            "sustained_rps",
            "monthly_equivalent",
            "multiple_of_7m",
            "p99_ms",
            "thresholds_passed",
            "report_dir",
        )
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "latest.json").write_text(json.dumps(latest, indent=2))
    print(render(summary))
    print(f"report: {report}")
    if args.host:
        token = publish.ops_token(args.ops_token, args.tokens)
        if token is None:
            log("WARNING: not recorded on the deployment: no --ops-token and no ops row in the tokens file")
        elif summary["p99_ms"] is None:
            log("WARNING: not recorded on the deployment: the run measured no requests")
        else:
            body = publish.result_body(summary, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), report.name)
            posted, what = publish.post_result(args.host, token, body)
            log(what if posted else f"WARNING: not recorded on the deployment: {what}")
    if "locust_overran" in meta:
        log(f"ERROR: {meta['locust_overran']}")
        return 2
    return 0 if summary["thresholds_passed"] else 1


def overran(report: Path, limit: float) -> str:
    """What to say (and keep in the summary) when Locust is still running at its deadline."""
    stuck_file = report / "stuck.json"
    stuck = json.loads(stuck_file.read_text()) if stuck_file.exists() else []
    names = sorted({s["user"] for s in stuck})
    who = f"; users that did not stop: {', '.join(names)} (stacks in {stuck_file})" if stuck else ""
    what = f"Locust did not finish within the run time + grace ({limit:g} s) and was killed{who}"
    what += f"; see {report / 'locust.log'}"
    log(f"ERROR: {what}")
    return what


if __name__ == "__main__":
    sys.exit(main())
