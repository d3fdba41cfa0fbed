"""The CLI through click's runner, on a temporary SQLite database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from whiteboard.cli import main


def run(*args: str, db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--database-url", f"sqlite:///{db}"])
    return result.exit_code, result.stdout, result.stderr


def test_help_names_every_command_and_its_environment_variables() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for cmd in ("serve", "token", "ward", "db"):
        assert cmd in result.output
    serve = CliRunner().invoke(main, ["serve", "--help"]).output
    for env in (
        "WHITEBOARD_HOST",
        "WHITEBOARD_PORT",
        "WHITEBOARD_DEMO",
        "WHITEBOARD_DEMO_RATE",
        "WHITEBOARD_DATABASE_URL",
        "WHITEBOARD_REDIS_URL",
    ):
        assert env in serve


def test_ward_add_and_token_create(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    code, _, err = run("ward", "add", "ward-1", "ward-2", "--beds", "12", "--name", "Ward One", db=db)
    assert code == 0 and "created ward-1" in err
    code, out, _ = run("ward", "list", db=db)
    assert "ward-1" in out and "12 beds" in out
    code, out, _ = run("token", "create", "--role", "nurse", "--ward", "ward-1", db=db)
    assert code == 0 and out.count("\n") == 1 and out.startswith("wbt_")
    code, out, _ = run("token", "list", db=db)
    assert "nurse" in out and "ward-1" in out and "wbt_" not in out


def test_token_create_explains_mistakes(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    run("ward", "add", "ward-1", "--beds", "2", db=db)
    code, out, err = run("token", "create", "--role", "display", db=db)
    assert code == 2 and out == "" and "exactly one ward" in err
    code, _, err = run("token", "create", "--role", "nurse", "--ward", "nope", db=db)
    assert code == 2 and "ward add" in err
    code, _, err = run("token", "revoke", "nosuch", db=db)
    assert code == 2 and "token list" in err


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    code, _, err = run("db", "upgrade", db=tmp_path / "m.db")
    from whiteboard.migrate import head

    assert code == 0 and f"revision {head()}" in err


def test_audit_verify_names_the_first_broken_record(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a.db"
    run("ward", "add", "ward-1", "--beds", "2", db=db)
    run("token", "create", "--role", "admin", db=db)
    code, out, _ = run("audit", "verify", db=db)
    assert code == 0 and out.startswith("intact: 2 records in 2 chains")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET actor = 'someone else' WHERE action = 'credential.created'")
    code, out, err = run("audit", "verify", db=db)
    assert code == 1 and "BROKEN" in err and "altered" in err
