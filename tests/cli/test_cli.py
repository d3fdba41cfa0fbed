"""The CLI through click's runner, on a temporary SQLite database."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from whiteboard.cli import main


def run(*args: str, db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--database-url", f"sqlite:///{db}"])
    return result.exit_code, result.stdout, result.stderr


def upgraded(db: Path) -> Path:
    """A database as `whiteboard db upgrade` (or a first `serve`) leaves it: the others refuse to create one."""
    code, _, err = run("db", "upgrade", db=db)
    assert code == 0, err
    return db


def test_the_group_registers_every_command_and_serve_its_environment_variables() -> None:
    assert {"serve", "token", "ward", "user", "display", "audit", "db"} <= set(main.commands)
    groups = {name: cmd for name, cmd in main.commands.items() if isinstance(cmd, click.Group)}
    assert {"create", "list", "revoke"} <= set(groups["token"].commands)
    assert {"add", "list"} <= set(groups["ward"].commands)
    assert {"add", "list", "disable", "reset-password"} <= set(groups["user"].commands)
    assert {"upgrade", "current"} <= set(groups["db"].commands)
    assert {"verify"} <= set(groups["audit"].commands)
    serve = main.commands["serve"]
    envvars = {p.envvar for p in serve.params}
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for env in (
        "WHITEBOARD_HOST",
        "WHITEBOARD_PORT",
        "WHITEBOARD_DEMO",
        "WHITEBOARD_DEMO_RATE",
        "WHITEBOARD_DATABASE_URL",
        "WHITEBOARD_REDIS_URL",
    ):
        assert env in envvars and env in help_text


# Every command that opens the database, with arguments that would otherwise get as far as opening it.
NOT_CREATING = [
    ("ward", "list"),
    ("ward", "add", "ward-1", "--beds", "2"),
    ("token", "create", "--role", "admin"),
    ("token", "list"),
    ("token", "revoke", "nosuch"),
    ("user", "list"),
    ("user", "disable", "someone"),
    ("user", "add", "someone", "--role", "admin", "--password-stdin"),
    ("user", "reset-password", "someone", "--password-stdin"),
    ("display", "pair", "--ward", "ward-1", "--label", "wall"),
    ("display", "list"),
    ("display", "rename", "d1", "wall"),
    ("audit", "verify"),
    ("db", "current"),
]


@pytest.mark.parametrize("args", NOT_CREATING, ids=" ".join)
def test_commands_other_than_serve_and_db_upgrade_refuse_to_create_a_database(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    db = tmp_path / "elsewhere" / "whiteboard.db"
    db.parent.mkdir()
    code, out, err = run(*args, db=db)
    assert code != 0 and out == ""
    assert f"no database at {db}; run from the server's directory or set WHITEBOARD_DATABASE_URL" in err
    assert list(db.parent.iterdir()) == []


@pytest.mark.parametrize("args", [*NOT_CREATING, ("db", "upgrade")], ids=" ".join)
def test_every_command_says_which_database_it_used(args: tuple[str, ...], tmp_path: Path) -> None:
    db = upgraded(tmp_path / "wb.db")
    _, _, err = run(*args, db=db)
    assert err.startswith(f"database: sqlite file {db}\n"), err


def test_a_database_url_is_named_with_its_password_masked() -> None:
    # Nothing listens on port 1: the command fails, after saying where it tried.
    url = "postgresql://wb:s3cret-pw@127.0.0.1:1/wb"
    result = CliRunner().invoke(main, ["ward", "list", "--database-url", url])
    assert result.exit_code != 0
    assert "database: postgresql://wb:***@127.0.0.1:1/wb" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_db_upgrade_into_a_missing_directory_says_so(tmp_path: Path) -> None:
    code, _, err = run("db", "upgrade", db=tmp_path / "nowhere" / "wb.db")
    assert code == 2 and f"cannot open the database (sqlite file {tmp_path / 'nowhere' / 'wb.db'})" in err
    assert "Traceback" not in err


def test_db_upgrade_creates_a_private_database_file(tmp_path: Path) -> None:
    old = os.umask(0o002)  # a permissive umask must not matter: the file holds patient data
    try:
        db = upgraded(tmp_path / "new.db")
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_ward_add_and_token_create(tmp_path: Path) -> None:
    db = upgraded(tmp_path / "cli.db")
    code, _, err = run("ward", "add", "ward-1", "ward-2", "--beds", "12", "--name", "Ward One", db=db)
    assert code == 0 and "created ward-1" in err
    code, out, _ = run("ward", "list", db=db)
    assert "ward-1" in out and "12 beds" in out
    code, out, _ = run("token", "create", "--role", "nurse", "--ward", "ward-1", db=db)
    assert code == 0 and out.count("\n") == 1 and out.startswith("wbt_")
    code, out, _ = run("token", "list", db=db)
    assert "nurse" in out and "ward-1" in out and "wbt_" not in out


def test_token_create_explains_mistakes(tmp_path: Path) -> None:
    db = upgraded(tmp_path / "cli.db")
    run("ward", "add", "ward-1", "--beds", "2", db=db)
    code, out, err = run("token", "create", "--role", "display", db=db)
    assert code == 2 and out == "" and "exactly one ward" in err
    code, _, err = run("token", "create", "--role", "nurse", "--ward", "nope", db=db)
    assert code == 2 and "ward add" in err
    code, _, err = run("token", "revoke", "nosuch", db=db)
    assert code == 2 and "token list" in err


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    code, _, err = run("db", "upgrade", db=tmp_path / "m.db")
    from whiteboard.store.migrate import head

    assert code == 0 and f"revision {head()}" in err


def test_audit_verify_names_the_first_broken_record(tmp_path: Path) -> None:
    import sqlite3

    db = upgraded(tmp_path / "a.db")
    run("ward", "add", "ward-1", "--beds", "2", db=db)
    run("token", "create", "--role", "admin", db=db)
    code, out, _ = run("audit", "verify", db=db)
    assert code == 0 and out.startswith("intact: 2 records in 2 chains")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET actor = 'someone else' WHERE action = 'credential.created'")
    code, out, err = run("audit", "verify", db=db)
    assert code == 1 and "BROKEN" in err and "altered" in err


def test_serve_freezes_the_start_up_heap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects built at start-up are moved out of the collector's reach before the first request."""
    import gc

    import uvicorn

    frozen: list[int] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: frozen.append(gc.get_freeze_count()))
    try:
        result = CliRunner().invoke(main, ["serve", "--database-url", f"sqlite:///{tmp_path / 'wb.db'}"])
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert frozen and frozen[0] > 0
