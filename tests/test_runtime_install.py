"""The README's first command on a runtime-only install: what a newcomer's `scripts/demo` gets.

Every other test runs in a venv with the test extras, which is how an import of a test-only package
(httpx, once) reached `whiteboard serve` unnoticed. This builds a venv with the project and its runtime
dependencies only, pinned by constraints.txt, and starts the demo from it as a person would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT_SECS = 600
START_TIMEOUT_SECS = 60.0

pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT_SECS + 120)


@dataclass(frozen=True)
class RuntimeVenv:
    path: Path

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHITEBOARD_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> RuntimeVenv:
    """`python -m venv` + `pip install -c constraints.txt <repo>` (not editable, no extras)."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    done = subprocess.run(
        [*pip, "install", "--quiet", "-c", str(ROOT / "constraints.txt"), str(ROOT)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECS,
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    installed = subprocess.run([*pip, "list", "--format=freeze"], capture_output=True, text=True, check=True)
    names = {line.split("==")[0].lower() for line in installed.stdout.splitlines()}
    # It really is runtime-only: nothing from the test, dev or loadtest extras came along.
    assert not names & {"pytest", "playwright", "schemathesis", "ruff", "mypy", "locust", "httpx"}, names
    return RuntimeVenv(venv)


@pytest.fixture
def demo_server(runtime_venv: RuntimeVenv, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`whiteboard serve --demo` from the runtime venv, on a free port and a SQLite file of its own."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = _clean_env(WHITEBOARD_DATABASE_URL=f"sqlite:///{tmp_path / 'wb.db'}", WHITEBOARD_DEMO_RATE="0")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [runtime_venv.bin("whiteboard"), "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}:\n{log_path.read_text()[-6000:]}"
            assert time.monotonic() < deadline, f"not ready in {START_TIMEOUT_SECS}s:\n{log_path.read_text()[-6000:]}"
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url, tmp_path, proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_the_runtime_install_imports_the_app_without_a_deprecation_warning(runtime_venv: RuntimeVenv) -> None:
    done = subprocess.run(
        [runtime_venv.bin("python"), "-W", "error::DeprecationWarning", "-c", "import whiteboard.app, whiteboard.cli"],
        env=_clean_env(),
        cwd=runtime_venv.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(ROOT) not in done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_the_demo_serves_a_board_and_a_snapshot_from_the_runtime_install(
    runtime_venv: RuntimeVenv, demo_server: tuple[str, Path, subprocess.Popen[bytes]]
) -> None:
    url, workdir, proc = demo_server
    health = httpx.get(url + "/healthz", timeout=5)
    assert health.status_code == 200, health.text

    env = _clean_env(WHITEBOARD_DATABASE_URL=f"sqlite:///{workdir / 'wb.db'}")
    wards = subprocess.run(
        [runtime_venv.bin("whiteboard"), "ward", "list"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first = wards.stdout.split()[0]
    display = subprocess.run(
        [runtime_venv.bin("whiteboard"), "token", "create", "--role", "display", "--ward", first, "--label", "wall"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    board = httpx.get(f"{url}/board/{first}", headers={"Authorization": f"Bearer {display}"}, timeout=10)
    assert board.status_code == 200 and board.headers["content-type"].startswith("text/html"), board.text[:500]
    assert first in board.text

    # The demo's own sign-in tokens (the file the log points to) work too.
    tokens = dict(
        line.split()
        for line in (workdir / "wb.demo-tokens.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    snapshot = httpx.get(f"{url}/api/wards/{first}", headers={"Authorization": f"Bearer {tokens['nurse']}"}, timeout=10)
    assert snapshot.status_code == 200, snapshot.text
    body = snapshot.json()
    assert body["ward"]["id"] == first and len(body["beds"]) > 0

    proc.terminate()
    proc.wait(15)
    stderr = (workdir / "serve.log").read_text()
    assert "DeprecationWarning" not in stderr and "Traceback" not in stderr, stderr[-6000:]
