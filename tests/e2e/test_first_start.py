"""A first `whiteboard serve` as a newcomer or a trust's IT team meets it: private files, a way in."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.e2e.server import ServerProcess


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_wal_and_shm_and_the_demo_tokens_are_private(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "wb.db"
    # A permissive umask (group and others may read and write) must not matter: these hold patient data.
    server = ServerProcess(database_url=f"sqlite:///{db}", workdir=tmp_path, args=["--demo"], umask=0o000)
    servers.append(server)
    server.start()
    token = server.token("nurse")  # a write, so the WAL is in use
    assert server.client(token).get("/api/wards").status_code == 200
    files = {p.name: mode(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), tmp_path / "wb.demo-tokens.txt")}
    assert files == {"wb.db": 0o600, "wb.db-wal": 0o600, "wb.db-shm": 0o600, "wb.demo-tokens.txt": 0o600}


def test_a_server_without_staff_accounts_says_how_to_create_the_first_admin(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    server = ServerProcess(database_url="sqlite:///whiteboard.db", workdir=tmp_path)
    servers.append(server)
    server.start()
    first = server.output()
    assert "no staff accounts yet: create the first admin with `whiteboard user add NAME --role admin`" in first
    assert "in this server's directory (database whiteboard.db)" in first
    server.stop()

    # Done as told, from the server's directory: the next start has nothing to say about it.
    added = server.cli("user", "add", "matron", "--role", "admin", "--password-stdin", stdin="a long enough password\n")
    assert f"database: sqlite file {tmp_path / 'whiteboard.db'}" in added.stderr
    server.start()
    assert "no staff accounts" not in server.output()


def test_the_demo_also_names_its_tokens_file(servers: list[ServerProcess], tmp_path: Path) -> None:
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'demo.db'}", workdir=tmp_path, args=["--demo"])
    servers.append(server)
    server.start()
    out = server.output()
    assert "`whiteboard user add NAME --role admin`, run with WHITEBOARD_DATABASE_URL=sqlite:///" in out
    assert f"meanwhile the demo's sign-in tokens are in {tmp_path / 'demo.demo-tokens.txt'}" in out
