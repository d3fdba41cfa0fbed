"""Server CPU per durable PATCH over real HTTP, against GET /healthz measured in the same run.

Starts `whiteboard serve` (embedded: SQLite + in-process log; or pass --database-url/--redis-url),
drives it with `wrk` (Debian package; a Python client cannot saturate the server) for a bounded
time on loopback, and reads the server process's CPU time (user + system, all threads) around
each run. Every response must be 2xx or the run fails.

    apt-get install -y wrk
    .venv/bin/python benchmarks/http_writes.py --seconds 5 --connections 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port  # noqa: E402

WARD = "bench"


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "whiteboard", *args], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


WRK_PATCH = """
counter = 0
request = function()
  counter = counter + 1
  local bed = string.format("B%%02d", counter %% 24 + 1)
  return wrk.format("PATCH", "/api/wards/bench/beds/" .. bed,
    {["Authorization"]="Bearer %s", ["Content-Type"]="application/json"}, '{"notes":"n' .. counter .. '"}')
end
"""


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> tuple[int, float]:
    """(requests, requests per second); refuses a run with any non-2xx answer or socket error."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    requests = int(out.split(" requests in ")[0].split()[-1])
    rate = float(out.split("Requests/sec:")[1].split()[0])
    return requests, rate


def cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEBOARD_")}
    env["WHITEBOARD_DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if args.redis_url:
        env["WHITEBOARD_REDIS_URL"] = args.redis_url
        env["WHITEBOARD_REDIS_KEY_PREFIX"] = f"bench-{os.getpid()}"
    env["WHITEBOARD_ACCESS_LOG"] = "false"
    env["WHITEBOARD_WRITE_RATE_PER_MIN"] = "0"  # one credential sends everything: measure the path, not the limiter
    env["WHITEBOARD_LOG_LEVEL"] = "warning"
    cli(env, "db", "upgrade")  # only `serve` and `db upgrade` create a database
    cli(env, "ward", "add", WARD, "--beds", "24")
    token = cli(env, "token", "create", "--role", "nurse", "--ward", WARD)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "whiteboard", "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        proc = psutil.Process(server.pid)
        script = tmp / "patch.lua"
        script.write_text(WRK_PATCH % token)
        wrk(url, 1, args.connections, script)  # warm up
        rows: dict[str, list[tuple[float, float]]] = {"GET /healthz (baseline)": [], "PATCH bed (durable)": []}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds} …", flush=True)
            for name, lua in (("GET /healthz (baseline)", None), ("PATCH bed (durable)", script)):
                c0 = cpu(proc)
                n, rate = wrk(url + ("/healthz" if lua is None else ""), args.seconds, args.connections, lua)
                rows[name].append(((cpu(proc) - c0) / n * 1000, rate))
    finally:
        server.terminate()
        server.wait(10)
    print(f"\n{args.rounds} rounds of {args.seconds}s, {args.connections} connections; server CPU, medians:")
    base = statistics.median(c for c, _ in rows["GET /healthz (baseline)"])
    for name, vals in rows.items():
        c = statistics.median(v[0] for v in vals)
        rate = statistics.median(v[1] for v in vals)
        print(f"{name:26} {c:7.3f} ms CPU/request  {rate:7.0f} req/s  ({c / base:.2f}× the baseline)")


if __name__ == "__main__":
    main()
